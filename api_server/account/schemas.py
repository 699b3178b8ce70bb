"""Database rows -> the account API's answer types: camelCase keys, exact decimals as strings, times as
ISO 8601 (UTC). Every shape here is a msgspec Struct, so the OpenAPI document declares exactly what is sent."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec

from api_server.errors import BadRequest
from api_server.trading.sizing import plain_decimal

Text = str | None  # an exact decimal as text, a time as ISO 8601, or an optional string: null when absent


def num(value: Decimal | None) -> str | None:
    """Exact decimal text without exponent (NUMERIC keeps the scale it was given)."""
    if value is None:
        return None
    return format(value, "f")


def when(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


def plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return num(value)
    if isinstance(value, (datetime, date)):
        return when(value)
    return value


def row_out(kind: type[msgspec.Struct], row: dict[str, Any], mapping: dict[str, str]) -> Any:
    return kind(**{key: plain(row.get(column)) for column, key in mapping.items()})


# ---- recorded orders, fills, positions -------------------------------------------------------------


class Order(msgspec.Struct, kw_only=True):
    """An order as recorded (ours before it is sent, and every order the account sync sees at OKX)."""

    id: int
    clOrdId: str | None
    ordId: str | None
    instId: str
    origin: str  # manual | agent:run:<id> | agent:chat:<id> | mcp:<name> | exchange (older records: agent)
    runId: str | None
    purpose: str  # order | close | external
    side: str
    posSide: str
    ordType: str
    tdMode: str
    sz: Text
    px: Text
    reduceOnly: bool
    lever: Text
    tpTriggerPx: Text
    slTriggerPx: Text
    state: str  # submitting | sent | live | partially_filled | filled | canceled | rejected | failed ...
    accFillSz: Text
    avgPx: Text
    fee: Text
    pnl: Text
    category: str
    okxSource: str
    cancelSource: str
    error: str | None
    okxCreatedAt: Text
    okxUpdatedAt: Text
    createdAt: str
    updatedAt: str


class Fill(msgspec.Struct, kw_only=True):
    instId: str
    tradeId: str
    ordId: str
    clOrdId: str
    billId: str
    side: str
    posSide: str
    fillPx: str
    fillSz: str
    fillPnl: Text
    fee: Text
    feeCcy: str
    execType: str
    filledAt: str
    origin: str | None  # from the order record, when there is one
    runId: str | None


class PositionRecord(msgspec.Struct, kw_only=True):
    """A recorded position (`GET /api/account/positions/history`: closed ones, with the close reason)."""

    id: int
    instId: str
    mgnMode: str
    posSide: str
    posId: str
    state: str  # open | closed
    pos: str
    avgPx: Text
    lever: Text
    tpTriggerPx: Text
    slTriggerPx: Text
    realizedPnl: Text
    openedAt: str
    updatedAt: str
    closedAt: Text
    closeReason: str | None  # closed_by_us | stop | exchange
    closeDetail: str | None
    closeOrdId: str | None
    closeOrigin: str | None
    closeRunId: str | None


class Position(msgspec.Struct, kw_only=True):
    """An open position, live from OKX, with its TP/SL and the record's id and opening time."""

    # OKX's values as it sends them (decimal strings; "" when OKX leaves one empty)
    instId: str
    mgnMode: str
    posSide: str
    posId: str
    pos: str
    avgPx: str
    markPx: str
    upl: str
    uplRatio: str
    lever: str
    liqPx: str
    notionalUsd: str
    realizedPnl: str
    tpTriggerPx: Text
    slTriggerPx: Text
    recordId: int | None
    openedAt: Text


class OrderList(msgspec.Struct, kw_only=True):
    orders: list[Order]


class FillList(msgspec.Struct, kw_only=True):
    fills: list[Fill]


class PositionList(msgspec.Struct, kw_only=True):
    positions: list[Position]


class PositionHistory(msgspec.Struct, kw_only=True):
    positions: list[PositionRecord]


# ---- balances ----------------------------------------------------------------------------------------


class InitialEquity(msgspec.Struct, kw_only=True):
    """The equity PnL is measured against (all null until one is set)."""

    amount: Text
    setAt: Text
    source: str | None  # env | api


