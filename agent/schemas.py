"""Request and response bodies of the agent's HTTP interface (CONTRACT §5 and the chat/session additions)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent.decision import Decision
from shared.ids import RUN_ID_RE
from shared.instruments import is_valid_inst_id


def _check_inst_id(value: str) -> str:
    if not is_valid_inst_id(value):
        raise ValueError(f"malformed instrument id {value!r} (expected e.g. BTC-USDT-SWAP)")
    return value


class AnalysisTriggerBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    price: str | None = None
    baseline: str | None = None
    deviationBps: float | None = None

    @field_validator("price", "baseline")
    @classmethod
    def _decimal_string(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            float(value)
        except ValueError:
            raise ValueError(f"expected a decimal number as a string, got {value!r}") from None
        return value


# The trading API accepts this run id on orders (the same shared.ids rule): checked here too, so
# a run id the API would refuse on every order is a 422 at once instead of failed tool calls.
RUN_ID_PATTERN = RUN_ID_RE.pattern  # shared.ids: the one run-id rule


class AnalysisRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    runId: str = Field(pattern=RUN_ID_PATTERN, description="1-64 letters, digits or _ . : -")
    instId: str
    source: Literal["volatility", "schedule", "manual"]
    trigger: AnalysisTriggerBody = Field(default_factory=AnalysisTriggerBody)

    _inst = field_validator("instId")(_check_inst_id)


class AgentHealth(BaseModel):
    status: Literal["ok", "degraded"]
    service: Literal["agent"] = "agent"
    database: str = Field(description='"ok" or "error: <kind>"')
    provider: str
    model: str


class UsageReport(BaseModel):
    inputTokens: int
    cachedInputTokens: int
    outputTokens: int = Field(description="billed output tokens, reasoning included")
    reasoningTokens: int = 0
    modelCalls: int
    costUsd: float = Field(description="each call at the price of its model and hour (agent/llm/pricing.py)")


class AnalysisResult(BaseModel):
    type: Literal["analysis_result"] = "analysis_result"
    runId: str
    instId: str
    summary: str
    confidence: int | None
    decision: Decision
    toolCalls: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    provider: str = Field(
        description="the real provider (LLM_PROVIDER): deepseek, openai, qwen, dashscope, vllm, ollama, offline"
    )
    model: str
    usage: UsageReport
    sessionId: str
    durationMs: float
    modelMs: float


FailureReason = Literal["step_limit", "timeout", "llm_error", "finish_reason", "memory_error", "budget"]


class AnalysisError(BaseModel):
    """The run failed; `toolCalls` and `orders` are what it did before (same item shapes as analysis_result)."""

    type: Literal["analysis_error"] = "analysis_error"
    runId: str
    instId: str
    error: str
    reason: FailureReason
    toolCalls: list[dict[str, Any]] = Field(default_factory=list)
    orders: list[dict[str, Any]] = Field(default_factory=list)


AnalysisResponse = Annotated[AnalysisResult | AnalysisError, Field(discriminator="type")]


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    message: str = Field(min_length=1, max_length=8000)
    sessionId: str | None = Field(default=None, max_length=200)
    instId: str | None = None

    @field_validator("instId")
    @classmethod
    def _inst(cls, value: str | None) -> str | None:
        return None if value is None else _check_inst_id(value)


# ---- conversation sessions (GET /sessions, GET /sessions/{id}) --------------------------------------


class Session(BaseModel):
    id: str = Field(description="analysis:<instId> (one per instrument) or chat:<hex>")
    kind: Literal["analysis", "chat"]
    instId: str | None
    title: str | None
    createdAt: str
    updatedAt: str
    messageCount: int


class SessionToolCall(BaseModel):
    id: str
    name: str
    arguments: str = Field(description="the JSON arguments exactly as the model sent them (may be malformed)")


class SessionMessage(BaseModel):
    id: int
    role: Literal["system", "user", "assistant", "tool"]
    content: str
    toolCalls: list[SessionToolCall] | None = Field(None, description="assistant turns that called tools")
    toolCallId: str | None = Field(None, description="tool results: the call they answer")
    name: str | None = Field(None, description="tool results: the tool's name")
    runId: str | None = Field(None, description="analysis sessions: the strategy run the message belongs to")
    createdAt: str


class SessionDetail(Session):
    messages: list[SessionMessage] = Field(description="oldest first")


# ---- POST /chat Server-Sent Events: `event: <name>` with `data: <JSON of the model below>` ----------


class ChatSessionEvent(BaseModel):
    """`session`: first event; the session this turn belongs to (new when none was given)."""

    sessionId: str


class ChatDeltaEvent(BaseModel):
    """`delta`: a piece of the answer text (append in order). `reasoning` has the same shape: a piece of a
    thinking model's reasoning, shown apart and never stored."""

    text: str


class ChatToolCallEvent(BaseModel):
    """`tool_call`: the model called a tool (sent before it runs)."""

    id: str
    name: str
    arguments: str = Field(description="JSON text as the model sent it")


class ChatToolResultEvent(BaseModel):
    """`tool_result`: the tool's answer (JSON text, or an error message when isError)."""

    id: str
    name: str
    result: str
    isError: bool


class ChatUsage(BaseModel):
    inputTokens: int
    cachedInputTokens: int
    outputTokens: int
    reasoningTokens: int
    costUsd: float


class ChatFinalEvent(BaseModel):
    """`final`: the whole answer (wins over the deltas), then the stream ends."""

    sessionId: str
    content: str
    provider: str
    model: str
    usage: ChatUsage


class ChatErrorEvent(BaseModel):
    """`error`: the turn failed (model provider, budget, timeout); the stream ends."""

    error: str
    reason: FailureReason


CHAT_EVENTS: dict[str, type[BaseModel]] = {
    "session": ChatSessionEvent,
    "reasoning": ChatDeltaEvent,
    "delta": ChatDeltaEvent,
    "tool_call": ChatToolCallEvent,
    "tool_result": ChatToolResultEvent,
    "final": ChatFinalEvent,
    "error": ChatErrorEvent,
}
