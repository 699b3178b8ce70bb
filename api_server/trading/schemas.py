"""The trade API's wire types: request bodies (values checked by `validation.py`, a 400 naming the field; the
schema's enums and descriptions only document them, so the messages stay the ones the agent's tools read),
the answers of the order path, and the risk / refusal / approval views."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import msgspec

from api_server.account.schemas import Order, Text, row_out

# ---- request bodies ------------------------------------------------------------------------------

Number = str | int | float


def _doc(description: str, enum: tuple[str, ...] | None = None) -> msgspec.Meta:
    return msgspec.Meta(
        extra_json_schema={"description": description, **({"extra": {"enum": list(enum)}} if enum else {})}
    )


class OrderRequest(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    instId: Annotated[str, _doc("instrument id, e.g. BTC-USDT-SWAP")]
    side: Annotated[str, _doc("buy or sell", ("buy", "sell"))]
    ordType: Annotated[str, _doc("market, or limit with px", ("market", "limit"))]
    sz: Annotated[Number | None, _doc("size in contracts (a multiple of lotSz, >= minSz); or give notionalUsdt")] = None
    notionalUsdt: Annotated[
        Number | None, _doc("size as USDT notional, converted to contracts with ctVal/lotSz/minSz")
    ] = None
    px: Annotated[Number | None, _doc("limit price (limit orders only)")] = None
    posSide: Annotated[str | None, _doc("net, long or short; default from the account's position mode")] = None
    # UNSET (not a "cross" default): absent stays absent in the recorded request, and the schema shows no
    # `default`, which generated clients would read as a key every request must send
    tdMode: Annotated[str | msgspec.UnsetType, _doc("margin mode, cross when absent", ("cross", "isolated"))] = (
        msgspec.UNSET
    )
    leverage: Annotated[int | str | None, _doc("leverage to set before the order, a whole number 1..125")] = None
    reduceOnly: bool | None = None
    tpTriggerPx: Annotated[Number | None, _doc("take-profit trigger price (last price), opening orders only")] = None
    slTriggerPx: Annotated[Number | None, _doc("stop-loss trigger price (last price), opening orders only")] = None
    clOrdId: Annotated[str | None, _doc("client order id, 1-32 letters/digits; generated when absent; idempotent")] = (
        None
    )
    runId: Annotated[
        str | None,
        _doc("strategy run id the order belongs to (recorded; the origin comes from the X-AiTrader-Origin header)"),
    ] = None


class CancelRequest(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    instId: str
    ordId: Annotated[str | None, _doc("exchange order id (digits); or give clOrdId")] = None
    clOrdId: str | None = None
    runId: Annotated[str | None, _doc("strategy run id of the agent asking (logged with the cancel)")] = None


class ClosePositionRequest(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    instId: str
    posSide: Annotated[
        str | None, _doc("which position in long/short mode; net in net mode", ("net", "long", "short"))
    ] = None
    runId: Annotated[
        str | None,
        _doc("strategy run id the close belongs to (recorded; the origin comes from the X-AiTrader-Origin header)"),
    ] = None
    clOrdId: Annotated[str | None, _doc("client order id of the closing order, 1-32 letters/digits; idempotent")] = None


# ---- answers of the order path ---------------------------------------------------------------------


class OrderPlaced(msgspec.Struct, kw_only=True):
    """A new order (201, with the risk decision) or the order already recorded under that clOrdId (200,
    `duplicate`: nothing new was sent; `order` absent only while a concurrent retry is still recording it)."""

    order: Order | msgspec.UnsetType = msgspec.UNSET
    duplicate: bool
    risk: RiskDecision | msgspec.UnsetType = msgspec.UNSET
    clOrdId: str | msgspec.UnsetType = msgspec.UNSET


class ApprovalPending(msgspec.Struct, kw_only=True):
    """202: an agent order waits for a person's approval (TRADE_APPROVAL_MODE=manual); it is not placed yet."""

    status: str
    approvalId: int
    clOrdId: str
    approval: Approval
    duplicate: bool


