"""The bounded tool-calling loop over an OpenAI-compatible chat completions endpoint (DeepSeek or the offline model).

Streaming is always on: tool calls arrive as fragments keyed by `index` (arguments split across chunks,
several calls per message) and are assembled here. DeepSeek's thinking mode needs the
`reasoning_content` of every assistant turn that made tool calls to be sent back in the later
requests of the same loop (it answers 400 otherwise); it is never stored, so it never crosses analyses.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import openai
from openai import AsyncOpenAI

log = logging.getLogger("aitrader.agent.llm")

TOOL_RESULT_MAX_CHARS = 12_000
RETRY_DELAY_CAP_SECS = 30.0


class LlmError(Exception):
    """The loop cannot produce an answer; the message is shown as the analysis error."""


@dataclass
class Usage:
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 0

    def add(self, other: "Usage") -> None:
        self.input_tokens += other.input_tokens
        self.cached_input_tokens += other.cached_input_tokens
        self.output_tokens += other.output_tokens
        self.calls += other.calls


@dataclass(frozen=True)
class Prices:
    input_per_mtok: float
    cached_input_per_mtok: float
    output_per_mtok: float


def cost_usd(usage: Usage, prices: Prices) -> float:
    """Cache hits are billed at the cached price, the rest of the prompt at the input price."""
    uncached = max(usage.input_tokens - usage.cached_input_tokens, 0)
    return (
        uncached * prices.input_per_mtok
        + usage.cached_input_tokens * prices.cached_input_per_mtok
        + usage.output_tokens * prices.output_per_mtok
    ) / 1_000_000


def usage_from_response(raw: Any) -> Usage | None:
    """Read OpenAI-style usage; cached input from DeepSeek's `prompt_cache_hit_tokens` or OpenAI's details."""
    if raw is None:
        return None
    data = raw.model_dump() if hasattr(raw, "model_dump") else dict(raw)
    cached = data.get("prompt_cache_hit_tokens")
    if cached is None:
        details = data.get("prompt_tokens_details") or {}
        cached = details.get("cached_tokens") if isinstance(details, dict) else None
    return Usage(
        input_tokens=int(data.get("prompt_tokens") or 0),
        cached_input_tokens=int(cached or 0),
        output_tokens=int(data.get("completion_tokens") or 0),
        calls=1,
    )


@dataclass
class AssembledCall:
    index: int
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass
class AssembledMessage:
    content: str = ""
    reasoning_content: str | None = None
    tool_calls: list[AssembledCall] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage | None = None


class StreamAssembler:
    """Folds streamed chunks into one assistant message."""

    def __init__(self) -> None:
        self._content: list[str] = []
        self._reasoning: list[str] | None = None
        self._calls: dict[int, AssembledCall] = {}
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.received_anything = False

    def feed(self, chunk: Any) -> tuple[str | None, str | None]:
        """Returns the (content delta, reasoning delta) of this chunk."""
        usage = usage_from_response(getattr(chunk, "usage", None))
        if usage is not None:
            self.usage = usage
        content_delta = reasoning_delta = None
        for choice in getattr(chunk, "choices", None) or []:
            if getattr(choice, "index", 0) not in (0, None):
                continue
            delta = choice.delta
            if delta is None:
                continue
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason
            reasoning = getattr(delta, "reasoning_content", None)
            if reasoning:
                self._reasoning = (self._reasoning or []) + [reasoning]
                reasoning_delta = reasoning
                self.received_anything = True
            elif reasoning == "" and self._reasoning is None:
                self._reasoning = []
            if delta.content:
                self._content.append(delta.content)
                content_delta = delta.content
                self.received_anything = True
            for position, fragment in enumerate(delta.tool_calls or []):
                self.received_anything = True
                index = fragment.index if fragment.index is not None else position
                call = self._calls.setdefault(index, AssembledCall(index=index))
                if fragment.id:
                    call.id = fragment.id
                function = fragment.function
                if function is not None:
                    # Names normally come whole in the first fragment; some servers repeat them, a few split them.
                    if function.name and function.name != call.name:
                        call.name += function.name
                    if function.arguments:
                        call.arguments += function.arguments
        return content_delta, reasoning_delta

    def message(self) -> AssembledMessage:
        return AssembledMessage(
            content="".join(self._content),
            reasoning_content=None if self._reasoning is None else "".join(self._reasoning),
            tool_calls=[self._calls[i] for i in sorted(self._calls)],
            finish_reason=self.finish_reason,
            usage=self.usage,
        )


@dataclass(frozen=True)
class LoopLimits:
    max_steps: int = 8
    call_timeout_secs: float = 120.0
    max_retries: int = 3
    retry_base_secs: float = 1.0


@dataclass
class ToolExecution:
    ok: bool
    text: str
    data: Any = None


@dataclass
class ToolCallRecord:
    id: str
    name: str
    arguments: Any
    ok: bool
    result: str
    durationMs: float
    data: Any = None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "arguments": self.arguments, "ok": self.ok,
            "error": None if self.ok else self.result[:2000],
            "result": self.result[:2000], "durationMs": round(self.durationMs, 2),
        }


@dataclass
class LoopResult:
    final_text: str
    tool_calls: list[ToolCallRecord]
    new_messages: list[dict[str, Any]]
    usage: Usage
    model_seconds: float
    steps: int


ToolRunner = Callable[[str, dict[str, Any]], Awaitable[ToolExecution]]
EventSink = Callable[[str, dict[str, Any]], Awaitable[None]]
UsageSink = Callable[[Usage], Awaitable[None]]


def parse_arguments(raw: str) -> tuple[dict[str, Any] | None, str | None]:
    """(arguments, problem): an empty string is no arguments; anything but a JSON object is a problem."""
    if not raw.strip():
        return {}, None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        return None, f"arguments are not valid JSON ({exc.msg} at position {exc.pos})"
    if not isinstance(value, dict):
        return None, f"arguments must be a JSON object, got {type(value).__name__}"
    return value, None


async def run_tool_loop(
    client: AsyncOpenAI,
    model: str,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]],
    run_tool: ToolRunner,
    limits: LoopLimits,
    on_event: EventSink | None = None,
    on_usage: UsageSink | None = None,
) -> LoopResult:
    """Call the model until it answers without tool calls; tool failures go back to the model as tool results."""
    known = {t["function"]["name"] for t in tools}
    transcript = list(messages)
    new_messages: list[dict[str, Any]] = []
    records: list[ToolCallRecord] = []
    usage = Usage()
    model_seconds = 0.0
    for step in range(1, limits.max_steps + 1):
        started = time.perf_counter()
        try:
            assembled = await _call_model(client, model, transcript, tools, limits, on_event)
        finally:
            model_seconds += time.perf_counter() - started
        if assembled.usage is not None:
            usage.add(assembled.usage)
            if on_usage is not None:
                await on_usage(assembled.usage)
        if not assembled.tool_calls:
            final = {"role": "assistant", "content": assembled.content}
            new_messages.append(final)
            return LoopResult(assembled.content, records, new_messages, usage, model_seconds, step)

        calls = assembled.tool_calls
        for position, call in enumerate(calls):
            if not call.id:
                call.id = f"call_{step}_{position}"
        assistant: dict[str, Any] = {
            "role": "assistant",
            "content": assembled.content or "",
            "tool_calls": [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in calls
            ],
        }
        if assembled.reasoning_content is not None:
            # Needed by DeepSeek's thinking mode within this loop only (see module docstring).
            assistant["reasoning_content"] = assembled.reasoning_content
        transcript.append(assistant)
        new_messages.append({k: v for k, v in assistant.items() if k != "reasoning_content"})

        if on_event is not None:
            for c in calls:
                await on_event("tool_call", {"id": c.id, "name": c.name, "arguments": c.arguments})
        step_records = await asyncio.gather(*(_execute(c, known, run_tool) for c in calls))
        for record in step_records:
            records.append(record)
            tool_message = {"role": "tool", "tool_call_id": record.id, "content": record.result}
            transcript.append(tool_message)
            new_messages.append({**tool_message, "name": record.name})
            if on_event is not None:
                await on_event("tool_result", {"id": record.id, "name": record.name, "result": record.result,
                                               "isError": not record.ok})
    raise LlmError(f"the model did not give a final answer within {limits.max_steps} steps (LLM_MAX_STEPS)")


async def _execute(call: AssembledCall, known: set[str], run_tool: ToolRunner) -> ToolCallRecord:
    started = time.perf_counter()
    arguments, problem = parse_arguments(call.arguments)
    if call.name not in known:
        text = f"error: unknown tool {call.name!r}; available tools: {', '.join(sorted(known))}"
        return ToolCallRecord(call.id, call.name, call.arguments, False, text, _ms(started))
    if arguments is None:
        text = f"error: {problem}; call {call.name} again with a JSON object matching its parameters"
        return ToolCallRecord(call.id, call.name, call.arguments, False, text, _ms(started))
    try:
        outcome = await run_tool(call.name, arguments)
    except Exception as exc:  # a tool bug must not end the analysis: the model is told and can continue
        log.exception("tool %s crashed", call.name)
        outcome = ToolExecution(False, f"error: tool {call.name} failed: {type(exc).__name__}: {exc}")
    text = outcome.text if len(outcome.text) <= TOOL_RESULT_MAX_CHARS else outcome.text[:TOOL_RESULT_MAX_CHARS] + "…(truncated)"
    return ToolCallRecord(call.id, call.name, arguments, outcome.ok, text, _ms(started), outcome.data)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    return isinstance(exc, openai.APIConnectionError)


def _retry_delay(exc: Exception, attempt: int, base: float) -> float:
    delay = base * (2**attempt)
    response = getattr(exc, "response", None)
    if response is not None:
        header = response.headers.get("retry-after")
        try:
            if header is not None:
                delay = max(delay, float(header))
        except ValueError:
            pass
    return min(delay, RETRY_DELAY_CAP_SECS)


def _describe(exc: Exception) -> str:
    if isinstance(exc, openai.APIStatusError):
        return f"model provider answered HTTP {exc.status_code}: {exc.message}"[:600]
    if isinstance(exc, openai.APITimeoutError):
        return "model provider did not answer in time"
    if isinstance(exc, openai.APIConnectionError):
        return f"model provider unreachable: {exc.__cause__ or exc}"[:600]
    return f"{type(exc).__name__}: {exc}"[:600]


async def _call_model(
    client: AsyncOpenAI,
    model: str,
    transcript: list[dict[str, Any]],
    tools: list[dict[str, Any]],
    limits: LoopLimits,
    on_event: EventSink | None,
) -> AssembledMessage:
    attempt = 0
    while True:
        assembler = StreamAssembler()
        try:
            async with asyncio.timeout(limits.call_timeout_secs):
                stream = await client.chat.completions.create(
                    model=model,
                    messages=transcript,  # type: ignore[arg-type]
                    tools=tools or openai.NOT_GIVEN,  # type: ignore[arg-type]
                    stream=True,
                    stream_options={"include_usage": True},
                )
                try:
                    async for chunk in stream:
                        content_delta, reasoning_delta = assembler.feed(chunk)
                        if on_event is not None:
                            if reasoning_delta:
                                await on_event("reasoning", {"text": reasoning_delta})
                            if content_delta:
                                await on_event("delta", {"text": content_delta})
                finally:
                    await stream.close()
            return assembler.message()
        except TimeoutError:
            raise LlmError(f"model call timed out after {limits.call_timeout_secs:g}s (LLM_CALL_TIMEOUT_SECS)") from None
        except (openai.APIStatusError, openai.APIConnectionError) as exc:
            if not _retryable(exc) or assembler.received_anything:
                raise LlmError(_describe(exc)) from None
            if attempt >= limits.max_retries:
                raise LlmError(f"{_describe(exc)} (gave up after {attempt + 1} attempts)") from None
            delay = _retry_delay(exc, attempt, limits.retry_base_secs)
            log.warning("model call failed (%s); retry %d/%d in %.2fs", _describe(exc), attempt + 1, limits.max_retries, delay)
            attempt += 1
            await asyncio.sleep(delay)
        except openai.OpenAIError as exc:
            raise LlmError(_describe(exc)) from None
