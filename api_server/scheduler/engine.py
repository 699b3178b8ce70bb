"""The strategy scheduler engine: the I/O around the pure rules of `decisions.py`, in the one process that
holds the leader lease (`service.py` elects it and hands the API's requests to it).

* **Volatility**: `TickerBook.add_listener` calls `on_ticker` synchronously for every accepted ticker; the
  decision (`on_tick`) is made inline and, when it raises a trigger, the loop's `asyncio.Event` is set. No
  polling anywhere between the WebSocket message and the agent call.
* **Deadlines**: the loop sleeps until `next_wakeup(...)` or until woken by any change (a trigger, a run's
  end, pause/resume, a manual request), so it never oversleeps nor busy-waits.
* **One analysis at a time**: the engine's single `_run_task` slot is the analysis permit shared by every
  source; every trigger first waits in `SymbolState.pending` (merged per instrument by the pure core) and
  `next_to_run` picks who gets the permit next.
* **Every outcome** (result, `analysis_error`, refused connection, 5xx, timeout, interruption) goes through
  `on_run_finished`, is recorded (CONTRACT §6), logged in one line and published on the event hub.
* **Persistence**: states are written on every change (`state.py`) and restored when a process becomes
  leader; a run left `running` by a dead leader is closed as failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

import msgspec
from psycopg_pool import AsyncConnectionPool

from api_server.events import EventHub
from api_server.scheduler import state as store
from api_server.scheduler.agent_client import (
    AgentCallFailed,
    AgentClient,
    AnalysisError,
    AnalysisRequest,
    AnalysisResult,
    AnalysisTrigger,
)
from api_server.scheduler.decisions import (
    Decision,
    RunStart,
    SymbolState,
    TriggerConfig,
    next_to_run,
    next_wakeup,
    on_deadline,
    on_manual,
    on_run_finished,
    on_run_started,
    on_startup,
    on_tick,
)
from api_server.scheduler.runs import StrategyRun
from api_server.scheduler.state import iso
from api_server.scheduler.status import (
    SchedulerStatus,
    bps,
    build_status,
    finished_run,
    new_run_id,
    pct,
    price_of,
    text,
    trigger_event,
)
from api_server.tickers import Ticker, TickerBook

log = logging.getLogger("aitrader.api.scheduler")

INTERRUPTED_BY_DEATH = "interrupted: the API process running the scheduler stopped during the analysis"
INTERRUPTED_BY_STOP = "interrupted: the scheduler stopped during the analysis (shutdown or lost leadership)"


# --------------------------------------------------------------------------------------------- the engine


class SchedulerEngine:
    """The scheduler proper; exists only in the leader process, from election to step-down."""

    def __init__(
        self,
        *,
        inst_ids: Sequence[str],
        base_cfg: TriggerConfig,
        max_failures: int,
        pool: AsyncConnectionPool,
        agent: AgentClient,
        tickers: TickerBook,
        events: EventHub,
        leader_id: str,
        clock: Callable[[], float] = time.time,
        metrics: Any = None,
        agent_ready_wait_secs: float = 0.0,
    ) -> None:
        self.inst_ids = tuple(inst_ids)
        self.agent_ready_wait_secs = agent_ready_wait_secs
        self.cfg = base_cfg
        self.max_failures = max_failures
        self.pool = pool
        self.agent = agent
        self.tickers = tickers
        self.events = events
        self.leader_id = leader_id
        self.clock = clock
        self.metrics = metrics
        self.states: dict[str, SymbolState] = {}
        self.control = store.Control()
        self.last_runs: dict[str, tuple[str, str]] = {}
        self._wake = asyncio.Event()
        self._dirty: set[str] = set()
        self._run_task: asyncio.Task[None] | None = None  # the analysis permit: at most one run at a time
        self._running: StrategyRun | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._sync_task: asyncio.Task[None] | None = None
        self._want_absorb = False
        self._want_control = False
        self._control_version = 0  # bumped by every local control change; a stale reload is dropped
        self._seen_run_ids: set[str] = set()  # run ids this engine has taken on (never queue one twice)
        self._started = False

    # -- life cycle --------------------------------------------------------------------------------------
    async def start(self) -> None:
        self.control = await store.load_control(self.pool)
        self.cfg = msgspec.structs.replace(self.cfg, automation_paused=self.control.paused)
        interrupted = await store.fail_interrupted_runs(self.pool, INTERRUPTED_BY_DEATH)
        for run_id in interrupted:
            log.warning("strategy run %s was left running by a stopped scheduler: recorded as failed", run_id)
        stored = await store.load_symbol_states(self.pool)
        now = self.clock()
        decisions: list[tuple[str, Decision]] = []
        for inst_id in self.inst_ids:
            restored = stored.get(inst_id)
            new, decision = on_startup(restored or SymbolState(), now, self.cfg)
            self.states[inst_id] = new
            if decision is not None:
                decisions.append((inst_id, decision))
            log.info(
                "scheduler state %s %s: baseline=%s next=%s",
                inst_id,
                "restored" if restored is not None else "new",
                new.last_trigger_price,
                iso(new.next_scheduled_at),
            )
        self._seen_run_ids = {s.pending.run_id for s in self.states.values() if s.pending and s.pending.run_id}
        await store.save_symbol_states(self.pool, self.states)
        self.last_runs = await store.latest_run_per_instrument(self.pool, self.inst_ids)
        self._started = True
        for inst_id, decision in decisions:
            self._announce(inst_id, decision, self.states[inst_id])
        await self._absorb_queued()
        # Prices already held (a takeover, or a feed faster than us) count as the first tick: a market that
        # moved past the threshold while no scheduler ran triggers now.
        self._evaluate_held_prices()
        self._loop_task = asyncio.create_task(self._drive(), name="scheduler-loop")

    async def stop(self) -> None:
        self._started = False
        for task in (self._loop_task, self._sync_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        run_task = self._run_task
        if run_task is not None:
            run_task.cancel()  # its own handler records the run as failed and does the bookkeeping
            with contextlib.suppress(asyncio.CancelledError):
                await run_task
        with contextlib.suppress(Exception):
            await self._flush()

    # -- inputs --------------------------------------------------------------------------------------------
    def on_ticker(self, ticker: Ticker) -> None:
        """Synchronous TickerBook listener: decide inline, wake the loop only when a trigger was raised."""
        if not self._started or not self.cfg.vol_enabled:
            return
        state = self.states.get(ticker.instId)
        if state is None:
            return
        price = price_of(ticker)
        if price is None:
            return
        new, decision = on_tick(state, price, self.clock(), self.cfg)
        if decision is not None:
            self._apply(ticker.instId, new, decision)

    async def request_manual(self, inst_ids: Iterable[str]) -> list[str]:
        now = self.clock()
        answered: list[str] = []
        to_record: list[tuple[str, str, Decimal | None]] = []
        for inst_id in inst_ids:
            run_id = new_run_id()
            price = self._price(inst_id)
            new, decision = on_manual(self.states[inst_id], price, now, run_id)
            self._seen_run_ids.add(run_id)
            self._apply(inst_id, new, decision)
            chosen = new.pending.run_id if new.pending is not None and new.pending.run_id else run_id
            answered.append(chosen)
            if chosen == run_id:
                to_record.append((run_id, inst_id, price))
        for run_id, inst_id, price in to_record:
            # `on conflict do nothing`: if the run already started (and upserted its row), this is a no-op.
            await store.insert_queued_run(self.pool, run_id, inst_id, now, price, notify=False)
        return answered

    async def set_paused(self, paused: bool, reason: str | None, by: str | None) -> None:
        self._control_version += 1
        self._apply_control(paused, reason, by, self.control.consecutive_failures if paused else 0)
        await store.set_paused(self.pool, paused, reason, by, notify=False)

    def request_sync(self, what: str | None) -> None:
        """A NOTIFY (or the lease's periodic check, `None`): pick up queued requests / control changes."""
        if what in (None, store.NOTIFY_MANUAL):
            self._want_absorb = True
        if what in (None, store.NOTIFY_CONTROL):
            self._want_control = True
        if self._started and (self._sync_task is None or self._sync_task.done()):
            self._sync_task = asyncio.create_task(self._sync(), name="scheduler-sync")

    # -- status --------------------------------------------------------------------------------------------
    def status(self) -> SchedulerStatus:
        return build_status(
            inst_ids=self.inst_ids,
            states=self.states,
            cfg=self.cfg,
            control=msgspec.structs.replace(self.control, leader_id=self.leader_id),
            prices={inst_id: self._price(inst_id) for inst_id in self.inst_ids},
            last_runs=self.last_runs,
            is_leader=True,
            max_failures=self.max_failures,
            agent_timeout_secs=self.agent.timeout_secs,
        )

    # -- internals -----------------------------------------------------------------------------------------
    def _price(self, inst_id: str) -> Decimal | None:
        return price_of(self.tickers.get(inst_id))

    def _evaluate_held_prices(self) -> None:
        for inst_id in self.inst_ids:
            ticker = self.tickers.get(inst_id)
            if ticker is not None:
                self.on_ticker(ticker)

    def _apply(self, inst_id: str, new: SymbolState, decision: Decision) -> None:
        self.states[inst_id] = new
        self._dirty.add(inst_id)
        self._announce(inst_id, decision, new)
        self._wake.set()

    def _announce(self, inst_id: str, decision: Decision, new: SymbolState) -> None:
        run_id = new.pending.run_id if new.pending is not None else None
        log.info(
            "trigger %s source=%s reason=%s price=%s baseline=%s deviation=%s%s%s",
            inst_id,
            decision.source,
            decision.reason,
            decision.price,
            decision.baseline,
            pct(decision.deviation_bps),
            " follow-up (after this instrument's run)" if decision.follow_up else "",
            " merged into the waiting trigger" if decision.coalesced else "",
        )
        if self.metrics is not None and not decision.coalesced:
            self.metrics.triggers.labels(decision.source, inst_id).inc()
        self.events.publish("trigger", trigger_event(inst_id, decision, run_id))

    def _publish_status(self) -> None:
        self.events.publish("scheduler", self.status())

    def _apply_control(self, paused: bool, reason: str | None, by: str | None, failures: int) -> None:
        changed = paused != self.control.paused or reason != self.control.paused_reason
        self.control = msgspec.structs.replace(
            self.control,
            paused=paused,
            paused_reason=reason if paused else None,
            paused_by=by if paused else None,
            consecutive_failures=failures,
        )
        self.cfg = msgspec.structs.replace(self.cfg, automation_paused=paused)
        if changed:
            log.warning(
                "automated strategy runs %s%s",
                "paused" if paused else "resumed",
                f": {reason}" if paused and reason else "",
            )
            if not paused:
                self._evaluate_held_prices()
            self._publish_status()
        self._wake.set()

    async def _flush(self) -> None:
        if not self._dirty:
            return
        dirty, self._dirty = self._dirty, set()
        try:
            await store.save_symbol_states(self.pool, {inst_id: self.states[inst_id] for inst_id in dirty})
        except BaseException:
            self._dirty |= dirty  # written at the next change or wake-up
            raise

    async def _drive(self) -> None:
        while True:
            self._wake.clear()
            now = self.clock()
            for inst_id in self.inst_ids:
                new, decision = on_deadline(self.states[inst_id], now, self.cfg, self._price(inst_id))
                if decision is not None:
                    self._apply(inst_id, new, decision)
            started = False
            if self._run_task is None:
                inst_id = next_to_run(self.states, self.cfg)
                if inst_id is not None:
                    self._start_run(inst_id, now)
                    started = True
            if not started:  # a starting run writes every changed state together with its record
                try:
                    await self._flush()
                except Exception as exc:  # noqa: BLE001 - the database may be back at the next wake-up
                    log.warning("could not persist scheduler state (%s: %s); will retry", exc.__class__.__name__, exc)
            wake_at = next_wakeup(self.states, self.clock(), self.cfg)
            timeout = None if wake_at is None else max(0.0, wake_at - self.clock()) + 0.001
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _start_run(self, inst_id: str, now: float) -> None:
        new, start = on_run_started(self.states[inst_id], now, self._price(inst_id))
        run_id = start.run_id or new_run_id()
        self.states[inst_id] = new
        self._dirty.add(inst_id)
        self._seen_run_ids.add(run_id)
        run = StrategyRun(
            id=run_id,
            instId=inst_id,
            source=start.source,
            status="running",
            triggeredAt=iso(start.triggered_at) or "",
            startedAt=iso(start.started_at),
            triggerPrice=text(start.trigger_price),
            baselinePrice=text(start.baseline_price),
            deviationBps=bps(start.deviation_bps),
        )
        self._running = run
        self._run_task = asyncio.create_task(self._execute(inst_id, run, start), name=f"strategy-run-{run_id}")

    async def _execute(self, inst_id: str, run: StrategyRun, start: RunStart) -> None:
        answer: AnalysisResult | None = None
        failed: AnalysisError | None = None
        error: str | None = None
        unreachable = False
        cancelled = False
        try:
            # The run's record and every changed state are on disk before the agent is asked.
            dirty, self._dirty = self._dirty, set()
            try:
                await store.record_run_started(
                    self.pool, run, start.started_at, start.triggered_at, {i: self.states[i] for i in dirty}
                )
            except BaseException:
                self._dirty |= dirty
                raise
            self.last_runs[inst_id] = (run.id, "running")
            self.events.publish("run", run)
            self._publish_status()
            if start.trigger_price is None:
                log.warning(
                    "no price known yet for %s (ticker feed not ready): running without one; the baseline stays",
                    inst_id,
                )
            request = AnalysisRequest(
                runId=run.id,
                instId=inst_id,
                source=start.source,
                trigger=AnalysisTrigger(
                    price=run.triggerPrice, baseline=run.baselinePrice, deviationBps=run.deviationBps
                ),
            )
            # An automated trigger may fire while the agent is still starting: wait (bounded) for its health.
            if (
                start.source != "manual"
                and self.agent_ready_wait_secs > 0
                and not await self.agent.wait_until_healthy(self.agent_ready_wait_secs)
            ):
                raise AgentCallFailed(
                    f"agent unreachable: not healthy within {self.agent_ready_wait_secs:g} s "
                    "(STRATEGY_AGENT_READY_WAIT_SECS)",
                    unreachable=True,
                )
            reply = await self.agent.analyse(request)
            if isinstance(reply, AnalysisResult):
                answer = reply
            else:
                failed = reply
                error = f"analysis_error: {reply.error}" + (f" (reason: {reply.reason})" if reply.reason else "")
                if reply.reason == "budget":  # the agent's daily LLM budget is spent: announce it (alerts, web app)
                    self.events.publish(
                        "llm_budget",
                        {"day": time.strftime("%Y-%m-%d", time.gmtime()), "runId": run.id, "detail": reply.error},
                    )
        except AgentCallFailed as exc:
            error, unreachable = exc.reason, exc.unreachable
        except asyncio.CancelledError:
            error, cancelled = INTERRUPTED_BY_STOP, True
        except Exception as exc:  # noqa: BLE001 - recorded as the run's failure; the scheduler goes on
            log.exception("strategy run %s failed unexpectedly", run.id)
            error = f"internal error: {exc.__class__.__name__}: {exc}"
        try:
            await self._finish(inst_id, run, start, answer, error, failed, counts=not unreachable)
        finally:
            self._running = None
            self._run_task = None  # the permit is free again
            self._wake.set()
        if cancelled:
            raise asyncio.CancelledError

    async def _finish(
        self,
        inst_id: str,
        run: StrategyRun,
        start: RunStart,
        answer: AnalysisResult | None,
        error: str | None,
        failed: AnalysisError | None = None,
        *,
        counts: bool = True,
    ) -> None:
        """`counts`: the failure counts toward the automatic pause (not when the agent was unreachable)."""
        now = self.clock()
        ok = answer is not None
        self.states[inst_id] = on_run_finished(self.states[inst_id], now, ok, self.cfg)
        finished = finished_run(run, answer, error, now, start.started_at, failed)
        failures = 0 if ok else self.control.consecutive_failures + (1 if counts else 0)
        pause_now = not ok and counts and failures >= self.max_failures and not self.control.paused
        reason = None
        if pause_now:
            reason = f"paused itself after {failures} consecutive failed runs; last error: {error}"
            self._control_version += 1
            self._apply_control(True, reason, "system", failures)
        else:
            self.control = msgspec.structs.replace(self.control, consecutive_failures=failures)
        self.last_runs[inst_id] = (run.id, finished.status)
        log.log(
            logging.INFO if ok else logging.WARNING,
            "strategy run %s %s source=%s trigger_price=%s baseline=%s deviation=%s result=%s duration_ms=%.0f",
            run.id,
            inst_id,
            run.source,
            run.triggerPrice,
            run.baselinePrice,
            pct(start.deviation_bps),
            "succeeded" if ok else f"failed ({error})",
            finished.durationMs or 0.0,
        )
        if start.trigger_price is None:
            log.warning(
                "%s: no trigger price was known, the baseline was kept (%s)",
                inst_id,
                self.states[inst_id].last_trigger_price,
            )
        if self.metrics is not None:
            self.metrics.runs.labels(run.source, finished.status).inc()
            self.metrics.run_duration.labels(run.source, finished.status).observe(max(0.0, now - start.triggered_at))
        dirty, self._dirty = self._dirty | {inst_id}, set()
        try:
            await store.record_run_finished(self.pool, finished, now, {i: self.states[i] for i in dirty})
            if pause_now:
                # the reason decided above: a control reload racing this write must not store it without one
                await store.set_paused(self.pool, True, reason, "system", notify=False)
            await store.set_consecutive_failures(self.pool, failures)
        except Exception as exc:  # noqa: BLE001 - keep going; the states are written again at the next change
            self._dirty |= dirty
            log.error("could not record the end of strategy run %s (%s: %s)", run.id, exc.__class__.__name__, exc)
        self.events.publish("run", finished)
        self._publish_status()

    async def _sync(self) -> None:
        while self._want_absorb or self._want_control:
            try:
                if self._want_control:
                    self._want_control = False
                    version = self._control_version
                    control = await store.load_control(self.pool)
                    if version == self._control_version and (
                        control.paused != self.control.paused or control.paused_reason != self.control.paused_reason
                    ):
                        self._apply_control(
                            control.paused, control.paused_reason, control.paused_by, control.consecutive_failures
                        )
                if self._want_absorb:
                    self._want_absorb = False
                    await self._absorb_queued()
            except Exception as exc:  # noqa: BLE001 - the next NOTIFY or periodic check retries
                log.warning("scheduler sync with the database failed (%s: %s)", exc.__class__.__name__, exc)
                return

    async def _absorb_queued(self) -> None:
        """Take on manual requests recorded in the database (by other processes, or before a takeover)."""
        queued = await store.queued_requests(self.pool)
        for request in queued:
            if request.run_id in self._seen_run_ids:
                continue
            self._seen_run_ids.add(request.run_id)
            inst_id = request.inst_id
            if inst_id not in self.states:
                skipped = await store.mark_run_skipped(
                    self.pool, request.run_id, f"{inst_id} is not among the scheduler's instruments (OKX_INST_IDS)"
                )
                if skipped is not None:
                    self.events.publish("run", skipped)
                continue
            new, decision = on_manual(self.states[inst_id], self._price(inst_id), request.triggered_at, request.run_id)
            self._apply(inst_id, new, decision)
            chosen = new.pending.run_id if new.pending is not None else None
            if chosen != request.run_id:
                skipped = await store.mark_run_skipped(
                    self.pool, request.run_id, f"merged into run {chosen}, which was already waiting for {inst_id}"
                )
                if skipped is not None:
                    self.events.publish("run", skipped)
        # Forget ids that can no longer come back as `queued` (keeps the set small).
        keep = {r.run_id for r in queued}
        keep |= {s.pending.run_id for s in self.states.values() if s.pending is not None and s.pending.run_id}
        if self._running is not None:
            keep.add(self._running.id)
        self._seen_run_ids &= keep
