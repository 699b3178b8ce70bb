"""The bounded tool-calling loop over an OpenAI-compatible chat completions endpoint.

Order: the tool calls of one model message run in the order the model wrote them. Consecutive read-only
calls run together; a trading call (place, cancel, close, TP/SL) runs alone, after everything before it
finished, and its result is reported before the next call starts. After a trading call fails, the
message's later trading calls are not run ("close, then open the other side" must not open when the
close failed): the model is told and decides again.

What happened is kept in a `LoopState` the caller owns, so a run that fails (timeout, step limit, model
error) still reports the tool calls and orders it made. DeepSeek's thinking mode needs the
`reasoning_content` of every assistant tool-call turn sent back within the loop (400 otherwise); it is
never stored, so it never crosses analyses.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from agent.llm.client import EventSink, LlmError, LoopLimits, ModelClient, call_model
from agent.llm.stream import AssembledCall, AssembledMessage, Usage

log = logging.getLogger("aitrader.agent.llm")

TOOL_RESULT_MAX_CHARS = 12_000
# finish_reason values that mean the answer is cut or withheld, not a finished message.
BAD_FINISH_REASONS = frozenset({"length", "content_filter", "insufficient_system_resource"})


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
            "id": self.id,
            "name": self.name,
            "arguments": self.arguments,
            "ok": self.ok,
            "error": None if self.ok else self.result[:2000],
            "result": self.result[:2000],
            "durationMs": round(self.durationMs, 2),
        }


@dataclass
class LoopState:
    """Filled as the loop goes; read by the caller after success or failure."""

    records: list[ToolCallRecord] = field(default_factory=list)
    new_messages: list[dict[str, Any]] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    model_seconds: float = 0.0
    steps: int = 0
    forced_final: bool = False  # the step limit was reached and the model was asked for a final answer
    finish_retries: int = 0


@dataclass
class LoopResult:
    final_text: str
    state: LoopState


class CallGate(Protocol):
    """Checked before every model call (budget, with the cost reserved) and settled after it."""

    async def before(self, transcript: list[dict[str, Any]]) -> Any: ...

    async def after(self, ticket: Any, usage: Usage | None) -> None: ...


ToolRunner = Callable[[str, dict[str, Any]], Awaitable[ToolExecution]]


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


def batches(calls: list[AssembledCall], sequential: frozenset[str]) -> list[list[AssembledCall]]:
    """Split one message's calls, in order, into runs: consecutive read-only calls together, each trading call alone."""
    out: list[list[AssembledCall]] = []
    for call in calls:
        if call.name in sequential or not out or out[-1][0].name in sequential:
            out.append([call])
        else:
            out[-1].append(call)
    return out


