"""The agent's real analysis, in-process, at simulated time: the same context builder (`agent.prompt`), the same
FastMCP tools (`agent.tools`) over the same `TradingApi` client, the same bounded tool loop (`agent.llm`) and
the same openai client, pointed at the offline model or an OpenAI-compatible provider.

What differs from `agent.service.AgentService.analyse`, and why:
* the clock: the context's "Time (UTC)" is the simulated time, never the wall clock (that would leak the future);
* memory: the run history lives in this backtest only (never the live `agent_messages`), trimmed by the agent's
  own `trim_history`;
* transport: the tools' HTTP requests are answered by `LabApiTransport` (no socket); the offline model is called
  through `OfflineModelTransport`, which runs the offline model's own request/response code without a server;
* answers of paid models go through `CachingTransport` (see `llm_cache.py`) so a rerun is reproducible and free.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import httpx
from fastmcp.exceptions import NotFoundError, ToolError, ValidationError as ToolArgumentsError
import openai
from openai import AsyncOpenAI, AsyncStream
from openai._base_client import make_request_options
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from agent import offline_model
from agent.llm import LlmError, LoopLimits, Prices, ToolExecution, Usage, cost_usd, run_tool_loop
from agent.memory import Turn, trim_history
from agent.prompt import ANALYSIS_SYSTEM_PROMPT, AnalysisTrigger, build_analysis_context, fetch_snapshot, parse_final_answer, trigger_line
from agent.service import order_record
from agent.tools import RUN_ID_PARAM, TRADING_TOOLS, build_tools_server, openai_tool_schemas
from agent.trading_api import TradingApi
from api_server.lab.facade import LabApiTransport, LabTradingApi
from api_server.lab.llm_cache import CachingTransport, LlmCache
from api_server.lab.profiles import LlmSpec

MEMORY_TOKEN_BUDGET = 4000


class OfflineModelTransport(httpx.AsyncBaseTransport):
    """`/chat/completions` answered by the offline model's own code (`agent.offline_model`), no server."""

    def __init__(self, default_inst: str) -> None:
        self.default_inst = default_inst

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/chat/completions"):
            return httpx.Response(404, json={"error": {"message": "only chat completions in a backtest"}})
        body = offline_model.ChatCompletionRequest.model_validate_json(await request.aread())
        tool_names = {t.get("function", {}).get("name", "") for t in body.tools or []}
        reply = offline_model.respond(body.messages, tool_names, self.default_inst)
        if body.stream:
            content = "".join(offline_model._stream(body, reply)).encode()
            return httpx.Response(200, content=content, headers={"content-type": "text/event-stream"})
        return httpx.Response(200, json=offline_model._complete(body, reply))


class _DirectCompletions:
    """`chat.completions.create` with the same HTTP request, SSE decoding and chunk types as the SDK's, minus the
    SDK's recursive TypedDict transform of the body: an identity for these plain-dict bodies, and ~75 % of a
    backtest's wall time when profiled (26 of 34 s for 424 model calls)."""

    def __init__(self, client: AsyncOpenAI) -> None:
        self._client = client

    async def create(self, *, model: str, messages: Any, tools: Any = openai.NOT_GIVEN, stream: bool = False,
                     stream_options: Any = openai.NOT_GIVEN, **_: Any) -> Any:
        body: dict[str, Any] = {"model": model, "messages": messages, "stream": stream}
        if tools is not openai.NOT_GIVEN and tools:
            body["tools"] = tools
        if stream_options is not openai.NOT_GIVEN:
            body["stream_options"] = stream_options
        return await self._client.post("/chat/completions", body=body,
                                       options=make_request_options(security={"bearer_auth": True}),
                                       cast_to=ChatCompletion, stream=stream, stream_cls=AsyncStream[ChatCompletionChunk])


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


