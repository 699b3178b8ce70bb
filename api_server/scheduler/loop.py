"""The strategy scheduler service: the I/O around the pure rules of `decisions.py`.

`SchedulerService` lives in every API process. It holds a `LeaderLease`; in the one process that holds the
lease it runs a `SchedulerEngine`, which owns the instruments' `SymbolState`s:

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

Manual requests and pause/resume work in every process: the leader applies them in memory (and writes them);
a non-leader writes them to the database (`strategy_runs` row `queued`, `scheduler_control`) and NOTIFYs the
leader, which picks them up at once (and at the latest within `SCHEDULER_LEADER_POLL_SECS`, or when a new
leader takes over). A manual request is therefore never lost, whichever process receives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, AsyncIterator

import aiohttp
import msgspec
from psycopg_pool import AsyncConnectionPool

from api_server.events import EventHub
from api_server.scheduler import state as store
from api_server.scheduler.agent_client import (
    AgentCallFailed,
    AgentClient,
    AnalysisRequest,
    AnalysisResult,
    AnalysisTrigger,
)
from api_server.scheduler.decisions import (
    Decision,
    RunStart,
    Source,
    SymbolState,
    TriggerConfig,
    config_from_settings,
    deviation_bps,
    measuring_baseline,
    next_to_run,
    next_wakeup,
    on_deadline,
    on_manual,
    on_run_finished,
    on_run_started,
    on_startup,
    on_tick,
)
from api_server.scheduler.leader import LeaderLease
from api_server.scheduler.state import StrategyRun, iso
from api_server.tickers import Ticker, TickerBook

log = logging.getLogger("aitrader.api.scheduler")

DEFAULT_LEADER_POLL_SECS = 2.0
INTERRUPTED_BY_DEATH = "interrupted: the API process running the scheduler stopped during the analysis"
INTERRUPTED_BY_STOP = "interrupted: the scheduler stopped during the analysis (shutdown or lost leadership)"


def new_run_id() -> str:
    return uuid.uuid4().hex


def price_of(ticker: Ticker | None) -> Decimal | None:
    """The ticker's last price as a Decimal, or None when there is no usable one."""
    if ticker is None:
        return None
    try:
        price = Decimal(ticker.last)
    except InvalidOperation:
        return None
    return price if price.is_finite() and price > 0 else None


