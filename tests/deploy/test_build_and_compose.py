"""nginx/build.sh (the deployable artifact), nginx/install.sh (into a DESTDIR), the systemd units, and
docker-compose.yml / Dockerfiles (validated with `docker-compose config`: no engine runs on these machines)."""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.nginx_harness import check_config, nginx_binary, render_into, write_web_dist
from tests.helpers import REPO_ROOT

BUILD = REPO_ROOT / "nginx" / "build.sh"
COMMANDS = {
    "api": ["python", "-m", "api_server"],
    "agent": ["python", "-m", "agent"],
    "okxsim": ["python", "-m", "okxsim"],
}


def run(args: list, cwd: Path = REPO_ROOT, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=120, cwd=cwd, env={**os.environ, **env}
    )


def read_unit(path: Path) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # systemd keys are case-sensitive
    unit.read(path)
    return unit


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An artifact built for a prefix whose venv python is this machine's interpreter (so `systemd-analyze verify`
    finds the ExecStart binary)."""
    base = tmp_path_factory.mktemp("build")
    prefix = base / "srv" / "aitrader"
    (prefix / "venv" / "bin").mkdir(parents=True)
    (prefix / "venv" / "bin" / "python").symlink_to(Path(sys.executable).resolve())
    dist = write_web_dist(base / "dist")
    out = base / "dist-deploy"
    result = run(
        [
            "bash",
            BUILD,
            "--out",
            out,
            "--web-dist",
            dist,
            "--no-venv",
            "--prefix",
            prefix,
            "--server-name",
            "trader.example.com",
        ]
    )
    assert result.returncode == 0, result.stderr
    return out, prefix


def test_artifact_contents(artifact: tuple[Path, Path]) -> None:
    out, prefix = artifact
    for path in (
        "app/api_server/__main__.py",
        "app/agent",
        "app/okxsim/__main__.py",
        "app/shared/envfile.py",
        "app/migrations",
        "app/requirements.txt",
        "app/.env.example",
        "app/scripts/db_backup.sh",
        "app/scripts/db_restore.sh",
        "web/index.html",
        "web/assets/app-3f2a1c.js",
        "nginx/aitrader.conf",
        "nginx/aitrader-tls.conf",
        "nginx/templates/render.py",
        "systemd/aitrader-api.service",
        "systemd/aitrader-agent.service",
        "install.sh",
        "BUILD_INFO",
    ):
        assert (out / path).exists(), path
    assert (out / "app" / "requirements.txt").read_text() == (REPO_ROOT / "requirements.txt").read_text()
    assert not list(out.rglob("__pycache__")) and not list(out.rglob(".env"))
    assert os.access(out / "install.sh", os.X_OK)
    site = (out / "nginx" / "aitrader.conf").read_text()
    assert f"root {prefix}/web;" in site and "server_name trader.example.com;" in site
    assert "{{" not in site
    # Database settings never travel with the artifact (a unit may name the variable in a comment, never set it).
    for path in [*out.glob("nginx/*.conf"), *out.glob("systemd/*"), out / "BUILD_INFO"]:
        text = path.read_text()
        assert not re.search(r"^[^#]*DATABASE_URL", text, re.MULTILINE) and "postgresql://" not in text, path


def test_systemd_units(artifact: tuple[Path, Path]) -> None:
    out, prefix = artifact
    for name, module, user, env_file in (
        ("aitrader-api.service", "api_server", "aitrader", "/etc/aitrader/aitrader.env"),
        ("aitrader-agent.service", "agent", "aitrader-agent", "/etc/aitrader/agent.env"),
    ):
        unit = read_unit(out / "systemd" / name)
        service = unit["Service"]
        assert service["ExecStart"] == f"{prefix}/venv/bin/python -m {module}"
        assert service["Restart"] == "on-failure"
        assert service["EnvironmentFile"] == env_file
        assert service["User"] == user and service["Group"] == user
        assert service["WorkingDirectory"] == f"{prefix}/app"
        assert "AITRADER_ENV_FILE=/dev/null" in service["Environment"]
        assert service["NoNewPrivileges"] == "yes"
        assert unit["Install"]["WantedBy"] == "multi-user.target"
    if shutil.which("systemd-analyze"):
        verified = run(
            [
                "systemd-analyze",
                "verify",
                out / "systemd" / "aitrader-api.service",
                out / "systemd" / "aitrader-agent.service",
            ]
        )
        assert verified.returncode == 0, verified.stderr


def test_rendered_site_passes_nginx_t(artifact: tuple[Path, Path], tmp_path: Path) -> None:
    nginx = nginx_binary()
    if nginx is None:
        pytest.skip("nginx is not installed and `apt-get install -y nginx` was not possible")
    out, _ = artifact
    conf = render_into(tmp_path / "nginx", SITE_FILE=str(out / "nginx" / "aitrader.conf"))
    checked = check_config(nginx, tmp_path / "nginx", conf)
    assert checked.returncode == 0, checked.stderr


def test_install_into_destdir(artifact: tuple[Path, Path], tmp_path: Path) -> None:
    out, prefix = artifact
    dest = tmp_path / "root"
    result = run([out / "install.sh"], DESTDIR=str(dest))
    assert result.returncode == 0, result.stderr
    installed = Path(str(dest) + str(prefix))
    assert (installed / "app" / "api_server" / "__main__.py").is_file()
    assert (installed / "web" / "index.html").is_file()
    env_file = dest / "etc" / "aitrader" / "aitrader.env"
    assert env_file.read_text() == (REPO_ROOT / ".env.example").read_text()
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o640
    agent_env = dest / "etc" / "aitrader" / "agent.env"
    assert stat.S_IMODE(agent_env.stat().st_mode) == 0o640 and "API_TOKEN=" in agent_env.read_text()
    assert (dest / "etc" / "systemd" / "system" / "aitrader-api.service").is_file()
    assert (dest / "etc" / "nginx" / "conf.d" / "aitrader.conf").read_text() == (
        out / "nginx" / "aitrader.conf"
    ).read_text()
    assert "edit /etc/aitrader/aitrader.env" in result.stderr and "edit /etc/aitrader/agent.env" in result.stderr
    # The copied code is complete enough to import every service's entry modules.
    imported = run(
        [
            sys.executable,
            "-c",
            "import api_server.settings, okxsim.config, shared.envfile, shared.metrics, shared.migrate",
        ],
        cwd=installed / "app",
        PYTHONPATH=str(installed / "app"),
    )
    assert imported.returncode == 0, imported.stderr

    # An upgrade keeps the edited env file and the previous code.
    env_file.write_text("DATABASE_URL=postgresql://kept@db/aitrader\n")
    again = run([out / "install.sh"], DESTDIR=str(dest))
    assert again.returncode == 0, again.stderr
    assert env_file.read_text() == "DATABASE_URL=postgresql://kept@db/aitrader\n"
    assert (installed / "app.prev" / "api_server").is_dir()
    assert "edit /etc/aitrader/aitrader.env" not in again.stderr


def test_missing_frontend_build_is_explained(tmp_path: Path) -> None:
    """In a checkout without frontend/scripts/build.sh and without a built frontend/dist, build.sh stops clearly."""
    fake = tmp_path / "checkout"
    shutil.copytree(REPO_ROOT / "nginx", fake / "nginx")
    (fake / "frontend").mkdir(parents=True)
    result = run(["bash", fake / "nginx" / "build.sh", "--no-venv", "--out", tmp_path / "o"], cwd=fake)
    assert result.returncode == 1
    assert "frontend/scripts/build.sh is missing" in result.stderr and "--web-dist" in result.stderr
    assert not (tmp_path / "o").exists()
    bad = run(["bash", BUILD, "--prefix", "relative/path"])
    assert bad.returncode == 2 and "absolute" in bad.stderr


# ---------------------------------------------------------------------------------------------- docker compose
def docker_compose() -> str | None:
    found = shutil.which("docker-compose")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "docker-compose"], capture_output=True, timeout=300, check=False
        )
        found = shutil.which("docker-compose")
    return found


@pytest.fixture(scope="module")
def compose_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The compose file with its build inputs, and a .env made from .env.example plus the two required secrets
    (the repo itself must not get a .env)."""
    project = tmp_path_factory.mktemp("compose")
    shutil.copy(REPO_ROOT / "docker-compose.yml", project / "docker-compose.yml")
    shutil.copy(REPO_ROOT / ".dockerignore", project / ".dockerignore")
    shutil.copytree(REPO_ROOT / "docker", project / "docker")
    (project / ".env").write_text(
        (REPO_ROOT / ".env.example").read_text()
        + "\nPOSTGRES_PASSWORD=0123abcd\nAPI_TOKEN=compose-test-token-0123456789\n"
    )
    return project


