"""PostgreSQL: the async connection pool and start-up migrations."""

from __future__ import annotations

import asyncio
import logging
import time

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from shared.migrate import apply_migrations

log = logging.getLogger("aitrader.api.db")

POOL_WAIT_SECS = 2.0


async def wait_for_database(database_url: str, timeout_secs: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_secs
    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(database_url, connect_timeout=3)
            await conn.close()
            return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"database not reachable at start-up (DATABASE_URL): {exc.__class__.__name__}"
                ) from None
            log.warning("database not reachable yet, retrying")
            await asyncio.sleep(0.5)


async def open_pool(database_url: str, *, min_size: int = 1, max_size: int = 10) -> AsyncConnectionPool:
    await wait_for_database(database_url)
    await asyncio.to_thread(apply_migrations, database_url)
    pool = AsyncConnectionPool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        open=False,
        # With the database down a request waits at most this long for a connection, then answers 503.
        timeout=POOL_WAIT_SECS,
        kwargs={"row_factory": dict_row, "autocommit": True},
        # A restarted database leaves dead connections in the pool: check them before handing out.
        check=AsyncConnectionPool.check_connection,
        reconnect_timeout=3600,
    )
    await pool.open(wait=True, timeout=30)
    return pool


async def database_ok(pool: AsyncConnectionPool) -> bool:
    try:
        async with pool.connection(timeout=2) as conn:
            await conn.execute("select 1")
        return True
    except Exception:  # noqa: BLE001 - health reports any failure as not ok
        return False
