"""The order path's calls into OKX's exchange rules (`shared.instrument_rules`) and the answer for an order
whose outcome is unknown. Every rule violation is a 400 naming the field; nothing here talks to OKX except
through the instrument catalog and the positions the caller already read."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import msgspec

from api_server.account.sync import dec
from api_server.errors import BadRequest
from api_server.market.instruments import InstrumentCatalog
from api_server.okx.errors import OrderOutcomeUnknown
from api_server.trading.validation import ValidOrder
from shared.instrument_rules import (
    InstrumentRules,
    RuleViolation,
    check_leverage,
    check_reduce_only,
    check_size,
    check_tradable,
    limit_price,
    trigger_price,
)


class OrderOutcomePending(msgspec.Struct, kw_only=True):
    """202: the order was sent, its reply was lost and OKX could not be asked in time; it is recorded under its
    clOrdId and the account sync settles it (the same clOrdId again answers the recorded order)."""

    clOrdId: str
    state: str  # "unknown"
    detail: str


def unknown_outcome(exc: OrderOutcomeUnknown) -> OrderOutcomePending:
    return OrderOutcomePending(
        clOrdId=exc.cl_ord_id,
        state="unknown",
        detail="the order was sent but its outcome is not known yet; it is never resent, the "
        "account sync looks it up by clOrdId",
    )


def _bad(exc: RuleViolation) -> BadRequest:
    return BadRequest(exc.message, field=exc.field)


async def instrument_rules(instruments: InstrumentCatalog, inst_id: str) -> InstrumentRules:
    rules = await instruments.rules(inst_id)
    if rules is None:
        raise BadRequest(f"instId: unknown instrument {inst_id!r} at OKX", field="instId")
    try:
        check_tradable(rules)
    except RuleViolation as exc:
        raise _bad(exc) from None
    return rules


def on_the_tick(order: ValidOrder, rules: InstrumentRules) -> ValidOrder:
    """px / tpTriggerPx / slTriggerPx rounded onto tickSz in the safe direction (TP/SL of the position this opens)."""
    opens_long = order.side == "buy"
    try:
        return dataclasses.replace(
            order,
            px=limit_price(order.px, order.side, rules) if order.px is not None else None,
            tp=trigger_price("tpTriggerPx", order.tp, opens_long, rules) if order.tp is not None else None,
            sl=trigger_price("slTriggerPx", order.sl, opens_long, rules) if order.sl is not None else None,
            leverage=int(check_leverage(Decimal(order.leverage), rules)) if order.leverage is not None else None,
        )
    except RuleViolation as exc:
        raise _bad(exc) from None


def checked_size(
    sz: Decimal, order: ValidOrder, rules: InstrumentRules, positions: list[Any], pos_side: str
) -> Decimal:
    """`sz` within lot/min/max; a reduce-only `sz` at most the closable size of the position it reduces."""
    try:
        check_size(sz, order.ord_type, rules)
        if order.reduce_only:
            check_reduce_only(sz, closable(positions, order.inst_id, pos_side, order.td_mode, order.side))
    except RuleViolation as exc:
        raise _bad(exc) from None
    return sz


def closable(positions: list[Any], inst_id: str, pos_side: str, td_mode: str, side: str) -> Decimal:
    """Contracts a `side` order can close on that position (`availPos`, else |pos|); 0 when it would not reduce."""
    for p in positions:
        if p.instId != inst_id or (p.posSide or "net") != pos_side or p.mgnMode != td_mode:
            continue
        size = dec(p.pos) or Decimal(0)
        if pos_side == "net" and (size > 0) == (side == "buy"):
            return Decimal(0)  # a buy does not reduce a long (nor a sell a short)
        available = dec(p.availPos)
        return abs(available) if available is not None else abs(size)
    return Decimal(0)
