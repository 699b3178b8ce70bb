"""Matching on price moves: resting limit orders fill when the last price crosses them; attached TP/SL fire."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from okxsim.engine.model import SOURCE_TP_SL, Order, OrderRejected, OrderRequest
from okxsim.prices import Quote
from okxsim.wire import fmt

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
        for pos in [p for p in self.positions.values() if p.inst_id == inst_id and p.algos]:
            for algo in list(pos.algos):
                if pos.pos == 0 or (pos.inst_id, pos.mgn_mode, pos.pos_side) not in self.positions:
                    break
                long = pos.direction > 0
                tp_hit = algo.tp_trigger_px is not None and (last >= algo.tp_trigger_px if long else last <= algo.tp_trigger_px)
                sl_hit = algo.sl_trigger_px is not None and (last <= algo.sl_trigger_px if long else last >= algo.sl_trigger_px)
                if not (tp_hit or sl_hit):
                    continue
                pos.algos.remove(algo)
                ord_px = algo.tp_ord_px if tp_hit else algo.sl_ord_px
                req = OrderRequest(
                    inst_id=inst_id, td_mode=pos.mgn_mode, side="sell" if long else "buy",
                    ord_type="market" if ord_px is None else "limit", sz=fmt(min(algo.sz or pos.size, pos.size)),
                    px="" if ord_px is None else fmt(ord_px), pos_side="" if pos.pos_side == "net" else pos.pos_side,
                    reduce_only=True,
                )
                try:
                    touched.append(self.place_order(req, quotes, now_ms, source=SOURCE_TP_SL, algo_id=algo.attach_algo_id))
                except OrderRejected:
                    continue
        return touched
