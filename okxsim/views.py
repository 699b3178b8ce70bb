"""OKX's JSON views of the engine's records: order, fill, position and balance items, keyed as OKX sends them."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from okxsim.engine.margin import position_numbers
from okxsim.engine.model import MAKER_RATE, MMR_RATE, TAKER_RATE, ZERO, Fill, Order, Position, ord_px_text
from okxsim.prices import Quote
from okxsim.wire import fmt

if TYPE_CHECKING:
    from okxsim.engine.core import Engine


def order_view(o: Order) -> dict:
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
        "slOrdPx": ord_px_text(first.sl_trigger_px, first.sl_ord_px) if first else "",
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
        "tpOrdPx": ord_px_text(first.tp_trigger_px, first.tp_ord_px) if first else "",
        "tpTriggerPx": fmt(first.tp_trigger_px) if first else "",
        "tpTriggerPxType": "last" if first and first.tp_trigger_px is not None else "",
        "tradeId": o.trade_id,
        "tradeQuoteCcy": "",
        "uTime": str(o.u_time),
    }


def fill_view(f: Fill) -> dict:
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


def position_view(engine: Engine, p: Position, quote: Quote, eq: Decimal) -> dict:
    spec = engine.specs[p.inst_id]
    mark = quote.last
    notional, imr, upl = position_numbers(engine.specs[p.inst_id], p, mark)
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
                "algoId": a.algo_id,
                "slTriggerPx": fmt(a.sl_trigger_px),
                "slTriggerPxType": "last" if a.sl_trigger_px is not None else "",
                "tpTriggerPx": fmt(a.tp_trigger_px),
                "tpTriggerPxType": "last" if a.tp_trigger_px is not None else "",
                "closeFraction": "1",
            }
            for a in engine.position_algos(p)
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


def positions_view(engine: Engine, quotes: Mapping[str, Quote], inst_ids: set[str] | None = None) -> list[dict]:
    eq = engine.totals(quotes)["eq"]
    return [
        position_view(engine, p, quotes[p.inst_id], eq)
        for p in sorted(engine.positions.values(), key=lambda p: p.u_time, reverse=True)
        if inst_ids is None or p.inst_id in inst_ids
    ]
