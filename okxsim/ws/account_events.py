"""What changed in the account since the last look: the simulator's side of the private channels.

The engine is not told about WebSocket clients (it stays pure and decoupled); this observer diffs its
public state every `interval` (50 ms) and turns the differences into OKX push items:

- `orders`: one item per new fill (OKX's rule: every `tradeId` once, with `fillSz`/`fillPx`/`fillFee` of that
  trade and the order's accumulated figures as they stood after it), and one item per other order change
  (placed `live`, `canceled`), never for orders that existed before the first look ("no push on subscribe").
- `positions`: the changed positions (`eventType: event_update`); a closed position is pushed once with `pos "0"`.
- `balance_and_position`: one `filled` event per batch of fills (USDT `cashBal`, the changed positions, the trades).
- `orders-algo`: the attached TP/SL of a position, as OKX turns them into algo orders once the entry filled
  (`live`), then `effective` when triggered (the order it placed in `ordId`) or `canceled` when gone otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from okxsim.views_algo import algo_view as engine_algo_view
from okxsim.wire import fmt

if TYPE_CHECKING:
    from okxsim.sim_api import SimulatorApi as Simulator

ZERO = Decimal(0)
TERMINAL = ("filled", "canceled")
# Fields of an `orders` push that describe "the current update" only (they differ from REST's meaning).
NO_FILL = {
    "fillPx": "",
    "fillSz": "0",
    "tradeId": "",
    "fillTime": "",
    "fillPnl": "0",
    "fillFee": "0",
    "fillFeeCcy": "",
    "execType": "",
    "fillNotionalUsd": "",
    "fillMarkPx": "",
    "fillIdxPx": "",
}


@dataclass
class AccountEvents:
    orders: list[dict] = field(default_factory=list)
    positions: list[dict] = field(default_factory=list)
    balance_and_position: list[dict] = field(default_factory=list)
    algos: list[dict] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.orders or self.positions or self.balance_and_position or self.algos)


def channel_only_fields(order_view: dict, last_px: str) -> dict:
    """The `orders` channel's extra fields (docs `trading-trade-ws-order-channel.md`)."""
    return {
        **order_view,
        "amendResult": "",
        "amendSource": "",
        "code": "0",
        "msg": "",
        "reqId": "",
        "lastPx": last_px,
        "notionalUsd": "",
    }


