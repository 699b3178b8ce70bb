"""OKX's exchange rules for one instrument, checked before an order reaches OKX (pure; no I/O, no clock).

The numbers come from `/public/instruments` (OKX_FACTS §3.13, §5): `tickSz` (price step), `lotSz` (size step),
`minSz`, `maxMktSz` / `maxLmtSz` (largest market / limit order), `lever` (max leverage), `state`, `ctType`.

Prices not on the tick are ROUNDED, always in the direction that cannot cost the trader more than asked:
- a limit BUY rounds DOWN and a limit SELL rounds UP (never pay more / receive less than the price given);
- a TP or SL trigger rounds TOWARD THE MARKET (for a long: SL up, TP down; for a short: SL down, TP up), so
  a stop fires no later than the level asked for: the loss it caps is never larger, the profit it takes is
  never left waiting beyond the level given.
A price that rounds to 0 is refused (400 naming the field). Sizes are never rounded here (a size is what
the trader risks): off-lot, below `minSz` or above the instrument's maximum is refused naming `sz`.
(Sizes derived from `notionalUsdt` are rounded down to the lot by `api_server.sizing` before they get here.)
A reduce-only order larger than the position it reduces is refused, not trimmed (OKX rejects it too), and
one with nothing to reduce is refused. Leverage above the instrument's `lever` is refused. Only `state`
`live` instruments trade; inverse (coin-margined) swaps are refused: sizing here is in USDT (linear).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, Literal

Direction = Literal["down", "up"]
LIVE = "live"


class RuleViolation(ValueError):
    """An order breaks an exchange rule; `field` names the request field at fault (for the 400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() and number > 0 else None


def _plain(value: Decimal) -> str:
    return "0" if value == 0 else format(value.normalize(), "f")


@dataclass(frozen=True)
class InstrumentRules:
    inst_id: str
    tick_sz: Decimal
    lot_sz: Decimal
    min_sz: Decimal
    max_mkt_sz: Decimal | None = None
    max_lmt_sz: Decimal | None = None
    max_lever: Decimal | None = None
    state: str = LIVE
    ct_type: str = "linear"

    @classmethod
    def from_okx(cls, row: Any) -> InstrumentRules:
        """From an OKX instrument row (object with OKX's string attributes, or a dict)."""

        def get(name: str) -> Any:
            return _field(row, name)

        tick, lot, minimum = _dec(get("tickSz")), _dec(get("lotSz")), _dec(get("minSz"))
        if tick is None or lot is None or minimum is None:
            raise RuleViolation("instId", f"OKX gives no tickSz/lotSz/minSz for {get('instId')}")
        return cls(
            inst_id=get("instId"),
            tick_sz=tick,
            lot_sz=lot,
            min_sz=minimum,
            max_mkt_sz=_dec(get("maxMktSz")),
            max_lmt_sz=_dec(get("maxLmtSz")),
            max_lever=_dec(get("lever")),
            state=get("state") or LIVE,
            ct_type=get("ctType") or "linear",
        )


def round_to_tick(value: Decimal, tick: Decimal, direction: Direction) -> Decimal:
    """The multiple of `tick` next to `value` in `direction` (value itself when already on the tick); exact."""
    steps = Fraction(value) / Fraction(tick)
    whole = (
        Decimal(steps.numerator // steps.denominator)
        if direction == "down"
        else Decimal(-((-steps.numerator) // steps.denominator))
    )
    result = whole * tick
    # quantize to the tick's exponent: "43210.50" stays a plain decimal with the tick's places
    return result.quantize(tick, rounding=ROUND_FLOOR if direction == "down" else ROUND_CEILING)


def _rounded(field: str, value: Decimal, rules: InstrumentRules, direction: Direction) -> Decimal:
    if not value.is_finite() or value <= 0:
        raise RuleViolation(field, f"{field} must be > 0, got {value}")
    rounded = round_to_tick(value, rules.tick_sz, direction)
    if rounded <= 0:
        raise RuleViolation(
            field, f"{field} {_plain(value)} is below the instrument's price step tickSz {_plain(rules.tick_sz)}"
        )
    return rounded


def limit_price(px: Decimal, side: str, rules: InstrumentRules) -> Decimal:
    """A limit price on the tick: a buy rounds down, a sell rounds up."""
    return _rounded("px", px, rules, "down" if side == "buy" else "up")


def trigger_price(field: str, px: Decimal, position_long: bool, rules: InstrumentRules) -> Decimal:
    """A TP/SL trigger of a long (`position_long`) or short position on the tick, rounded toward the market."""
    if field not in ("tpTriggerPx", "slTriggerPx"):
        raise ValueError(field)
    stop = field == "slTriggerPx"
    up = stop == position_long  # long SL / short TP round up; long TP / short SL round down
    return _rounded(field, px, rules, "up" if up else "down")


def check_stop_sides(position_long: bool, price: Decimal, tp: Decimal | None, sl: Decimal | None) -> None:
    """A long's TP above and SL below `price` (a short's the other way), else RuleViolation naming the leg."""
    if tp is not None and (tp <= price if position_long else tp >= price):
        raise RuleViolation(
            "tpTriggerPx",
            f"tpTriggerPx {_plain(tp)} must be {'above' if position_long else 'below'} "
            f"the price {_plain(price)} for a {'long' if position_long else 'short'}",
        )
    if sl is not None and (sl >= price if position_long else sl <= price):
        raise RuleViolation(
            "slTriggerPx",
            f"slTriggerPx {_plain(sl)} must be {'below' if position_long else 'above'} "
            f"the price {_plain(price)} for a {'long' if position_long else 'short'}",
        )


def check_size(sz: Decimal, ord_type: str, rules: InstrumentRules) -> Decimal:
    """`sz` (contracts) as OKX would take it, or RuleViolation naming `sz`."""
    if not sz.is_finite() or sz <= 0:
        raise RuleViolation("sz", f"sz must be > 0, got {sz}")
    if sz < rules.min_sz:
        raise RuleViolation(
            "sz", f"sz {_plain(sz)} is below the instrument's minimum size minSz {_plain(rules.min_sz)}"
        )
    if Fraction(sz) % Fraction(rules.lot_sz) != 0:
        raise RuleViolation(
            "sz", f"sz {_plain(sz)} is not a multiple of the instrument's lot size lotSz {_plain(rules.lot_sz)}"
        )
    maximum, name = (rules.max_mkt_sz, "maxMktSz") if ord_type == "market" else (rules.max_lmt_sz, "maxLmtSz")
    if maximum is not None and sz > maximum:
        raise RuleViolation(
            "sz",
            f"sz {_plain(sz)} is above the instrument's largest {ord_type} order {name} "
            f"{_plain(maximum)} contracts; split it into smaller orders",
        )
    return sz


def check_leverage(lever: Decimal, rules: InstrumentRules) -> Decimal:
    if rules.max_lever is not None and lever > rules.max_lever:
        raise RuleViolation(
            "leverage",
            f"leverage {_plain(lever)} is above {rules.inst_id}'s maximum leverage {_plain(rules.max_lever)}",
        )
    return lever


def check_tradable(rules: InstrumentRules) -> None:
    if rules.state != LIVE:
        raise RuleViolation(
            "instId", f"{rules.inst_id} is not trading at OKX now (state {rules.state!r}, needs 'live')"
        )
    if rules.ct_type == "inverse":
        raise RuleViolation(
            "instId",
            f"{rules.inst_id} is an inverse (coin-margined) swap; this system sizes and "
            f"risks in USDT and trades linear USDT-margined swaps only",
        )


def check_reduce_only(sz: Decimal, closable: Decimal) -> Decimal:
    """A reduce-only `sz` against the contracts that can be closed (`availPos`, else |pos|): refused, not trimmed."""
    if closable <= 0:
        raise RuleViolation("reduceOnly", "reduceOnly: there is no open position on that side to reduce")
    if sz > closable:
        raise RuleViolation(
            "sz",
            f"sz {_plain(sz)} is larger than the open position it reduces ({_plain(closable)} "
            f"contracts can be closed); a reduce-only order never exceeds the position",
        )
    return sz


def closing_orders_pending(pending: Iterable[Any], inst_id: str, pos_side: str, position_long: bool) -> bool:
    """Are there live orders that close this position? (close-position then needs `autoCxl=true` at OKX.)

    `pending`: OKX orders (objects or dicts with instId, side, posSide, reduceOnly)."""
    closing_side = "sell" if position_long else "buy"
    for order in pending:
        if _field(order, "instId") != inst_id or _field(order, "side") != closing_side:
            continue
        side = _field(order, "posSide") or "net"
        if pos_side in ("long", "short"):
            if side == pos_side:  # in long/short mode every order on the closing side of that position closes it
                return True
        elif str(_field(order, "reduceOnly")).lower() == "true":
            return True
    return False


def _field(row: Any, name: str) -> Any:
    return row.get(name, "") if isinstance(row, dict) else getattr(row, name, "")
