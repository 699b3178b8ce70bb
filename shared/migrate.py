"""Apply the project's yoyo migrations (`migrations/`) to a database; both services call it at start-up.

yoyo takes a lock table, so two processes starting together apply each migration once.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit, urlunsplit

from yoyo import get_backend, read_migrations

from shared.envfile import REPO_ROOT

MIGRATIONS_DIR = REPO_ROOT / "migrations"
log = logging.getLogger("aitrader.migrate")


def yoyo_url(database_url: str) -> str:
    """yoyo with psycopg 3 needs the `postgresql+psycopg://` scheme."""
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(scheme="postgresql+psycopg"))


def apply_migrations(database_url: str) -> list[str]:
    backend = get_backend(yoyo_url(database_url))
    migrations = read_migrations(str(MIGRATIONS_DIR))
    with backend.lock():
        pending = backend.to_apply(migrations)
        if pending:
            backend.apply_migrations(pending)
    applied = [m.id for m in pending]
    if applied:
        log.info("applied migrations: %s", ", ".join(applied))
    return applied


def migration_status(database_url: str) -> list[tuple[str, bool]]:
    backend = get_backend(yoyo_url(database_url))
    migrations = read_migrations(str(MIGRATIONS_DIR))
    applied = {m.id for m in backend.to_rollback(migrations)}
    return [(m.id, m.id in applied) for m in migrations]
