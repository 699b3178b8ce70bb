"""The trading engine: one USDT account with SWAP positions, orders, fills, TP/SL. Pure: the caller
passes current quotes and the clock (ms) in; nothing here does I/O or reads the time.

Fees are charged on fill notional (0.05 % taker, 0.02 % maker) and reported negative;
cashBal = initial + realised PnL + fees (margin rules in `margin.py`, fill bookkeeping in `ledger.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from okxsim import views, views_account
from okxsim.engine.algos import AlgoMixin
from okxsim.engine.ids import IdSequences
from okxsim.engine.ledger import LedgerMixin
from okxsim.engine.margin import account_totals, position_numbers
from okxsim.engine.matching import MatchingMixin
from okxsim.engine.model import (
    DEFAULT_LEVER,
    MSG_51001,
    MSG_51006,
    MSG_51008,
    MSG_51023,
    MSG_51112,
    MSG_51115,
    MSG_51121,
    MSG_51169,
    MSG_51400,
    MSG_51503,
    MSG_51603,
    MSG_59102,
    TAKER_RATE,
    ZERO,
    AlgoOrder,
    Fill,
    Order,
    OrderRejected,
    OrderRequest,
    Position,
    RequestRejected,
    is_multiple,
    parse_decimal,
)
from okxsim.engine.rules import RulesMixin
from okxsim.instruments import InstrumentSpec
from okxsim.prices import Quote
from okxsim.wire import ParamError, fmt


class Engine(RulesMixin, AlgoMixin, LedgerMixin, MatchingMixin):
    def __init__(
        self,
        specs: Mapping[str, InstrumentSpec],
        *,
        initial_usdt: Decimal,
        pos_mode: str,
        id_base: int,
        holdings: Mapping[str, Decimal] | None = None,
        acct_lv: str = "2",
        cl_ord_id_live_only: bool = True,
    ) -> None:
        self.specs = specs
        self.initial_usdt = initial_usdt
        self.initial_pos_mode = pos_mode
        self.initial_holdings = dict(holdings or {})
        self.initial_acct_lv = acct_lv
        # OKX frees a clOrdId once its order is terminal; False keeps every clOrdId taken forever (the old rule).
        self.cl_ord_id_live_only = cl_ord_id_live_only
        self.ids = IdSequences(id_base)
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
        self.algos: dict[str, AlgoOrder] = {}
        # Coins other than USDT held in the account (multi-currency: totalEq != USDT eq); not margin.
        self.holdings: dict[str, Decimal] = dict(self.initial_holdings)
        self.acct_lv = self.initial_acct_lv
        self.inst_state: dict[str, str] = {}
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
        return views_account.balance_view(self, quotes, now_ms)

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
        if lever < 1 or Decimal(lever_text) != lever:
            raise ParamError("lever")
        if lever > spec.max_lever:
            raise RequestRejected("59102", MSG_59102)
        self.leverage[(inst_id, mgn_mode)] = lever
        for p in self.positions.values():
            if p.inst_id == inst_id and p.mgn_mode == mgn_mode:
                p.lever = lever
        return lever

    def set_position_mode(self, mode: str) -> None:
        if mode not in ("net_mode", "long_short_mode"):
            raise ParamError("posMode", empty=not mode)
        if mode != self.pos_mode and (self.positions or self.live):
            raise RequestRejected(
                "59000", "Settings failed. Please close any open positions or orders before modifying settings."
            )
        self.pos_mode = mode

    def set_account_level(self, acct_lv: str) -> None:
        """POST /account/set-account-level: 1 Spot, 2 Futures (single-currency margin), 3 Multi-currency, 4 Portfolio."""
        if acct_lv not in ("1", "2", "3", "4"):
            raise ParamError("acctLv", empty=not acct_lv)
        if acct_lv != self.acct_lv and (self.positions or self.live):
            raise RequestRejected(
                "59000", "Settings failed. Please close any open positions or orders before modifying settings."
            )
        self.acct_lv = acct_lv

    def place_order(
        self,
        req: OrderRequest,
        quotes: Mapping[str, Quote],
        now_ms: int,
        *,
        source: str = "",
        algo_id: str = "",
        trusted: bool = False,
    ) -> Order:
        """Place one order. `trusted`: placed by a firing algo order (no account/price-limit checks, as OKX)."""
        spec, sz, px, pos_side = self._validate(req, quotes, trusted=trusted)
        algos = self._parse_algos(req.attach_algo_ords, req.inst_id) if req.attach_algo_ords else []
        closing, opening = self._split(req.inst_id, req.td_mode, req.side, pos_side, sz)
        held = self.positions.get((req.inst_id, req.td_mode, pos_side))
        if (
            pos_side != "net"
            and closing > 0
            and (held is None or closing + self._pending_close(req.inst_id, req.td_mode, pos_side) > held.size)
        ):
            raise OrderRejected("51169", MSG_51169)
        if req.reduce_only:
            if closing == 0:
                raise OrderRejected("51169", MSG_51169)
            if opening > 0:
                # OKX rejects a reduce-only order larger than the position; it does not trim it.
                raise OrderRejected("51112", MSG_51112)
        quote = quotes[req.inst_id]
        lever = self.lever_for(req.inst_id, req.td_mode)
        ref_px = px if px is not None else (quote.ask if req.side == "buy" else quote.bid)
        margin_needed = opening * spec.ct_val * ref_px / lever
        if opening > 0:
            fee_needed = opening * spec.ct_val * ref_px * TAKER_RATE
            if margin_needed + fee_needed > self.totals(quotes)["avail_eq"]:
                raise OrderRejected("51008", MSG_51008)
        order = Order(
            ord_id=self.ids.next("ord"),
            cl_ord_id=req.cl_ord_id,
            tag=req.tag,
            inst_id=req.inst_id,
            td_mode=req.td_mode,
            side=req.side,
            pos_side=pos_side,
            ord_type=req.ord_type,
            sz=sz,
            px=px,
            reduce_only=req.reduce_only,
            lever=lever,
            c_time=now_ms,
            u_time=now_ms,
            source=source,
            algo_id=algo_id,
            attach_algos=algos,
        )
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

    def amend_order(
        self,
        inst_id: str,
        ord_id: str,
        cl_ord_id: str,
        new_sz: str,
        new_px: str,
        quotes: Mapping[str, Quote],
        now_ms: int,
    ) -> Order:
        """POST /trade/amend-order: new size and/or price of a live order; a price that now crosses fills at once."""
        if not inst_id:
            raise ParamError("instId", empty=True)
        if not ord_id and not cl_ord_id:
            raise OrderRejected("51000", "Parameter ordId error")
        if not new_sz and not new_px:
            raise OrderRejected("51000", "Parameter newSz error")
        spec = self.spec(inst_id)
        order = self.find_order(inst_id, ord_id, cl_ord_id)
        if order is None or order.ord_id not in self.live:
            raise OrderRejected("51503", MSG_51503)
        sz = parse_decimal(new_sz, "newSz") if new_sz else order.sz
        px = parse_decimal(new_px, "newPx") if new_px else order.px
        if new_sz and (not is_multiple(sz, spec.lot_sz)):
            raise OrderRejected("51121", MSG_51121)
        if new_sz and sz <= order.acc_fill_sz:
            raise OrderRejected("51000", "Parameter newSz error")
        if px is not None and new_px:
            if order.px is None:
                raise OrderRejected("51000", "Parameter newPx error")
            if not is_multiple(px, spec.tick_sz):
                raise OrderRejected("51000", "Parameter newPx error")
            buy_lmt, sell_lmt = self.price_limit(inst_id, quotes)
            if (order.side == "buy" and px > buy_lmt) or (order.side == "sell" and px < sell_lmt):
                raise OrderRejected("51006", MSG_51006.format(buy=fmt(buy_lmt), sell=fmt(sell_lmt)))
        if order.reduce_only and new_sz:
            pos = self.positions.get((inst_id, order.td_mode, order.pos_side))
            if pos is None or sz - order.acc_fill_sz > pos.size:
                raise OrderRejected("51112", MSG_51112)
        order.sz, order.px, order.u_time = sz, px, now_ms
        quote = quotes[inst_id]
        taker_px = quote.ask if order.side == "buy" else quote.bid
        if px is not None and (px >= taker_px if order.side == "buy" else px <= taker_px):
            if order.ord_type == "post_only":
                order.state, order.cancel_source, order.frozen = "canceled", "20", ZERO
                self.live.pop(order.ord_id, None)
            else:
                self._fill(order, taker_px, order.sz - order.acc_fill_sz, "T", now_ms)
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

    def close_position(
        self,
        inst_id: str,
        mgn_mode: str,
        pos_side: str,
        quotes: Mapping[str, Quote],
        now_ms: int,
        *,
        cl_ord_id: str = "",
        tag: str = "",
        auto_cxl: bool = False,
    ) -> Position:
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
            raise OrderRejected("51023", MSG_51023)
        closing_orders = [
            o
            for o in self.live.values()
            if o.inst_id == inst_id
            and o.td_mode == mgn_mode
            and o.pos_side == pos_side
            and (o.reduce_only or (pos_side != "net" and self._split(inst_id, mgn_mode, o.side, pos_side, o.sz)[0] > 0))
        ]
        # OKX refuses while closing orders are pending, unless autoCxl=true asks it to cancel them first.
        if closing_orders and not auto_cxl:
            raise OrderRejected("51115", MSG_51115)
        for order in closing_orders:
            self.cancel_order(inst_id, order.ord_id, "", now_ms)
        side = "sell" if pos.direction > 0 else "buy"
        order = Order(
            self.ids.next("ord"),
            cl_ord_id,
            tag,
            inst_id,
            mgn_mode,
            side,
            pos_side,
            "market",
            pos.size,
            None,
            True,
            pos.lever,
            now_ms,
            now_ms,
        )
        self.orders[order.ord_id] = order
        if cl_ord_id:
            self.cl_ids[cl_ord_id] = order.ord_id
        quote = quotes[inst_id]
        self._fill(order, quote.bid if side == "sell" else quote.ask, pos.size, "T", now_ms)
        return pos
