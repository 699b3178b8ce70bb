"""The agent's work, shared by analyses (`agent.analysis`) and chat turns (`agent.chat`): tools called
in-process, the budget gate before every model call, the limit on concurrent turns, the loop's set-up."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastmcp import FastMCP
from fastmcp.exceptions import NotFoundError, ToolError
from fastmcp.exceptions import ValidationError as ToolArgumentsError

from agent.budget import BudgetGuard, TurnGate, TurnLimiter
from agent.llm import LoopLimits, LoopState, ModelClient, PriceTable, ToolExecution, ToolLoop, Usage
from agent.llm.client import EventSink
from agent.llm.loop import ToolRunner
from agent.memory import MemoryStore
from agent.schemas import AnalysisError, AnalysisRequest, AnalysisResult, ChatRequest, UsageReport
from agent.settings import AgentSettings
from agent.tools import TRADING_TOOLS
from agent.trading_api import TradingApi
from shared.metrics import AgentServiceMetrics, record_llm_usage

log = logging.getLogger("aitrader.agent")


@dataclass
class AgentService:
    settings: AgentSettings
    memory: MemoryStore
    api: TradingApi
    mcp: FastMCP
    model: ModelClient
    tool_schemas: list[dict[str, Any]]
    metrics: AgentServiceMetrics | None = None
    prices: PriceTable = field(init=False)
    guard: BudgetGuard = field(init=False)
    turns: TurnLimiter = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.prices = s.price_table
        self.guard = BudgetGuard(
            self.memory.pool, self.prices, s.llm_provider, s.model, s.llm_daily_budget_usd, s.llm_max_tokens
        )
        self.turns = TurnLimiter(s.llm_max_concurrent_turns, s.llm_turn_wait_secs)

    @property
    def limits(self) -> LoopLimits:
        s = self.settings
        return LoopLimits(s.llm_max_steps, s.llm_call_timeout_secs, s.llm_max_retries, s.llm_retry_base_secs)

    @staticmethod
    def usage_report(loop: ToolLoop) -> UsageReport:
        usage = loop.state.usage
        cost = loop.gate.total_usd if isinstance(loop.gate, TurnGate) else 0.0
        return UsageReport(
            inputTokens=usage.input_tokens,
            cachedInputTokens=usage.cached_input_tokens,
            outputTokens=usage.output_tokens,
            reasoningTokens=usage.reasoning_tokens,
            modelCalls=usage.calls,
            costUsd=round(cost, 8),
        )

    async def run_tool(self, name: str, arguments: dict[str, Any]) -> ToolExecution:
        """Call a tool of the FastMCP server in-process (origin from `agent.origin`); failures become text for the model."""
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

    def tool_loop(
        self,
        *,
        tools: list[dict[str, Any]],
        run_tool: ToolRunner,
        run_id: str | None,
        session_id: str,
        state: LoopState,
        on_event: EventSink | None = None,
        final_tool: str | None = None,
    ) -> ToolLoop:
        def settled(usage: Usage, cost: float) -> None:
            if self.metrics is not None:
                record_llm_usage(
                    self.metrics.llm,
                    self.settings.model,
                    prompt_tokens=usage.input_tokens,
                    completion_tokens=usage.output_tokens,
                    cached_prompt_tokens=usage.cached_input_tokens,
                    cost_usd=cost,
                )

        return ToolLoop(
            model=self.model,
            tools=tools,
            run_tool=run_tool,
            limits=self.limits,
            sequential=TRADING_TOOLS,
            final_tool=final_tool,
            require_final_tool=final_tool is not None,
            on_event=on_event,
            gate=TurnGate(self.guard, run_id, session_id, tools, settled),
            state=state,
        )

    async def analyse(self, request: AnalysisRequest) -> AnalysisResult | AnalysisError:
        from agent.analysis import run_analysis

        return await run_analysis(self, request)

    def chat(self, request: ChatRequest) -> AsyncIterator[dict[str, Any]]:
        from agent.chat import chat_turn

        return chat_turn(self, request)


def order_record(tool: str, data: dict[str, Any]) -> dict[str, Any]:
    """One entry of an analysis' `orders`: flat like an order record (clOrdId, side, ordType, sz, px, state, ...)
    plus the tool and its `status` (placed, duplicate, pending_approval, canceled, set)."""
    if tool == "cancel_order":
        order = data.get("order") if isinstance(data.get("order"), dict) else {}
        return {
            "tool": tool,
            "status": "canceled",
            **order,
            "ordId": data.get("ordId") or order.get("ordId"),
            "clOrdId": data.get("clOrdId") or order.get("clOrdId"),
        }
    return {"tool": tool, **data}


def orders_of(state: LoopState) -> list[dict[str, Any]]:
    return [
        order_record(r.name, r.data)
        for r in state.records
        if r.name in TRADING_TOOLS and r.ok and isinstance(r.data, dict)
    ]


def _short_validation(exc: Exception) -> str:
    lines = [
        line.strip() for line in str(exc).splitlines() if line.strip() and not line.strip().startswith("For further")
    ]
    return "; ".join(lines[1:] or lines)[:600]