class ApprovalDecision(msgspec.Struct, kw_only=True):
    """An approval decided: rejected (only `approval`), or approved and placed (the order's answer too)."""

    order: Order | msgspec.UnsetType = msgspec.UNSET
    duplicate: bool | msgspec.UnsetType = msgspec.UNSET
    risk: RiskDecision | msgspec.UnsetType = msgspec.UNSET
    clOrdId: str | msgspec.UnsetType = msgspec.UNSET
    approval: Approval


class CancelResult(msgspec.Struct, kw_only=True):
    canceled: bool
    ordId: str | None
    clOrdId: str | None
    order: Order | None  # the record with its state after the cancel (null when it is not recorded)


@dataclass
class Outcome:
    status_code: int
    body: Any  # OrderPlaced | ApprovalPending | ApprovalDecision | exchange_rules.OrderOutcomePending | PositionTpslResult


# ---- risk, refusals, approvals -----------------------------------------------------------------------


class RiskDecision(msgspec.Struct, kw_only=True):
    """The risk guard's decision on an order that was let through (`needsApproval`: it waits for a person)."""

    allowed: bool
    rule: str
    message: str
    limit: str | None
    actual: str | None
    needsApproval: bool


class RiskLimits(msgspec.Struct, kw_only=True):
    allowedInstIds: list[str]
    maxLeverage: str
    maxOrderPct: str
    maxExposurePct: str
    dailyLossLimitPct: str
    requireStopLoss: bool
    approvalMode: str  # auto | manual


class RiskState(msgspec.Struct, kw_only=True):
    equity: Text
    day: str
    dayStartEquity: Text
    dayLoss: Text
    maxDayLoss: Text
    dailyLossLatched: bool
    latchedAt: Text
    resetAt: Text
    reopensAt: Text
    openExposure: str
    openExposureByInst: dict[str, str]


class RiskStatus(msgspec.Struct, kw_only=True):
    limits: RiskLimits
    state: RiskState


class RiskRefusalRecord(msgspec.Struct, kw_only=True):
    id: int
    at: str
    origin: str  # manual | agent:run:<id> | agent:chat:<id> | mcp:<name> (older records: agent)
    runId: str | None
    instId: str
    rule: str
    limit: str | None
    actual: str | None
    message: str


class RefusalList(msgspec.Struct, kw_only=True):
    refusals: list[RiskRefusalRecord]


class RiskRefusalError(msgspec.Struct, kw_only=True):
    """The 422 answer of an order the risk guard refused (it is recorded: `refusalId`)."""

    status_code: int
    detail: str
    rule: str
    limit: str | msgspec.UnsetType = msgspec.UNSET
    actual: str | msgspec.UnsetType = msgspec.UNSET
    refusalId: int


class Approval(msgspec.Struct, kw_only=True):
    """An agent order (or close) waiting for, or past, a person's decision (TRADE_APPROVAL_MODE=manual)."""

    id: int
    createdAt: str
    kind: str  # order | close
    origin: str  # who asked: agent:run:<id> | agent:chat:<id> | mcp:<name> (older records: agent)
    runId: str | None
    instId: str
    clOrdId: str
    request: dict[str, Any]  # the order request as received (OrderRequest / ClosePositionRequest) with its clOrdId
    status: str  # pending | approving | approved | rejected | refused | failed
    decidedAt: Text
    detail: str | None


class ApprovalList(msgspec.Struct, kw_only=True):
    approvals: list[Approval]


REFUSAL_FIELDS = {
    "id": "id",
    "at": "at",
    "origin": "origin",
    "run_id": "runId",
    "inst_id": "instId",
    "rule": "rule",
    "limit_value": "limit",
    "actual_value": "actual",
    "message": "message",
}
APPROVAL_FIELDS = {
    "id": "id",
    "created_at": "createdAt",
    "kind": "kind",
    "origin": "origin",
    "run_id": "runId",
    "inst_id": "instId",
    "cl_ord_id": "clOrdId",
    "request": "request",
    "status": "status",
    "decided_at": "decidedAt",
    "detail": "detail",
}


def refusal_out(row: dict[str, Any]) -> RiskRefusalRecord:
    return row_out(RiskRefusalRecord, row, REFUSAL_FIELDS)


def approval_out(row: dict[str, Any]) -> Approval:
    return row_out(Approval, row, APPROVAL_FIELDS)
