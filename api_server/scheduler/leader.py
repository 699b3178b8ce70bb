"""Which API process runs the scheduler: a PostgreSQL session-level advisory lock on a dedicated connection.

Every API process sharing one database runs a `LeaderLease`. The one that gets the lock is the leader and
runs the scheduler; the lock lives exactly as long as its database session, so when that process dies
(even by SIGKILL) PostgreSQL drops the session and the lock at once. The others try again every
`poll_secs` (default 2 s, well inside the promised 10 s takeover).

The leader's lock connection also LISTENs on `aitrader_scheduler`: non-leaders record manual requests and
pause/resume in the database and NOTIFY, so the leader learns of them at once; every `poll_secs` the leader
also checks its session is alive (a dead session means the lock is gone: it steps down at once) and gets a
periodic `on_notify(None)` as a safety net for notifications sent while nobody listened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import psycopg

from api_server.scheduler.state import NOTIFY_CHANNEL

log = logging.getLogger("aitrader.api.scheduler.leader")

# "AITR" "SCHD": one constant per database (advisory locks are scoped to the database).
SCHEDULER_LOCK_KEY = 0x4149_5452_5343_4844


class LeaderLease:
    def __init__(
        self,
        database_url: str,
        *,
        poll_secs: float,
        on_elected: Callable[[], Awaitable[None]],
        on_lost: Callable[[], Awaitable[None]],
        on_notify: Callable[[str | None], None],
        lock_key: int = SCHEDULER_LOCK_KEY,
    ) -> None:
        self._database_url = database_url
        self._poll_secs = poll_secs
        self._on_elected = on_elected
        self._on_lost = on_lost
        self._on_notify = on_notify
        self._lock_key = lock_key
        self._task: asyncio.Task[None] | None = None
        self.is_leader = False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="scheduler-leader-lease")

    async def stop(self) -> None:
        """Step down (the scheduler stops first, then the session closes, releasing the lock)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            conn: psycopg.AsyncConnection | None = None
            try:
                conn = await psycopg.AsyncConnection.connect(self._database_url, autocommit=True, connect_timeout=3)
                while not await self._try_lock(conn):
                    await asyncio.sleep(self._poll_secs)
                await conn.execute(f"listen {NOTIFY_CHANNEL}")
                self.is_leader = True
                log.info("this process now runs the strategy scheduler (advisory lock taken)")
                await self._on_elected()
                while True:
                    async for notification in conn.notifies(timeout=self._poll_secs):
                        self._on_notify(notification.payload)
                    await conn.execute("select 1")  # the lock lives as long as this session does
                    self._on_notify(None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any database trouble: step down, reconnect, try again
                log.warning("scheduler leadership connection failed (%s: %s); retrying", exc.__class__.__name__, exc)
            finally:
                if self.is_leader:
                    self.is_leader = False
                    log.info("this process no longer runs the strategy scheduler")
                    try:
                        await self._on_lost()
                    except Exception:  # noqa: BLE001
                        log.exception("stopping the scheduler after losing leadership failed")
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
            await asyncio.sleep(self._poll_secs)

    async def _try_lock(self, conn: psycopg.AsyncConnection) -> bool:
        row = await (await conn.execute("select pg_try_advisory_lock(%s)", (self._lock_key,))).fetchone()
        return bool(row and row[0])
