"""The scheduler's API shapes (the status, the `trigger` event) and the value helpers the engine and the
service share."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation

import msgspec

from api_server.scheduler import state as store
from api_server.scheduler.agent_client import AnalysisError, AnalysisResult
from api_server.scheduler.decisions import (
    Decision,
    Source,
    SymbolState,
    TriggerConfig,
    deviation_bps,
    measuring_baseline,
)
from api_server.scheduler.runs import StrategyRun, parse_decision
from api_server.scheduler.state import iso
from api_server.tickers import Ticker


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


def bps(value: Decimal | None) -> float | None:
    return None if value is None else round(float(value), 4)


def pct(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value / 100:.4f}%"


def text(value: Decimal | None) -> str | None:
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
                lastTriggerPrice=text(st.last_trigger_price),
                lastTriggerAt=iso(st.last_trigger_at),
                nextScheduledAt=iso(st.next_scheduled_at),
                lastSource=st.last_source,
                lastStatus=last[1] if last else None,
                lastRunId=last[0] if last else None,
                price=text(price),
                deviationBps=bps(deviation_bps(price, measuring_baseline(st))),
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


def trigger_event(inst_id: str, decision: Decision, run_id: str | None) -> TriggerEvent:
    return TriggerEvent(
        instId=inst_id,
        source=decision.source,
        reason=decision.reason,
        price=text(decision.price),
        baseline=text(decision.baseline),
        deviationBps=bps(decision.deviation_bps),
        runId=run_id,
        at=iso(decision.at) or "",
        followUp=decision.follow_up,
        coalesced=decision.coalesced,
    )


def finished_run(
    run: StrategyRun,
    answer: AnalysisResult | None,
    error: str | None,
    now: float,
    started_at: float,
    failed: AnalysisError | None = None,
) -> StrategyRun:
    """The run's record at its end: succeeded with the agent's answer, or failed with the error (and, when the
    agent reported the failure, what the run did before it failed)."""
    ok = answer is not None
    usage = answer.usage if answer is not None else None
    confidence = answer.confidence if answer is not None else None
    done = answer if answer is not None else failed
    return msgspec.structs.replace(
        run,
        status="succeeded" if ok else "failed",
        finishedAt=iso(now),
        error=error,
        summary=answer.summary if answer is not None else None,
        confidence=None if confidence is None else int(round(confidence)),
        toolCalls=done.toolCalls if done is not None else [],
        orders=done.orders if done is not None else [],
        provider=done.provider if done is not None else None,
        model=done.model if done is not None else None,
        decision=parse_decision(answer.decision) if answer is not None else None,
        inputTokens=usage.inputTokens if usage is not None else None,
        outputTokens=usage.outputTokens if usage is not None else None,
        costUsd=str(usage.costUsd) if usage is not None and usage.costUsd is not None else None,
        durationMs=round((now - started_at) * 1000, 3),
    )