class AccountObserver:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self._orders_ref: object = None
        self._last_bill = 0
        self._max_ord_id = 0
        self._seen: dict[str, tuple[str, int]] = {}  # live orders: ordId -> (state, uTime) last pushed
        self._positions: dict[tuple[str, str, str], tuple[tuple, dict]] = {}  # key -> (signature, last view)
        self._algos: dict[str, dict] = {}  # algoId -> last pushed view (live ones)

    # ---- baseline ----------------------------------------------------------------------
    def _baseline(self) -> None:
        engine = self.sim.engine
        self._orders_ref = engine.orders
        self._last_bill = max((int(f.bill_id) for f in engine.fills), default=0)
        self._max_ord_id = max((int(i) for i in engine.orders), default=0)
        self._seen = {o.ord_id: (o.state, o.u_time) for o in engine.live.values()}
        self._positions = {}
        quotes, eq = self.sim.quotes(), engine.totals(self.sim.quotes())["eq"]
        for key, p in engine.positions.items():
            self._positions[key] = (self._pos_signature(p), engine.position_view(p, quotes[p.inst_id], eq))
        self._algos = {view["algoId"]: view for view in self._live_algos()}

    def positions_snapshot(self, inst_filter: Any = None) -> list[dict]:
        quotes = self.sim.quotes()
        return [v for v in self.sim.engine.positions_view(quotes) if inst_filter is None or inst_filter(v["instId"])]

    def cash_balance(self) -> dict:
        engine = self.sim.engine
        return {"ccy": "USDT", "cashBal": fmt(engine.cash), "uTime": str(engine.u_time or self.sim.now_ms())}

    # ---- diff ---------------------------------------------------------------------------
    def poll(self) -> AccountEvents:
        engine = self.sim.engine
        if self._orders_ref is not engine.orders:  # first look, or /_sim/reset replaced the account
            self._baseline()
            return AccountEvents()
        events = AccountEvents()
        quotes = self.sim.quotes()
        fills = self._new_fills()
        filled_orders: set[str] = set()
        for index, fill in enumerate(fills):
            later = [f for f in fills[index + 1 :] if f.order is fill.order]
            events.orders.append(self._fill_item(fill, later, quotes))
            filled_orders.add(fill.order.ord_id)
        candidates = self._candidates()
        for order in candidates:
            if self._seen.get(order.ord_id) == (order.state, order.u_time):
                continue
            if order.ord_id in filled_orders and order.state != "canceled":
                continue  # its fills were pushed above, state included
            events.orders.append(
                {**channel_only_fields(engine.order_view(order), fmt(quotes[order.inst_id].last)), **NO_FILL}
            )
        for order in {id(o): o for o in [*candidates, *(f.order for f in fills)]}.values():
            if order.state in TERMINAL:
                self._seen.pop(order.ord_id, None)
            else:
                self._seen[order.ord_id] = (order.state, order.u_time)
        events.positions = self._changed_positions(quotes)
        if fills:
            now = self.sim.now_ms()
            events.balance_and_position.append(
                {
                    "pTime": str(now),
                    "eventType": "filled",
                    "balData": [self.cash_balance()],
                    "posData": [bal_pos_item(v) for v in events.positions],
                    "trades": [{"instId": f.order.inst_id, "tradeId": f.trade_id} for f in fills],
                }
            )
        events.algos = self._changed_algos()
        return events

    def _new_fills(self) -> list:
        out = []
        for fill in reversed(self.sim.engine.fills):
            if int(fill.bill_id) <= self._last_bill:
                break
            out.append(fill)
        out.reverse()
        if out:
            self._last_bill = int(out[-1].bill_id)
        return out

    def _fill_item(self, fill: Any, later: list, quotes: dict) -> dict:
        """The order as it stood right after this trade: the order's totals minus what later trades added."""
        order = fill.order
        view = self.sim.engine.order_view(order)
        later_sz = sum((f.sz for f in later), ZERO)
        acc = order.acc_fill_sz - later_sz
        if later:
            notional = (order.avg_px or ZERO) * order.acc_fill_sz - sum((f.px * f.sz for f in later), ZERO)
            view.update(
                {
                    "accFillSz": fmt(acc),
                    "avgPx": fmt(notional / acc) if acc else "",
                    "fee": fmt(order.fee - sum((f.fee for f in later), ZERO)),
                    "pnl": fmt(order.pnl - sum((f.pnl for f in later), ZERO)),
                    "state": "filled" if acc >= order.sz else "partially_filled",
                    "uTime": str(fill.ts),
                }
            )
        ct_val = self.sim.engine.specs[order.inst_id].ct_val
        view.update(
            {
                "fillPx": fmt(fill.px),
                "fillSz": fmt(fill.sz),
                "tradeId": fill.trade_id,
                "fillTime": str(fill.ts),
                "fillPnl": fmt(fill.pnl),
                "fillFee": fmt(fill.fee),
                "fillFeeCcy": "USDT",
                "execType": fill.exec_type,
                "fillNotionalUsd": fmt(fill.px * fill.sz * ct_val),
                "fillMarkPx": fmt(fill.px),
                "fillIdxPx": fmt(fill.px),
            }
        )
        return channel_only_fields(view, fmt(quotes[order.inst_id].last))

    def _candidates(self) -> list:
        """Orders that may have changed: the new ones, the live ones, the ones live at the last look."""
        engine = self.sim.engine
        ids = set(engine.live) | set(self._seen)
        for ord_id in reversed(engine.orders):
            if int(ord_id) <= self._max_ord_id:
                break
            ids.add(ord_id)
        if engine.orders:
            self._max_ord_id = max(self._max_ord_id, int(next(reversed(engine.orders))))
        return sorted((engine.orders[i] for i in ids if i in engine.orders), key=lambda o: int(o.ord_id))

    # ---- positions ----------------------------------------------------------------------
    def _pos_signature(self, p: Any) -> tuple:
        return (
            p.pos_id,
            p.pos,
            p.avg_px,
            p.lever,
            p.u_time,
            tuple((a.algo_id, a.tp_trigger_px, a.sl_trigger_px) for a in self.sim.engine.position_algos(p)),
        )

    def _changed_positions(self, quotes: dict) -> list[dict]:
        engine = self.sim.engine
        eq = engine.totals(quotes)["eq"]
        out: list[dict] = []
        current = dict(engine.positions)
        for key, (sig, last_view) in list(self._positions.items()):
            p = current.get(key)
            if p is None or p.pos_id != sig[0]:
                out.append(closed_view(last_view, self.sim.now_ms()))
                del self._positions[key]
        for key, p in current.items():
            sig = self._pos_signature(p)
            known = self._positions.get(key)
            if known is not None and known[0] == sig:
                continue
            view = engine.position_view(p, quotes[p.inst_id], eq)
            self._positions[key] = (sig, view)
            out.append(view)
        return out

    # ---- algo orders (attached TP/SL) ---------------------------------------------------
    def _live_algos(self) -> list[dict]:
        # The engine keeps algo orders (attached TP/SL included) as OKX does: okxsim/engine/algos.py.
        return [
            {**engine_algo_view(a), "amendResult": "", "reqId": "", "notionalUsd": ""}
            for a in self.sim.engine.algos.values()
            if a.state == "live"
        ]

    def _changed_algos(self) -> list[dict]:
        live = {v["algoId"]: v for v in self._live_algos()}
        out: list[dict] = []
        for algo_id, last in list(self._algos.items()):
            if algo_id in live:
                continue
            algo = self.sim.engine.algos.get(algo_id)
            if algo is not None:
                out.append({**last, **engine_algo_view(algo)})
            else:  # gone with a /_sim/reset
                out.append({**last, "state": "canceled", "uTime": str(self.sim.now_ms())})
            del self._algos[algo_id]
        for algo_id, view in live.items():
            known = self._algos.get(algo_id)
            if known is None or {k: known[k] for k in ("tpTriggerPx", "slTriggerPx", "sz")} != {
                k: view[k] for k in ("tpTriggerPx", "slTriggerPx", "sz")
            }:
                if known is not None:
                    view = {**view, "cTime": known["cTime"], "amendResult": "0"}
                self._algos[algo_id] = view
                out.append(view)
        return out


