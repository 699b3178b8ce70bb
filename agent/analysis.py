"""One strategy analysis (CONTRACT §5): context built by code, the tool loop acting as `agent:run:<runId>`,
a structured decision, and a reply that keeps what the run did even when it fails."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import psycopg

from agent.decision import DECISION_TOOL, Decision, check_decision, decision_tool_schema, derived_decision
from agent.llm import LlmError, LoopState, ToolExecution
from agent.memory import analysis_session_id
from agent.origin import acting_as, run_origin
from agent.prompt import (
    ANALYSIS_SYSTEM_PROMPT,
    AnalysisTrigger,
    build_analysis_context,
    fetch_snapshot,
    parse_final_answer,
    trigger_line,
)
from agent.schemas import AnalysisError, AnalysisRequest, AnalysisResult
from agent.service import orders_of

if TYPE_CHECKING:
    from agent.service import AgentService

log = logging.getLogger("aitrader.agent")


class MemoryFailure(LlmError):
    reason = "memory_error"


async def run_analysis(service: AgentService, request: AnalysisRequest) -> AnalysisResult | AnalysisError:
    started = time.perf_counter()
    state = LoopState()
    held: dict[str, Any] = {}  # the stored context message, the decision, the loop
    try:
        async with asyncio.timeout(service.settings.llm_total_timeout_secs):
            async with service.turns.turn():
                with acting_as(run_origin(request.runId)):
                    return await _analyse(service, request, started, state, held)
    except TimeoutError:
        message, reason = (
            (
                f"analysis exceeded the total timeout of {service.settings.llm_total_timeout_secs:g}s "
                "(LLM_TOTAL_TIMEOUT_SECS)"
            ),
            "timeout",
        )
    except LlmError as exc:
        message, reason = str(exc), exc.reason
    except psycopg.Error as exc:
        message, reason = f"agent memory (PostgreSQL) failed: {type(exc).__name__}: {exc}"[:500], "memory_error"
    except Exception as exc:  # every failure is an analysis_error, never a 500 (CONTRACT §5)
        log.exception("analysis %s failed", request.runId)
        message, reason = f"agent internal error: {type(exc).__name__}: {exc}"[:500], "llm_error"
    orders = orders_of(state)
    log.warning(
        "analysis run=%s inst=%s failed (%s) after %d tool call(s), %d order(s): %s",
        request.runId,
        request.instId,
        reason,
        len(state.records),
        len(orders),
        message,
    )
    await _keep_partial_turn(service, request, state, held, reason, message)
    return AnalysisError(
        runId=request.runId,
        instId=request.instId,
        error=message,
        reason=reason,
        toolCalls=public_tool_calls(state),
        orders=orders,
    )


async def _analyse(
    service: AgentService, request: AnalysisRequest, started: float, state: LoopState, held: dict[str, Any]
) -> AnalysisResult:
    settings = service.settings
    trigger = AnalysisTrigger(
        request.runId,
        request.instId,
        request.source,
        request.trigger.price,
        request.trigger.baseline,
        request.trigger.deviationBps,
    )
    session_id = analysis_session_id(request.instId)
    try:
        await service.memory.ensure_session(
            session_id, "analysis", request.instId, f"Strategy analyses {request.instId}"
        )
        history = await service.memory.history(session_id, settings.agent_memory_token_budget)
    except psycopg.Error as exc:
        raise MemoryFailure(f"agent memory (PostgreSQL) failed: {type(exc).__name__}: {exc}"[:500]) from None
    snapshot = await fetch_snapshot(service.api, request.instId, settings.okx_ticker_bar)
    now_iso = datetime.now(UTC).isoformat(timespec="seconds")
    context = build_analysis_context(trigger, snapshot, settings.okx_ticker_bar, now_iso)
    held["context"] = {"role": "user", "content": context, "brief": f"[{now_iso}] {trigger_line(trigger)}"}
    messages = [{"role": "system", "content": ANALYSIS_SYSTEM_PROMPT}, *history, {"role": "user", "content": context}]

    async def run_tool(name: str, arguments: dict[str, Any]) -> ToolExecution:
        if name == DECISION_TOOL:
            outcome, decision = check_decision(arguments, request.instId)
            if decision is not None:
                held["decision"] = decision
            return outcome
        return await service.run_tool(name, arguments)

    loop = service.tool_loop(
        tools=[*service.tool_schemas, decision_tool_schema()],
        run_tool=run_tool,
        run_id=request.runId,
        session_id=session_id,
        state=state,
        final_tool=DECISION_TOOL,
    )
    held["loop"] = loop
    outcome = await loop.run(messages)
    decision: Decision | None = held.get("decision")
    answer = parse_final_answer(outcome.final_text or (decision.reason if decision else ""))
    orders = orders_of(state)
    if decision is None:
        decision = derived_decision(request.instId, orders, answer.confidence, "the model submitted no valid decision")
    try:
        await service.memory.append(session_id, [held["context"], *state.new_messages], run_id=request.runId)
    except psycopg.Error as exc:
        raise MemoryFailure(f"agent memory (PostgreSQL) failed: {type(exc).__name__}: {exc}"[:500]) from None
    held["stored"] = True
    total_ms = (time.perf_counter() - started) * 1000
    report = service.usage_report(loop)
    log.info(
        "analysis run=%s inst=%s source=%s steps=%d tools=%d orders=%d decision=%s confidence=%s cost=$%.6f in %.0f ms",
        request.runId,
        request.instId,
        request.source,
        state.steps,
        len(state.records),
        len(orders),
        decision.action,
        answer.confidence,
        report.costUsd,
        total_ms,
    )
    return AnalysisResult(
        runId=request.runId,
        instId=request.instId,
        summary=answer.summary or decision.reason,
        confidence=answer.confidence if answer.confidence is not None else decision.confidence,
        decision=decision.model_dump(),
        toolCalls=public_tool_calls(state),
        orders=orders,
        provider=settings.llm_provider,
        model=settings.model,
        usage=report,
        sessionId=session_id,
        durationMs=round(total_ms, 2),
        modelMs=round(state.model_seconds * 1000, 2),
    )


def public_tool_calls(state: LoopState) -> list[dict[str, Any]]:
    """The run's tool calls for the record; submit_decision is not one of them (it is the `decision` field)."""
    return [r.public() for r in state.records if r.name != DECISION_TOOL]


async def _keep_partial_turn(
    service: AgentService, request: AnalysisRequest, state: LoopState, held: dict[str, Any], reason: str, message: str
) -> None:
    """Store the failed run's turn, ending in a note of what it did, so the next analysis sees it in its history."""
    if held.get("stored") or "context" not in held:
        return
    did = [f"{r.name}({'ok' if r.ok else 'failed'})" for r in state.records]
    orders = [
        f"{o.get('tool')} {o.get('status')} {o.get('side') or ''} {o.get('sz') or ''} clOrdId={o.get('clOrdId')}".strip()
        for o in orders_of(state)
    ]
    note = (
        f"[run {request.runId} FAILED ({reason}): {message[:300]}] Tool calls made: {', '.join(did) or 'none'}. "
        f"Orders/changes: {'; '.join(orders) or 'none'}. Check positions and orders before acting again."
    )
    try:
        await asyncio.shield(
            service.memory.append(
                analysis_session_id(request.instId),
                [held["context"], *state.new_messages, {"role": "assistant", "content": note}],
                run_id=request.runId,
            )
        )
    except Exception:
        log.exception("analysis %s: could not store the failed run's partial turn", request.runId)
