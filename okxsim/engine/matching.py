"""Matching on price moves: resting limit orders fill when the last price crosses them; attached TP/SL fire."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from okxsim.engine.model import Order
from okxsim.prices import Quote

if TYPE_CHECKING:
    from okxsim.engine.core import Engine


class MatchingMixin:
    def on_quote(self: Engine, inst_id: str, quotes: Mapping[str, Quote], now_ms: int) -> list[Order]:
        """Fill resting limit orders the last price crossed and fire TP/SL it reached; returns touched orders."""
        quote = quotes[inst_id]
        last = quote.last
        touched: list[Order] = []
        for order in [o for o in self.live.values() if o.inst_id == inst_id]:
            if order.px is None:
                continue
            if (order.side == "buy" and last <= order.px) or (order.side == "sell" and last >= order.px):
                self._fill(order, order.px, order.sz - order.acc_fill_sz, "M", now_ms)
                touched.append(order)
        touched.extend(self._fire_algos(inst_id, quotes, now_ms))
        return touched
