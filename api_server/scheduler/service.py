"""The strategy scheduler service, one per API process: it holds a `LeaderLease`; in the process that holds
the lease it runs a `SchedulerEngine`.

Manual requests and pause/resume work in every process: the leader applies them in memory (and writes them);
a non-leader writes them to the database (`strategy_runs` row `queued`, `scheduler_control`) and NOTIFYs the
leader, which picks them up at once (and at the latest within `SCHEDULER_LEADER_POLL_SECS`, or when a new
leader takes over). A manual request is therefore never lost, whichever process receives it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp
import msgspec
from psycopg_pool import AsyncConnectionPool

from api_server.events import EventHub
from api_server.scheduler import state as store
from api_server.scheduler.agent_client import AgentClient
from api_server.scheduler.decisions import config_from_settings
from api_server.scheduler.engine import SchedulerEngine
from api_server.scheduler.leader import LeaderLease
from api_server.scheduler.status import SchedulerStatus, build_status, new_run_id, price_of
from api_server.settings import Settings
from api_server.tickers import Ticker, TickerBook

log = logging.getLogger("aitrader.api.scheduler")

DEFAULT_LEADER_POLL_SECS = 2.0


# --------------------------------------------------------------------------------------------- the service


class SchedulerService:
    """Per API process: leadership, and the scheduler's API (manual runs, pause/resume, status) in any process."""

    def __init__(
        self,
        *,
        settings: Settings,
        pool: AsyncConnectionPool,
        http: aiohttp.ClientSession,
        tickers: TickerBook,
        events: EventHub,
        leader_poll_secs: float = DEFAULT_LEADER_POLL_SECS,
        clock: Callable[[], float] = time.time,
        metrics: Any = None,
    ) -> None:
        self.settings = settings
        self.inst_ids: tuple[str, ...] = tuple(settings.okx_inst_ids)
        self.base_cfg = config_from_settings(settings)
        self.max_failures = int(settings.strategy_max_consecutive_failures)
        self.pool = pool
        self.tickers = tickers
        self.events = events
        self.clock = clock
        self.metrics = metrics
        self.agent = AgentClient(http, settings.agent_base_url, settings.api_token, settings.agent_timeout_secs)
        self.instance_id = f"{socket.gethostname()}:{os.getpid()}:{settings.api_port}"
        self.engine: SchedulerEngine | None = None
        self.lease = LeaderLease(
            settings.database_url,
            poll_secs=leader_poll_secs,
            on_elected=self._become_leader,
            on_lost=self._step_down,
            on_notify=self._on_notify,
        )

    @property
    def is_leader(self) -> bool:
        return self.engine is not None

    async def start(self) -> None:
        self.tickers.add_listener(self._on_ticker)
        self.lease.start()

    async def stop(self) -> None:
        self.tickers.remove_listener(self._on_ticker)
        await self.lease.stop()

    # -- leadership ----------------------------------------------------------------------------------------
    async def _become_leader(self) -> None:
        engine = SchedulerEngine(
            inst_ids=self.inst_ids,
            base_cfg=self.base_cfg,
            max_failures=self.max_failures,
            pool=self.pool,
            agent=self.agent,
            tickers=self.tickers,
            events=self.events,
            leader_id=self.instance_id,
            clock=self.clock,
            metrics=self.metrics,
            agent_ready_wait_secs=self.settings.strategy_agent_ready_wait_secs,
        )
        await store.set_leader(self.pool, self.instance_id)
        await engine.start()
        self.engine = engine
        cfg = self.base_cfg
        log.info(
            "strategy scheduler running for %s: volatility=%s threshold=%sbps window=%s schedule=%s interval=%ss paused=%s",
            ",".join(self.inst_ids),
            cfg.vol_enabled,
            cfg.threshold_bps,
            cfg.window_secs,
            cfg.schedule_enabled,
            cfg.interval_secs,
            engine.control.paused,
        )
        self.events.publish("scheduler", engine.status())

    async def _step_down(self) -> None:
        engine, self.engine = self.engine, None
        if engine is not None:
            await engine.stop()
        with contextlib.suppress(Exception):
            await store.clear_leader_if(self.pool, self.instance_id)
        with contextlib.suppress(Exception):
            self.events.publish("scheduler", await self.status())

    def _on_notify(self, what: str | None) -> None:
        engine = self.engine
        if engine is not None:
            engine.request_sync(what)

    def _on_ticker(self, ticker: Ticker) -> None:
        engine = self.engine
        if engine is not None:
            engine.on_ticker(ticker)

    # -- API -------------------------------------------------------------------------------------------------
    async def request_manual(self, inst_ids: Sequence[str]) -> list[str]:
        """Queue one manual run per instrument; returns the run ids (an id already waiting when merged)."""
        engine = self.engine
        if engine is not None:
            return await engine.request_manual(inst_ids)
        run_ids: list[str] = []
        for inst_id in inst_ids:
            run_id = new_run_id()
            price = price_of(self.tickers.get(inst_id))
            await store.insert_queued_run(self.pool, run_id, inst_id, None, price, notify=True)
            run_ids.append(run_id)
        return run_ids

    async def set_paused(self, paused: bool, reason: str | None) -> SchedulerStatus:
        engine = self.engine
        if engine is not None:
            await engine.set_paused(paused, reason, "user")
        else:
            await store.set_paused(self.pool, paused, reason, "user", notify=True)
        return await self.status()

    async def status(self) -> SchedulerStatus:
        engine = self.engine
        if engine is not None:
            return engine.status()
        states = await store.load_symbol_states(self.pool)
        control = await store.load_control(self.pool)
        last_runs = await store.latest_run_per_instrument(self.pool, self.inst_ids)
        return build_status(
            inst_ids=self.inst_ids,
            states=states,
            cfg=msgspec.structs.replace(self.base_cfg, automation_paused=control.paused),
            control=control,
            prices={inst_id: price_of(self.tickers.get(inst_id)) for inst_id in self.inst_ids},
            last_runs=last_runs,
            is_leader=False,
            max_failures=self.max_failures,
            agent_timeout_secs=self.agent.timeout_secs,
        )
