"""Streamed chat-completion chunks folded into one assistant message, and token usage read from them.

Streaming is always on: tool calls arrive as fragments keyed by `index` (arguments split across chunks,
several calls per message) and are assembled here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Usage:
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0  # billed output: includes the reasoning tokens (OpenAI and DeepSeek count them in it)
    reasoning_tokens: int = 0
    calls: int = 0

    def add(self, other: Usage) -> None:
        self.input_tokens += other.input_tokens
        self.cached_input_tokens += other.cached_input_tokens
        self.output_tokens += other.output_tokens
        self.reasoning_tokens += other.reasoning_tokens
        self.calls += other.calls


def usage_from_response(raw: Any) -> Usage | None:
    """Read OpenAI-style usage; cached input from DeepSeek's `prompt_cache_hit_tokens` or OpenAI's details."""
    if raw is None:
        return None
    data = raw.model_dump() if hasattr(raw, "model_dump") else dict(raw)
    cached = data.get("prompt_cache_hit_tokens")
    if cached is None:
        details = data.get("prompt_tokens_details") or {}
        cached = details.get("cached_tokens") if isinstance(details, dict) else None
    output = int(data.get("completion_tokens") or 0)
    out_details = data.get("completion_tokens_details") or {}
    reasoning = int((out_details.get("reasoning_tokens") if isinstance(out_details, dict) else 0) or 0)
    if reasoning > output:
        # A server that reports reasoning apart from completion_tokens: reasoning is billed as output too.
        output += reasoning
    return Usage(
        input_tokens=int(data.get("prompt_tokens") or 0),
        cached_input_tokens=int(cached or 0),
        output_tokens=output,
        reasoning_tokens=reasoning,
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
