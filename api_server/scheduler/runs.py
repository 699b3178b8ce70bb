"""A strategy run as the API shows it (CONTRACT §6; also the `run` SSE payload), with the agent's records of
it: tool calls and orders (read leniently) and the structured decision (COMMON interface 3)."""

from __future__ import annotations

import logging
import re
import typing
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import UNSET, UnsetType

from api_server.scheduler.decisions import Source

log = logging.getLogger("aitrader.api.scheduler")

# A run's `toolCalls` / `orders` are the agent's records (agent/llm.py ToolCallRecord.public, agent/service.py
# order_record), read leniently: a key these types do not declare, or one whose value has another type, is
# kept in the record's `extra` (stored flat as the agent sent it), so nothing the agent adds is lost or fails.


class RunToolCall(msgspec.Struct, kw_only=True):
    """One tool call of a run (the agent's record). `extra`: keys the agent sent that are not declared here
    (or with another type), passed through as sent."""

    id: str | None | UnsetType = UNSET
    name: str
    arguments: Any = UNSET  # the arguments the model gave (an object, or text when it was not valid JSON)
    ok: bool | UnsetType = UNSET
    result: str | None | UnsetType = UNSET  # the tool's answer as text (truncated)
    error: str | None | UnsetType = UNSET  # the answer text when the call failed, else null
    durationMs: float | None | UnsetType = UNSET
    extra: dict[str, Any] | UnsetType = UNSET


class RunOrder(msgspec.Struct, kw_only=True):
    """One order-related outcome of a run: the trading tool, its `status` (placed, duplicate, pending_approval,
    canceled) and the order record's fields (flat, as `GET /api/account/orders` names them). `extra`: keys the
    agent sent that are not declared here (or with another type), passed through as sent."""

    tool: str  # place_order | cancel_order | close_position
    status: str | None | UnsetType = UNSET
    clOrdId: str | None | UnsetType = UNSET
    ordId: str | None | UnsetType = UNSET
    instId: str | None | UnsetType = UNSET
    origin: str | None | UnsetType = UNSET
    runId: str | None | UnsetType = UNSET
    purpose: str | None | UnsetType = UNSET
    side: str | None | UnsetType = UNSET
    posSide: str | None | UnsetType = UNSET
    ordType: str | None | UnsetType = UNSET
    tdMode: str | None | UnsetType = UNSET
    sz: str | None | UnsetType = UNSET
    notionalUsdt: str | None | UnsetType = UNSET
    px: str | None | UnsetType = UNSET
    reduceOnly: bool | None | UnsetType = UNSET
    lever: str | None | UnsetType = UNSET
    leverage: int | None | UnsetType = UNSET
    tpTriggerPx: str | None | UnsetType = UNSET
    slTriggerPx: str | None | UnsetType = UNSET
    state: str | None | UnsetType = UNSET
    accFillSz: str | None | UnsetType = UNSET
    avgPx: str | None | UnsetType = UNSET
    fee: str | None | UnsetType = UNSET
    error: str | None | UnsetType = UNSET
    createdAt: str | None | UnsetType = UNSET
    risk: str | None | UnsetType = UNSET  # the risk guard's message on a placed order
    duplicate: bool | None | UnsetType = UNSET
    approvalId: int | None | UnsetType = UNSET
    approvalStatus: str | None | UnsetType = UNSET
    kind: str | None | UnsetType = UNSET  # an approval's kind: order | close
    note: str | None | UnsetType = UNSET
    extra: dict[str, Any] | UnsetType = UNSET


R = TypeVar("R", RunToolCall, RunOrder)
_PATH_KEY = re.compile(r"\$\.([A-Za-z0-9_]+)")


def lenient_record(kind: type[R], item: Any) -> R:
    """The agent's record as `kind`: undeclared or mistyped keys go to `extra`, a missing name/tool is ""."""
    if isinstance(item, kind):
        return item
    required = "name" if kind is RunToolCall else "tool"
    if not isinstance(item, dict):
        return kind(**{required: ""}, extra={"value": item})
    declared = set(kind.__struct_fields__) - {"extra"}
    data = {k: v for k, v in item.items() if k in declared}
    extra = {k: v for k, v in item.items() if k not in declared}
    while True:  # each failed pass moves one key out of `data` (or fixes the name/tool), so this ends
        try:
            record = msgspec.convert(data, kind)
            break
        except msgspec.ValidationError as exc:
            match = _PATH_KEY.search(str(exc))
            key = match.group(1) if match else None
            if key in data and key != required:
                extra[key] = data.pop(key)
            elif isinstance(data.get(required), str):  # cannot happen: only a declared key can fail
                return kind(**{required: data[required]}, extra=dict(item))
            else:  # the name/tool is missing or not a string
                if required in data:
                    extra[required] = data.pop(required)
                data[required] = ""
    if extra:
        log.debug("agent %s record with undeclared keys %s (kept in extra)", kind.__name__, sorted(extra))
        record.extra = extra
    return record


def stored_record(record: RunToolCall | RunOrder | Any) -> Any:
    """A record as stored: flat, as the agent sent it (`extra` merged back)."""
    if not isinstance(record, (RunToolCall, RunOrder)):
        return record
    data = msgspec.to_builtins(record)
    extra = data.pop("extra", None) or {}
    return {**data, **extra}


DecisionAction = Literal["open_long", "open_short", "add", "reduce", "close", "hold", "no_trade"]
DECISION_ACTIONS: tuple[str, ...] = typing.get_args(DecisionAction)


class RunDecision(msgspec.Struct, kw_only=True):
    """The agent's structured decision of a run (CONTRACT §5 `analysis_result.decision`)."""

    action: DecisionAction
    instId: str
    size: str | None = None
    entry: str | None = None
    stop: str | None = None
    target: str | None = None
    invalidation: str | None = None
    confidence: Annotated[int, msgspec.Meta(ge=0, le=100)]
    reason: str


def parse_decision(value: Any) -> RunDecision | None:
    """The agent's decision as a `RunDecision`, or None (absent or malformed: logged, the run keeps the rest)."""
    if value is None or isinstance(value, RunDecision):
        return value
    try:
        return msgspec.convert(value, RunDecision)
    except msgspec.ValidationError as exc:
        log.warning("agent decision not recorded, it does not match the contract: %s", exc)
        return None


class StrategyRun(msgspec.Struct, kw_only=True):
    """One run as `GET /api/model/strategy-runs` returns it (CONTRACT §6 names); also the `run` SSE payload."""

    id: str
    instId: str
    source: Source
    status: str
    triggeredAt: str
    startedAt: str | None = None
    finishedAt: str | None = None
    triggerPrice: str | None = None
    baselinePrice: str | None = None
    deviationBps: float | None = None
    error: str | None = None
    summary: str | None = None
    confidence: int | None = None
    toolCalls: list[RunToolCall] = msgspec.field(default_factory=list)
    orders: list[RunOrder] = msgspec.field(default_factory=list)
    provider: str | None = None
    model: str | None = None
    decision: RunDecision | None = None
    inputTokens: int | None = None
    outputTokens: int | None = None
    costUsd: str | None = None
    durationMs: float | None = None

    def __post_init__(self) -> None:
        # Whoever builds a run (the scheduler with the agent's answer, a row read back) gets typed records.
        self.toolCalls = [lenient_record(RunToolCall, item) for item in self.toolCalls or []]
        self.orders = [lenient_record(RunOrder, item) for item in self.orders or []]


class StrategyMessage(msgspec.Struct, kw_only=True):
    id: str
    runId: str | None
    instId: str
    role: str
    content: str
    createdAt: str
