"""The trading engine package; `okxsim.engine` keeps exporting the names it always had."""

from okxsim.engine.core import Engine
from okxsim.engine.model import (
    CL_ORD_ID_RE,
    DEFAULT_LEVER,
    MAKER_RATE,
    MMR_RATE,
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
    SOURCE_TP_SL,
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
)

__all__ = [
    "CL_ORD_ID_RE", "DEFAULT_LEVER", "MAKER_RATE", "MMR_RATE", "MSG_51001", "MSG_51008", "MSG_51016", "MSG_51020",
    "MSG_51121", "MSG_51169", "MSG_51400", "MSG_51603", "ORD_TYPES", "PRICED_TYPES", "SOURCE_TP_SL", "TAG_RE",
    "TAKER_RATE", "ZERO", "AttachedAlgo", "Engine", "Fill", "Order", "OrderRejected", "OrderRequest", "Position",
    "RequestRejected",
]