def llm_endpoint(spec: LlmSpec) -> tuple[str, str, str, Prices]:
    """(base URL, API key, model, prices) for a profile's LLM; keys come only from the environment."""
    if spec.provider == "offline":
        return "http://offline.lab/v1", "offline", offline_model.OFFLINE_MODEL_NAME, Prices(0.0, 0.0, 0.0)
    prices = Prices(float(os.environ.get("LLM_PRICE_INPUT_PER_MTOK", "0.27")),
                    float(os.environ.get("LLM_PRICE_CACHED_INPUT_PER_MTOK", "0.07")),
                    float(os.environ.get("LLM_PRICE_OUTPUT_PER_MTOK", "1.10")))
    if spec.provider == "deepseek":
        base = spec.base_url or os.environ.get("DEEPSEEK_BASE_URL", "https://api.deepseek.com")
        key = os.environ.get("DEEPSEEK_API_KEY", "")
        model = spec.model or os.environ.get("DEEPSEEK_MODEL", "deepseek-flash")
    else:
        base = spec.base_url or ""
        key = os.environ.get("LAB_LLM_API_KEY", "") or os.environ.get("OPENAI_API_KEY", "")
        model = spec.model or ""
    if not base or not model:
        raise ValueError("llm: an openai-compatible profile needs baseUrl and model")
    if not key:
        raise ValueError(f"llm: no API key in the environment for provider {spec.provider} "
                         "(DEEPSEEK_API_KEY, or LAB_LLM_API_KEY for openai-compatible)")
    return base, key, model, prices


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
        self.tool_schemas = await openai_tool_schemas(self.mcp)
        base, key, self.model, self.prices = llm_endpoint(self.llm_spec)
        inner: httpx.AsyncBaseTransport = (OfflineModelTransport(inst_id) if self.llm_spec.provider == "offline"
                                           else httpx.AsyncHTTPTransport(retries=0))
        if self.cache is not None:
            inner = CachingTransport(inner, self.cache)
        self._llm_http = httpx.AsyncClient(transport=inner, timeout=self.limits.call_timeout_secs)
        self.llm = LabOpenAI(base_url=base, api_key=key, http_client=self._llm_http, max_retries=0)

    async def close(self) -> None:
        await self._llm_http.aclose()
        await self._api_client.aclose()

    async def run_tool(self, name: str, arguments: dict[str, Any], run_id: str) -> ToolExecution:
        """As `AgentService.run_tool`: the FastMCP server in-process; failures become text for the model."""
        if name in TRADING_TOOLS:
            arguments = {**arguments, RUN_ID_PARAM: run_id}
        else:
            arguments = {k: v for k, v in arguments.items() if k != RUN_ID_PARAM}
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

    async def analyse(self, run_id: str, source: str, price: str | None, baseline: str | None,
                      deviation: float | None) -> RunOutcome:
        inst_id = self.api.exchange.inst_id
        trigger = AnalysisTrigger(run_id, inst_id, source, price, baseline, deviation)
        now_iso = datetime.fromtimestamp(self.api.market.now_ms / 1000, timezone.utc).isoformat(timespec="seconds")
        usage = Usage()
        records: list[Any] = []
        try:
            started = time.perf_counter()
            snapshot = await fetch_snapshot(self.trading_api, inst_id, self.bar)
            context = build_analysis_context(trigger, snapshot, self.bar, now_iso)
            self.timings["context"] += time.perf_counter() - started
            messages = [{"role": "system", "content": self.system_prompt},
                        *trim_history(self.turns, MEMORY_TOKEN_BUDGET), {"role": "user", "content": context}]

            async def run_tool(name: str, arguments: dict[str, Any]) -> ToolExecution:
                return await self.run_tool(name, arguments, run_id)

            async def on_usage(step_usage: Usage) -> None:
                usage.add(step_usage)

            outcome = await run_tool_loop(self.llm, self.model, messages, self.tool_schemas, run_tool, self.limits,
                                          on_usage=on_usage)
        except LlmError as exc:
            return RunOutcome(False, None, None, str(exc), [r.public() for r in records], [], usage,
                              cost_usd(usage, self.prices), None)
        self.timings["model"] += outcome.model_seconds
        answer = parse_final_answer(outcome.final_text)
        stamp = now_iso[:16].replace("T", " ")
        self.turns.append(Turn("user", f"[{now_iso}] {trigger_line(trigger)}", stamp))
        self.turns.append(Turn("assistant", outcome.final_text, stamp))
        del self.turns[:-200]
        orders = [order_record(r.name, r.data) for r in outcome.tool_calls
                  if r.name in TRADING_TOOLS and r.ok and isinstance(r.data, dict)]
        return RunOutcome(True, answer.summary, answer.confidence, None, [r.public() for r in outcome.tool_calls],
                          orders, usage, cost_usd(usage, self.prices), decision_of(orders, inst_id, answer.confidence, answer.summary))


def decision_of(orders: list[dict[str, Any]], inst_id: str, confidence: int | None, summary: str) -> dict[str, Any]:
    """The run's decision (CONTRACT interface 3's shape) from what it actually did."""
    action = "no_trade"
    size = stop = target = None
    for order in orders:
        if order.get("tool") == "close_position":
            action = "close"
        elif order.get("tool") == "place_order":
            action = "reduce" if order.get("reduceOnly") else ("open_long" if order.get("side") == "buy" else "open_short")
            size, stop, target = order.get("sz"), order.get("slTriggerPx"), order.get("tpTriggerPx")
    if action == "no_trade" and "holding" in (summary or "").lower():
        action = "hold"
    return {"action": action, "instId": inst_id, "size": size, "entry": None, "stop": stop, "target": target,
            "invalidation": None, "confidence": confidence or 0, "reason": (summary or "")[:500]}
