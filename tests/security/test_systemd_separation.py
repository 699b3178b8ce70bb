"""Under systemd the agent cannot read the OKX keys: it runs as its own user with its own env file, which holds no
OKX credentials; the API's env file is readable by the API's user (group) only. Checked on a real artifact
(nginx/build.sh) installed into a DESTDIR (nginx/install.sh), fresh and as an upgrade of an older install."""

from __future__ import annotations

import configparser
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.deploy.nginx_harness import write_web_dist
from tests.helpers import REPO_ROOT

OKX_LINE = re.compile(r"^\s*(export\s+)?OKX_(API_KEY|API_SECRET|PASSPHRASE)\s*=", re.MULTILINE)
OLD_API_ENV = (
    "DATABASE_URL=postgresql://aitrader:dbpw@db/aitrader\nAPI_TOKEN=old-install-token-0123456789\n"
    "OKX_API_KEY=live-key-1234\nOKX_API_SECRET=live-secret-5678\nexport OKX_PASSPHRASE=live-pass-9\n"
    "DEEPSEEK_API_KEY=sk-old0123456789abcdef\nOKX_INST_IDS=BTC-USDT-SWAP\n"
)


def unit(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(path)
    return parser["Service"]


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("sysd")
    out = base / "dist-deploy"
    done = subprocess.run(
        [
            "bash",
            str(REPO_ROOT / "nginx" / "build.sh"),
            "--out",
            str(out),
            "--web-dist",
            str(write_web_dist(base / "dist")),
            "--no-venv",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
    )
    assert done.returncode == 0, done.stderr
    return out


def install(artifact: Path, dest: Path) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(artifact / "install.sh")],
        capture_output=True,
        text=True,
        timeout=120,
        env={"DESTDIR": str(dest), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    return done


def test_the_agent_has_its_own_user_and_env_file(artifact: Path) -> None:
    api, agent = (
        unit(artifact / "systemd" / "aitrader-api.service"),
        unit(artifact / "systemd" / "aitrader-agent.service"),
    )
    assert api["User"] == "aitrader" and agent["User"] == "aitrader-agent"
    assert agent["Group"] == "aitrader-agent" and "SupplementaryGroups" not in agent
    assert (
        api["EnvironmentFile"] == "/etc/aitrader/aitrader.env" and agent["EnvironmentFile"] == "/etc/aitrader/agent.env"
    )
    assert "/etc/aitrader/aitrader.env" in agent.get("InaccessiblePaths", "")
    # Separate writable folders: systemd hands a StateDirectory to the unit's user.
    assert api["StateDirectory"] != agent["StateDirectory"]
    assert {"OKX_API_KEY", "OKX_API_SECRET", "OKX_PASSPHRASE"} <= set(agent["UnsetEnvironment"].split())
    script = (artifact / "install.sh").read_text()
    assert (
        'chown root:aitrader "$envdir/aitrader.env"' in script
        and 'chown root:aitrader-agent "$envdir/agent.env"' in script
    )


def test_a_fresh_install_gives_the_agent_a_file_without_okx_credentials(artifact: Path, tmp_path: Path) -> None:
    dest = tmp_path / "root"
    install(artifact, dest)
    api_env, agent_env = dest / "etc/aitrader/aitrader.env", dest / "etc/aitrader/agent.env"
    assert OKX_LINE.search(api_env.read_text())  # the template names the API's keys ...
    assert not OKX_LINE.search(agent_env.read_text())  # ... the agent's file does not
    for path in (api_env, agent_env):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == 0o640, (path, oct(mode))  # owner root, group = the service's own group; nobody else
    assert "API_TOKEN=" in agent_env.read_text() and "DATABASE_URL=" in agent_env.read_text()


def test_an_upgrade_splits_the_old_shared_file_and_keeps_okx_keys_out_of_the_agent(
    artifact: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "root"
    envdir = dest / "etc/aitrader"
    envdir.mkdir(parents=True)
    (envdir / "aitrader.env").write_text(OLD_API_ENV)
    (envdir / "aitrader.env").chmod(0o644)  # an old, too open file
    install(artifact, dest)
    agent_text = (envdir / "agent.env").read_text()
    assert (
        "API_TOKEN=old-install-token-0123456789" in agent_text
        and "DEEPSEEK_API_KEY=sk-old0123456789abcdef" in agent_text
    )
    assert (
        "DATABASE_URL=postgresql://aitrader:dbpw@db/aitrader" in agent_text
        and "OKX_INST_IDS=BTC-USDT-SWAP" in agent_text
    )
    assert not OKX_LINE.search(agent_text) and "live-" not in agent_text, agent_text
    assert (envdir / "aitrader.env").read_text() == OLD_API_ENV  # the API's file is never rewritten
    assert stat.S_IMODE((envdir / "aitrader.env").stat().st_mode) == 0o640
    # Someone later pastes OKX keys into the agent's file: the next install takes them out again.
    with (envdir / "agent.env").open("a") as f:
        f.write("OKX_API_SECRET=pasted-by-mistake\n")
    again = install(artifact, dest)
    assert "pasted-by-mistake" not in (envdir / "agent.env").read_text()
    assert "removed OKX credentials from /etc/aitrader/agent.env" in again.stderr
    shutil.rmtree(dest)