def compose_config(tool: str, project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "API_", "OKX", "COMPOSE_"))}
    return subprocess.run(
        [tool, "-f", "docker-compose.yml", *args], capture_output=True, text=True, timeout=60, cwd=project, env=env
    )


def test_docker_compose_config(compose_project: Path) -> None:
    tool = docker_compose()
    if tool is None:
        pytest.skip("docker-compose is not installed and `apt-get install -y docker-compose` was not possible")
    result = compose_config(tool, compose_project, "config")
    assert result.returncode == 0, result.stderr
    import yaml

    config = yaml.safe_load(result.stdout)
    services = config["services"]
    assert set(services) == {"postgres", "api", "agent", "web", "web-tls", "okxsim"}
    assert services["okxsim"]["profiles"] == ["sim"]  # started only with --profile sim
    assert services["web-tls"]["profiles"] == ["tls"]
    assert services["okxsim"]["command"] == COMMANDS["okxsim"]
    assert all("profiles" not in services[name] for name in ("postgres", "api", "agent", "web"))
    assert re.fullmatch(r"postgres:\d+\.\d+-bookworm", services["postgres"]["image"])
    assert "pgdata" in config["volumes"] and services["postgres"]["healthcheck"]["test"]
    for name in ("api", "agent"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"] == "postgresql://aitrader:0123abcd@postgres:5432/aitrader"
        assert env["API_TOKEN"] == "compose-test-token-0123456789"
        assert services[name]["command"] == COMMANDS[name]
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["api"]["environment"]["API_HOST"] == "0.0.0.0"
    assert published_ports(services["web"]) == [("127.0.0.1", 8080, 8080)]  # loopback only (tests/security)
    assert {"api", "agent"} <= set(services["web"]["depends_on"])

    # Without the required secrets the file refuses to render, naming the variable.
    (compose_project / ".env.bak").write_text((compose_project / ".env").read_text())
    try:
        (compose_project / ".env").write_text((REPO_ROOT / ".env.example").read_text())
        missing = compose_config(tool, compose_project, "config")
        assert missing.returncode != 0 and "POSTGRES_PASSWORD" in missing.stderr
    finally:
        (compose_project / ".env").write_text((compose_project / ".env.bak").read_text())


def published_ports(service: dict) -> list[tuple[str, int, int]]:
    """(host ip, published, target) of each port, from either form docker-compose prints (1.29: strings; v2: maps)."""
    ports = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            ports.append((port.get("host_ip", "0.0.0.0"), int(port["published"]), int(port["target"])))
        else:
            parts = str(port).split("/")[0].split(":")
            host_ip = parts[0] if len(parts) == 3 else "0.0.0.0"
            ports.append((host_ip, int(parts[-2]), int(parts[-1])))
    return ports


def dockerfile_cmd(path: Path) -> list[str]:
    cmds = [line for line in path.read_text().splitlines() if line.startswith("CMD ")]
    assert len(cmds) == 1, path
    return json.loads(cmds[0][4:])


def test_dockerfiles_are_pinned_non_root_and_run_the_tested_commands() -> None:
    api, agent, web = (REPO_ROOT / "docker" / f"{n}.Dockerfile" for n in ("api", "agent", "web"))
    assert dockerfile_cmd(api) == COMMANDS["api"] and dockerfile_cmd(agent) == COMMANDS["agent"]
    # The tests and `make run` start the same modules.
    run_py = (REPO_ROOT / "scripts" / "run.py").read_text()
    assert '[PY, "-m", "api_server"]' in run_py and '[PY, "-m", "agent"]' in run_py
    for dockerfile in (api, agent, web):
        for line in dockerfile.read_text().splitlines():
            if line.startswith("FROM "):
                image = line.split()[1]
                # An exact version tag (or a digest), never `latest` or a bare major version.
                assert "@sha256:" in image or re.search(r":\d+\.\d+\.\d+-", image), image
    for dockerfile in (api, agent):
        text = dockerfile.read_text()
        assert "FROM python:3.11." in text and "-slim-bookworm" in text
        assert re.search(r"^USER aitrader", text, re.MULTILINE)
        assert "pip install -r requirements.txt" in text
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".venv" in ignored and ".git" in ignored
