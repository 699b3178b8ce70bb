"""Log redaction: the final formatted line is masked (exception text included) for every known secret: OKX
key/secret/passphrase, API_TOKEN, the LLM key, the database password, MCP tokens."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import textwrap

import pytest

from shared import logging_setup
from tests.helpers import PYTHON, REPO_ROOT, base_env

SECRET_ENV = {
    "OKX_API_KEY": "okx-key-5a1f0c9e",
    "OKX_API_SECRET": "okx-secret-7c2b9d4e1f",
    "OKX_PASSPHRASE": "okx-pass-3e8a",
    "API_TOKEN": "api-token-91b2c3d4e5f6",
    "DEEPSEEK_API_KEY": "sk-deepseektestkey0123456789abcd",
    "DATABASE_URL": "postgresql://aitrader:db%2Fpw-4f7e9a@127.0.0.1:5432/aitrader",
}
DB_PASSWORD = "db/pw-4f7e9a"  # as decoded; the URL holds it percent-encoded
SECRET_VALUES = [v for k, v in SECRET_ENV.items() if k != "DATABASE_URL"] + [DB_PASSWORD, "db%2Fpw-4f7e9a"]

LOGGING_SCRIPT = textwrap.dedent("""
    import logging, sys
    from shared.logging_setup import configure_logging
    configure_logging("INFO", sys.argv[1], secrets=[])
    log = logging.getLogger("probe")
    values = sys.argv[2:]
    log.info("message with %s", " ".join(values))
    try:
        raise RuntimeError("boom: " + " ".join(values))
    except RuntimeError:
        log.exception("request failed")
    log.warning("plain " + values[0], stack_info=True)
""")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_real_process_logs_no_secret_of_its_environment_even_in_exception_text(fmt: str, tmp_path) -> None:
    """The services call configure_logging with a partial list; the environment's secrets are masked all the same."""
    env = base_env(AITRADER_ENV_FILE=str(tmp_path / "none.env"), **SECRET_ENV)
    done = subprocess.run(
        [PYTHON, "-c", LOGGING_SCRIPT, fmt, *SECRET_VALUES],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    out = done.stderr
    assert "RuntimeError" in out and "Traceback" in out and "request failed" in out, out
    assert out.count("***") >= 2 * len(SECRET_VALUES), out
    leaks = [v for v in SECRET_VALUES if v in out]
    assert not leaks, (leaks, out)
    if fmt == "json":
        lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        assert any("exc" in entry for entry in lines)


def test_secrets_read_from_the_env_file_are_masked(tmp_path) -> None:
    env_file = tmp_path / "app.env"
    env_file.write_text(
        "DEEPSEEK_API_KEY=sk-fromthefile0123456789abcdef\nDATABASE_URL=postgresql://u:filepw-81c3@h/db\n"
    )
    done = subprocess.run(
        [PYTHON, "-c", LOGGING_SCRIPT, "text", "sk-fromthefile0123456789abcdef", "filepw-81c3"],
        cwd=REPO_ROOT,
        env=base_env(AITRADER_ENV_FILE=str(env_file)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "sk-fromthefile" not in done.stderr and "filepw-81c3" not in done.stderr, done.stderr


def test_mcp_tokens_and_runtime_secrets_are_masked() -> None:
    stream = io.StringIO()
    handler = logging_setup.configure_logging(
        "INFO", "text", environment={"MCP_TOKENS": "ci:mcp-tok-0a9b8c7d,ops:mcp-tok-1f2e3d4c"}, stream=stream
    )
    try:
        logging_setup.register_secret("mcp-issued-5e6f7a8b")
        log = logging.getLogger("probe.mcp")
        log.info("tokens %s %s and %r", "mcp-tok-0a9b8c7d", "mcp-tok-1f2e3d4c", {"token": "mcp-issued-5e6f7a8b"})
        text = stream.getvalue()
        assert "tokens *** *** and {'token': '***'}" in text, text
    finally:
        logging.getLogger().removeHandler(handler)


def test_ordinary_settings_are_not_masked() -> None:
    found = logging_setup.secrets_in_environment(
        {
            "LLM_MAX_TOKENS": "4096",
            "OKX_USE_SIMULATED": "true",
            "API_PORT": "8000",
            "API_TOKEN_FILE": "/etc/aitrader/token",
            "OKX_INST_IDS": "BTC-USDT-SWAP",
            "API_BASE_URL": "http://127.0.0.1:8000",
        }
    )
    assert found == []
    assert "s3cret-pw" in logging_setup.secrets_in_environment({"DATABASE_URL": "postgresql://a:s3cret-pw@h:5432/d"})
