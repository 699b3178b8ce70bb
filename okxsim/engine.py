"""The trading engine: one USDT account with SWAP positions, orders, fills, TP/SL. Pure: the caller
passes current quotes and the clock (ms) in; nothing here does I/O or reads the time.

Money model (linear USDT-margined SWAP, cross or isolated treated alike except for reporting):
notional = |pos| x ctVal x markPx (mark = last), imr = notional / lever, upl = (mark - avgPx) x pos x ctVal
(sign by direction), fees are charged on fill notional (0.05 % taker, 0.02 % maker) and reported negative.
cashBal = initial + realised PnL + fees; eq = cashBal + upl; frozenBal = imr + margin held by open orders;
availBal = cashBal - frozenBal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Mapping

from okxsim.instruments import InstrumentSpec
from okxsim.prices import Quote
from okxsim.wire import ParamError, fmt

TAKER_RATE = Decimal("0.0005")
MAKER_RATE = Decimal("0.0002")
MMR_RATE = Decimal("0.004")
DEFAULT_LEVER = 10
ZERO = Decimal(0)

CL_ORD_ID_RE = re.compile(r"^[A-Za-z0-9]{1,32}$")
TAG_RE = re.compile(r"^[A-Za-z0-9]{0,16}$")
ORD_TYPES = ("market", "limit", "post_only", "fok", "ioc", "optimal_limit_ioc")
PRICED_TYPES = ("limit", "post_only", "fok", "ioc")

MSG_51001 = "Instrument ID, Instrument ID code or Spread ID doesn't exist."
MSG_51008 = "Order failed. Insufficient USDT margin in account"
MSG_51016 = "Client order ID already exists."
MSG_51020 = "Your order should meet or exceed the minimum order amount."
MSG_51121 = "Order quantity must be a multiple of the lot size."
MSG_51169 = "Order failed because you don't have any positions in this direction for this contract."
MSG_51400 = "Order cancellation failed as the order has been filled, canceled or does not exist."
MSG_51603 = "Order does not exist."
# OKX's `source` for a normal order placed by a triggered TP/SL algo order.
SOURCE_TP_SL = "7"


class OrderRejected(Exception):
    """A per-order failure (HTTP 200, code "1", the reason in data[0].sCode/sMsg)."""

    def __init__(self, s_code: str, s_msg: str) -> None:
        super().__init__(f"{s_code}: {s_msg}")
        self.s_code = s_code
        self.s_msg = s_msg


class RequestRejected(Exception):
    """A request-level failure with an OKX code (HTTP 200 unless told), e.g. 51603 or 59000."""

    def __init__(self, code: str, msg: str, status: int = 200) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status


@dataclass
class OrderRequest:
    inst_id: str
    td_mode: str
    side: str
    ord_type: str
    sz: str
    px: str = ""
    pos_side: str = ""
    cl_ord_id: str = ""
    tag: str = ""
    reduce_only: bool = False
    attach_algo_ords: list[dict] = field(default_factory=list)


@dataclass
class AttachedAlgo:
    attach_algo_id: str
    attach_algo_cl_ord_id: str
    tp_trigger_px: Decimal | None
    tp_ord_px: Decimal | None  # None: market ("-1")
    sl_trigger_px: Decimal | None
    sl_ord_px: Decimal | None
    sz: Decimal = ZERO

    def as_order_item(self, sz: Decimal) -> dict:
        return {
            "attachAlgoId": self.attach_algo_id,
            "attachAlgoClOrdId": self.attach_algo_cl_ord_id,
            "tpOrdKind": "condition",
            "tpTriggerPx": fmt(self.tp_trigger_px),
            "tpTriggerPxType": "last" if self.tp_trigger_px is not None else "",
            "tpOrdPx": _ord_px(self.tp_trigger_px, self.tp_ord_px),
            "slTriggerPx": fmt(self.sl_trigger_px),
            "slTriggerPxType": "last" if self.sl_trigger_px is not None else "",
            "slOrdPx": _ord_px(self.sl_trigger_px, self.sl_ord_px),
            "sz": fmt(sz),
            "amendPxOnTriggerType": "0",
            "failCode": "",
            "failReason": "",
        }


def _ord_px(trigger: Decimal | None, px: Decimal | None) -> str:
    if trigger is None:
        return ""
    return "-1" if px is None else fmt(px)


@dataclass
class Order:
    ord_id: str
    cl_ord_id: str
    tag: str
    inst_id: str
    td_mode: str
    side: str
    pos_side: str
    ord_type: str
    sz: Decimal
    px: Decimal | None
    reduce_only: bool
    lever: int
    c_time: int
    u_time: int
    state: str = "live"
    acc_fill_sz: Decimal = ZERO
    avg_px: Decimal | None = None
    fill_px: Decimal | None = None
    fill_sz: Decimal = ZERO
    fill_time: int | None = None
    trade_id: str = ""
    fee: Decimal = ZERO
    pnl: Decimal = ZERO
    frozen: Decimal = ZERO
    source: str = ""
    algo_id: str = ""
    cancel_source: str = ""
    attach_algos: list[AttachedAlgo] = field(default_factory=list)


@dataclass
class Position:
    pos_id: str
    inst_id: str
    mgn_mode: str
    pos_side: str
    pos: Decimal  # signed in net mode, positive for long/short
    avg_px: Decimal
    lever: int
    c_time: int
    u_time: int
    trade_id: str = ""
    realized_pnl: Decimal = ZERO
    pnl: Decimal = ZERO
    fee: Decimal = ZERO
    algos: list[AttachedAlgo] = field(default_factory=list)

    @property
    def direction(self) -> int:
        """+1 long, -1 short."""
        if self.pos_side == "net":
            return 1 if self.pos > 0 else -1
        return 1 if self.pos_side == "long" else -1

    @property
    def size(self) -> Decimal:
        return abs(self.pos)


@dataclass
class Fill:
    trade_id: str
    bill_id: str
    order: Order
    px: Decimal
    sz: Decimal
    fee: Decimal
    pnl: Decimal
    exec_type: str
    sub_type: str
    pos_side: str
    ts: int


def _decimal(value: str, name: str, *, positive: bool = True) -> Decimal:
    if not isinstance(value, str) or not value:
        raise ParamError(name, empty=not value)
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ParamError(name) from None
    if not number.is_finite() or (positive and number <= 0):
        raise ParamError(name)
    return number


def _is_multiple(value: Decimal, step: Decimal) -> bool:
    return (value % step) == 0


class Engine:
    def __init__(self, specs: Mapping[str, InstrumentSpec], *, initial_usdt: Decimal, pos_mode: str, id_base: int) -> None:
        self.specs = specs
        self.initial_usdt = initial_usdt
        self.initial_pos_mode = pos_mode
        # Ids stay unique across resets: counters never go back.
        self._ord_seq = id_base
        self._trade_seq = 700_000_000
        self._bill_seq = id_base + 500_000_000_000
        self._pos_seq = id_base + 900_000_000_000
        self._algo_seq = id_base + 700_000_000_000
        self.reset()

    def reset(self) -> None:
        self.cash = self.initial_usdt
        self.pos_mode = self.initial_pos_mode
        self.positions: dict[tuple[str, str, str], Position] = {}
        self.orders: dict[str, Order] = {}
        self.live: dict[str, Order] = {}
        self.cl_ids: dict[str, str] = {}
        self.fills: list[Fill] = []
        self.closed_positions: list[Position] = []  # read by okxsim/history.py (positions-history)
        self.leverage: dict[tuple[str, str], int] = {}
        self.u_time = 0

    # ---- ids --------------------------------------------------------------------------
    def _next_ord_id(self) -> str:
        self._ord_seq += 1
        return str(self._ord_seq)

    def _next_trade_id(self) -> str:
        self._trade_seq += 1
        return str(self._trade_seq)

    def _next_bill_id(self) -> str:
        self._bill_seq += 1
        return str(self._bill_seq)

    def _next_pos_id(self) -> str:
        self._pos_seq += 1
        return str(self._pos_seq)

    def _next_algo_id(self) -> str:
        self._algo_seq += 1
        return str(self._algo_seq)

    # ---- money --------------------------------------------------------------------------
    def spec(self, inst_id: str) -> InstrumentSpec:
        spec = self.specs.get(inst_id)
        if spec is None:
            raise OrderRejected("51001", MSG_51001)
        return spec

    def lever_for(self, inst_id: str, mgn_mode: str) -> int:
        return self.leverage.get((inst_id, mgn_mode), min(DEFAULT_LEVER, self.specs[inst_id].max_lever))

    def _position_numbers(self, p: Position, mark: Decimal) -> tuple[Decimal, Decimal, Decimal]:
        ct = self.specs[p.inst_id].ct_val
        notional = p.size * ct * mark
        upl = (mark - p.avg_px) * p.size * ct * p.direction
        return notional, notional / p.lever, upl

    def totals(self, quotes: Mapping[str, Quote]) -> dict[str, Decimal]:
        imr = upl = notional = mmr = ZERO
        for p in self.positions.values():
            n, i, u = self._position_numbers(p, quotes[p.inst_id].last)
            notional += n
            imr += i
            upl += u
            mmr += n * MMR_RATE
        ord_frozen = sum((o.frozen for o in self.live.values()), ZERO)
        eq = self.cash + upl
        frozen = imr + ord_frozen
        return {"eq": eq, "upl": upl, "imr": imr, "mmr": mmr, "notional": notional, "ord_frozen": ord_frozen,
                "frozen": frozen, "avail_bal": self.cash - frozen, "avail_eq": eq - frozen}

    # ---- settings ---------------------------------------------------------------------
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

    # ---- orders -----------------------------------------------------------------------
    def _validate(self, req: OrderRequest) -> tuple[InstrumentSpec, Decimal, Decimal | None, str]:
        if not req.inst_id:
            raise ParamError("instId", empty=True)
        if req.side not in ("buy", "sell"):
            raise ParamError("side", empty=not req.side)
        if req.ord_type not in ORD_TYPES:
            raise ParamError("ordType", empty=not req.ord_type)
        if req.td_mode not in ("cross", "isolated"):
            raise ParamError("tdMode", empty=not req.td_mode)
        sz = _decimal(req.sz, "sz")
        px = _decimal(req.px, "px") if req.ord_type in PRICED_TYPES else None
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
        if not _is_multiple(sz, spec.lot_sz):
            raise OrderRejected("51121", MSG_51121)
        if px is not None and not _is_multiple(px, spec.tick_sz):
            raise OrderRejected("51000", "Parameter px error")
        if req.cl_ord_id and req.cl_ord_id in self.cl_ids:
            raise OrderRejected("51016", MSG_51016)
        return spec, sz, px, pos_side

    def _parse_algos(self, items: list[dict]) -> list[AttachedAlgo]:
        algos = []
        for item in items:
            if not isinstance(item, dict):
                raise ParamError("attachAlgoOrds")
            tp = _decimal(item["tpTriggerPx"], "tpTriggerPx") if item.get("tpTriggerPx") else None
            sl = _decimal(item["slTriggerPx"], "slTriggerPx") if item.get("slTriggerPx") else None
            if tp is None and sl is None:
                raise ParamError("attachAlgoOrds")
            tp_px = None if tp is None or str(item.get("tpOrdPx", "-1")) == "-1" else _decimal(str(item["tpOrdPx"]), "tpOrdPx")
            sl_px = None if sl is None or str(item.get("slOrdPx", "-1")) == "-1" else _decimal(str(item["slOrdPx"]), "slOrdPx")
            cl = str(item.get("attachAlgoClOrdId", ""))
            if cl and not CL_ORD_ID_RE.match(cl):
                raise ParamError("attachAlgoClOrdId")
            algos.append(AttachedAlgo(self._next_algo_id(), cl, tp, tp_px, sl, sl_px))
        return algos

    def _split(self, inst_id: str, td_mode: str, side: str, pos_side: str, sz: Decimal) -> tuple[Decimal, Decimal]:
        """(closing, opening) parts of an order against the current position."""
        if pos_side == "net":
            p = self.positions.get((inst_id, td_mode, "net"))
            cur = p.pos if p else ZERO
            buying = side == "buy"
            if cur == 0 or (cur > 0) == buying:
                return ZERO, sz
            closing = min(sz, abs(cur))
            return closing, sz - closing
        opening = (side == "buy") == (pos_side == "long")
        return (ZERO, sz) if opening else (sz, ZERO)

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
            ord_id=self._next_ord_id(), cl_ord_id=req.cl_ord_id, tag=req.tag, inst_id=req.inst_id, td_mode=req.td_mode,
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

    def _pending_close(self, inst_id: str, td_mode: str, pos_side: str) -> Decimal:
        """Size already committed to live closing orders of a long/short position."""
        total = ZERO
        for o in self.live.values():
            if o.inst_id == inst_id and o.td_mode == td_mode and o.pos_side == pos_side and self._split(inst_id, td_mode, o.side, pos_side, o.sz)[0] > 0:
                total += o.sz - o.acc_fill_sz
        return total

    def _fill(self, order: Order, px: Decimal, sz: Decimal, exec_type: str, now_ms: int) -> Fill | None:
        spec = self.specs[order.inst_id]
        ct = spec.ct_val
        closing, opening = self._split(order.inst_id, order.td_mode, order.side, order.pos_side, sz)
        key = (order.inst_id, order.td_mode, order.pos_side)
        pos = self.positions.get(key)
        if order.reduce_only or (order.pos_side != "net" and opening == 0):
            # A reduce-only (or long/short closing) order never opens: trim to what is held, cancel if nothing is.
            held = pos.size if pos else ZERO
            closing = min(closing if order.pos_side == "net" else sz, held)
            opening = ZERO
            sz = closing
            if sz <= 0:
                order.state = "canceled"
                order.cancel_source = "31"  # OKX: reduce-only order canceled, position gone
                order.u_time = now_ms
                self.live.pop(order.ord_id, None)
                order.frozen = ZERO
                return None
        rate = TAKER_RATE if exec_type == "T" else MAKER_RATE
        fee = -(px * sz * ct * rate)
        trade_id = self._next_trade_id()
        pnl = ZERO
        sub_type = ""
        if closing > 0 and pos is not None:
            pnl = (px - pos.avg_px) * closing * ct * pos.direction
            sub_type = "5" if pos.direction > 0 else "6"
            if order.pos_side == "net":
                pos.pos += closing if order.side == "buy" else -closing
            else:
                pos.pos -= closing
            pos.pnl += pnl
            pos.realized_pnl += pnl
            pos.u_time = now_ms
            pos.trade_id = trade_id
            if pos.pos == 0:
                # Any fee on this fill belongs to the closed position's realised PnL; it is gone now.
                self.closed_positions.append(pos)
                del self.positions[key]
                pos = None
        if opening > 0:
            sub_type = sub_type or ("3" if (order.side == "buy") else "4")
            signed = opening if (order.pos_side != "net" or order.side == "buy") else -opening
            if pos is None:
                pos = Position(self._next_pos_id(), order.inst_id, order.td_mode, order.pos_side, signed, px, order.lever, now_ms, now_ms)
                self.positions[key] = pos
            else:
                total = pos.size + opening
                pos.avg_px = (pos.avg_px * pos.size + px * opening) / total
                pos.pos += signed
            pos.u_time = now_ms
            pos.trade_id = trade_id
            pos.lever = order.lever
        if pos is not None:
            pos.fee += fee
            pos.realized_pnl += fee
        self.cash += pnl + fee
        prev = order.acc_fill_sz
        order.acc_fill_sz = prev + sz
        order.avg_px = px if order.avg_px is None else (order.avg_px * prev + px * sz) / order.acc_fill_sz
        order.fill_px = px
        order.fill_sz = sz
        order.fill_time = now_ms
        order.trade_id = trade_id
        order.fee += fee
        order.pnl += pnl
        order.u_time = now_ms
        order.state = "filled" if order.acc_fill_sz >= order.sz else "partially_filled"
        if order.state == "filled":
            self.live.pop(order.ord_id, None)
            order.frozen = ZERO
        if opening > 0 and pos is not None and order.attach_algos:
            for algo in order.attach_algos:
                algo.sz = min(algo.sz, pos.size) if algo.sz else pos.size
                if algo not in pos.algos:
                    pos.algos.append(algo)
        fill = Fill(trade_id, self._next_bill_id(), order, px, sz, fee, pnl, exec_type, sub_type or ("1" if order.side == "buy" else "2"), order.pos_side, now_ms)
        self.fills.append(fill)
        if len(self.fills) > 10_000:
            del self.fills[:1000]
        return fill

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
        order = Order(self._next_ord_id(), cl_ord_id, tag, inst_id, mgn_mode, side, pos_side, "market", pos.size, None, True,
                      pos.lever, now_ms, now_ms)
        self.orders[order.ord_id] = order
        if cl_ord_id:
            self.cl_ids[cl_ord_id] = order.ord_id
        quote = quotes[inst_id]
        self._fill(order, quote.bid if side == "sell" else quote.ask, pos.size, "T", now_ms)
        return pos

    # ---- matching on price moves -------------------------------------------------------
    def on_quote(self, inst_id: str, quotes: Mapping[str, Quote], now_ms: int) -> list[Order]:
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

    # ---- wire views -------------------------------------------------------------------
    def order_view(self, o: Order) -> dict:
        first = o.attach_algos[0] if o.attach_algos else None
        return {
            "accFillSz": fmt(o.acc_fill_sz),
            "algoClOrdId": "",
            "algoId": o.algo_id,
            "attachAlgoClOrdId": first.attach_algo_cl_ord_id if first else "",
            "attachAlgoOrds": [a.as_order_item(a.sz or o.sz) for a in o.attach_algos],
            "avgPx": fmt(o.avg_px),
            "cTime": str(o.c_time),
            "cancelSource": o.cancel_source,
            "cancelSourceReason": "",
            "category": "normal",
            "ccy": "",
            "clOrdId": o.cl_ord_id,
            "fee": fmt(o.fee),
            "feeCcy": "USDT",
            "fillPx": fmt(o.fill_px),
            "fillSz": fmt(o.fill_sz),
            "fillTime": "" if o.fill_time is None else str(o.fill_time),
            "instId": o.inst_id,
            "instType": "SWAP",
            "isTpLimit": "false",
            "lever": str(o.lever),
            "linkedAlgoOrd": {"algoId": ""},
            "ordId": o.ord_id,
            "ordType": o.ord_type,
            "pnl": fmt(o.pnl),
            "posSide": o.pos_side,
            "px": fmt(o.px),
            "pxType": "",
            "pxUsd": "",
            "pxVol": "",
            "quickMgnType": "",
            "rebate": "0",
            "rebateCcy": "USDT",
            "reduceOnly": "true" if o.reduce_only else "false",
            "side": o.side,
            "slOrdPx": _ord_px(first.sl_trigger_px, first.sl_ord_px) if first else "",
            "slTriggerPx": fmt(first.sl_trigger_px) if first else "",
            "slTriggerPxType": "last" if first and first.sl_trigger_px is not None else "",
            "source": o.source,
            "state": o.state,
            "stpId": "",
            "stpMode": "cancel_maker",
            "sz": fmt(o.sz),
            "tag": o.tag,
            "tdMode": o.td_mode,
            "tgtCcy": "",
            "tpOrdPx": _ord_px(first.tp_trigger_px, first.tp_ord_px) if first else "",
            "tpTriggerPx": fmt(first.tp_trigger_px) if first else "",
            "tpTriggerPxType": "last" if first and first.tp_trigger_px is not None else "",
            "tradeId": o.trade_id,
            "tradeQuoteCcy": "",
            "uTime": str(o.u_time),
        }

    def fill_view(self, f: Fill) -> dict:
        rate = TAKER_RATE if f.exec_type == "T" else MAKER_RATE
        return {
            "side": f.order.side,
            "fillSz": fmt(f.sz),
            "fillPx": fmt(f.px),
            "fillPxVol": "",
            "fillFwdPx": "",
            "fee": fmt(f.fee),
            "fillPnl": fmt(f.pnl),
            "ordId": f.order.ord_id,
            "feeRate": fmt(-rate),
            "instType": "SWAP",
            "fillPxUsd": "",
            "instId": f.order.inst_id,
            "clOrdId": f.order.cl_ord_id,
            "posSide": f.pos_side,
            "billId": f.bill_id,
            "subType": f.sub_type,
            "fillMarkVol": "",
            "tag": f.order.tag,
            "fillTime": str(f.ts),
            "execType": f.exec_type,
            "fillIdxPx": fmt(f.px),
            "tradeId": f.trade_id,
            "fillMarkPx": fmt(f.px),
            "feeCcy": "USDT",
            "ts": str(f.ts),
            "tradeQuoteCcy": "",
        }

    def position_view(self, p: Position, quote: Quote, eq: Decimal) -> dict:
        spec = self.specs[p.inst_id]
        mark = quote.last
        notional, imr, upl = self._position_numbers(p, mark)
        mmr = notional * MMR_RATE
        lever = Decimal(p.lever)
        long = p.direction > 0
        liq = p.avg_px * (1 - 1 / lever + MMR_RATE) if long else p.avg_px * (1 + 1 / lever - MMR_RATE)
        liq = liq.quantize(spec.tick_sz)
        be = p.avg_px * (1 + 2 * TAKER_RATE) if long else p.avg_px * (1 - 2 * TAKER_RATE)
        upl_ratio = upl / imr if imr else ZERO
        return {
            "adl": "1",
            "availPos": fmt(p.size),
            "avgPx": fmt(p.avg_px),
            "baseBal": "",
            "baseBorrowed": "",
            "baseInterest": "",
            "bePx": fmt(be),
            "bizRefId": "",
            "bizRefType": "",
            "cTime": str(p.c_time),
            "ccy": "USDT",
            "clSpotInUseAmt": "",
            "closeOrderAlgo": [
                {
                    "algoId": a.attach_algo_id,
                    "slTriggerPx": fmt(a.sl_trigger_px),
                    "slTriggerPxType": "last" if a.sl_trigger_px is not None else "",
                    "tpTriggerPx": fmt(a.tp_trigger_px),
                    "tpTriggerPxType": "last" if a.tp_trigger_px is not None else "",
                    "closeFraction": "1",
                }
                for a in p.algos
            ],
            "deltaBS": "",
            "deltaPA": "",
            "fee": fmt(p.fee),
            "fundingFee": "0",
            "gammaBS": "",
            "gammaPA": "",
            "hedgedPos": "",
            "idxPx": fmt(mark),
            "imr": fmt(imr) if p.mgn_mode == "cross" else "",
            "instId": p.inst_id,
            "instType": "SWAP",
            "interest": "",
            "last": fmt(quote.last),
            "lever": str(p.lever),
            "liab": "",
            "liabCcy": "",
            "liqPenalty": "0",
            "liqPx": fmt(liq) if liq > 0 else "",
            "margin": fmt(imr) if p.mgn_mode == "isolated" else "",
            "markPx": fmt(mark),
            "maxSpotInUseAmt": "",
            "mgnMode": p.mgn_mode,
            "mgnRatio": fmt(eq / mmr) if mmr else "",
            "mmr": fmt(mmr),
            "nonSettleAvgPx": "",
            "notionalUsd": fmt(notional),
            "optVal": "",
            "pendingCloseOrdLiabVal": "",
            "pnl": fmt(p.pnl),
            "pos": fmt(p.pos),
            "posCcy": "",
            "posId": p.pos_id,
            "posSide": p.pos_side,
            "quoteBal": "",
            "quoteBorrowed": "",
            "quoteInterest": "",
            "realizedPnl": fmt(p.realized_pnl),
            "settledPnl": "",
            "spotInUseAmt": "",
            "spotInUseCcy": "",
            "thetaBS": "",
            "thetaPA": "",
            "tradeId": p.trade_id,
            "uTime": str(p.u_time),
            "upl": fmt(upl),
            "uplLastPx": fmt(upl),
            "uplRatio": fmt(upl_ratio),
            "uplRatioLastPx": fmt(upl_ratio),
            "usdPx": "",
            "vegaBS": "",
            "vegaPA": "",
        }

    def positions_view(self, quotes: Mapping[str, Quote], inst_ids: set[str] | None = None) -> list[dict]:
        eq = self.totals(quotes)["eq"]
        return [
            self.position_view(p, quotes[p.inst_id], eq)
            for p in sorted(self.positions.values(), key=lambda p: p.u_time, reverse=True)
            if inst_ids is None or p.inst_id in inst_ids
        ]

    def balance_view(self, quotes: Mapping[str, Quote], now_ms: int) -> dict:
        t = self.totals(quotes)
        iso_eq = ZERO
        for p in self.positions.values():
            if p.mgn_mode == "isolated":
                _, imr, upl = self._position_numbers(p, quotes[p.inst_id].last)
                iso_eq += imr + upl
        u_time = str(self.u_time or now_ms)
        mgn_ratio = fmt(t["eq"] / t["mmr"]) if t["mmr"] else ""
        detail = {
            "autoLendStatus": "off",
            "autoLendMtAmt": "0",
            "availBal": fmt(t["avail_bal"]),
            "availEq": fmt(t["avail_eq"]),
            "borrowFroz": "0",
            "cashBal": fmt(self.cash),
            "ccy": "USDT",
            "crossLiab": "0",
            "colRes": "0",
            "collateralEnabled": False,
            "collateralRestrict": False,
            "colBorrAutoConversion": "0",
            "disEq": fmt(t["eq"]),
            "eq": fmt(t["eq"]),
            "eqUsd": fmt(t["eq"]),
            "smtSyncEq": "0",
            "spotCopyTradingEq": "0",
            "fixedBal": "0",
            "frozenBal": fmt(t["frozen"]),
            "frpType": "0",
            "imr": fmt(t["imr"]),
            "interest": "0",
            "isoEq": fmt(iso_eq),
            "isoLiab": "0",
            "isoUpl": "0",
            "liab": "0",
            "maxLoan": "0",
            "mgnRatio": mgn_ratio,
            "mmr": fmt(t["mmr"]),
            "notionalLever": fmt(t["notional"] / t["eq"]) if t["eq"] > 0 else "",
            "ordFrozen": fmt(t["ord_frozen"]),
            "rewardBal": "0",
            "spotInUseAmt": "",
            "clSpotInUseAmt": "",
            "maxSpotInUse": "",
            "spotIsoBal": "0",
            "stgyEq": "0",
            "twap": "0",
            "uTime": u_time,
            "upl": fmt(t["upl"]),
            "uplLiab": "0",
            "spotBal": "",
            "openAvgPx": "",
            "accAvgPx": "",
            "spotUpl": "",
            "spotUplRatio": "",
            "totalPnl": "",
            "totalPnlRatio": "",
        }
        return {
            "adjEq": fmt(t["eq"]),
            "availEq": fmt(t["avail_eq"]),
            "borrowFroz": "0",
            "delta": "0",
            "deltaLever": "0",
            "deltaNeutralStatus": "0",
            "details": [detail],
            "imr": fmt(t["imr"]),
            "isoEq": fmt(iso_eq),
            "mgnRatio": mgn_ratio,
            "mmr": fmt(t["mmr"]),
            "notionalUsd": fmt(t["notional"]),
            "notionalUsdForBorrow": "0",
            "notionalUsdForFutures": "0",
            "notionalUsdForOption": "0",
            "notionalUsdForSwap": fmt(t["notional"]),
            "ordFroz": fmt(t["ord_frozen"]),
            "totalEq": fmt(t["eq"]),
            "uTime": u_time,
            "upl": fmt(t["upl"]),
        }
