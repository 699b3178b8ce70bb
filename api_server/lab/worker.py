"""`make lab-worker`: a worker process executing queued backtests (any number, on any machine sharing DATABASE_URL)."""

from __future__ import annotations

import asyncio
import logging

from api_server.db import open_pool
from api_server.lab.queue import LabQueue
from shared.envfile import load_environment
from shared.logging_setup import configure_logging

log = logging.getLogger("aitrader.lab.worker")


async def main() -> None:
    env = load_environment()
    configure_logging(
        env.get("LOG_LEVEL", "INFO"),
        env.get("LOG_FORMAT", "text"),
        secrets=[v for k, v in env.items() if k.endswith(("_KEY", "_SECRET", "PASSPHRASE", "TOKEN")) and v],
    )
    database_url = env.get("DATABASE_URL")
    if not database_url:
        raise SystemExit("DATABASE_URL is not set: the lab worker takes its jobs from PostgreSQL")
    pool = await open_pool(database_url, max_size=4)
    try:
        queue = LabQueue(database_url, pool)
        await queue.ensure_schema()
        log.info("lab worker %s ready (queue %s)", queue.worker_name, "lab")
        await queue.run_worker()
    finally:
        await pool.close()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
