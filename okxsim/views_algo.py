"""OKX's JSON view of an algo order (orders-algo-pending / orders-algo-history items)."""

from __future__ import annotations

from okxsim.engine.model import AlgoOrder
from okxsim.wire import fmt


def _ord_px(trigger, px) -> str:
    if trigger is None:
        return ""
    return "-1" if px is None else fmt(px)


def algo_view(a: AlgoOrder, last: str = "") -> dict:
    return {
        "activePx": "",
        "actualPx": "" if a.trigger_time is None else ("-1" if a.actual_px is None else fmt(a.actual_px)),
        "actualSide": a.actual_side,
        "actualSz": fmt(a.actual_sz) if a.trigger_time is not None else "",
        "algoClOrdId": a.algo_cl_ord_id,
        "algoId": a.algo_id,
        "amendPxOnTriggerType": "0",
        "attachAlgoOrds": [],
        "cTime": str(a.c_time),
        "callbackRatio": "",
        "callbackSpread": "",
        "ccy": "",
        "chaseType": "",
        "chaseVal": "",
        "clOrdId": "",
        "closeFraction": a.close_fraction,
        "cxlOnClosePos": "true" if a.cxl_on_close_pos else "false",
        "failCode": a.fail_code,
        "instId": a.inst_id,
        "instType": "SWAP",
        "isTradeBorrowMode": "",
        "last": last,
        "lever": str(a.lever),
        "linkedOrd": {"ordId": a.attached_to} if a.attached_to else {"ordId": ""},
        "maxChaseType": "",
        "maxChaseVal": "",
        "moveTriggerPx": "",
        "ordId": a.ord_id,
        "ordIdList": [a.ord_id] if a.ord_id else [],
        "ordPx": _ord_px(a.trigger_px, a.order_px),
        "ordType": a.ord_type,
        "posSide": a.pos_side,
        "pxLimit": "",
        "pxSpread": "",
        "pxVar": "",
        "quickMgnType": "",
        "reduceOnly": "true" if a.reduce_only else "false",
        "side": a.side,
        "slOrdPx": _ord_px(a.sl_trigger_px, a.sl_ord_px),
        "slTriggerPx": fmt(a.sl_trigger_px),
        "slTriggerPxType": "last" if a.sl_trigger_px is not None else "",
        "state": a.state,
        "sz": fmt(a.sz),
        "szLimit": "",
        "tag": a.tag,
        "tdMode": a.td_mode,
        "tgtCcy": "",
        "timeInterval": "",
        "tpOrdPx": _ord_px(a.tp_trigger_px, a.tp_ord_px),
        "tpTriggerPx": fmt(a.tp_trigger_px),
        "tpTriggerPxType": "last" if a.tp_trigger_px is not None else "",
        "tradeQuoteCcy": "",
        "triggerPx": fmt(a.trigger_px),
        "triggerPxType": "last" if a.trigger_px is not None else "",
        "triggerTime": "" if a.trigger_time is None else str(a.trigger_time),
        "uTime": str(a.u_time),
    }
