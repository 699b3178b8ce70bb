"""The agent's real analysis, in-process, at simulated time: the same context builder (`agent.prompt`), the same
FastMCP tools (`agent.tools`) over the same `TradingApi` client, the same bounded tool loop (`agent.llm.ToolLoop`,
ending in the `submit_decision` tool as `agent.analysis` does), the same origin header (`agent:run:<runId>`) and
the same openai client, pointed at the offline model or an OpenAI-compatible provider.

What differs from `agent.service.AgentService.analyse`, and why:
* the clock: the context's "Time (UTC)" is the simulated time, never the wall clock (that would leak the future);
* memory: the run history lives in this backtest only (never the live `agent_messages`), trimmed by the agent's
  own `trim_history`;
* transport: the tools' HTTP requests are answered by `LabApiTransport` (no socket); the offline model is called
  through `OfflineModelTransport`, which runs the offline model's own request/response code
  (`agent.offline_server`) without a server;
* no budget gate (a backtest has its own budget, checked by the engine after each run) and no metrics;
* answers of paid models go through `CachingTransport` (see `llm_cache.py`) so a rerun is reproducible and free.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import openai
from fastmcp.exceptions import NotFoundError, ToolError
from fastmcp.exceptions import ValidationError as ToolArgumentsError
from openai import AsyncOpenAI, AsyncStream
from openai._base_client import make_request_options
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from agent import offline_model, offline_server
from agent.decision import DECISION_TOOL, check_decision, decision_tool_schema, derived_decision
from agent.llm import (
    LlmError,
    LoopLimits,
    LoopState,
    ModelClient,
    ModelPrice,
    PriceTable,
    ToolExecution,
    ToolLoop,
    Usage,
    cost_usd,
)
from agent.llm.pricing import parse_price_overrides
from agent.memory import Turn, trim_history
from agent.origin import acting_as, run_origin
from agent.prompt import (
    ANALYSIS_SYSTEM_PROMPT,
    AnalysisTrigger,
    build_analysis_context,
    fetch_snapshot,
    parse_final_answer,
    trigger_line,
)
from agent.service import orders_of
from agent.tools import TRADING_TOOLS, build_tools_server, openai_tool_schemas
from agent.trading_api import TradingApi
from api_server.lab.facade import LabApiTransport, LabTradingApi
from api_server.lab.llm_cache import CachingTransport, LlmCache
from api_server.lab.profiles import LlmSpec

MEMORY_TOKEN_BUDGET = 4000


class OfflineModelTransport(httpx.AsyncBaseTransport):
    """`/chat/completions` answered by the offline model's own code (`agent.offline_server`), no server."""

    def __init__(self, default_inst: str) -> None:
        self.default_inst = default_inst

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/chat/completions"):
            return httpx.Response(404, json={"error": {"message": "only chat completions in a backtest"}})
        body = offline_server.ChatCompletionRequest.model_validate_json(await request.aread())
        # tool_choice "none" (the loop's forced final answer) offers no tools, as a provider would.
        offered = [] if getattr(body, "tool_choice", None) == "none" else body.tools or []
        tool_names = {t.get("function", {}).get("name", "") for t in offered}
        reply = offline_model.respond(body.messages, tool_names, self.default_inst)
        if body.stream:
            content = "".join(offline_server._stream(body, reply)).encode()
            return httpx.Response(200, content=content, headers={"content-type": "text/event-stream"})
        return httpx.Response(200, json=offline_server._complete(body, reply))


class _DirectCompletions:
    """`chat.completions.create` with the same HTTP request, SSE decoding and chunk types as the SDK's, minus the
    SDK's recursive TypedDict transform of the body: an identity for these plain-dict bodies, and ~75 % of a
    backtest's wall time when profiled (26 of 34 s for 424 model calls)."""

    def __init__(self, client: AsyncOpenAI) -> None:
        self._client = client

    async def create(
        self,
        *,
        model: str,
        messages: Any,
        tools: Any = openai.NOT_GIVEN,
        stream: bool = False,
        stream_options: Any = openai.NOT_GIVEN,
        tool_choice: Any = openai.NOT_GIVEN,
        extra_body: dict[str, Any] | None = None,
        **fields: Any,
    ) -> Any:
        body: dict[str, Any] = {"model": model, "messages": messages, "stream": stream}
        if tools is not openai.NOT_GIVEN and tools:
            body["tools"] = tools
        if tool_choice is not openai.NOT_GIVEN:
            body["tool_choice"] = tool_choice
        if stream_options is not openai.NOT_GIVEN:
            body["stream_options"] = stream_options
        body.update({k: v for k, v in fields.items() if v is not openai.NOT_GIVEN})  # reasoning_effort, max_tokens
        body.update(extra_body or {})  # provider fields (thinking), merged into the body as the SDK does
        return await self._client.post(
            "/chat/completions",
            body=body,
            options=make_request_options(security={"bearer_auth": True}),
            cast_to=ChatCompletion,
            stream=stream,
            stream_cls=AsyncStream[ChatCompletionChunk],
        )


