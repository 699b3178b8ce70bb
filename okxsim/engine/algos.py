"""Algo orders (conditional, oco, trigger) as OKX keeps them: separate from normal orders, with their own
algoId, fired by the last price, placing a normal order (source 7 for TP/SL, 8 for trigger) when they fire.

Attached TP/SL (`attachAlgoOrds` on an order) become a conditional/oco algo order when the order fills,
with algoId = the attachAlgoId and a reduce-only close for the filled size (OKX: "TP/SL ... will be
placed as an algo order once the order is fully or partially filled").
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from okxsim.engine.model import (
    CL_ORD_ID_RE,
    SOURCE_TP_SL,
    SOURCE_TRIGGER,
    ZERO,
    AlgoOrder,
    AttachedAlgo,
    Order,
    OrderRejected,
    OrderRequest,
    Position,
    is_multiple,
    parse_decimal,
)
from okxsim.prices import Quote
from okxsim.wire import ParamError, fmt

if TYPE_CHECKING:
    from okxsim.engine.core import Engine

ALGO_TYPES = ("conditional", "oco", "trigger")
MSG_51503_ALGO = "Algo order does not exist."  # amend/cancel of an unknown or finished algo order (51503 per OKX)


def _opt_px(value: str, name: str) -> Decimal | None:
    return parse_decimal(value, name) if value else None


def _ord_px(value: str, name: str) -> Decimal | None:
    """An order price: "" or "-1" = market."""
    return None if value in ("", "-1") else parse_decimal(value, name)


class AlgoMixin:
    """Algo-order book of `Engine` (`self.algos`: algoId -> AlgoOrder)."""

    def _check_trigger_tick(self: Engine, inst_id: str, **prices: Decimal | None) -> None:
        tick = self.specs[inst_id].tick_sz
        for name, value in prices.items():
            if value is not None and not is_multiple(value, tick):
                raise OrderRejected("51000", f"Parameter {name} error")

    def place_algo(self: Engine, body: Mapping[str, object], quotes: Mapping[str, Quote], now_ms: int) -> AlgoOrder:
        get = lambda k: str(body.get(k) or "")
        inst_id, ord_type, side, td_mode = get("instId"), get("ordType"), get("side"), get("tdMode")
        if not inst_id:
            raise ParamError("instId", empty=True)
        if ord_type not in ALGO_TYPES:
            raise ParamError("ordType", empty=not ord_type)
        if side not in ("buy", "sell"):
            raise ParamError("side", empty=not side)
        if td_mode not in ("cross", "isolated"):
            raise ParamError("tdMode", empty=not td_mode)
        spec = self.spec(inst_id)
        self._check_tradable(inst_id)
        pos_side = self._pos_side(get("posSide"))
        close_fraction = get("closeFraction")
        if close_fraction and close_fraction != "1":
            raise ParamError("closeFraction")
        sz = ZERO if close_fraction else parse_decimal(get("sz"), "sz")
        if sz:
            if sz < spec.min_sz:
                raise OrderRejected("51020", "Your order should meet or exceed the minimum order amount.")
            if not is_multiple(sz, spec.lot_sz):
                raise OrderRejected("51121", "Order quantity must be a multiple of the lot size.")
        cl = get("algoClOrdId")
        if cl and not CL_ORD_ID_RE.match(cl):
            raise ParamError("algoClOrdId")
        if cl and any(a.algo_cl_ord_id == cl and a.state == "live" for a in self.algos.values()):
            raise OrderRejected("51016", "Client order ID already exists.")
        reduce_only = self._flag(body.get("reduceOnly"), "reduceOnly") or bool(close_fraction)
        algo = AlgoOrder(
            self.ids.next("algo"),
            cl,
            inst_id,
            td_mode,
            side,
            pos_side,
            ord_type,
            sz,
            reduce_only,
            self.lever_for(inst_id, td_mode),
            now_ms,
            now_ms,
            tag=get("tag"),
            close_fraction=close_fraction,
            cxl_on_close_pos=self._flag(body.get("cxlOnClosePos"), "cxlOnClosePos") or bool(close_fraction),
        )
        last = quotes[inst_id].last
        if ord_type == "trigger":
            algo.trigger_px = parse_decimal(get("triggerPx"), "triggerPx")
            algo.order_px = _ord_px(get("orderPx"), "orderPx")
            if not get("orderPx"):
                raise ParamError("orderPx", empty=True)
            algo.trigger_up = algo.trigger_px > last
            self._check_trigger_tick(inst_id, triggerPx=algo.trigger_px, orderPx=algo.order_px)
        else:
            algo.tp_trigger_px = _opt_px(get("tpTriggerPx"), "tpTriggerPx")
            algo.sl_trigger_px = _opt_px(get("slTriggerPx"), "slTriggerPx")
            if algo.tp_trigger_px is None and algo.sl_trigger_px is None:
                raise ParamError("tpTriggerPx", empty=True)
            if ord_type == "oco" and (algo.tp_trigger_px is None or algo.sl_trigger_px is None):
                raise ParamError("slTriggerPx" if algo.tp_trigger_px is not None else "tpTriggerPx", empty=True)
            algo.tp_ord_px = _ord_px(get("tpOrdPx"), "tpOrdPx") if algo.tp_trigger_px is not None else None
            algo.sl_ord_px = _ord_px(get("slOrdPx"), "slOrdPx") if algo.sl_trigger_px is not None else None
            self._check_trigger_tick(
                inst_id,
                tpTriggerPx=algo.tp_trigger_px,
                slTriggerPx=algo.sl_trigger_px,
                tpOrdPx=algo.tp_ord_px,
                slOrdPx=algo.sl_ord_px,
            )
            self._check_tp_sl_sides(side, last, algo.tp_trigger_px, algo.sl_trigger_px)
            if reduce_only or close_fraction:
                pos = self.positions.get((inst_id, td_mode, pos_side))
                if pos is None or (pos.direction > 0) == (side == "buy"):
                    raise OrderRejected(
                        "51169",
                        "Order failed because you don't have any positions in this direction for this contract.",
                    )
        self.algos[algo.algo_id] = algo
        self.u_time = now_ms
        return algo

    @staticmethod
    def _check_tp_sl_sides(side: str, last: Decimal, tp: Decimal | None, sl: Decimal | None) -> None:
        """OKX refuses a TP/SL that would fire at once (51279/51280 for a sell, 51277/51278 for a buy)."""
        if side == "sell":
            if tp is not None and tp <= last:
                raise OrderRejected("51279", "TP trigger price cannot be lower than the last price")
            if sl is not None and sl >= last:
                raise OrderRejected("51280", "SL trigger price cannot be higher than the last price")
        else:
            if tp is not None and tp >= last:
                raise OrderRejected("51277", "TP trigger price cannot be higher than the last price")
            if sl is not None and sl <= last:
                raise OrderRejected("51278", "SL trigger price cannot be lower than the last price")

    def find_algo(self: Engine, algo_id: str, algo_cl_ord_id: str = "") -> AlgoOrder | None:
        if algo_id:
            return self.algos.get(algo_id)
        if algo_cl_ord_id:
            found = [a for a in self.algos.values() if a.algo_cl_ord_id == algo_cl_ord_id]
            return max(found, key=lambda a: int(a.algo_id)) if found else None
        return None

    def cancel_algo(self: Engine, inst_id: str, algo_id: str, now_ms: int) -> AlgoOrder:
        if not algo_id:
            raise OrderRejected("51000", "Parameter algoId error")
        if not inst_id:
            raise OrderRejected("51000", "Parameter instId error")
        algo = self.algos.get(algo_id)
        if algo is None or algo.inst_id != inst_id or algo.state != "live":
            raise OrderRejected(
                "51400", "Order cancellation failed as the order has been filled, canceled or does not exist."
            )
        algo.state = "canceled"
        algo.u_time = now_ms
        self.u_time = now_ms
        return algo

    def amend_algo(self: Engine, body: Mapping[str, object], quotes: Mapping[str, Quote], now_ms: int) -> AlgoOrder:
        get = lambda k: str(body.get(k) or "")
        inst_id = get("instId")
        if not inst_id:
            raise ParamError("instId", empty=True)
        algo = self.find_algo(get("algoId"), get("algoClOrdId"))
        if not get("algoId") and not get("algoClOrdId"):
            raise ParamError("algoId", empty=True)
        if algo is None or algo.inst_id != inst_id or algo.state != "live":
            raise OrderRejected("51503", MSG_51503_ALGO)
        new_sz = get("newSz")
        tp, sl = _opt_px(get("newTpTriggerPx"), "newTpTriggerPx"), _opt_px(get("newSlTriggerPx"), "newSlTriggerPx")
        self._check_trigger_tick(inst_id, newTpTriggerPx=tp, newSlTriggerPx=sl)
        self._check_tp_sl_sides(algo.side, quotes[inst_id].last, tp, sl)
        if new_sz:
            sz = parse_decimal(new_sz, "newSz")
            if not is_multiple(sz, self.specs[inst_id].lot_sz):
                raise OrderRejected("51121", "Order quantity must be a multiple of the lot size.")
            algo.sz = sz
        # OKX: "0" as a new trigger price removes that leg.
        if get("newTpTriggerPx") == "0":
            algo.tp_trigger_px = algo.tp_ord_px = None
        elif tp is not None:
            algo.tp_trigger_px, algo.tp_ord_px = tp, _ord_px(get("newTpOrdPx"), "newTpOrdPx")
        if get("newSlTriggerPx") == "0":
            algo.sl_trigger_px = algo.sl_ord_px = None
        elif sl is not None:
            algo.sl_trigger_px, algo.sl_ord_px = sl, _ord_px(get("newSlOrdPx"), "newSlOrdPx")
        algo.u_time = now_ms
        self.u_time = now_ms
        return algo

    # ---- attached TP/SL --------------------------------------------------------------------
    def _attach_on_fill(self: Engine, order: Order, filled: Decimal, now_ms: int) -> None:
        """An opening fill turns the order's attached TP/SL into (or grows) a reduce-only algo order."""
        for att in order.attach_algos:
            algo = self.algos.get(att.attach_algo_id)
            if algo is None:
                both = att.tp_trigger_px is not None and att.sl_trigger_px is not None
                algo = AlgoOrder(
                    att.attach_algo_id,
                    "",
                    order.inst_id,
                    order.td_mode,
                    "sell" if order.side == "buy" else "buy",
                    order.pos_side,
                    "oco" if both else "conditional",
                    ZERO,
                    True,
                    order.lever,
                    now_ms,
                    now_ms,
                    tag=order.tag,
                    tp_trigger_px=att.tp_trigger_px,
                    tp_ord_px=att.tp_ord_px,
                    sl_trigger_px=att.sl_trigger_px,
                    sl_ord_px=att.sl_ord_px,
                    attached_to=order.ord_id,
                    attach_algo_cl_ord_id=att.attach_algo_cl_ord_id,
                )
                self.algos[algo.algo_id] = algo
            algo.sz += filled
            att.sz = algo.sz
            algo.u_time = now_ms

    def _cancel_position_algos(self: Engine, pos: Position, now_ms: int) -> None:
        """A closed position takes its position-bound TP/SL (closeFraction / cxlOnClosePos) with it."""
        for algo in self.algos.values():
            if (
                algo.state == "live"
                and algo.cxl_on_close_pos
                and algo.inst_id == pos.inst_id
                and algo.td_mode == pos.mgn_mode
                and algo.pos_side == pos.pos_side
            ):
                algo.state = "canceled"
                algo.u_time = now_ms

    def position_algos(self: Engine, pos: Position) -> list[AlgoOrder]:
        close_side = "sell" if pos.direction > 0 else "buy"
        return [
            a
            for a in self.algos.values()
            if a.state == "live"
            and a.ord_type != "trigger"
            and a.inst_id == pos.inst_id
            and a.td_mode == pos.mgn_mode
            and a.pos_side == pos.pos_side
            and a.side == close_side
        ]

    # ---- firing on the price path ----------------------------------------------------------
    def _fire_algos(self: Engine, inst_id: str, quotes: Mapping[str, Quote], now_ms: int) -> list[Order]:
        last = quotes[inst_id].last
        placed: list[Order] = []
        for algo in sorted(
            (a for a in self.algos.values() if a.inst_id == inst_id and a.state == "live"), key=lambda a: int(a.algo_id)
        ):
            if algo.ord_type == "trigger":
                assert algo.trigger_px is not None
                if not (last >= algo.trigger_px if algo.trigger_up else last <= algo.trigger_px):
                    continue
                leg, px, source = "", algo.order_px, SOURCE_TRIGGER
            else:
                selling = algo.side == "sell"
                tp_hit = algo.tp_trigger_px is not None and (
                    last >= algo.tp_trigger_px if selling else last <= algo.tp_trigger_px
                )
                sl_hit = algo.sl_trigger_px is not None and (
                    last <= algo.sl_trigger_px if selling else last >= algo.sl_trigger_px
                )
                if not (tp_hit or sl_hit):
                    continue
                leg = "tp" if tp_hit else "sl"
                px, source = (algo.tp_ord_px if tp_hit else algo.sl_ord_px), SOURCE_TP_SL
            sz = algo.sz
            if algo.reduce_only or algo.close_fraction:
                pos = self.positions.get((inst_id, algo.td_mode, algo.pos_side))
                held = pos.size if pos is not None and (pos.direction > 0) != (algo.side == "buy") else ZERO
                sz = held if algo.close_fraction else min(sz, held)
            algo.trigger_time = now_ms
            algo.u_time = now_ms
            algo.actual_side = leg
            algo.actual_px = px
            algo.actual_sz = sz
            req = OrderRequest(
                inst_id=inst_id,
                td_mode=algo.td_mode,
                side=algo.side,
                ord_type="market" if px is None else "limit",
                sz=fmt(sz),
                px="" if px is None else fmt(px),
                pos_side="" if algo.pos_side == "net" else algo.pos_side,
                reduce_only=algo.reduce_only,
                tag=algo.tag,
            )
            try:
                if sz <= 0:
                    raise OrderRejected(
                        "51169",
                        "Order failed because you don't have any positions in this direction for this contract.",
                    )
                order = self.place_order(req, quotes, now_ms, source=source, algo_id=algo.algo_id, trusted=True)
            except (OrderRejected, ParamError) as exc:
                algo.state = "order_failed"
                algo.fail_code = getattr(exc, "s_code", "51000")
                continue
            algo.state = "effective"
            algo.ord_id = order.ord_id
            placed.append(order)
        return placed


__all__ = ["ALGO_TYPES", "AlgoMixin", "AttachedAlgo"]
