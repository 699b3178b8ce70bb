"""The trading engine: one USDT account with SWAP positions, orders, fills, TP/SL. Pure: the caller
passes current quotes and the clock (ms) in; nothing here does I/O or reads the time.

Fees are charged on fill notional (0.05 % taker, 0.02 % maker) and reported negative;
cashBal = initial + realised PnL + fees (margin rules in `margin.py`, fill bookkeeping in `ledger.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from okxsim import views
from okxsim.engine.ids import IdSequences
from okxsim.engine.ledger import LedgerMixin
from okxsim.engine.margin import account_totals, position_numbers
from okxsim.engine.matching import MatchingMixin
from okxsim.engine.model import (
    CL_ORD_ID_RE,
    DEFAULT_LEVER,
    MSG_51001,
    MSG_51008,
    MSG_51016,
    MSG_51020,
    MSG_51121,
    MSG_51169,
    MSG_51400,
    MSG_51603,
    ORD_TYPES,
    PRICED_TYPES,
    TAG_RE,
    TAKER_RATE,
    ZERO,
    AttachedAlgo,
    Fill,
    Order,
    OrderRejected,
    OrderRequest,
    Position,
    RequestRejected,
    is_multiple,
    parse_decimal,
)
from okxsim.instruments import InstrumentSpec
from okxsim.prices import Quote
from okxsim.wire import ParamError


class Engine(LedgerMixin, MatchingMixin):
    def __init__(self, specs: Mapping[str, InstrumentSpec], *, initial_usdt: Decimal, pos_mode: str, id_base: int) -> None:
        self.specs = specs
        self.initial_usdt = initial_usdt
        self.initial_pos_mode = pos_mode
        self.ids = IdSequences(id_base, trade_start=700_000_000)
        self.reset()

    def reset(self) -> None:
        self.cash = self.initial_usdt
        self.pos_mode = self.initial_pos_mode
        self.positions: dict[tuple[str, str, str], Position] = {}
        self.orders: dict[str, Order] = {}
        self.live: dict[str, Order] = {}
        self.cl_ids: dict[str, str] = {}
        self.fills: list[Fill] = []
        self.leverage: dict[tuple[str, str], int] = {}
        self.u_time = 0

    def spec(self, inst_id: str) -> InstrumentSpec:
        spec = self.specs.get(inst_id)
        if spec is None:
            raise OrderRejected("51001", MSG_51001)
        return spec

    def lever_for(self, inst_id: str, mgn_mode: str) -> int:
        return self.leverage.get((inst_id, mgn_mode), min(DEFAULT_LEVER, self.specs[inst_id].max_lever))

    def totals(self, quotes: Mapping[str, Quote]) -> dict[str, Decimal]:
        return account_totals(self.specs, self.cash, self.positions.values(), self.live.values(), quotes)

    def _position_numbers(self, p: Position, mark: Decimal) -> tuple[Decimal, Decimal, Decimal]:
        return position_numbers(self.specs[p.inst_id], p, mark)

    # ---- wire views (kept as methods: callers use engine.order_view(...)) --------------------
    def order_view(self, o: Order) -> dict:
        return views.order_view(o)

    def fill_view(self, f: Fill) -> dict:
        return views.fill_view(f)

    def position_view(self, p: Position, quote: Quote, eq: Decimal) -> dict:
        return views.position_view(self, p, quote, eq)

    def positions_view(self, quotes: Mapping[str, Quote], inst_ids: set[str] | None = None) -> list[dict]:
        return views.positions_view(self, quotes, inst_ids)

    def balance_view(self, quotes: Mapping[str, Quote], now_ms: int) -> dict:
        return views.balance_view(self, quotes, now_ms)

    def set_leverage(self, inst_id: str, lever_text: str, mgn_mode: str) -> int:
        if mgn_mode not in ("cross", "isolated"):
            raise ParamError("mgnMode", empty=not mgn_mode)
        if not inst_id:
            raise ParamError("instId", empty=True)
        spec = self.specs.get(inst_id)
        if spec is None:
            raise RequestRejected("51001", MSG_51001)
        try:
            lever = int(Decimal(lever_text))
        except (InvalidOperation, ValueError, TypeError):
            raise ParamError("lever", empty=not lever_text) from None
        if lever < 1 or lever > spec.max_lever or Decimal(lever_text) != lever:
            raise ParamError("lever")
        self.leverage[(inst_id, mgn_mode)] = lever
        for p in self.positions.values():
            if p.inst_id == inst_id and p.mgn_mode == mgn_mode:
                p.lever = lever
        return lever

    def set_position_mode(self, mode: str) -> None:
        if mode not in ("net_mode", "long_short_mode"):
            raise ParamError("posMode", empty=not mode)
        if mode != self.pos_mode and (self.positions or self.live):
            raise RequestRejected("59000", "Settings failed. Please close any open positions or orders before modifying settings.")
        self.pos_mode = mode

    def _validate(self, req: OrderRequest) -> tuple[InstrumentSpec, Decimal, Decimal | None, str]:
        if not req.inst_id:
            raise ParamError("instId", empty=True)
        if req.side not in ("buy", "sell"):
            raise ParamError("side", empty=not req.side)
        if req.ord_type not in ORD_TYPES:
            raise ParamError("ordType", empty=not req.ord_type)
        if req.td_mode not in ("cross", "isolated"):
            raise ParamError("tdMode", empty=not req.td_mode)
        sz = parse_decimal(req.sz, "sz")
        px = parse_decimal(req.px, "px") if req.ord_type in PRICED_TYPES else None
        if req.cl_ord_id and not CL_ORD_ID_RE.match(req.cl_ord_id):
            raise ParamError("clOrdId")
        if not TAG_RE.match(req.tag):
            raise ParamError("tag")
        spec = self.spec(req.inst_id)
        if self.pos_mode == "net_mode":
            if req.pos_side not in ("", "net"):
                raise OrderRejected("51000", "Parameter posSide error")
            pos_side = "net"
        else:
            if req.pos_side not in ("long", "short"):
                raise OrderRejected("51000", "Parameter posSide error")
            pos_side = req.pos_side
        if sz < spec.min_sz:
            raise OrderRejected("51020", MSG_51020)
        if not is_multiple(sz, spec.lot_sz):
            raise OrderRejected("51121", MSG_51121)
        if px is not None and not is_multiple(px, spec.tick_sz):
            raise OrderRejected("51000", "Parameter px error")
        if req.cl_ord_id and req.cl_ord_id in self.cl_ids:
            raise OrderRejected("51016", MSG_51016)
        return spec, sz, px, pos_side

    def _parse_algos(self, items: list[dict]) -> list[AttachedAlgo]:
        algos = []
        for item in items:
            if not isinstance(item, dict):
                raise ParamError("attachAlgoOrds")
            tp = parse_decimal(item["tpTriggerPx"], "tpTriggerPx") if item.get("tpTriggerPx") else None
            sl = parse_decimal(item["slTriggerPx"], "slTriggerPx") if item.get("slTriggerPx") else None
            if tp is None and sl is None:
                raise ParamError("attachAlgoOrds")
            tp_px = None if tp is None or str(item.get("tpOrdPx", "-1")) == "-1" else parse_decimal(str(item["tpOrdPx"]), "tpOrdPx")
            sl_px = None if sl is None or str(item.get("slOrdPx", "-1")) == "-1" else parse_decimal(str(item["slOrdPx"]), "slOrdPx")
            cl = str(item.get("attachAlgoClOrdId", ""))
            if cl and not CL_ORD_ID_RE.match(cl):
                raise ParamError("attachAlgoClOrdId")
            algos.append(AttachedAlgo(self.ids.next("algo"), cl, tp, tp_px, sl, sl_px))
        return algos

    def place_order(self, req: OrderRequest, quotes: Mapping[str, Quote], now_ms: int, *, source: str = "", algo_id: str = "") -> Order:
        spec, sz, px, pos_side = self._validate(req)
        algos = self._parse_algos(req.attach_algo_ords) if req.attach_algo_ords else []
        closing, opening = self._split(req.inst_id, req.td_mode, req.side, pos_side, sz)
        held = self.positions.get((req.inst_id, req.td_mode, pos_side))
        if pos_side != "net" and closing > 0 and (held is None or closing + self._pending_close(req.inst_id, req.td_mode, pos_side) > held.size):
            raise OrderRejected("51169", MSG_51169)
        if req.reduce_only:
            if closing == 0:
                raise OrderRejected("51169", MSG_51169)
            opening = ZERO  # a reduce-only order only ever closes (trimmed to the position when it fills)
        quote = quotes[req.inst_id]
        lever = self.lever_for(req.inst_id, req.td_mode)
        ref_px = px if px is not None else (quote.ask if req.side == "buy" else quote.bid)
        margin_needed = opening * spec.ct_val * ref_px / lever
        if opening > 0:
            fee_needed = opening * spec.ct_val * ref_px * TAKER_RATE
            if margin_needed + fee_needed > self.totals(quotes)["avail_eq"]:
                raise OrderRejected("51008", MSG_51008)
        order = Order(
            ord_id=self.ids.next("ord"), cl_ord_id=req.cl_ord_id, tag=req.tag, inst_id=req.inst_id, td_mode=req.td_mode,
            side=req.side, pos_side=pos_side, ord_type=req.ord_type, sz=sz, px=px, reduce_only=req.reduce_only, lever=lever,
            c_time=now_ms, u_time=now_ms, source=source, algo_id=algo_id, attach_algos=algos,
        )
        for algo in algos:
            algo.sz = sz
        self.orders[order.ord_id] = order
        if order.cl_ord_id:
            self.cl_ids[order.cl_ord_id] = order.ord_id
        taker_px = quote.ask if req.side == "buy" else quote.bid
        marketable = px is None or (px >= taker_px if req.side == "buy" else px <= taker_px)
        if marketable and req.ord_type == "post_only":
            order.state = "canceled"
            order.cancel_source = "20"  # OKX: canceled because a post_only order would have taken
        elif marketable:
            self._fill(order, taker_px, sz, "T", now_ms)
        elif req.ord_type in ("ioc", "fok"):
            order.state = "canceled"
            order.cancel_source = "14"  # OKX: IOC/FOK remainder canceled
        else:
            order.frozen = margin_needed
            self.live[order.ord_id] = order
        self.u_time = now_ms
        return order

    def find_order(self, inst_id: str, ord_id: str, cl_ord_id: str) -> Order | None:
        order = None
        if ord_id:
            order = self.orders.get(ord_id)
        elif cl_ord_id:
            order = self.orders.get(self.cl_ids.get(cl_ord_id, ""))
        if order is not None and order.inst_id != inst_id:
            return None
        return order

    def cancel_order(self, inst_id: str, ord_id: str, cl_ord_id: str, now_ms: int) -> Order:
        if not inst_id:
            raise ParamError("instId", empty=True)
        if not ord_id and not cl_ord_id:
            raise OrderRejected("51000", "Parameter ordId error")
        if ord_id and not ord_id.isdigit():
            raise OrderRejected("51000", "Parameter ordId error")
        self.spec(inst_id)
        order = self.find_order(inst_id, ord_id, cl_ord_id)
        if order is None or order.ord_id not in self.live:
            raise OrderRejected("51400", MSG_51400)
        order.state = "canceled"
        order.cancel_source = "1"  # OKX: canceled by the user
        order.u_time = now_ms
        order.frozen = ZERO
        del self.live[order.ord_id]
        self.u_time = now_ms
        return order

    def get_order(self, inst_id: str, ord_id: str, cl_ord_id: str) -> Order:
        if not inst_id:
            raise ParamError("instId", empty=True)
        if not ord_id and not cl_ord_id:
            raise ParamError("ordId", empty=True)
        if inst_id not in self.specs:
            raise RequestRejected("51001", MSG_51001)
        order = self.find_order(inst_id, ord_id, cl_ord_id)
        if order is None:
            raise RequestRejected("51603", MSG_51603)
        return order

    def close_position(self, inst_id: str, mgn_mode: str, pos_side: str, quotes: Mapping[str, Quote], now_ms: int, *, cl_ord_id: str = "", tag: str = "") -> Position:
        if not inst_id:
            raise ParamError("instId", empty=True)
        if mgn_mode not in ("cross", "isolated"):
            raise ParamError("mgnMode", empty=not mgn_mode)
        self.spec(inst_id)
        if self.pos_mode == "net_mode":
            if pos_side not in ("", "net"):
                raise OrderRejected("51000", "Parameter posSide error ")
            pos_side = "net"
        elif pos_side not in ("long", "short"):
            raise OrderRejected("51000", "Parameter posSide error ")
        pos = self.positions.get((inst_id, mgn_mode, pos_side))
        if pos is None:
            raise OrderRejected("51023", "Position does not exist.")
        # OKX cancels the position's pending close orders and TP/SL before closing it at market.
        for order in list(self.live.values()):
            closes = order.reduce_only or (pos_side != "net" and self._split(inst_id, mgn_mode, order.side, pos_side, order.sz)[0] > 0)
            if order.inst_id == inst_id and order.td_mode == mgn_mode and order.pos_side == pos_side and closes:
                self.cancel_order(inst_id, order.ord_id, "", now_ms)
        side = "sell" if pos.direction > 0 else "buy"
        order = Order(self.ids.next("ord"), cl_ord_id, tag, inst_id, mgn_mode, side, pos_side, "market", pos.size, None, True,
                      pos.lever, now_ms, now_ms)
        self.orders[order.ord_id] = order
        if cl_ord_id:
            self.cl_ids[cl_ord_id] = order.ord_id
        quote = quotes[inst_id]
        self._fill(order, quote.bid if side == "sell" else quote.ask, pos.size, "T", now_ms)
        return pos