class BalanceSnapshot(msgspec.Struct, kw_only=True):
    """A stored balance snapshot with its PnL against the initial equity."""

    id: int
    ts: str
    totalEq: str
    tradingEq: Text  # what the equity curve and its PnL use (null on snapshots older than the field)
    usdtEq: Text
    usdtAvailable: Text
    usdtFrozen: Text
    upl: Text
    pnl: Text
    pnlPct: Text


class SnapshotPage(msgspec.Struct, kw_only=True):
    snapshots: list[BalanceSnapshot]
    nextAfter: int | None  # the cursor for the next page (`after=`); null on the last page
    initialEquity: InitialEquity


class UsdtBalance(msgspec.Struct, kw_only=True):
    eq: Text
    available: Text
    frozen: Text
    cashBal: Text


class Balance(msgspec.Struct, kw_only=True):
    """Account equity (USD) and USDT, live from OKX, with PnL against the initial equity."""

    totalEq: Text  # the account value: every coin at USD value
    totalEqCcy: str
    tradingEq: Text  # what risk %, the daily-loss latch, notionalUsdt sizing, PnL% and the equity curve use
    tradingEqSource: str  # "USDT eq" (Futures mode) | "adjEq" (multi-currency / portfolio margin)
    accountMode: str  # OKX account mode (acctLv), e.g. "Futures mode"
    usdt: UsdtBalance | None
    usdtAvailable: Text
    usdtFrozen: Text
    upl: Text
    details: list[dict[str, Any]]  # per currency, as OKX gives them (ccy, eq, availBal, frozenBal, upl, eqUsd, ...)
    initialEquity: InitialEquity
    pnl: Text
    pnlPct: Text
    uTime: Text
    ts: str


class BalanceEvent(msgspec.Struct, kw_only=True):
    """The `balance` event of `GET /api/stream`: every balance reading (stored or not)."""

    totalEq: str
    tradingEq: str  # the equity the curve, PnL% and risk use (USDT eq, or adjEq in multi-currency margin)
    usdtAvailable: Text
    usdtFrozen: Text
    upl: Text
    ts: str
    stored: bool
    snapshotId: int | None


class AccountSyncReport(msgspec.Struct, kw_only=True):
    """What one account sync changed (`POST /api/account/sync`, and the `account` event of `GET /api/stream`)."""

    ordersInserted: int
    ordersUpdated: int
    ordersResolved: int
    fillsInserted: int
    positionsOpened: int
    positionsUpdated: int
    positionsClosed: int
    closed: list[dict[str, Any]]  # the positions closed by this sync, with the reason
    changes: int


# ---- the initial equity's body (its number read exactly from the JSON text) ------------------------


class InitialEquityRequest(msgspec.Struct, forbid_unknown_fields=True):
    # The exact decimal of the JSON number (read from its text: no float on the way); documented as a number.
    amount: Annotated[
        Decimal,
        msgspec.Meta(
            extra_json_schema={
                "description": "the initial equity in USD, a JSON number >= 0 (read exactly)",
                "extra": {"type": "number"},
            }
        ),
    ]


_JSON_NUMBER = re.compile(rb"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$")


MIN_INITIAL_EQUITY = Decimal("0.01")  # a cent: PnL% against less is meaningless


def parse_initial_equity_body(raw: bytes) -> Decimal:
    """`{"amount": number}` with the number read exactly from its JSON text (no float)."""
    if not raw or not raw.strip():
        raise BadRequest('amount is required: body {"amount": number}', field="amount")
    try:
        body = msgspec.json.decode(raw, type=dict[str, msgspec.Raw])
    except (msgspec.ValidationError, msgspec.DecodeError):
        raise BadRequest('amount: body must be a JSON object {"amount": number}', field="amount") from None
    if "amount" not in body:
        raise BadRequest('amount is required: body {"amount": number}', field="amount")
    text = bytes(body["amount"]).strip()
    if not _JSON_NUMBER.match(text):
        raise BadRequest(f"amount must be a JSON number, got {text.decode(errors='replace')[:40]}", field="amount")
    amount = Decimal(text.decode())
    if amount < 0:
        raise BadRequest(f"amount must not be negative, got {plain_decimal(amount)}", field="amount")
    if amount.adjusted() > 30:
        raise BadRequest("amount is too large", field="amount")
    if 0 < amount < MIN_INITIAL_EQUITY:
        raise BadRequest(
            f"amount must be 0 or at least {MIN_INITIAL_EQUITY} USDT, got {plain_decimal(amount)}", field="amount"
        )
    return amount


