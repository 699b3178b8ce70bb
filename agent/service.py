"""The agent's work: analyses (CONTRACT §5) and chat turns, wiring prompt, memory, tools and the LLM loop."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, AsyncIterator

from fastmcp import FastMCP
from fastmcp.exceptions import NotFoundError, ToolError, ValidationError as ToolArgumentsError
from openai import AsyncOpenAI

from shared.metrics import AgentServiceMetrics, record_llm_usage
from agent.llm import LlmError, LoopLimits, Prices, ToolExecution, Usage, cost_usd, run_tool_loop
from agent.memory import MemoryStore, analysis_session_id
from agent.prompt import (
    ANALYSIS_SYSTEM_PROMPT, CHAT_SYSTEM_PROMPT, AnalysisTrigger, build_analysis_context, fetch_snapshot,
    parse_final_answer, trigger_line,
)
from agent.schemas import AnalysisError, AnalysisRequest, AnalysisResult, ChatRequest, UsageReport
from agent.settings import AgentSettings
from agent.tools import RUN_ID_PARAM, TRADING_TOOLS
from agent.trading_api import TradingApi

log = logging.getLogger("aitrader.agent")


class BudgetExhausted(LlmError):
    pass


@dataclass
class AgentService:
    settings: AgentSettings
    memory: MemoryStore
    api: TradingApi
    mcp: FastMCP
    llm: AsyncOpenAI
    tool_schemas: list[dict[str, Any]]
    metrics: AgentServiceMetrics | None = None

    @property
    def limits(self) -> LoopLimits:
        s = self.settings
        return LoopLimits(s.llm_max_steps, s.llm_call_timeout_secs, s.llm_max_retries, s.llm_retry_base_secs)

    @property
    def prices(self) -> Prices:
        s = self.settings
        if s.llm_provider == "offline":
            return Prices(0.0, 0.0, 0.0)
        return Prices(s.llm_price_input_per_mtok, s.llm_price_cached_input_per_mtok, s.llm_price_output_per_mtok)

    async def run_tool(self, name: str, arguments: dict[str, Any], run_id: str | None) -> ToolExecution:
        """Call a tool of the FastMCP server in-process; failures become readable text for the model."""
        if name in TRADING_TOOLS:
            arguments = {**arguments, RUN_ID_PARAM: run_id}
        else:
            arguments = {k: v for k, v in arguments.items() if k != RUN_ID_PARAM}
        try:
            result = await self.mcp.call_tool(name, arguments)
        except NotFoundError:
            return ToolExecution(False, f"error: unknown tool {name!r}")
        except ToolArgumentsError as exc:
            return ToolExecution(False, f"error: invalid arguments for {name}: {_short_validation(exc)}")
        except ToolError as exc:
            return ToolExecution(False, f"error: {exc}")
        data = result.structured_content
        text = "\n".join(getattr(block, "text", "") for block in result.content) if result.content else json.dumps(data)
        if result.is_error:
            return ToolExecution(False, f"error: {text}")
        return ToolExecution(True, text, data)

    async def check_budget(self) -> None:
        budget = self.settings.llm_daily_budget_usd
        if budget is None:
            return
        day_start = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        spent = await self.memory.spent_since(day_start)
        if spent >= budget:
            raise BudgetExhausted(
                f"budget exhausted: spent ${spent:.4f} of the daily LLM budget ${budget:.4f} (LLM_DAILY_BUDGET_USD) since 00:00 UTC"
            )

    def _usage_sink(self, run_id: str | None, session_id: str):
        async def record(usage: Usage) -> None:
            await self.memory.record_usage(
                run_id=run_id, session_id=session_id, provider=self.settings.llm_provider, model=self.settings.llm_model,
                input_tokens=usage.input_tokens, cached_input_tokens=usage.cached_input_tokens,
                output_tokens=usage.output_tokens, cost_usd=cost_usd(usage, self.prices),
            )
            if self.metrics is not None:
                record_llm_usage(self.metrics.llm, self.settings.llm_model, prompt_tokens=usage.input_tokens,
                                 completion_tokens=usage.output_tokens, cached_prompt_tokens=usage.cached_input_tokens,
                                 cost_usd=cost_usd(usage, self.prices))
        return record

    async def analyse(self, request: AnalysisRequest) -> AnalysisResult | AnalysisError:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.settings.llm_total_timeout_secs):
                return await self._analyse(request, started)
        except TimeoutError:
            message = f"analysis exceeded the total timeout of {self.settings.llm_total_timeout_secs:g}s (LLM_TOTAL_TIMEOUT_SECS)"
        except LlmError as exc:
            message = str(exc)
        except Exception as exc:  # every failure is an analysis_error, never a 500 (CONTRACT §5)
            log.exception("analysis %s failed", request.runId)
            message = f"agent internal error: {type(exc).__name__}: {exc}"[:500]
        log.warning("analysis run=%s inst=%s failed: %s", request.runId, request.instId, message)
        return AnalysisError(runId=request.runId, instId=request.instId, error=message)

    async def _analyse(self, request: AnalysisRequest, started: float) -> AnalysisResult:
        await self.check_budget()
        trigger = AnalysisTrigger(
            request.runId, request.instId, request.source, request.trigger.price, request.trigger.baseline,
            request.trigger.deviationBps,
        )
        session_id = analysis_session_id(request.instId)
        await self.memory.ensure_session(session_id, "analysis", request.instId, f"Strategy analyses {request.instId}")
        snapshot, history = await asyncio.gather(
            fetch_snapshot(self.api, request.instId, self.settings.okx_ticker_bar),
            self.memory.history(session_id, self.settings.agent_memory_token_budget),
        )
        now_iso = datetime.now(timezone.utc).isoformat(timespec="seconds")
        context = build_analysis_context(trigger, snapshot, self.settings.okx_ticker_bar, now_iso)
        messages = [{"role": "system", "content": ANALYSIS_SYSTEM_PROMPT}, *history, {"role": "user", "content": context}]

        async def run_tool(name: str, arguments: dict[str, Any]) -> ToolExecution:
            return await self.run_tool(name, arguments, request.runId)

        outcome = await run_tool_loop(
            self.llm, self.settings.llm_model, messages, self.tool_schemas, run_tool, self.limits,
            on_usage=self._usage_sink(request.runId, session_id),
        )
        answer = parse_final_answer(outcome.final_text)
        brief_user = f"[{now_iso}] {trigger_line(trigger)}"
        stored = [{"role": "user", "content": context, "brief": brief_user}, *outcome.new_messages]
        await self.memory.append(session_id, stored, run_id=request.runId)
        orders = [order_record(r.name, r.data) for r in outcome.tool_calls
                  if r.name in TRADING_TOOLS and r.ok and isinstance(r.data, dict)]
        usage = outcome.usage
        total_ms = (time.perf_counter() - started) * 1000
        log.info(
            "analysis run=%s inst=%s source=%s steps=%d tools=%d orders=%d confidence=%s cost=$%.6f in %.0f ms",
            request.runId, request.instId, request.source, outcome.steps, len(outcome.tool_calls), len(orders),
            answer.confidence, cost_usd(usage, self.prices), total_ms,
        )
        return AnalysisResult(
            runId=request.runId, instId=request.instId, summary=answer.summary, confidence=answer.confidence,
            toolCalls=[r.public() for r in outcome.tool_calls], orders=orders,
            provider=self.settings.llm_provider, model=self.settings.llm_model,
            usage=UsageReport(
                inputTokens=usage.input_tokens, cachedInputTokens=usage.cached_input_tokens,
                outputTokens=usage.output_tokens, modelCalls=usage.calls, costUsd=round(cost_usd(usage, self.prices), 8),
            ),
            sessionId=session_id, durationMs=round(total_ms, 2), modelMs=round(outcome.model_seconds * 1000, 2),
        )

    async def chat(self, request: ChatRequest) -> AsyncIterator[dict[str, Any]]:
        """Chat events as they happen (shapes in `agent.schemas`): session, reasoning and delta (text pieces),
        tool_call, tool_result, then final or error.

        Cancelling the consumer (client disconnect) cancels the model call in flight.
        """
        if request.sessionId and await self.memory.session_exists(request.sessionId):
            session_id = request.sessionId
        else:
            session_id = await self.memory.new_chat_session(request.instId, request.message)
        yield {"event": "session", "data": {"sessionId": session_id}}
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

        async def on_event(kind: str, data: dict[str, Any]) -> None:
            await queue.put({"event": kind, "data": data})

        async def work() -> None:
            try:
                await self.check_budget()
                history = await self.memory.history(session_id, self.settings.agent_memory_token_budget)
                text = request.message if not request.instId else f"[instrument {request.instId}] {request.message}"
                messages = [{"role": "system", "content": CHAT_SYSTEM_PROMPT}, *history, {"role": "user", "content": text}]
                await self.memory.append(session_id, [{"role": "user", "content": text}])

                async def run_tool(name: str, arguments: dict[str, Any]) -> ToolExecution:
                    return await self.run_tool(name, arguments, None)

                async with asyncio.timeout(self.settings.llm_total_timeout_secs):
                    outcome = await run_tool_loop(
                        self.llm, self.settings.llm_model, messages, self.tool_schemas, run_tool, self.limits,
                        on_event=on_event, on_usage=self._usage_sink(None, session_id),
                    )
                await self.memory.append(session_id, outcome.new_messages)
                await queue.put({"event": "final", "data": {
                    "sessionId": session_id, "content": outcome.final_text, "provider": self.settings.llm_provider,
                    "model": self.settings.llm_model,
                    "usage": {"inputTokens": outcome.usage.input_tokens, "cachedInputTokens": outcome.usage.cached_input_tokens,
                              "outputTokens": outcome.usage.output_tokens, "costUsd": round(cost_usd(outcome.usage, self.prices), 8)},
                }})
            except TimeoutError:
                await queue.put({"event": "error", "data": {"error": f"chat exceeded {self.settings.llm_total_timeout_secs:g}s"}})
            except LlmError as exc:
                await queue.put({"event": "error", "data": {"error": str(exc)}})
            except Exception as exc:
                log.exception("chat turn failed")
                await queue.put({"event": "error", "data": {"error": f"agent internal error: {type(exc).__name__}: {exc}"[:500]}})
            finally:
                await queue.put(None)

        task = asyncio.create_task(work())
        try:
            while (item := await queue.get()) is not None:
                yield item
        finally:
            if not task.done():
                task.cancel()
                log.info("chat session %s: client went away, model call cancelled", session_id)
            await asyncio.gather(task, return_exceptions=True)


def order_record(tool: str, data: dict[str, Any]) -> dict[str, Any]:
    """One entry of an analysis' `orders`: flat like an order record (clOrdId, side, ordType, sz, px, state, ...)
    plus the tool and its `status` (placed, duplicate, pending_approval, canceled)."""
    if tool == "cancel_order":
        order = data.get("order") if isinstance(data.get("order"), dict) else {}
        return {"tool": tool, "status": "canceled", **order, "ordId": data.get("ordId") or order.get("ordId"),
                "clOrdId": data.get("clOrdId") or order.get("clOrdId")}
    return {"tool": tool, **data}


def _short_validation(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip() and not line.strip().startswith("For further")]
    return "; ".join(lines[1:] or lines)[:600]
