"""Trade REST endpoints: place / cancel / amend (single and batch), close-position, order queries, fills."""

from __future__ import annotations

import msgspec
from aiohttp import web

from okxsim.engine import OrderRejected, OrderRequest
from okxsim.rest.bodies import AmendOrderBody, CancelOrderBody, ClosePositionBody, PlaceOrderBody
from okxsim.rest.common import Ctx, body_items, check_ids, decode_body, limit_param, required
from okxsim.wire import ParamError, ok


def _place_item(ctx: Ctx, raw: object, now: int) -> dict:
    body = decode_body(raw, PlaceOrderBody)
    engine = ctx.sim.engine
    req = OrderRequest(
        inst_id=body.instId,
        td_mode=body.tdMode,
        side=body.side,
        ord_type=body.ordType,
        sz=body.sz,
        px=body.px,
        pos_side=body.posSide,
        cl_ord_id=body.clOrdId,
        tag=body.tag,
        reduce_only=engine._flag(body.reduceOnly, "reduceOnly"),
        attach_algo_ords=[msgspec.structs.asdict(a) for a in body.attachAlgoOrds or []],
    )
    try:
        order = engine.place_order(req, ctx.sim.quotes(), now)
    except OrderRejected as exc:
        return {
            "clOrdId": body.clOrdId,
            "ordId": "",
            "sCode": exc.s_code,
            "sMsg": exc.s_msg,
            "tag": body.tag,
            "ts": str(now),
        }
    return {
        "clOrdId": order.cl_ord_id,
        "ordId": order.ord_id,
        "sCode": "0",
        "sMsg": "Order placed",
        "tag": order.tag,
        "ts": str(now),
    }


def _cancel_item(ctx: Ctx, raw: object, now: int) -> dict:
    body = decode_body(raw, CancelOrderBody)
    try:
        order = ctx.sim.engine.cancel_order(body.instId, body.ordId, body.clOrdId, now)
    except OrderRejected as exc:
        return {"clOrdId": body.clOrdId, "ordId": body.ordId, "sCode": exc.s_code, "sMsg": exc.s_msg, "ts": str(now)}
    return {"clOrdId": order.cl_ord_id, "ordId": order.ord_id, "sCode": "0", "sMsg": "", "ts": str(now)}


def _amend_item(ctx: Ctx, raw: object, now: int) -> dict:
    body = decode_body(raw, AmendOrderBody)
    engine = ctx.sim.engine
    try:
        order = engine.amend_order(body.instId, body.ordId, body.clOrdId, body.newSz, body.newPx, ctx.sim.quotes(), now)
    except OrderRejected as exc:
        if engine._flag(body.cxlOnFail, "cxlOnFail"):
            # cxlOnFail=true: OKX cancels the order when the amendment fails.
            try:
                engine.cancel_order(body.instId, body.ordId, body.clOrdId, now)
            except OrderRejected:
                pass
        return {
            "clOrdId": body.clOrdId,
            "ordId": body.ordId,
            "reqId": body.reqId,
            "sCode": exc.s_code,
            "sMsg": exc.s_msg,
            "ts": str(now),
        }
    return {
        "clOrdId": order.cl_ord_id,
        "ordId": order.ord_id,
        "reqId": body.reqId,
        "sCode": "0",
        "sMsg": "",
        "ts": str(now),
    }


def _each(ctx: Ctx, items: list, one) -> list[dict]:
    """Batch items are independent: a malformed one fails alone with 51000 naming its field, as OKX does."""
    now = ctx.sim.now_ms()
    out = []
    for raw in items:
        try:
            out.append(one(ctx, raw, now))
        except ParamError as exc:
            msg = f"Parameter {exc.name} can not be empty" if exc.empty else f"Parameter {exc.name} error"
            item = raw if isinstance(raw, dict) else {}
            out.append(
                {"clOrdId": str(item.get("clOrdId", "")), "ordId": "", "sCode": "51000", "sMsg": msg, "ts": str(now)}
            )
    return out


async def trade_place_order(ctx: Ctx) -> web.Response:
    return ctx.batch_envelope([_place_item(ctx, ctx.body, ctx.sim.now_ms())])


async def trade_batch_orders(ctx: Ctx) -> web.Response:
    return ctx.batch_envelope(_each(ctx, body_items(ctx.body), _place_item))


