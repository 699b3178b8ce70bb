"""docker-compose.yml does not publish the web app over plain HTTP to the network: by default it listens on
127.0.0.1 only, and the shipped HTTPS site (`--profile tls`) takes its certificate from TLS_CERT_DIR. Validated with
the real `docker-compose config` (no engine runs here) and the Dockerfile's rendering of the TLS site."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.deploy.nginx_harness import check_config, nginx_binary, render_into
from tests.deploy.test_build_and_compose import compose_config, docker_compose, published_ports
from tests.helpers import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "nginx"))
import render  # noqa: E402


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("docker-compose.yml", ".dockerignore"):
        shutil.copy(REPO_ROOT / name, tmp_path / name)
    shutil.copytree(REPO_ROOT / "docker", tmp_path / "docker")
    (tmp_path / ".env").write_text(
        (REPO_ROOT / ".env.example").read_text()
        + "\nPOSTGRES_PASSWORD=0123abcd\nAPI_TOKEN=compose-test-token-0123456789\n"
    )
    return tmp_path


def services(project: Path, *extra_env: str) -> dict:
    tool = docker_compose()
    if tool is None:
        pytest.skip("docker-compose is not installed and `apt-get install -y docker-compose` was not possible")
    if extra_env:
        with (project / ".env").open("a") as f:
            f.write("\n".join(extra_env) + "\n")
    done = compose_config(tool, project, "config")
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)["services"]


def test_only_the_web_app_is_published_and_on_loopback_by_default(project: Path) -> None:
    found = services(project)
    assert published_ports(found["web"]) == [("127.0.0.1", 8080, 8080)]
    # Nothing else reaches the host's network: the database, the API and the agent stay on the compose network.
    for name in ("postgres", "api", "agent", "okxsim"):
        assert not found[name].get("ports"), name


def test_the_tls_site_uses_the_certificate_folder_variable(project: Path, tmp_path: Path) -> None:
    found = services(project, f"TLS_CERT_DIR={tmp_path / 'certs'}", "TLS_PORT=8443")
    tls = found["web-tls"]
    assert tls["profiles"] == ["tls"]
    assert f"{tmp_path / 'certs'}:/etc/aitrader/tls:ro" in [str(v) for v in tls["volumes"]]
    assert ("0.0.0.0", 8443, 8443) in published_ports(tls)
    assert "aitrader-tls.conf" in " ".join(tls["command"])


def test_the_image_renders_a_tls_site_that_nginx_accepts(tmp_path: Path) -> None:
    """The web image's TLS site, rendered with the Dockerfile's own settings, passes `nginx -t` with a certificate."""
    dockerfile = (REPO_ROOT / "docker" / "web.Dockerfile").read_text()
    settings = dict(re.findall(r"--set ([A-Z_]+)=(\S+)", dockerfile))
    assert settings["TLS_LISTEN"] == "8443" and settings["TLS_CERT"] == "/etc/aitrader/tls/fullchain.pem"
    assert "COPY --from=nginx-config /out/aitrader-tls.conf /etc/nginx/aitrader-tls.conf" in dockerfile
    nginx = nginx_binary()
    if nginx is None or shutil.which("openssl") is None:
        pytest.skip("nginx or openssl is not installed")
    cert, key = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    made = subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        capture_output=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    web_root = tmp_path / "web"
    web_root.mkdir()
    values = {
        **settings,
        "TLS_CERT": str(cert),
        "TLS_KEY": str(key),
        "WEB_ROOT": str(web_root),
        "API_UPSTREAM": "127.0.0.1:9",
        "AGENT_UPSTREAM": "127.0.0.1:9",
        "LISTEN": "127.0.0.1:18080",
        "TLS_LISTEN": "127.0.0.1:18443",
    }
    conf = render_into(
        tmp_path / "nginx", site="aitrader-tls.conf", **{k: v for k, v in values.items() if k in render.DEFAULTS}
    )
    checked = check_config(nginx, tmp_path / "nginx", conf)
    assert checked.returncode == 0, checked.stderr