class LabOpenAI(AsyncOpenAI):
    """The openai client whose `chat.completions` is `_DirectCompletions` (see there); everything else unchanged."""

    @property
    def chat(self) -> Any:  # type: ignore[override]
        direct = _DirectCompletions(self)
        return type("Chat", (), {"completions": direct})()


@dataclass
class RunOutcome:
    ok: bool
    summary: str | None
    confidence: int | None
    error: str | None
    tool_calls: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    usage: Usage
    cost_usd: float
    decision: dict[str, Any] | None


def model_price(model: str) -> ModelPrice:
    """The agent's price rule for a paid model: LLM_PRICE_*_PER_MTOK (one flat price) over LLM_PRICES (JSON) over
    the agent's table (`agent.llm.pricing.DEFAULT_PRICES`); a model in none of them is refused, as the agent does."""
    flat_in, flat_out = os.environ.get("LLM_PRICE_INPUT_PER_MTOK"), os.environ.get("LLM_PRICE_OUTPUT_PER_MTOK")
    if flat_in and flat_out:
        return ModelPrice(
            float(flat_in), float(os.environ.get("LLM_PRICE_CACHED_INPUT_PER_MTOK") or flat_in), float(flat_out)
        )
    overrides = os.environ.get("LLM_PRICES")
    try:
        table = PriceTable.with_overrides(parse_price_overrides(overrides) if overrides else {})
    except ValueError as exc:
        raise ValueError(f"llm: LLM_PRICES: {exc}") from None
    price = table.prices.get(model)
    if price is None:
        raise ValueError(
            f"llm: no price for model {model!r}: set LLM_PRICES or LLM_PRICE_INPUT_PER_MTOK/LLM_PRICE_OUTPUT_PER_MTOK"
        )
    return price


def llm_endpoint(spec: LlmSpec) -> tuple[str, str, str, ModelPrice]:
    """(base URL, API key, model, price) for a profile's LLM; keys come only from the environment."""
    if spec.provider == "offline":
        return "http://offline.lab/v1", "offline", offline_model.OFFLINE_MODEL_NAME, ModelPrice(0.0, 0.0, 0.0)
    if spec.provider == "deepseek":
        base = spec.base_url or os.environ.get("DEEPSEEK_BASE_URL", "https://api.deepseek.com")
        key = os.environ.get("DEEPSEEK_API_KEY", "")
        model = spec.model or os.environ.get("DEEPSEEK_MODEL", "deepseek-flash")
    else:
        base = spec.base_url or ""
        key = os.environ.get("LAB_LLM_API_KEY", "") or os.environ.get("LLM_API_KEY", "")  # the agent's variable
        model = spec.model or ""
    if not base or not model:
        raise ValueError("llm: an openai-compatible profile needs baseUrl and model")
    if not key:
        raise ValueError(
            f"llm: no API key in the environment for provider {spec.provider} "
            "(DEEPSEEK_API_KEY, or LAB_LLM_API_KEY for openai-compatible)"
        )
    return base, key, model, model_price(model)