def closed_view(last: dict, now_ms: int) -> dict:
    """A position OKX no longer holds, as its last push shows it: size zero."""
    return {
        **last,
        "pos": "0",
        "availPos": "0",
        "upl": "0",
        "uplLastPx": "0",
        "uplRatio": "0",
        "uplRatioLastPx": "0",
        "notionalUsd": "0",
        "imr": "" if last.get("imr") == "" else "0",
        "margin": "" if last.get("margin") == "" else "0",
        "mmr": "0",
        "liqPx": "",
        "closeOrderAlgo": [],
        "uTime": str(now_ms),
        "pTime": str(now_ms),
    }


def bal_pos_item(view: dict) -> dict:
    """`balance_and_position` carries a short form of a position (docs `websocket-balance-and-position-channel.md`)."""
    return {
        "posId": view["posId"],
        "tradeId": view["tradeId"],
        "instId": view["instId"],
        "instType": "SWAP",
        "mgnMode": view["mgnMode"],
        "posSide": view["posSide"],
        "pos": view["pos"],
        "ccy": "USDT",
        "posCcy": "",
        "avgPx": view["avgPx"],
        "nonSettleAvgPx": "",
        "settledPnl": "",
        "uTime": view["uTime"],
    }


def algo_view(p: Any, algo: Any, now_ms: int) -> dict:
    """An attached TP/SL as the algo order OKX makes of it (docs `trading-algo-trading-ws-algo-orders-channel.md`)."""
    both = algo.tp_trigger_px is not None and algo.sl_trigger_px is not None

    def ord_px(trigger: Decimal | None, px: Decimal | None) -> str:
        return "" if trigger is None else ("-1" if px is None else fmt(px))

    return {
        "actualPx": "",
        "actualSide": "",
        "actualSz": "0",
        "algoClOrdId": algo.attach_algo_cl_ord_id,
        "algoId": algo.attach_algo_id,
        "amendPxOnTriggerType": "0",
        "amendResult": "",
        "attachAlgoOrds": [],
        "cTime": str(p.c_time),
        "ccy": "",
        "clOrdId": "",
        "closeFraction": "",
        "failCode": "",
        "instId": p.inst_id,
        "instType": "SWAP",
        "isTradeBorrowMode": "",
        "last": "",
        "lever": str(p.lever),
        "linkedOrd": {"ordId": ""},
        "notionalUsd": "",
        "ordId": "",
        "ordIdList": [],
        "ordPx": "",
        "ordType": "oco" if both else "conditional",
        "posSide": p.pos_side,
        "quickMgnType": "",
        "reduceOnly": "true",
        "reqId": "",
        "side": "sell" if p.direction > 0 else "buy",
        "slOrdPx": ord_px(algo.sl_trigger_px, algo.sl_ord_px),
        "slTriggerPx": fmt(algo.sl_trigger_px),
        "slTriggerPxType": "last" if algo.sl_trigger_px is not None else "",
        "state": "live",
        "sz": fmt(algo.sz or p.size),
        "tag": "",
        "tdMode": p.mgn_mode,
        "tgtCcy": "",
        "tpOrdPx": ord_px(algo.tp_trigger_px, algo.tp_ord_px),
        "tpTriggerPx": fmt(algo.tp_trigger_px),
        "tpTriggerPxType": "last" if algo.tp_trigger_px is not None else "",
        "tradeQuoteCcy": "",
        "triggerPx": "",
        "triggerTime": "",
        "uTime": str(now_ms),
    }
