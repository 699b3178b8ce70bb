"""Margin arithmetic (linear USDT-margined SWAP): notional, initial margin, unrealised PnL, account totals.

notional = |pos| x ctVal x markPx (mark = last), imr = notional / lever, upl = (mark - avgPx) x pos x ctVal
(sign by direction). eq = cashBal + upl; frozenBal = imr + margin held by open orders;
availBal = cashBal - frozenBal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from okxsim.engine.model import MMR_RATE, ZERO, Order, Position
from okxsim.instruments import InstrumentSpec
from okxsim.prices import Quote


def position_numbers(spec: InstrumentSpec, p: Position, mark: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """(notional, imr, upl) of one position at `mark`."""
    notional = p.size * spec.ct_val * mark
    upl = (mark - p.avg_px) * p.size * spec.ct_val * p.direction
    return notional, notional / p.lever, upl


def account_totals(
    specs: Mapping[str, InstrumentSpec],
    cash: Decimal,
    positions: Iterable[Position],
    live: Iterable[Order],
    quotes: Mapping[str, Quote],
) -> dict[str, Decimal]:
    imr = upl = notional = mmr = ZERO
    for p in positions:
        n, i, u = position_numbers(specs[p.inst_id], p, quotes[p.inst_id].last)
        notional += n
        imr += i
        upl += u
        mmr += n * MMR_RATE
    ord_frozen = sum((o.frozen for o in live), ZERO)
    eq = cash + upl
    frozen = imr + ord_frozen
    return {
        "eq": eq,
        "upl": upl,
        "imr": imr,
        "mmr": mmr,
        "notional": notional,
        "ord_frozen": ord_frozen,
        "frozen": frozen,
        "avail_bal": cash - frozen,
        "avail_eq": eq - frozen,
    }