@dataclass
class ToolLoop:
    model: ModelClient
    tools: list[dict[str, Any]]
    run_tool: ToolRunner
    limits: LoopLimits
    sequential: frozenset[str] = frozenset()
    final_tool: str | None = None  # its successful call, alone in a message, ends the loop
    require_final_tool: bool = False  # ask for it once (tool_choice) when the model ends without it
    on_event: EventSink | None = None
    gate: CallGate | None = None
    state: LoopState = field(default_factory=LoopState)

    async def run(self, messages: list[dict[str, Any]]) -> LoopResult:
        """Call the model until it answers without tool calls; tool failures go back to the model as tool results."""
        transcript = list(messages)
        for _ in range(self.limits.max_steps):
            message = await self._ask(transcript)
            if not message.tool_calls:
                return await self._finish(transcript, message)
            if await self._run_calls(transcript, message):
                # The answer text came with the final tool call: kept as a plain answer too, so memory replays it.
                self.state.new_messages.append({"role": "assistant", "content": message.content})
                return LoopResult(message.content, self.state)
        self.state.forced_final = True
        message = await self._ask(transcript, tool_choice="none")
        if message.tool_calls:
            raise LlmError(
                f"the model did not give a final answer within {self.limits.max_steps} steps (LLM_MAX_STEPS)",
                "step_limit",
            )
        return await self._finish(transcript, message)

    def _trading_attempted(self) -> bool:
        return any(r.name in self.sequential for r in self.state.records)

    async def _ask(self, transcript: list[dict[str, Any]], tool_choice: Any = None) -> AssembledMessage:
        while True:
            self.state.steps += 1
            ticket = await self.gate.before(transcript) if self.gate is not None else None
            started = time.perf_counter()
            message: AssembledMessage | None = None
            try:
                message = await call_model(self.model, transcript, self.tools, self.limits, self.on_event, tool_choice)
            finally:
                self.state.model_seconds += time.perf_counter() - started
                usage = message.usage if message is not None else None
                if usage is not None:
                    self.state.usage.add(usage)
                if self.gate is not None:
                    await self.gate.after(ticket, usage)
            reason = message.finish_reason
            if reason not in BAD_FINISH_REASONS:
                return message
            if self.state.finish_retries == 0 and not self._trading_attempted():
                self.state.finish_retries += 1
                log.warning("model stopped with finish_reason=%s; nothing was executed, asking once more", reason)
                continue
            done = "after trading tool calls were made" if self._trading_attempted() else "twice"
            raise LlmError(
                f"the model stopped with finish_reason={reason} {done}; its answer is incomplete "
                "(length: raise LLM_MAX_TOKENS; content_filter: the provider withheld it; "
                "insufficient_system_resource: the provider is overloaded)",
                "finish_reason",
            )

    async def _finish(self, transcript: list[dict[str, Any]], message: AssembledMessage) -> LoopResult:
        final_text = message.content
        if self.require_final_tool and self.final_tool and not self._final_tool_done():
            choice = {"type": "function", "function": {"name": self.final_tool}}
            transcript.append({"role": "assistant", "content": final_text})
            self.state.new_messages.append({"role": "assistant", "content": final_text})
            try:
                forced = await self._ask(transcript, tool_choice=choice)
            except LlmError as exc:
                if exc.reason == "budget":
                    raise
                # The answer exists; only its structured form is missing: the caller derives one.
                log.warning("the model ended without %s and the follow-up call failed: %s", self.final_tool, exc)
                return LoopResult(final_text, self.state)
            if forced.tool_calls:
                await self._run_calls(transcript, forced)
            return LoopResult(final_text, self.state)
        self.state.new_messages.append({"role": "assistant", "content": final_text})
        return LoopResult(final_text, self.state)

    def _final_tool_done(self) -> bool:
        return any(r.name == self.final_tool and r.ok for r in self.state.records)

    async def _run_calls(self, transcript: list[dict[str, Any]], message: AssembledMessage) -> bool:
        """Run one message's calls in order; True when the message was only a successful final-tool call."""
        calls = message.tool_calls
        for position, call in enumerate(calls):
            if not call.id:
                call.id = f"call_{self.state.steps}_{position}"
        assistant: dict[str, Any] = {
            "role": "assistant",
            "content": message.content or "",
            "tool_calls": [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in calls
            ],
        }
        if message.reasoning_content is not None:
            assistant["reasoning_content"] = message.reasoning_content  # within this loop only (module docstring)
        transcript.append(assistant)
        self.state.new_messages.append({k: v for k, v in assistant.items() if k != "reasoning_content"})
        known = {t["function"]["name"] for t in self.tools}
        trading_failed: str | None = None
        for batch in batches(calls, self.sequential):
            if self.on_event is not None:
                for c in batch:
                    await self.on_event("tool_call", {"id": c.id, "name": c.name, "arguments": c.arguments})
            if trading_failed is not None and batch[0].name in self.sequential:
                text = (
                    f"error: not run: the earlier {trading_failed} call in the same message failed; "
                    "check the account and decide again"
                )
                records = [ToolCallRecord(batch[0].id, batch[0].name, batch[0].arguments, False, text, 0.0)]
            else:
                records = list(await asyncio.gather(*(_execute(c, known, self.run_tool) for c in batch)))
            for record in records:
                await self._keep(transcript, record)
                if record.name in self.sequential and not record.ok and trading_failed is None:
                    trading_failed = record.name
        return bool(self.final_tool) and all(c.name == self.final_tool for c in calls) and self._final_tool_done()

    async def _keep(self, transcript: list[dict[str, Any]], record: ToolCallRecord) -> None:
        self.state.records.append(record)
        tool_message = {"role": "tool", "tool_call_id": record.id, "content": record.result}
        transcript.append(tool_message)
        self.state.new_messages.append({**tool_message, "name": record.name})
        if self.on_event is not None:
            await self.on_event(
                "tool_result", {"id": record.id, "name": record.name, "result": record.result, "isError": not record.ok}
            )


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
    text = (
        outcome.text
        if len(outcome.text) <= TOOL_RESULT_MAX_CHARS
        else outcome.text[:TOOL_RESULT_MAX_CHARS] + "…(truncated)"
    )
    return ToolCallRecord(call.id, call.name, arguments, outcome.ok, text, _ms(started), outcome.data)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
