"""Field rules of the API's inputs (query parameters and body fields): each returns the parsed value or
raises a 400 naming the field. Used by the routes and by the order path (which re-checks stored requests)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from api_server.errors import BadRequest
from api_server.trading.sizing import plain_decimal
from shared.ids import RUN_ID_MAX, is_valid_cl_ord_id, is_valid_inst_id, is_valid_run_id


def require_inst_id(inst_id: str | None, name: str = "instId") -> str:
    if not inst_id:
        raise BadRequest(f"{name} is required (e.g. BTC-USDT-SWAP)", field=name)
    inst_id = inst_id.strip().upper()
    if not is_valid_inst_id(inst_id):
        raise BadRequest(f"{name}: malformed instrument id {inst_id!r} (expected e.g. BTC-USDT-SWAP)", field=name)
    return inst_id


def require_range(value: int | None, name: str, default: int, lo: int, hi: int) -> int:
    if value is None:
        return default
    if not lo <= value <= hi:
        raise BadRequest(f"{name} must be between {lo} and {hi}, got {value}", field=name)
    return value


def parse_int(value: str | None, name: str, default: int, lo: int, hi: int) -> int:
    """A query integer in [lo, hi]; anything else is a 400 naming the parameter."""
    if value is None or value == "":
        return default
    text = value.strip()
    if not text.lstrip("-").isdigit():
        raise BadRequest(f"{name} must be an integer, got {value!r}", field=name)
    number = int(text)
    if not lo <= number <= hi:
        raise BadRequest(f"{name} must be between {lo} and {hi}, got {number}", field=name)
    return number


def parse_decimal(field: str, value: Any, *, positive: bool = True) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise BadRequest(f"{field} must be a number, got {value!r}", field=field)
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        raise BadRequest(f"{field} must be a number, got {value!r}", field=field) from None
    if not number.is_finite():
        raise BadRequest(f"{field} must be a finite number, got {value!r}", field=field)
    if positive and number <= 0:
        raise BadRequest(f"{field} must be > 0, got {plain_decimal(number)}", field=field)
    return number


def choice(field: str, value: str | None, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise BadRequest(f"{field} must be one of {', '.join(allowed)}, got {value!r}", field=field)
    return value  # type: ignore[return-value]


def cl_ord_id(value: str | None) -> str | None:
    if value is None:
        return None
    if not is_valid_cl_ord_id(value):
        raise BadRequest("clOrdId must be 1 to 32 letters or digits", field="clOrdId")
    return value


def run_id(value: str | None) -> str | None:
    if value is None:
        return None
    if not is_valid_run_id(value):
        raise BadRequest(f"runId must be 1 to {RUN_ID_MAX} letters, digits or _ . : -", field="runId")
    return value