def decode_initial_equity_body(raw: bytes) -> InitialEquityRequest:
    return InitialEquityRequest(amount=parse_initial_equity_body(raw))


# ---- row -> answer ---------------------------------------------------------------------------------------

ORDER_FIELDS = {
    "id": "id",
    "cl_ord_id": "clOrdId",
    "ord_id": "ordId",
    "inst_id": "instId",
    "origin": "origin",
    "run_id": "runId",
    "purpose": "purpose",
    "side": "side",
    "pos_side": "posSide",
    "ord_type": "ordType",
    "td_mode": "tdMode",
    "sz": "sz",
    "px": "px",
    "reduce_only": "reduceOnly",
    "lever": "lever",
    "tp_trigger_px": "tpTriggerPx",
    "sl_trigger_px": "slTriggerPx",
    "state": "state",
    "acc_fill_sz": "accFillSz",
    "avg_px": "avgPx",
    "fee": "fee",
    "pnl": "pnl",
    "category": "category",
    "okx_source": "okxSource",
    "cancel_source": "cancelSource",
    "error": "error",
    "okx_created_at": "okxCreatedAt",
    "okx_updated_at": "okxUpdatedAt",
    "created_at": "createdAt",
    "updated_at": "updatedAt",
}
FILL_FIELDS = {
    "inst_id": "instId",
    "trade_id": "tradeId",
    "ord_id": "ordId",
    "cl_ord_id": "clOrdId",
    "bill_id": "billId",
    "side": "side",
    "pos_side": "posSide",
    "fill_px": "fillPx",
    "fill_sz": "fillSz",
    "fill_pnl": "fillPnl",
    "fee": "fee",
    "fee_ccy": "feeCcy",
    "exec_type": "execType",
    "filled_at": "filledAt",
    "origin": "origin",
    "run_id": "runId",
}
POSITION_FIELDS = {
    "id": "id",
    "inst_id": "instId",
    "mgn_mode": "mgnMode",
    "pos_side": "posSide",
    "pos_id": "posId",
    "state": "state",
    "pos": "pos",
    "avg_px": "avgPx",
    "lever": "lever",
    "tp_trigger_px": "tpTriggerPx",
    "sl_trigger_px": "slTriggerPx",
    "realized_pnl": "realizedPnl",
    "opened_at": "openedAt",
    "updated_at": "updatedAt",
    "closed_at": "closedAt",
    "close_reason": "closeReason",
    "close_detail": "closeDetail",
    "close_ord_id": "closeOrdId",
    "close_origin": "closeOrigin",
    "close_run_id": "closeRunId",
}
SNAPSHOT_FIELDS = {
    "id": "id",
    "taken_at": "ts",
    "total_eq": "totalEq",
    "trading_eq": "tradingEq",
    "usdt_eq": "usdtEq",
    "usdt_available": "usdtAvailable",
    "usdt_frozen": "usdtFrozen",
    "upl": "upl",
}


def order_out(row: dict[str, Any]) -> Order:
    return row_out(Order, row, ORDER_FIELDS)


def fill_out(row: dict[str, Any]) -> Fill:
    return row_out(Fill, row, FILL_FIELDS)


def position_out(row: dict[str, Any]) -> PositionRecord:
    return row_out(PositionRecord, row, POSITION_FIELDS)


def snapshot_out(row: dict[str, Any], pnl: str | None, pnl_pct: str | None) -> BalanceSnapshot:
    return BalanceSnapshot(
        **{key: plain(row.get(column)) for column, key in SNAPSHOT_FIELDS.items()}, pnl=pnl, pnlPct=pnl_pct
    )


def initial_equity_out(row: dict[str, Any] | None) -> InitialEquity:
    if row is None:
        return InitialEquity(amount=None, setAt=None, source=None)
    return InitialEquity(amount=num(row["amount"]), setAt=when(row["set_at"]), source=row["source"])
