"""Database rows -> JSON answers: camelCase keys, exact decimals as strings, times as ISO 8601 (UTC)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any


def num(value: Decimal | None) -> str | None:
    """Exact decimal text without exponent (NUMERIC keeps the scale it was given)."""
    if value is None:
        return None
    return format(value, "f")


def when(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


def _out(row: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for column, key in mapping.items():
        value = row.get(column)
        if isinstance(value, Decimal):
            value = num(value)
        elif isinstance(value, (datetime, date)):
            value = when(value)
        result[key] = value
    return result


ORDER_FIELDS = {
    "id": "id", "cl_ord_id": "clOrdId", "ord_id": "ordId", "inst_id": "instId", "origin": "origin", "run_id": "runId",
    "purpose": "purpose", "side": "side", "pos_side": "posSide", "ord_type": "ordType", "td_mode": "tdMode", "sz": "sz",
    "px": "px", "reduce_only": "reduceOnly", "lever": "lever", "tp_trigger_px": "tpTriggerPx",
    "sl_trigger_px": "slTriggerPx", "state": "state", "acc_fill_sz": "accFillSz", "avg_px": "avgPx", "fee": "fee",
    "pnl": "pnl", "category": "category", "okx_source": "okxSource", "cancel_source": "cancelSource", "error": "error",
    "okx_created_at": "okxCreatedAt", "okx_updated_at": "okxUpdatedAt", "created_at": "createdAt", "updated_at": "updatedAt",
}
FILL_FIELDS = {
    "inst_id": "instId", "trade_id": "tradeId", "ord_id": "ordId", "cl_ord_id": "clOrdId", "bill_id": "billId",
    "side": "side", "pos_side": "posSide", "fill_px": "fillPx", "fill_sz": "fillSz", "fill_pnl": "fillPnl", "fee": "fee",
    "fee_ccy": "feeCcy", "exec_type": "execType", "filled_at": "filledAt", "origin": "origin", "run_id": "runId",
}
POSITION_FIELDS = {
    "id": "id", "inst_id": "instId", "mgn_mode": "mgnMode", "pos_side": "posSide", "pos_id": "posId", "state": "state",
    "pos": "pos", "avg_px": "avgPx", "lever": "lever", "tp_trigger_px": "tpTriggerPx", "sl_trigger_px": "slTriggerPx",
    "realized_pnl": "realizedPnl", "opened_at": "openedAt", "updated_at": "updatedAt", "closed_at": "closedAt",
    "close_reason": "closeReason", "close_detail": "closeDetail", "close_ord_id": "closeOrdId",
    "close_origin": "closeOrigin", "close_run_id": "closeRunId",
}
SNAPSHOT_FIELDS = {
    "id": "id", "taken_at": "ts", "total_eq": "totalEq", "usdt_eq": "usdtEq", "usdt_available": "usdtAvailable",
    "usdt_frozen": "usdtFrozen", "upl": "upl",
}
REFUSAL_FIELDS = {
    "id": "id", "at": "at", "origin": "origin", "run_id": "runId", "inst_id": "instId", "rule": "rule",
    "limit_value": "limit", "actual_value": "actual", "message": "message",
}
APPROVAL_FIELDS = {
    "id": "id", "created_at": "createdAt", "kind": "kind", "run_id": "runId", "inst_id": "instId", "cl_ord_id": "clOrdId",
    "request": "request", "status": "status", "decided_at": "decidedAt", "detail": "detail",
}


def order_out(row: dict[str, Any]) -> dict[str, Any]:
    return _out(row, ORDER_FIELDS)


def fill_out(row: dict[str, Any]) -> dict[str, Any]:
    return _out(row, FILL_FIELDS)


def position_out(row: dict[str, Any]) -> dict[str, Any]:
    return _out(row, POSITION_FIELDS)


def snapshot_out(row: dict[str, Any]) -> dict[str, Any]:
    return _out(row, SNAPSHOT_FIELDS)


def refusal_out(row: dict[str, Any]) -> dict[str, Any]:
    return _out(row, REFUSAL_FIELDS)


def approval_out(row: dict[str, Any]) -> dict[str, Any]:
    return _out(row, APPROVAL_FIELDS)


def initial_equity_out(row: dict[str, Any] | None) -> dict[str, Any]:
    if row is None:
        return {"amount": None, "setAt": None, "source": None}
    return {"amount": num(row["amount"]), "setAt": when(row["set_at"]), "source": row["source"]}
