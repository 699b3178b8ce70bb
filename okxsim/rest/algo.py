"""Algo-order REST endpoints: order-algo, cancel-algos, amend-algos, orders-algo-pending, orders-algo-history."""

from __future__ import annotations

from aiohttp import web

from okxsim.engine import OrderRejected
from okxsim.engine.algos import ALGO_TYPES
from okxsim.rest.bodies import CancelAlgoBody
from okxsim.rest.common import Ctx, body_items, check_ids, decode_body, limit_param, required
from okxsim.views_algo import algo_view
from okxsim.wire import ParamError, fmt, ok

HISTORY_STATES = ("effective", "canceled", "order_failed")


async def trade_order_algo(ctx: Ctx) -> web.Response:
    body = ctx.body if isinstance(ctx.body, dict) else {}
    now = ctx.sim.now_ms()
    cl, tag = str(body.get("algoClOrdId") or ""), str(body.get("tag") or "")
    try:
        algo = ctx.sim.engine.place_algo(body, ctx.sim.quotes(), now)
    except OrderRejected as exc:
        return ctx.batch_envelope(
            [{"algoClOrdId": cl, "algoId": "", "clOrdId": "", "sCode": exc.s_code, "sMsg": exc.s_msg, "tag": tag}]
        )
    return ctx.batch_envelope(
        [
            {
                "algoClOrdId": algo.algo_cl_ord_id,
                "algoId": algo.algo_id,
                "clOrdId": "",
                "sCode": "0",
                "sMsg": "Order placed",
                "tag": algo.tag,
            }
        ]
    )


async def trade_cancel_algos(ctx: Ctx) -> web.Response:
    now = ctx.sim.now_ms()
    out = []
    for raw in body_items(ctx.body, limit=10):
        body = decode_body(raw, CancelAlgoBody)
        try:
            algo = ctx.sim.engine.cancel_algo(body.instId, body.algoId, now)
        except OrderRejected as exc:
            out.append(
                {
                    "algoClOrdId": "",
                    "algoId": body.algoId,
                    "clOrdId": "",
                    "sCode": exc.s_code,
                    "sMsg": exc.s_msg,
                    "tag": "",
                }
            )
            continue
        out.append(
            {
                "algoClOrdId": algo.algo_cl_ord_id,
                "algoId": algo.algo_id,
                "clOrdId": "",
                "sCode": "0",
                "sMsg": "",
                "tag": algo.tag,
            }
        )
    return ctx.batch_envelope(out)


async def trade_amend_algos(ctx: Ctx) -> web.Response:
    body = ctx.body if isinstance(ctx.body, dict) else {}
    req_id = str(body.get("reqId") or "")
    try:
        algo = ctx.sim.engine.amend_algo(body, ctx.sim.quotes(), ctx.sim.now_ms())
    except OrderRejected as exc:
        return ctx.batch_envelope(
            [
                {
                    "algoClOrdId": str(body.get("algoClOrdId") or ""),
                    "algoId": str(body.get("algoId") or ""),
                    "reqId": req_id,
                    "sCode": exc.s_code,
                    "sMsg": exc.s_msg,
                }
            ]
        )
    return ctx.batch_envelope(
        [{"algoClOrdId": algo.algo_cl_ord_id, "algoId": algo.algo_id, "reqId": req_id, "sCode": "0", "sMsg": ""}]
    )


def _select(ctx: Ctx, states: tuple[str, ...]) -> list:
    q = ctx.query
    check_ids(q, "after", "before", "algoId")
    ord_types = {t for t in required(q, "ordType").split(",") if t}
    if not ord_types <= set(ALGO_TYPES) | {"move_order_stop", "iceberg", "twap", "chase"}:
        raise ParamError("ordType")
    if q.get("instType", "") not in ("", "SWAP"):
        return []
    algo_id, inst_id = q.get("algoId", ""), q.get("instId", "")
    after, before = q.get("after", ""), q.get("before", "")
    limit = limit_param(q, "limit", 100, 100)
    rows = []
    for a in sorted(ctx.sim.engine.algos.values(), key=lambda a: int(a.algo_id), reverse=True):
        if a.state not in states or a.ord_type not in ord_types:
            continue
        if (algo_id and a.algo_id != algo_id) or (inst_id and a.inst_id != inst_id):
            continue
        if (after and not int(a.algo_id) < int(after)) or (before and not int(a.algo_id) > int(before)):
            continue
        rows.append(a)
    return rows[:limit]


async def trade_orders_algo_pending(ctx: Ctx) -> web.Response:
    quotes = ctx.sim.quotes()
    return ok([algo_view(a, fmt(quotes[a.inst_id].last)) for a in _select(ctx, ("live",))])


async def trade_orders_algo_history(ctx: Ctx) -> web.Response:
    state = ctx.query.get("state", "")
    if not state and not ctx.query.get("algoId", ""):
        raise ParamError("state", empty=True)
    if state and state not in HISTORY_STATES:
        raise ParamError("state")
    quotes = ctx.sim.quotes()
    return ok([algo_view(a, fmt(quotes[a.inst_id].last)) for a in _select(ctx, (state,) if state else HISTORY_STATES)])
