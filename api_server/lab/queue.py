"""The backtest queue: procrastinate 3 (PostgreSQL-backed, psycopg 3) jobs, run by `make lab-worker` processes.

Any number of workers on any machines sharing the database take jobs from the `lab` queue, one backtest at a
time each (a backtest is CPU-bound). A job is retried up to `MAX_ATTEMPTS` times. A worker killed mid-backtest
stops sending heartbeats; every worker checks for such stalled jobs at start-up and every `LAB_STALLED_CHECK_SECS`
and retries them, and the retried attempt starts the backtest over (its earlier attempt never committed a
result, see `store.finish_backtest`), so no half-written result is ever shown as complete. LLM answers of the
first attempt are in the cache, so the retry costs nothing for them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket

import procrastinate
from psycopg_pool import AsyncConnectionPool

from api_server.lab import jobs

log = logging.getLogger("aitrader.lab.queue")

QUEUE = "lab"
TASK_NAME = "lab.run_backtest"
MAX_ATTEMPTS = 3
HEARTBEAT_SECS = float(os.environ.get("LAB_HEARTBEAT_SECS", "5"))
STALLED_AFTER_SECS = float(os.environ.get("LAB_STALLED_AFTER_SECS", "30"))
STALLED_CHECK_SECS = float(os.environ.get("LAB_STALLED_CHECK_SECS", "15"))


class LabQueue:
    def __init__(self, database_url: str, pool: AsyncConnectionPool | None = None) -> None:
        self.database_url = database_url
        self.pool = pool  # the worker's pool for backtest rows (set by the worker)
        self.worker_name = f"{socket.gethostname()}:{os.getpid()}"
        self.app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=database_url))
        queue = self

        @self.app.task(
            name=TASK_NAME,
            queue=QUEUE,
            pass_context=True,
            retry=procrastinate.RetryStrategy(max_attempts=MAX_ATTEMPTS, wait=1),
        )
        async def run_backtest_job(context: procrastinate.JobContext, backtest_id: str) -> None:
            attempts = context.job.attempts or 0
            assert queue.pool is not None, "the worker opens the pool before taking jobs"
            await jobs.execute(queue.pool, backtest_id, queue.worker_name, final_attempt=attempts + 1 >= MAX_ATTEMPTS)

        self.task = run_backtest_job

    async def ensure_schema(self) -> None:
        """Apply procrastinate's own schema once per database (serialised by an advisory lock)."""
        async with await _connect(self.database_url) as conn:
            await conn.execute("select pg_advisory_lock(hashtext('procrastinate_schema'))")
            try:
                cur = await conn.execute("select to_regclass('procrastinate_jobs') is not null")
                exists = (await cur.fetchone())[0]
                if not exists:
                    async with self.app.open_async():
                        await self.app.schema_manager.apply_schema_async()
                    log.info("procrastinate schema applied")
            finally:
                await conn.execute("select pg_advisory_unlock(hashtext('procrastinate_schema'))")

    async def enqueue(self, backtest_ids: list[str]) -> list[int]:
        async with self.app.open_async():
            return [await self.task.defer_async(backtest_id=b) for b in backtest_ids]

    async def retry_stalled(self) -> int:
        """Jobs of workers that stopped sending heartbeats go back to the queue."""
        stalled = await self.app.job_manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=STALLED_AFTER_SECS)
        count = 0
        for job in stalled:
            log.warning("job %s (backtest %s) was stalled: its worker stopped; retrying", job.id, job.task_kwargs)
            await self.app.job_manager.retry_job(job)
            count += 1
        await self.app.job_manager.prune_stalled_workers(STALLED_AFTER_SECS)
        return count

    async def run_worker(self) -> None:
        async with self.app.open_async():

            async def watch_stalled() -> None:
                while True:
                    try:
                        await self.retry_stalled()
                    except Exception:  # noqa: BLE001 - the watchdog must outlive a database blip
                        log.exception("stalled-job check failed")
                    await asyncio.sleep(STALLED_CHECK_SECS)

            watchdog = asyncio.create_task(watch_stalled())
            try:
                await self.app.run_worker_async(
                    queues=[QUEUE],
                    concurrency=1,
                    name=self.worker_name,
                    update_heartbeat_interval=HEARTBEAT_SECS,
                    stalled_worker_timeout=STALLED_AFTER_SECS,
                )
            finally:
                watchdog.cancel()


async def _connect(url: str):
    import psycopg

    return await psycopg.AsyncConnection.connect(url, autocommit=True)