@dataclass
class LabAgent:
    api: LabTradingApi
    llm_spec: LlmSpec
    bar: str
    system_prompt: str = ANALYSIS_SYSTEM_PROMPT
    cache: LlmCache | None = None
    limits: LoopLimits = field(default_factory=lambda: LoopLimits(max_steps=8, call_timeout_secs=120.0, max_retries=2))
    turns: list[Turn] = field(default_factory=list)
    # Wall seconds by part of an analysis: context (snapshot reads + prompt) and model (openai client + model); the
    # rest of an analysis is the tool calls (concurrent within a step) and the loop.
    timings: dict[str, float] = field(default_factory=lambda: {"context": 0.0, "model": 0.0})

    async def start(self) -> None:
        inst_id = self.api.exchange.inst_id
        self._api_client = httpx.AsyncClient(base_url="http://lab-api", transport=LabApiTransport(self.api))
        self.trading_api = TradingApi(self._api_client)
        self.mcp = build_tools_server(lambda: self.trading_api, default_bar=self.bar)
        self.tool_schemas = [*await openai_tool_schemas(self.mcp), decision_tool_schema()]
        base, key, self.model, self.price = llm_endpoint(self.llm_spec)
        inner: httpx.AsyncBaseTransport = (
            OfflineModelTransport(inst_id)
            if self.llm_spec.provider == "offline"
            else httpx.AsyncHTTPTransport(retries=0)
        )
        if self.cache is not None:
            inner = CachingTransport(inner, self.cache)
        self._llm_http = httpx.AsyncClient(transport=inner, timeout=self.limits.call_timeout_secs)
        self.llm = ModelClient(
            LabOpenAI(base_url=base, api_key=key, http_client=self._llm_http, max_retries=0), self.model
        )

    async def close(self) -> None:
        await self._llm_http.aclose()
        await self._api_client.aclose()

    async def run_tool(self, name: str, arguments: dict[str, Any]) -> ToolExecution:
        """As `AgentService.run_tool`: the FastMCP server in-process (origin from `agent.origin`); failures become
        text for the model."""
        try:
            result = await self.mcp.call_tool(name, arguments)
        except NotFoundError:
            return ToolExecution(False, f"error: unknown tool {name!r}")
        except ToolArgumentsError as exc:
            return ToolExecution(False, f"error: invalid arguments for {name}: {str(exc)[:600]}")
        except ToolError as exc:
            return ToolExecution(False, f"error: {exc}")
        data = result.structured_content
        text = "\n".join(getattr(b, "text", "") for b in result.content) if result.content else json.dumps(data)
        if result.is_error:
            return ToolExecution(False, f"error: {text}")
        return ToolExecution(True, text, data)

    async def analyse(
        self, run_id: str, source: str, price: str | None, baseline: str | None, deviation: float | None
    ) -> RunOutcome:
        inst_id = self.api.exchange.inst_id
        trigger = AnalysisTrigger(run_id, inst_id, source, price, baseline, deviation)
        now_iso = datetime.fromtimestamp(self.api.market.now_ms / 1000, UTC).isoformat(timespec="seconds")
        state = LoopState()
        held: dict[str, Any] = {}

        async def run_tool(name: str, arguments: dict[str, Any]) -> ToolExecution:
            if name == DECISION_TOOL:  # as agent.analysis: validated here, never sent to the API
                outcome, decision = check_decision(arguments, inst_id)
                if decision is not None:
                    held["decision"] = decision
                return outcome
            return await self.run_tool(name, arguments)

        loop = ToolLoop(
            model=self.llm,
            tools=self.tool_schemas,
            run_tool=run_tool,
            limits=self.limits,
            sequential=TRADING_TOOLS,
            final_tool=DECISION_TOOL,
            require_final_tool=True,
            state=state,
        )
        try:
            with acting_as(run_origin(run_id)):
                started = time.perf_counter()
                snapshot = await fetch_snapshot(self.trading_api, inst_id, self.bar)
                context = build_analysis_context(trigger, snapshot, self.bar, now_iso)
                self.timings["context"] += time.perf_counter() - started
                messages = [
                    {"role": "system", "content": self.system_prompt},
                    *trim_history(self.turns, MEMORY_TOKEN_BUDGET),
                    {"role": "user", "content": context},
                ]
                try:
                    outcome = await loop.run(messages)
                finally:
                    self.timings["model"] += state.model_seconds
        except LlmError as exc:
            return RunOutcome(
                False,
                None,
                None,
                str(exc),
                _public_calls(state),
                orders_of(state),
                state.usage,
                cost_usd(state.usage, self.price),
                None,
            )
        decision = held.get("decision")
        answer = parse_final_answer(outcome.final_text or (decision.reason if decision else ""))
        orders = orders_of(state)
        if decision is None:
            decision = derived_decision(inst_id, orders, answer.confidence, "the model submitted no valid decision")
        stamp = now_iso[:16].replace("T", " ")
        self.turns.append(Turn("user", f"[{now_iso}] {trigger_line(trigger)}", stamp))
        self.turns.append(Turn("assistant", outcome.final_text or decision.reason, stamp))
        del self.turns[:-200]
        confidence = answer.confidence if answer.confidence is not None else decision.confidence
        return RunOutcome(
            True,
            answer.summary or decision.reason,
            confidence,
            None,
            _public_calls(state),
            orders,
            state.usage,
            cost_usd(state.usage, self.price),
            decision.model_dump(),
        )


def _public_calls(state: LoopState) -> list[dict[str, Any]]:
    """The run's tool calls for the record; submit_decision is the run's `decision`, not one of them."""
    return [r.public() for r in state.records if r.name != DECISION_TOOL]
