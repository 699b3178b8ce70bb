"""The backup and restore scripts keep the database password out of the process list: every PostgreSQL client they
start gets a URL without the password on its command line and the password in its own environment only."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from tests.helpers import REPO_ROOT, scratch_database
from tests.security.test_local_postgres import Cluster

PASSWORD = "pw/with@odd:chars-7d1e"
ENCODED = "pw%2Fwith%40odd%3Achars-7d1e"
TOOLS = ("pg_dump", "pg_restore", "psql")


def real_bindir() -> Path:
    dirs = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0
    )
    for d in reversed(dirs):
        if (d / "pg_dump").exists():
            return d
    import shutil

    return Path(shutil.which("pg_dump")).parent


def spying_bindir(tmp_path: Path) -> tuple[Path, Path]:
    """PG_BINDIR whose tools record their command line and whether PGPASSWORD is set, then run the real tool."""
    spy, log = tmp_path / "bin", tmp_path / "calls.log"
    spy.mkdir()
    for tool in TOOLS:
        script = spy / tool
        script.write_text(
            f'#!/usr/bin/env bash\nargs="$*"\nprintf "%s\\t%s\\t%s\\n" "{tool}" "${{args//$\'\\n\'/ }}" "${{PGPASSWORD:-<unset>}}" >> "{log}"\n'
            f'exec "{real_bindir() / tool}" "$@"\n'
        )
        script.chmod(0o755)
    return spy, log


def url_with_password(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=f"{parts.username or 'postgres'}:{ENCODED}@{host}"))


def run(args: list, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEST_DATABASE_URL", "PGPASSWORD")}
    return subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
        env={**clean, "AITRADER_ENV_FILE": "/dev/null", **env},
    )


def test_backup_and_restore_never_put_the_password_on_a_command_line(tmp_path: Path) -> None:
    """Against a cluster that checks passwords (scripts/pg.sh, scram-sha-256), so the password must really arrive."""
    cluster = Cluster()
    try:
        server = cluster.start()
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"alter role postgres password '{PASSWORD}'")
            conn.execute("create table probe (id int primary key, note text)")
            conn.execute("insert into probe values (1, 'kept')")
        backup_and_restore(url_with_password(server), tmp_path)
    finally:
        cluster.remove()


def backup_and_restore(source: str, tmp_path: Path) -> None:
    spy, log = spying_bindir(tmp_path)
    fresh_database_url = source
    dump = tmp_path / "b.dump"
    backup = run([REPO_ROOT / "scripts" / "db_backup.sh", "-o", dump], DATABASE_URL=source, PG_BINDIR=str(spy))
    assert backup.returncode == 0, backup.stderr
    with scratch_database(fresh_database_url, "r") as target:
        restore = run(
            [REPO_ROOT / "scripts" / "db_restore.sh", dump, "--target", url_with_password(target)], PG_BINDIR=str(spy)
        )
        assert restore.returncode == 0, restore.stderr
        with psycopg.connect(target) as conn:
            assert conn.execute("select note from probe").fetchall() == [("kept",)]
    calls = [line.split("\t") for line in log.read_text().splitlines()]
    assert {c[0] for c in calls} == set(TOOLS), calls
    connecting = [c for c in calls if "--dbname" in c[1]]
    assert len(connecting) >= 4, calls
    for tool, argv, password in connecting:
        assert PASSWORD not in argv and ENCODED not in argv and "pw%2F" not in argv, (tool, argv)
        assert password == PASSWORD, (tool, password)  # decoded, and only in the child's environment
    # Nor in what the scripts print.
    for output in (backup.stdout, backup.stderr, restore.stdout, restore.stderr):
        assert PASSWORD not in output and ENCODED not in output