async def trade_cancel_order(ctx: Ctx) -> web.Response:
    return ctx.batch_envelope([_cancel_item(ctx, ctx.body, ctx.sim.now_ms())])


async def trade_cancel_batch_orders(ctx: Ctx) -> web.Response:
    return ctx.batch_envelope(_each(ctx, body_items(ctx.body), _cancel_item))


async def trade_amend_order(ctx: Ctx) -> web.Response:
    return ctx.batch_envelope([_amend_item(ctx, ctx.body, ctx.sim.now_ms())])


async def trade_amend_batch_orders(ctx: Ctx) -> web.Response:
    return ctx.batch_envelope(_each(ctx, body_items(ctx.body), _amend_item))


async def trade_close_position(ctx: Ctx) -> web.Response:
    body = decode_body(ctx.body, ClosePositionBody)
    engine = ctx.sim.engine
    try:
        pos = engine.close_position(
            body.instId,
            body.mgnMode,
            body.posSide,
            ctx.sim.quotes(),
            ctx.sim.now_ms(),
            cl_ord_id=body.clOrdId,
            tag=body.tag,
            auto_cxl=engine._flag(body.autoCxl, "autoCxl"),
        )
    except OrderRejected as exc:
        item = {"clOrdId": body.clOrdId, "ordId": "", "sCode": exc.s_code, "sMsg": exc.s_msg, "tag": body.tag}
        return ctx.batch_envelope([item])
    return ctx.batch_envelope(
        [{"clOrdId": body.clOrdId, "instId": pos.inst_id, "posSide": pos.pos_side, "tag": body.tag}]
    )


async def trade_get_order(ctx: Ctx) -> web.Response:
    engine = ctx.sim.engine
    order = engine.get_order(required(ctx.query, "instId"), ctx.query.get("ordId", ""), ctx.query.get("clOrdId", ""))
    return ok([engine.order_view(order)])


def _order_filter(ctx: Ctx, orders: list) -> list:
    q = ctx.query
    inst_type = q.get("instType", "")
    if inst_type and inst_type != "SWAP":
        return []
    inst_id = q.get("instId", "")
    ord_types = {t for t in q.get("ordType", "").split(",") if t}
    state = q.get("state", "")
    after = q.get("after", "")
    before = q.get("before", "")
    out = []
    for o in sorted(orders, key=lambda o: int(o.ord_id), reverse=True):
        if inst_id and o.inst_id != inst_id:
            continue
        if ord_types and o.ord_type not in ord_types:
            continue
        if state and o.state != state:
            continue
        if after and not int(o.ord_id) < int(after):
            continue
        if before and not int(o.ord_id) > int(before):
            continue
        out.append(o)
    return out


async def trade_orders_pending(ctx: Ctx) -> web.Response:
    check_ids(ctx.query, "after", "before")
    limit = limit_param(ctx.query, "limit", 100, 100)
    engine = ctx.sim.engine
    return ok([engine.order_view(o) for o in _order_filter(ctx, list(engine.live.values()))[:limit]])


async def trade_orders_history(ctx: Ctx) -> web.Response:
    required(ctx.query, "instType")
    check_ids(ctx.query, "after", "before")
    limit = limit_param(ctx.query, "limit", 100, 100)
    engine = ctx.sim.engine
    done = [o for o in engine.orders.values() if o.state in ("filled", "canceled")]
    return ok([engine.order_view(o) for o in _order_filter(ctx, done)[:limit]])


async def trade_fills(ctx: Ctx) -> web.Response:
    q = ctx.query
    check_ids(q, "after", "before", "begin", "end")
    limit = limit_param(q, "limit", 100, 100)
    inst_type = q.get("instType", "")
    if inst_type and inst_type != "SWAP":
        return ok([])
    inst_id, ord_id = q.get("instId", ""), q.get("ordId", "")
    after, before = q.get("after", ""), q.get("before", "")
    begin, end = q.get("begin", ""), q.get("end", "")
    out = []
    engine = ctx.sim.engine
    for f in reversed(engine.fills):
        if inst_id and f.order.inst_id != inst_id:
            continue
        if ord_id and f.order.ord_id != ord_id:
            continue
        if after and not int(f.bill_id) < int(after):
            continue
        if before and not int(f.bill_id) > int(before):
            continue
        if begin and f.ts < int(begin):
            continue
        if end and f.ts > int(end):
            continue
        out.append(engine.fill_view(f))
        if len(out) >= limit:
            break
    return ok(out)
