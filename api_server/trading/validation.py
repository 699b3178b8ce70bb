"""An order body -> `ValidOrder` (plain values, parsed once): every problem is a 400 naming the field."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import msgspec

from api_server.errors import BadRequest
from api_server.fields import choice, cl_ord_id, parse_decimal, require_inst_id, run_id
from api_server.trading.schemas import OrderRequest
from api_server.trading.sizing import plain_decimal

MAX_LEVERAGE_INPUT = 125


@dataclass(frozen=True)
class ValidOrder:
    inst_id: str
    side: str
    ord_type: str
    sz: Decimal | None
    notional: Decimal | None
    px: Decimal | None
    pos_side: str | None
    td_mode: str
    leverage: int | None
    reduce_only: bool
    tp: Decimal | None
    sl: Decimal | None
    cl_ord_id: str | None
    run_id: str | None


def validate_order_body(body: OrderRequest) -> ValidOrder:
    inst_id = require_inst_id(body.instId)
    side = choice("side", body.side, ("buy", "sell"))
    ord_type = choice("ordType", body.ordType, ("market", "limit"))
    td_mode = choice("tdMode", "cross" if body.tdMode is msgspec.UNSET else body.tdMode, ("cross", "isolated"))
    pos_side = None if body.posSide is None else choice("posSide", body.posSide, ("net", "long", "short"))
    if body.sz is not None and body.notionalUsdt is not None:
        raise BadRequest("give either sz (contracts) or notionalUsdt, not both", field="sz")
    if body.sz is None and body.notionalUsdt is None:
        raise BadRequest("sz (contracts) or notionalUsdt is required", field="sz")
    sz = None if body.sz is None else parse_decimal("sz", body.sz)
    notional = None if body.notionalUsdt is None else parse_decimal("notionalUsdt", body.notionalUsdt)
    if ord_type == "limit" and body.px is None:
        raise BadRequest("px is required for a limit order", field="px")
    if ord_type == "market" and body.px is not None:
        raise BadRequest("px is only for limit orders (a market order fills at the market)", field="px")
    px = None if body.px is None else parse_decimal("px", body.px)
    leverage = None
    if body.leverage is not None:
        raw = body.leverage
        if isinstance(raw, bool) or (isinstance(raw, str) and not raw.strip().isdigit()):
            raise BadRequest(f"leverage must be a whole number, got {raw!r}", field="leverage")
        leverage = int(raw)
        if not 1 <= leverage <= MAX_LEVERAGE_INPUT:
            raise BadRequest(f"leverage must be between 1 and {MAX_LEVERAGE_INPUT}, got {leverage}", field="leverage")
    tp = None if body.tpTriggerPx is None else parse_decimal("tpTriggerPx", body.tpTriggerPx)
    sl = None if body.slTriggerPx is None else parse_decimal("slTriggerPx", body.slTriggerPx)
    return ValidOrder(
        inst_id,
        side,
        ord_type,
        sz,
        notional,
        px,
        pos_side,
        td_mode,
        leverage,
        bool(body.reduceOnly),
        tp,
        sl,
        cl_ord_id(body.clOrdId),
        run_id(body.runId),
    )


def check_stops(order: ValidOrder, price: Decimal, closing: bool) -> None:
    """TP/SL triggers attach to opening orders only, on the profitable / losing side of the order price."""
    if closing:
        raise BadRequest(
            "tpTriggerPx/slTriggerPx attach to an opening order only (this order closes)",
            field="tpTriggerPx" if order.tp is not None else "slTriggerPx",
        )
    long = order.side == "buy"
    if order.tp is not None and (order.tp <= price if long else order.tp >= price):
        raise BadRequest(
            f"tpTriggerPx {plain_decimal(order.tp)} must be {'above' if long else 'below'} the order price "
            f"{plain_decimal(price)} for a {order.side}",
            field="tpTriggerPx",
        )
    if order.sl is not None and (order.sl >= price if long else order.sl <= price):
        raise BadRequest(
            f"slTriggerPx {plain_decimal(order.sl)} must be {'below' if long else 'above'} the order price "
            f"{plain_decimal(price)} for a {order.side}",
            field="slTriggerPx",
        )
