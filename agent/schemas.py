"""Request and response bodies of the agent's HTTP interface (CONTRACT §5 and the chat/session additions)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

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


class AnalysisRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    runId: str = Field(min_length=1, max_length=128)
    instId: str
    source: Literal["volatility", "schedule", "manual"]
    trigger: AnalysisTriggerBody = Field(default_factory=AnalysisTriggerBody)

    _inst = field_validator("instId")(_check_inst_id)


class UsageReport(BaseModel):
    inputTokens: int
    cachedInputTokens: int
    outputTokens: int
    modelCalls: int
    costUsd: float


class AnalysisResult(BaseModel):
    type: Literal["analysis_result"] = "analysis_result"
    runId: str
    instId: str
    summary: str
    confidence: int | None
    toolCalls: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    provider: str
    model: str
    usage: UsageReport
    sessionId: str
    durationMs: float
    modelMs: float


class AnalysisError(BaseModel):
    type: Literal["analysis_error"] = "analysis_error"
    runId: str
    instId: str
    error: str


AnalysisResponse = Annotated[Union[AnalysisResult, AnalysisError], Field(discriminator="type")]


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    message: str = Field(min_length=1, max_length=8000)
    sessionId: str | None = Field(default=None, max_length=200)
    instId: str | None = None

    @field_validator("instId")
    @classmethod
    def _inst(cls, value: str | None) -> str | None:
        return None if value is None else _check_inst_id(value)
