"""One model call: a streamed chat completion with bounded retries of what is safe to retry.

A call is retried only when nothing arrived yet (429, 5xx, connection refused): nothing was executed on
the model's behalf, so sending it again cannot double anything. Backoff is `shared.backoff`'s rule.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import openai
from openai import AsyncOpenAI

from agent.llm.stream import AssembledMessage, StreamAssembler
from shared.backoff import Backoff

log = logging.getLogger("aitrader.agent.llm")

RETRY_DELAY_CAP_SECS = 30.0

# Why an analysis failed (CONTRACT §5 `analysis_error.reason`).
FailureReason = str  # step_limit | timeout | llm_error | finish_reason | memory_error | budget


class LlmError(Exception):
    """The loop cannot produce an answer; the message is shown as the analysis error, `reason` classifies it."""

    reason: FailureReason = "llm_error"

    def __init__(self, message: str, reason: FailureReason | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason


@dataclass(frozen=True)
class LoopLimits:
    max_steps: int = 8
    call_timeout_secs: float = 120.0
    max_retries: int = 3
    retry_base_secs: float = 1.0


@dataclass
class ModelClient:
    """The provider connection and the request fields every call of this process sends."""

    client: AsyncOpenAI
    model: str
    extras: dict[str, Any] = field(default_factory=dict)  # thinking, reasoning_effort, max_tokens


EventSink = Callable[[str, dict[str, Any]], Awaitable[None]]


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    return isinstance(exc, openai.APIConnectionError)


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    header = response.headers.get("retry-after") if response is not None else None
    try:
        return float(header) if header is not None else None
    except ValueError:
        return None


def describe(exc: Exception) -> str:
    if isinstance(exc, openai.APIStatusError):
        return f"model provider answered HTTP {exc.status_code}: {exc.message}"[:600]
    if isinstance(exc, openai.APITimeoutError):
        return "model provider did not answer in time"
    if isinstance(exc, openai.APIConnectionError):
        return f"model provider unreachable: {exc.__cause__ or exc}"[:600]
    return f"{type(exc).__name__}: {exc}"[:600]


async def call_model(
    model: ModelClient,
    transcript: list[dict[str, Any]],
    tools: list[dict[str, Any]],
    limits: LoopLimits,
    on_event: EventSink | None,
    tool_choice: Any = None,
) -> AssembledMessage:
    backoff = Backoff(base=limits.retry_base_secs, cap=RETRY_DELAY_CAP_SECS, jitter="equal")
    attempt = 0
    while True:
        assembler = StreamAssembler()
        try:
            async with asyncio.timeout(limits.call_timeout_secs):
                stream = await model.client.chat.completions.create(
                    model=model.model,
                    messages=transcript,  # type: ignore[arg-type]
                    tools=tools or openai.NOT_GIVEN,  # type: ignore[arg-type]
                    tool_choice=tool_choice if (tools and tool_choice is not None) else openai.NOT_GIVEN,
                    stream=True,
                    stream_options={"include_usage": True},
                    **model.extras,
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
            raise LlmError(
                f"model call timed out after {limits.call_timeout_secs:g}s (LLM_CALL_TIMEOUT_SECS)", "timeout"
            ) from None
        except (openai.APIStatusError, openai.APIConnectionError) as exc:
            if not _retryable(exc) or assembler.received_anything:
                raise LlmError(describe(exc)) from None
            if attempt >= limits.max_retries:
                raise LlmError(f"{describe(exc)} (gave up after {attempt + 1} attempts)") from None
            delay = backoff.delay(attempt, _retry_after(exc))
            log.warning(
                "model call failed (%s); retry %d/%d in %.2fs", describe(exc), attempt + 1, limits.max_retries, delay
            )
            attempt += 1
            await asyncio.sleep(delay)
        except openai.OpenAIError as exc:
            raise LlmError(describe(exc)) from None
