"""`make run`'s and `make test`'s project-local PostgreSQL (scripts/pg.sh) trusts nobody: TCP needs the generated
scram-sha-256 password, the socket folder is the cluster owner's alone (0700), an old `trust` cluster is converted
on start, and `make run` keeps the password in .env (mode 600) and hands it to pg.sh outside the command line."""

from __future__ import annotations

import importlib.util
import os
import shutil
import stat
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.helpers import REPO_ROOT, free_port

PG_SH = REPO_ROOT / "scripts" / "pg.sh"


class Cluster:
    def __init__(self, script: Path = PG_SH) -> None:
        self.name = f"pgsec-{uuid.uuid4().hex[:8]}"
        self.port = str(free_port())
        self.script = script

    def pg(self, *args: str, **env: str) -> str:
        done = subprocess.run(
            ["bash", str(self.script), *args],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, **env},
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def start(self, **env: str) -> str:
        return self.pg("start", self.name, self.port, "aitrader_sec", **env).splitlines()[-1]

    def data_dir(self) -> Path:
        local = REPO_ROOT / ".data" / self.name
        return local if local.exists() else next(Path("/tmp").glob(f"aitrader-pg-*-{self.name}"), local)

    def remove(self) -> None:
        subprocess.run(["bash", str(PG_SH), "stop", self.name], cwd=REPO_ROOT, capture_output=True, timeout=60)
        shutil.rmtree(self.data_dir(), ignore_errors=True)


@pytest.fixture
def cluster():
    made = Cluster()
    yield made
    made.remove()


def without_password(url: str) -> str:
    parts = urlsplit(url)
    return f"postgresql://{parts.username}@{parts.hostname}:{parts.port}{parts.path}"


def refused(url: str) -> str:
    with pytest.raises(psycopg.OperationalError) as failure:
        psycopg.connect(url, connect_timeout=5).close()
    return str(failure.value)


def assert_locked(cluster: Cluster, url: str) -> None:
    with psycopg.connect(url, connect_timeout=5) as conn:
        assert conn.execute("select current_user").fetchone()[0] == "postgres"
    message = refused(without_password(url))
    assert "password" in message, message
    assert "password authentication failed" in refused(without_password(url).replace("postgres@", "postgres:guess@"))
    data = cluster.data_dir()
    hba = (data / "pg_hba.conf").read_text()
    rules = [line.split() for line in hba.splitlines() if line.strip() and not line.startswith("#")]
    assert rules and not [r for r in rules if "trust" in r], hba
    assert stat.S_IMODE((data / "run").stat().st_mode) == 0o700
    stored = data / "aitrader-password"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600 and stored.read_text().strip() == urlsplit(url).password


def test_a_new_cluster_needs_the_generated_password(cluster: Cluster) -> None:
    url = cluster.start()
    password = urlsplit(url).password
    assert password and len(password) >= 32, url
    assert_locked(cluster, url)
    # Another local account reaches neither the socket (0700 folder) nor TCP without the password.
    if os.geteuid() == 0:
        socket_dir = str(cluster.data_dir() / "run")
        attempt = subprocess.run(
            [
                "runuser",
                "-u",
                "nobody",
                "--",
                "psql",
                "-h",
                socket_dir,
                "-p",
                cluster.port,
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-tAc",
                "select 1",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert attempt.returncode != 0 and "1" not in attempt.stdout, attempt
    # Restarting keeps the password; `url` prints the same URL.
    cluster.pg("stop", cluster.name)
    assert cluster.start() == url
    assert cluster.pg("url", cluster.name, cluster.port, "aitrader_sec") == url


def test_pg_password_from_the_environment_is_used_and_can_change(cluster: Cluster) -> None:
    url = cluster.start(PG_PASSWORD="first-password-0123456789")
    assert urlsplit(url).password == "first-password-0123456789"
    url = cluster.start(PG_PASSWORD="second-password-0123456789")
    assert urlsplit(url).password == "second-password-0123456789"
    assert "password authentication failed" in refused(url.replace("second-", "first-"))
    assert_locked(cluster, url)


def test_an_old_trust_cluster_is_converted_on_start(cluster: Cluster, tmp_path: Path) -> None:
    old = subprocess.run(["git", "show", "f0c9f8f:scripts/pg.sh"], cwd=REPO_ROOT, capture_output=True, text=True)
    if old.returncode != 0:
        pytest.skip("the old scripts/pg.sh is not in this checkout's history")
    old_script = REPO_ROOT / "scripts" / f".pg-old-{cluster.name}.sh"
    old_script.write_text(old.stdout)
    try:
        old_url = _with(cluster, old_script).start()
    finally:
        old_script.unlink()
    psycopg.connect(old_url, connect_timeout=5).close()  # the old cluster trusted anyone on 127.0.0.1
    url = cluster.start()
    assert_locked(cluster, url)


def _with(cluster: Cluster, script: Path) -> Cluster:
    twin = Cluster(script)
    twin.name, twin.port = cluster.name, cluster.port
    return twin


def load_run_module():
    spec = importlib.util.spec_from_file_location("aitrader_run_script", REPO_ROOT / "scripts" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_run_keeps_the_database_password_in_a_private_env_file(tmp_path: Path) -> None:
    run = load_run_module()
    env_file = tmp_path / "run.env"
    env_file.write_text("API_PORT=8000")  # no trailing newline: the generated lines must still start on their own line
    env_file.chmod(0o644)
    run.ENV_FILE = env_file
    password = run.ensure_local_pg_password()
    assert len(password) >= 32 and password.isalnum()
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert run.ensure_local_pg_password() == password  # kept, not regenerated
    lines = env_file.read_text().splitlines()
    assert "API_PORT=8000" in lines and f"LOCAL_PG_PASSWORD={password}" in lines
    # pg.sh gets it through its environment: the command line run.py builds carries no password.
    source = (REPO_ROOT / "scripts" / "run.py").read_text()
    assert '"PG_PASSWORD": ensure_local_pg_password()' in source
    assert '"start", "pgrun", pg_port, "aitrader"]' in source
