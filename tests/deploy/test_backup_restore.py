"""scripts/db_backup.sh and scripts/db_restore.sh against the real PostgreSQL: a migrated database with rows is
backed up, restored into another empty database, and compared table by table."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from shared.migrate import apply_migrations, migration_status
from tests.helpers import REPO_ROOT, scratch_database

BACKUP = REPO_ROOT / "scripts" / "db_backup.sh"
RESTORE = REPO_ROOT / "scripts" / "db_restore.sh"


@pytest.fixture
def second_database_url(fresh_database_url: str) -> str:
    """Another new empty database on the same server (dropped after the test)."""
    with scratch_database(fresh_database_url, "t") as url:
        yield url


def with_password(url: str, password: str) -> str:
    """The URL with a password: its own when it has one (scripts/pg.sh clusters need theirs), else `password`
    (a server that trusts local connections accepts and ignores it)."""
    parts = urlsplit(url)
    if parts.password:
        return url
    user = parts.username or "postgres"
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}"))


def script_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEST_DATABASE_URL")}
    env["AITRADER_ENV_FILE"] = "/dev/null"
    env.update(extra)
    return env


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=60, env=script_env(**env), cwd=REPO_ROOT
    )


def table_contents(url: str) -> dict[str, list[str]]:
    """Every user table's rows as JSON text, in a stable order."""
    with psycopg.connect(url) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "select quote_ident(schemaname) || '.' || quote_ident(tablename) from pg_tables "
                "where schemaname not in ('pg_catalog', 'information_schema') order by 1"
            )
        ]
        return {t: sorted(r[0] for r in conn.execute(f"select row_to_json(t)::text from {t} t")) for t in tables}


def seed_rows(url: str) -> None:
    apply_migrations(url)
    with psycopg.connect(url) as conn:
        for i in range(25):
            conn.execute(
                "insert into service_events (service, kind, detail) values (%s, %s, %s::jsonb)",
                ("api", f"kind-{i % 3}", f'{{"i": {i}, "note": "价格 ±{i}", "nested": {{"ok": true}}}}'),
            )
        # A table outside the migrations, with types the dump must carry exactly.
        conn.execute(
            "create table ops_probe (id bigserial primary key, amount numeric(30, 12), at timestamptz, tags text[], raw bytea)"
        )
        conn.execute(
            "insert into ops_probe (amount, at, tags, raw) values "
            "(12345.678901234567, '2026-11-25 10:00:00.123456+00', array['a', 'b'], '\\x00ff'::bytea), "
            "(-0.000000000001, null, '{}', null)"
        )


def test_backup_restores_into_an_empty_database_with_the_same_rows(
    fresh_database_url: str, second_database_url: str, tmp_path: Path
) -> None:
    seed_rows(fresh_database_url)
    source = with_password(fresh_database_url, "s3cret-pw-never-printed")
    dump = tmp_path / "backups" / "aitrader.dump"

    backup = run([BACKUP, "-o", dump], DATABASE_URL=source)
    assert backup.returncode == 0, backup.stderr
    assert backup.stdout.strip() == str(dump) and dump.stat().st_size > 0
    assert oct(dump.stat().st_mode & 0o777) == "0o600"
    assert urlsplit(source).password not in backup.stderr + backup.stdout
    assert not dump.with_name(dump.name + ".partial").exists()

    restore = run([RESTORE, dump, "--target", with_password(second_database_url, "s3cret-pw-never-printed")])
    assert restore.returncode == 0, restore.stderr
    assert urlsplit(source).password not in restore.stderr + restore.stdout

    before, after = table_contents(fresh_database_url), table_contents(second_database_url)
    assert set(after) == set(before)
    assert len(after["public.service_events"]) == 25 and len(after["public.ops_probe"]) == 2
    for table in before:
        assert after[table] == before[table], table
    # The migration bookkeeping came along: nothing is pending in the restored database.
    assert all(applied for _, applied in migration_status(second_database_url))
    assert apply_migrations(second_database_url) == []
    # Sequences were restored too: a new row does not collide with a restored id.
    with psycopg.connect(second_database_url) as conn:
        new_id = conn.execute(
            "insert into service_events (service, kind) values ('api', 'after-restore') returning id"
        ).fetchone()[0]
        assert new_id > 25


def test_restore_refuses_a_database_that_is_not_empty_unless_clean(
    fresh_database_url: str, second_database_url: str, tmp_path: Path
) -> None:
    seed_rows(fresh_database_url)
    dump = tmp_path / "a.dump"
    assert run([BACKUP, "-o", dump], DATABASE_URL=fresh_database_url).returncode == 0
    apply_migrations(second_database_url)
    with psycopg.connect(second_database_url) as conn:
        conn.execute("insert into service_events (service, kind) values ('stale', 'row')")

    refused = run([RESTORE, dump], DATABASE_URL=second_database_url)
    assert refused.returncode == 1
    assert "not empty" in refused.stderr and "--clean" in refused.stderr
    assert [r for r in table_contents(second_database_url)["public.service_events"] if '"stale"' in r]  # untouched

    cleaned = run([RESTORE, dump, "--clean"], DATABASE_URL=second_database_url)
    assert cleaned.returncode == 0, cleaned.stderr
    assert table_contents(second_database_url) == table_contents(fresh_database_url)


def test_database_url_comes_from_the_env_file(fresh_database_url: str, tmp_path: Path) -> None:
    seed_rows(fresh_database_url)
    env_file = tmp_path / "aitrader.env"
    env_file.write_text(
        f"# deployment settings\nAPI_TOKEN=abcdefghijklmnopqrstuvwxyz\nDATABASE_URL={fresh_database_url}\n"
    )
    result = run([BACKUP, "-o", tmp_path / "from-env-file.dump"], AITRADER_ENV_FILE=str(env_file))
    assert result.returncode == 0, result.stderr
    assert (
        "service_events"
        in subprocess.run(
            [
                "bash",
                "-c",
                f'. {REPO_ROOT}/scripts/db_common.sh; "$(pg_bindir pg_restore)/pg_restore" --list {tmp_path / "from-env-file.dump"}',
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )


def test_clear_errors(tmp_path: Path, fresh_database_url: str) -> None:
    missing_url = run([BACKUP, "-o", tmp_path / "x.dump"])
    assert missing_url.returncode == 1 and "no DATABASE_URL" in missing_url.stderr
    no_file = run([RESTORE, tmp_path / "nope.dump"], DATABASE_URL=fresh_database_url)
    assert no_file.returncode == 1 and "no such backup file" in no_file.stderr
    not_a_dump = tmp_path / "notes.txt"
    not_a_dump.write_text("hello")
    wrong = run([RESTORE, not_a_dump], DATABASE_URL=fresh_database_url)
    assert wrong.returncode == 1 and "not a pg_dump custom-format archive" in wrong.stderr
    unreachable = run(
        [BACKUP, "-o", tmp_path / "y.dump"], DATABASE_URL="postgresql://postgres:pw-hidden@127.0.0.1:1/nothing"
    )
    assert unreachable.returncode == 1 and "pw-hidden" not in unreachable.stderr.replace("***", "")
    assert not (tmp_path / "y.dump").exists() and not (tmp_path / "y.dump.partial").exists()