def _bps(value: Decimal | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _pct(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value / 100:.4f}%"


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


# --------------------------------------------------------------------------------------------- API shapes


class TriggerEvent(msgspec.Struct, kw_only=True):
    """The `trigger` event on `/api/stream`: a trigger was raised (or merged into a waiting one)."""

    instId: str
    source: Source
    reason: str
    price: str | None
    baseline: str | None
    deviationBps: float | None
    runId: str | None
    at: str
    followUp: bool
    coalesced: bool


class SchedulerInstrument(msgspec.Struct, kw_only=True):
    instId: str
    lastTriggerPrice: str | None
    lastTriggerAt: str | None
    nextScheduledAt: str | None
    lastSource: Source | None
    lastStatus: str | None
    lastRunId: str | None
    price: str | None
    deviationBps: float | None
    running: bool
    runningSource: Source | None
    queued: bool
    queuedSource: Source | None
    queuedRunId: str | None
    volCooldownUntil: str | None


class SchedulerStatus(msgspec.Struct, kw_only=True):
    """`GET /api/scheduler/status` and the `scheduler` event on `/api/stream`."""

    isLeader: bool
    leaderId: str | None
    scheduleEnabled: bool
    intervalSecs: float
    volTriggerEnabled: bool
    thresholdBps: float
    windowSecs: float | None
    maxConsecutiveFailures: int
    agentTimeoutSecs: float
    paused: bool
    pausedReason: str | None
    pausedBy: str | None
    consecutiveFailures: int
    running: bool
    analysisRunning: bool
    runningInstId: str | None
    pending: int
    instruments: list[SchedulerInstrument]


def build_status(
    *,
    inst_ids: Sequence[str],
    states: Mapping[str, SymbolState],
    cfg: TriggerConfig,
    control: store.Control,
    prices: Mapping[str, Decimal | None],
    last_runs: Mapping[str, tuple[str, str]],
    is_leader: bool,
    max_failures: int,
    agent_timeout_secs: float,
) -> SchedulerStatus:
    """The status document from values (used by the leader from memory, by the others from the database)."""
    instruments: list[SchedulerInstrument] = []
    running_inst: str | None = None
    pending = 0
    for inst_id in inst_ids:
        st = states.get(inst_id) or SymbolState()
        price = prices.get(inst_id)
        if st.running_source is not None:
            running_inst = inst_id
        if st.pending is not None:
            pending += 1
        last = last_runs.get(inst_id)
        instruments.append(
            SchedulerInstrument(
                instId=inst_id,
                lastTriggerPrice=_str(st.last_trigger_price),
                lastTriggerAt=iso(st.last_trigger_at),
                nextScheduledAt=iso(st.next_scheduled_at),
                lastSource=st.last_source,
                lastStatus=last[1] if last else None,
                lastRunId=last[0] if last else None,
                price=_str(price),
                deviationBps=_bps(deviation_bps(price, measuring_baseline(st))),
                running=st.running_source is not None,
                runningSource=st.running_source,
                queued=st.pending is not None,
                queuedSource=st.pending.source if st.pending else None,
                queuedRunId=st.pending.run_id if st.pending else None,
                volCooldownUntil=iso(st.vol_cooldown_until),
            )
        )
    return SchedulerStatus(
        isLeader=is_leader,
        leaderId=control.leader_id,
        scheduleEnabled=cfg.schedule_enabled,
        intervalSecs=cfg.interval_secs,
        volTriggerEnabled=cfg.vol_enabled,
        thresholdBps=float(cfg.threshold_bps),
        windowSecs=cfg.window_secs,
        maxConsecutiveFailures=max_failures,
        agentTimeoutSecs=agent_timeout_secs,
        paused=control.paused,
        pausedReason=control.paused_reason,
        pausedBy=control.paused_by,
        consecutiveFailures=control.consecutive_failures,
        running=running_inst is not None,
        analysisRunning=running_inst is not None,
        runningInstId=running_inst,
        pending=pending,
        instruments=instruments,
    )


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
    ) -> None:
        self.inst_ids = tuple(inst_ids)
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
                inst_id, "restored" if restored is not None else "new",
                new.last_trigger_price, iso(new.next_scheduled_at),
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
            inst_id, decision.source, decision.reason, decision.price, decision.baseline,
            _pct(decision.deviation_bps),
            " follow-up (after this instrument's run)" if decision.follow_up else "",
            " merged into the waiting trigger" if decision.coalesced else "",
        )
        if self.metrics is not None and not decision.coalesced:
            self.metrics.triggers.labels(decision.source, inst_id).inc()
        self.events.publish(
            "trigger",
            TriggerEvent(
                instId=inst_id, source=decision.source, reason=decision.reason, price=_str(decision.price),
                baseline=_str(decision.baseline), deviationBps=_bps(decision.deviation_bps), runId=run_id,
                at=iso(decision.at) or "", followUp=decision.follow_up, coalesced=decision.coalesced,
            ),
        )

    def _publish_status(self) -> None:
        self.events.publish("scheduler", self.status())

    def _apply_control(self, paused: bool, reason: str | None, by: str | None, failures: int) -> None:
        changed = paused != self.control.paused or reason != self.control.paused_reason
        self.control = msgspec.structs.replace(
            self.control, paused=paused, paused_reason=reason if paused else None,
            paused_by=by if paused else None, consecutive_failures=failures,
        )
        self.cfg = msgspec.structs.replace(self.cfg, automation_paused=paused)
        if changed:
            log.warning("automated strategy runs %s%s", "paused" if paused else "resumed", f": {reason}" if paused and reason else "")
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
            id=run_id, instId=inst_id, source=start.source, status="running",
            triggeredAt=iso(start.triggered_at) or "", startedAt=iso(start.started_at),
            triggerPrice=_str(start.trigger_price), baselinePrice=_str(start.baseline_price),
            deviationBps=_bps(start.deviation_bps),
        )
        self._running = run
        self._run_task = asyncio.create_task(self._execute(inst_id, run, start), name=f"strategy-run-{run_id}")

    async def _execute(self, inst_id: str, run: StrategyRun, start: RunStart) -> None:
        answer: AnalysisResult | None = None
        error: str | None = None
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
                log.warning("no price known yet for %s (ticker feed not ready): running without one; the baseline stays", inst_id)
            request = AnalysisRequest(
                runId=run.id, instId=inst_id, source=start.source,
                trigger=AnalysisTrigger(price=run.triggerPrice, baseline=run.baselinePrice, deviationBps=run.deviationBps),
            )
            reply = await self.agent.analyse(request)
            if isinstance(reply, AnalysisResult):
                answer = reply
            else:
                error = f"analysis_error: {reply.error}"
        except AgentCallFailed as exc:
            error = exc.reason
        except asyncio.CancelledError:
            error, cancelled = INTERRUPTED_BY_STOP, True
        except Exception as exc:  # noqa: BLE001 - recorded as the run's failure; the scheduler goes on
            log.exception("strategy run %s failed unexpectedly", run.id)
            error = f"internal error: {exc.__class__.__name__}: {exc}"
        try:
            await self._finish(inst_id, run, start, answer, error)
        finally:
            self._running = None
            self._run_task = None  # the permit is free again
            self._wake.set()
        if cancelled:
            raise asyncio.CancelledError

    async def _finish(
        self, inst_id: str, run: StrategyRun, start: RunStart, answer: AnalysisResult | None, error: str | None
    ) -> None:
        now = self.clock()
        ok = answer is not None
        self.states[inst_id] = on_run_finished(self.states[inst_id], now, ok, self.cfg)
        usage = answer.usage if answer is not None else None
        confidence = answer.confidence if answer is not None else None
        finished = msgspec.structs.replace(
            run,
            status="succeeded" if ok else "failed",
            finishedAt=iso(now),
            error=error,
            summary=answer.summary if answer is not None else None,
            confidence=None if confidence is None else int(round(confidence)),
            toolCalls=answer.toolCalls if answer is not None else [],
            orders=answer.orders if answer is not None else [],
            provider=answer.provider if answer is not None else None,
            model=answer.model if answer is not None else None,
            inputTokens=usage.inputTokens if usage is not None else None,
            outputTokens=usage.outputTokens if usage is not None else None,
            costUsd=str(usage.costUsd) if usage is not None and usage.costUsd is not None else None,
            durationMs=round((now - start.started_at) * 1000, 3),
        )
        failures = 0 if ok else self.control.consecutive_failures + 1
        pause_now = not ok and failures >= self.max_failures and not self.control.paused
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
            run.id, inst_id, run.source, run.triggerPrice, run.baselinePrice, _pct(start.deviation_bps),
            "succeeded" if ok else f"failed ({error})", finished.durationMs or 0.0,
        )
        if start.trigger_price is None:
            log.warning("%s: no trigger price was known, the baseline was kept (%s)", inst_id, self.states[inst_id].last_trigger_price)
        if self.metrics is not None:
            self.metrics.runs.labels(run.source, finished.status).inc()
            self.metrics.run_duration.labels(run.source, finished.status).observe(max(0.0, now - start.triggered_at))
        dirty, self._dirty = self._dirty | {inst_id}, set()
        try:
            await store.record_run_finished(
                self.pool, finished, now, {i: self.states[i] for i in dirty}
            )
            if pause_now:
                await store.set_paused(self.pool, True, self.control.paused_reason, "system", notify=False)
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
                        self._apply_control(control.paused, control.paused_reason, control.paused_by, control.consecutive_failures)
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


