"""The API's side of CONTRACT §5: `POST {AGENT_BASE_URL}/analysis` and the agent's one-message answer.

The answer type has an explicit `analysis_error` case: the agent says at once that the analysis failed, and
the run ends `failed` with its reason instead of waiting out the timeout. Transport failures (refused
connection, 5xx, timeout, an unreadable answer) raise `AgentCallFailed` with a readable reason; the caller
treats them exactly like an `analysis_error`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Literal

import aiohttp
import msgspec

from shared.backoff import Backoff


class AnalysisTrigger(msgspec.Struct, kw_only=True):
    price: str | None = None
    baseline: str | None = None
    deviationBps: float | None = None


class AnalysisRequest(msgspec.Struct, kw_only=True):
    runId: str
    instId: str
    source: Literal["volatility", "schedule", "manual"]
    trigger: AnalysisTrigger


class AgentUsage(msgspec.Struct, kw_only=True):
    inputTokens: int | None = None
    cachedInputTokens: int | None = None
    outputTokens: int | None = None
    costUsd: float | None = None


class AnalysisResult(msgspec.Struct, tag_field="type", tag="analysis_result", kw_only=True):
    runId: str
    instId: str
    summary: str
    confidence: int | float | None = None
    toolCalls: list[Any] = msgspec.field(default_factory=list)
    orders: list[Any] = msgspec.field(default_factory=list)
    provider: str | None = None
    model: str | None = None
    usage: AgentUsage | None = None
    # the structured decision (COMMON interface 3); checked by `runs.parse_decision`, so a malformed one loses
    # only itself, never the run's summary, tool calls and orders
    decision: Any = None


class AnalysisError(msgspec.Struct, tag_field="type", tag="analysis_error", kw_only=True):
    runId: str
    instId: str
    error: str
    reason: str | None = None  # step_limit | timeout | llm_error | finish_reason | memory_error | budget
    toolCalls: list[Any] = msgspec.field(default_factory=list)  # what the failed run did before it failed
    orders: list[Any] = msgspec.field(default_factory=list)
    provider: str | None = None
    model: str | None = None


AgentAnswer = AnalysisResult | AnalysisError

_decoder = msgspec.json.Decoder(AgentAnswer)
_encoder = msgspec.json.Encoder()
_MAX_BODY_IN_REASON = 200


class AgentCallFailed(Exception):
    """The agent could not be asked or did not answer usefully; `reason` is safe to store and show.
    `unreachable`: nothing answered at all (not a failed analysis: it does not count toward the pause)."""

    def __init__(self, reason: str, *, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.unreachable = unreachable


def decode_answer(body: bytes) -> AgentAnswer:
    """Decode the agent's message; raises AgentCallFailed naming what was wrong with it."""
    try:
        return _decoder.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise AgentCallFailed(f"agent answered with an unreadable message: {exc}") from None


class AgentClient:
    """One method, `analyse`: ask the agent for one analysis and return its answer (never waits past `timeout_secs`)."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str, timeout_secs: float) -> None:
        self._session = session
        self._url = base_url.rstrip("/") + "/analysis"
        self._health_url = base_url.rstrip("/") + "/health"
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self._timeout = aiohttp.ClientTimeout(total=timeout_secs)
        self.timeout_secs = timeout_secs

    async def healthy(self) -> bool:
        try:
            async with self._session.get(self._health_url, timeout=aiohttp.ClientTimeout(total=2)) as resp:
                return resp.status == 200
        except (TimeoutError, aiohttp.ClientError):
            return False

    async def wait_until_healthy(self, max_wait_secs: float, clock: Callable[[], float] = time.monotonic) -> bool:
        """True as soon as the agent's /health answers 200; False after `max_wait_secs` (backing off between tries)."""
        deadline = clock() + max_wait_secs
        backoff = Backoff(base=0.2, cap=2.0, jitter="equal")
        attempt = 0
        while True:
            if await self.healthy():
                return True
            left = deadline - clock()
            if left <= 0:
                return False
            await asyncio.sleep(min(left, backoff.delay(attempt)))
            attempt += 1

    async def analyse(self, request: AnalysisRequest) -> AgentAnswer:
        body = _encoder.encode(request)
        try:
            async with self._session.post(self._url, data=body, headers=self._headers, timeout=self._timeout) as resp:
                payload = await resp.read()
                status = resp.status
        except TimeoutError:
            raise AgentCallFailed(f"agent did not answer within {self.timeout_secs:g} s (AGENT_TIMEOUT_SECS)") from None
        except aiohttp.ClientConnectorError as exc:
            raise AgentCallFailed(
                f"agent unreachable at {self._url}: {exc.os_error.strerror or exc.os_error}", unreachable=True
            ) from None
        except aiohttp.ClientError as exc:
            raise AgentCallFailed(f"agent connection failed: {exc.__class__.__name__}: {exc}") from None
        if status >= 400:
            # An agent that reports its failure with an error status still says why: keep its reason.
            try:
                answer = _decoder.decode(payload)
            except (msgspec.ValidationError, msgspec.DecodeError):
                answer = None
            if isinstance(answer, AnalysisError):
                return answer
        if status >= 500:
            raise AgentCallFailed(f"agent answered HTTP {status}: {_excerpt(payload)}")
        if status >= 400:
            raise AgentCallFailed(f"agent refused the request with HTTP {status}: {_excerpt(payload)}")
        return decode_answer(payload)


def _excerpt(payload: bytes) -> str:
    text = payload.decode("utf-8", "replace").strip().replace("\n", " ")
    return text[:_MAX_BODY_IN_REASON] + ("…" if len(text) > _MAX_BODY_IN_REASON else "") if text else "(empty body)"
