"""OKX's order rules, checked before anything executes (each cites its source in okxsim/README.md).

Order of checks follows what a client sees from OKX: malformed parameters first (HTTP 400, 51000), then the
instrument, the account mode, the instrument's state, size and price rules, clOrdId uniqueness.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from okxsim.engine.model import (
    CL_ORD_ID_RE,
    MSG_51006,
    MSG_51010,
    MSG_51016,
    MSG_51020,
    MSG_51022,
    MSG_51121,
    MSG_51202,
    ORD_TYPES,
    PRICE_LIMIT_BAND,
    PRICED_TYPES,
    TAG_RE,
    AttachedAlgo,
    OrderRejected,
    OrderRequest,
    is_multiple,
    parse_decimal,
)
from okxsim.instruments import InstrumentSpec
from okxsim.prices import Quote
from okxsim.wire import ParamError, fmt

if TYPE_CHECKING:
    from okxsim.engine.core import Engine

TRUE_FORMS = (True, "true")
FALSE_FORMS = (False, "false", "", None)


class RulesMixin:
    @staticmethod
    def _flag(value: object, name: str) -> bool:
        """A boolean as OKX accepts it: JSON true/false or the strings "true"/"false"; "" or absent = false."""
        if value in TRUE_FORMS:
            return True
        if value in FALSE_FORMS:
            return False
        raise ParamError(name)

    def _pos_side(self: Engine, given: str) -> str:
        if self.pos_mode == "net_mode":
            if given not in ("", "net"):
                raise OrderRejected("51000", "Parameter posSide error")
            return "net"
        if given not in ("long", "short"):
            raise OrderRejected("51000", "Parameter posSide error")
        return given

    def _check_tradable(self: Engine, inst_id: str) -> None:
        """Spot mode (acctLv 1) cannot trade swaps (51010); a suspended instrument takes no orders (51022)."""
        if self.acct_lv == "1":
            raise OrderRejected("51010", MSG_51010)
        if self.inst_state.get(inst_id, "live") != "live":
            raise OrderRejected("51022", MSG_51022)

    def price_limit(self: Engine, inst_id: str, quotes: Mapping[str, Quote]) -> tuple[Decimal, Decimal]:
        """(buyLmt, sellLmt): the highest buy and the lowest sell price accepted now, on the instrument's tick."""
        last = quotes[inst_id].last
        tick = self.specs[inst_id].tick_sz
        buy = (last * (1 + PRICE_LIMIT_BAND)).quantize(tick, rounding="ROUND_DOWN")
        sell = (last * (1 - PRICE_LIMIT_BAND)).quantize(tick, rounding="ROUND_UP")
        return buy, sell

    def _validate(
        self: Engine, req: OrderRequest, quotes: Mapping[str, Quote], *, trusted: bool = False
    ) -> tuple[InstrumentSpec, Decimal, Decimal | None, str]:
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
        if not trusted:
            self._check_tradable(req.inst_id)
        pos_side = self._pos_side(req.pos_side)
        if sz < spec.min_sz:
            raise OrderRejected("51020", MSG_51020)
        if not is_multiple(sz, spec.lot_sz):
            raise OrderRejected("51121", MSG_51121)
        if req.ord_type in ("market", "optimal_limit_ioc") and sz > spec.max_mkt_sz_dec:
            raise OrderRejected("51202", MSG_51202)
        if req.ord_type not in ("market", "optimal_limit_ioc") and sz > spec.max_lmt_sz:
            raise OrderRejected("51000", "Parameter sz error")
        if px is not None:
            if not is_multiple(px, spec.tick_sz):
                raise OrderRejected("51000", "Parameter px error")
            buy_lmt, sell_lmt = self.price_limit(req.inst_id, quotes)
            if not trusted and ((req.side == "buy" and px > buy_lmt) or (req.side == "sell" and px < sell_lmt)):
                raise OrderRejected("51006", MSG_51006.format(buy=fmt(buy_lmt), sell=fmt(sell_lmt)))
        if req.cl_ord_id and self._cl_ord_id_taken(req.cl_ord_id):
            raise OrderRejected("51016", MSG_51016)
        return spec, sz, px, pos_side

    def _cl_ord_id_taken(self: Engine, cl_ord_id: str) -> bool:
        """OKX: a clOrdId is unique among the account's *live* orders; the strict-legacy mode keeps it forever."""
        ord_id = self.cl_ids.get(cl_ord_id)
        if ord_id is None:
            return False
        return ord_id in self.live if self.cl_ord_id_live_only else True

    def _parse_algos(self: Engine, items: list[dict], inst_id: str) -> list[AttachedAlgo]:
        algos = []
        tick = self.specs[inst_id].tick_sz if inst_id in self.specs else None
        for item in items:
            if not isinstance(item, dict):
                raise ParamError("attachAlgoOrds")
            tp = parse_decimal(str(item["tpTriggerPx"]), "tpTriggerPx") if item.get("tpTriggerPx") else None
            sl = parse_decimal(str(item["slTriggerPx"]), "slTriggerPx") if item.get("slTriggerPx") else None
            if tp is None and sl is None:
                raise ParamError("attachAlgoOrds")
            tp_px = (
                None
                if tp is None or str(item.get("tpOrdPx") or "-1") == "-1"
                else parse_decimal(str(item["tpOrdPx"]), "tpOrdPx")
            )
            sl_px = (
                None
                if sl is None or str(item.get("slOrdPx") or "-1") == "-1"
                else parse_decimal(str(item["slOrdPx"]), "slOrdPx")
            )
            if tick is not None:
                for name, value in (("tpTriggerPx", tp), ("slTriggerPx", sl), ("tpOrdPx", tp_px), ("slOrdPx", sl_px)):
                    if value is not None and not is_multiple(value, tick):
                        raise OrderRejected("51000", f"Parameter {name} error")
            cl = str(item.get("attachAlgoClOrdId") or "")
            if cl and not CL_ORD_ID_RE.match(cl):
                raise ParamError("attachAlgoClOrdId")
            algos.append(AttachedAlgo(self.ids.next("algo"), cl, tp, tp_px, sl, sl_px))
        return algos