# --------------------------------------------------------------------------------------------- the service


class SchedulerService:
    """Per API process: leadership, and the scheduler's API (manual runs, pause/resume, status) in any process."""

    def __init__(
        self,
        *,
        settings: Any,
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
            inst_ids=self.inst_ids, base_cfg=self.base_cfg, max_failures=self.max_failures, pool=self.pool,
            agent=self.agent, tickers=self.tickers, events=self.events, leader_id=self.instance_id,
            clock=self.clock, metrics=self.metrics,
        )
        await store.set_leader(self.pool, self.instance_id)
        await engine.start()
        self.engine = engine
        cfg = self.base_cfg
        log.info(
            "strategy scheduler running for %s: volatility=%s threshold=%sbps window=%s schedule=%s interval=%ss paused=%s",
            ",".join(self.inst_ids), cfg.vol_enabled, cfg.threshold_bps, cfg.window_secs, cfg.schedule_enabled,
            cfg.interval_secs, engine.control.paused,
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


@contextlib.asynccontextmanager
async def scheduler_service(state: Any) -> AsyncIterator[SchedulerService]:
    """For the app's lifespan: `await stack.enter_async_context(scheduler_service(state))` after the pool, the
    HTTP session, the ticker book and the event hub exist. Sets `state.scheduler`."""
    service = SchedulerService(
        settings=state.settings,
        pool=state.pool,
        http=state.http,
        tickers=state.tickers,
        events=state.events,
        leader_poll_secs=state.settings.scheduler_leader_poll_secs,
        metrics=getattr(state, "strategy_metrics", None),
    )
    state.scheduler = service
    await service.start()
    try:
        yield service
    finally:
        await service.stop()
