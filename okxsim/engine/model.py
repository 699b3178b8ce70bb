"""The engine's records (orders, positions, fills, attached TP/SL), its rejections, and OKX's messages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from okxsim.wire import ParamError, fmt
from shared.ids import CL_ORD_ID_RE as SHARED_CL_ORD_ID_RE

TAKER_RATE = Decimal("0.0005")
MAKER_RATE = Decimal("0.0002")
MMR_RATE = Decimal("0.004")
DEFAULT_LEVER = 10
ZERO = Decimal(0)

CL_ORD_ID_RE = SHARED_CL_ORD_ID_RE  # shared.ids: the one clOrdId rule (OKX: 1-32 letters/digits)
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
MSG_51503 = "Your order has already been filled or canceled."
MSG_51202 = "Market order amount exceeds the maximum amount."
MSG_51006 = "Order price is not within the price limit (max buy price: {buy} , min sell price: {sell} )"
MSG_51010 = "The current account mode does not support this API interface. "
MSG_51022 = "Contract suspended."
MSG_51112 = "Close order size exceeds your available size."
MSG_51115 = "Cancel all pending close-orders before liquidation."
MSG_59102 = "Leverage exceeds the maximum leverage. Please adjust the leverage"
MSG_51023 = "Position does not exist."
# Price-limit band around the last price (OKX publishes buyLmt/sellLmt per instrument; the band is ours).
PRICE_LIMIT_BAND = Decimal("0.05")
# OKX's `source` for a normal order placed by a triggered TP/SL (7) or trigger (8) algo order.
SOURCE_TP_SL = "7"
SOURCE_TRIGGER = "8"


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
            "tpOrdPx": ord_px_text(self.tp_trigger_px, self.tp_ord_px),
            "slTriggerPx": fmt(self.sl_trigger_px),
            "slTriggerPxType": "last" if self.sl_trigger_px is not None else "",
            "slOrdPx": ord_px_text(self.sl_trigger_px, self.sl_ord_px),
            "sz": fmt(sz),
            "amendPxOnTriggerType": "0",
            "failCode": "",
            "failReason": "",
        }


def ord_px_text(trigger: Decimal | None, px: Decimal | None) -> str:
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
    bal: Decimal = ZERO  # USDT cash balance right after this fill (for the bill)


@dataclass
class AlgoOrder:
    """An OKX algo order: `conditional` (one TP or SL leg, or both), `oco` (both legs, first hit wins) or
    `trigger` (place `order_px` when `trigger_px` is crossed). Attached TP/SL become one of these on fill."""

    algo_id: str
    algo_cl_ord_id: str
    inst_id: str
    td_mode: str
    side: str
    pos_side: str
    ord_type: str
    sz: Decimal  # contracts; ZERO with close_fraction "1" = the whole position
    reduce_only: bool
    lever: int
    c_time: int
    u_time: int
    tag: str = ""
    close_fraction: str = ""
    cxl_on_close_pos: bool = False
    tp_trigger_px: Decimal | None = None
    tp_ord_px: Decimal | None = None  # None: market ("-1")
    sl_trigger_px: Decimal | None = None
    sl_ord_px: Decimal | None = None
    trigger_px: Decimal | None = None
    order_px: Decimal | None = None
    trigger_up: bool = True  # trigger orders: fire when last >= trigger_px (else <=)
    state: str = "live"  # live, effective, canceled, order_failed
    ord_id: str = ""  # the order placed when it fired
    actual_side: str = ""  # "tp" / "sl" once fired
    actual_px: Decimal | None = None
    actual_sz: Decimal = ZERO
    trigger_time: int | None = None
    fail_code: str = ""
    attached_to: str = ""  # ordId whose attached TP/SL this is
    attach_algo_cl_ord_id: str = ""


def parse_decimal(value: str, name: str, *, positive: bool = True) -> Decimal:
    if not isinstance(value, str) or not value:
        raise ParamError(name, empty=not value)
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ParamError(name) from None
    if not number.is_finite() or (positive and number <= 0):
        raise ParamError(name)
    return number


def is_multiple(value: Decimal, step: Decimal) -> bool:
    return (value % step) == 0
