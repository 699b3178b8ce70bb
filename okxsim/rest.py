"""OKX v5 REST endpoints: request parsing (msgspec Structs), auth, rate limits, and the OKX envelopes."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Awaitable, Callable

import msgspec
from aiohttp import web

from shared.instruments import is_valid_bar

from okxsim.auth import AUTH_HTTP_STATUS, check_request
from okxsim.control_state import RATE_LIMITS
from okxsim.engine import OrderRejected, OrderRequest, RequestRejected
from okxsim.wire import SIM_KEY, ParamError, error, gateway_error, json_response, ok

if TYPE_CHECKING:
    from okxsim.sim_api import SimulatorApi as Simulator


# ---- request bodies (the typed boundary) --------------------------------------------------------
class AttachAlgoBody(msgspec.Struct):
    tpTriggerPx: str = ""
    tpOrdPx: str = ""
    tpTriggerPxType: str = "last"
    slTriggerPx: str = ""
    slOrdPx: str = ""
    slTriggerPxType: str = "last"
    attachAlgoClOrdId: str = ""


class PlaceOrderBody(msgspec.Struct):
    instId: str = ""
    tdMode: str = ""
    side: str = ""
    ordType: str = ""
    sz: str = ""
    px: str = ""
    posSide: str = ""
    clOrdId: str = ""
    tag: str = ""
    reduceOnly: bool = False
    ccy: str = ""
    tgtCcy: str = ""
    stpMode: str = ""
    attachAlgoOrds: list[AttachAlgoBody] = []


class CancelOrderBody(msgspec.Struct):
    instId: str = ""
    ordId: str = ""
    clOrdId: str = ""


class SetLeverageBody(msgspec.Struct):
    lever: str = ""
    mgnMode: str = ""
    instId: str = ""
    ccy: str = ""
    posSide: str = ""


class SetPositionModeBody(msgspec.Struct):
    posMode: str = ""


class ClosePositionBody(msgspec.Struct):
    instId: str = ""
    mgnMode: str = ""
    posSide: str = ""
    ccy: str = ""
    autoCxl: bool = False
    clOrdId: str = ""
    tag: str = ""


_FIELD_RE = re.compile(r"\$\.(?:[A-Za-z]+\[\d+\]\.)?([A-Za-z]+)`?\s*$|field `([A-Za-z]+)`")


def _decode_body(obj: object, kind: type[msgspec.Struct]) -> msgspec.Struct:
    try:
        return msgspec.convert(obj, kind)
    except msgspec.ValidationError as exc:
        text = str(exc)
        found = _FIELD_RE.search(text)
        raise ParamError(next((g for g in found.groups() if g), "body") if found else "body") from None


# ---- request context --------------------------------------------------------------------------
class Ctx:
    __slots__ = ("sim", "request", "query", "body", "in_us")

    def __init__(self, sim: "Simulator", request: web.Request, body: object, in_us: int) -> None:
        self.sim = sim
        self.request = request
        self.query = request.query
        self.body = body
        self.in_us = in_us

    def trade_envelope(self, data: list, failed: bool) -> web.Response:
        out_us = time.time_ns() // 1000
        if failed:
            return json_response({"code": "1", "data": data, "inTime": str(self.in_us), "msg": "All operations failed", "outTime": str(out_us)})
        return json_response({"code": "0", "data": data, "inTime": str(self.in_us), "msg": "", "outTime": str(out_us)})


def _limit(query, name: str, default: int, maximum: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ParamError(name) from None
    if value < 1:
        raise ParamError(name)
    return min(value, maximum)


def _opt_ts(query, name: str) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise ParamError(name)
    return int(raw)


def _required(query, name: str) -> str:
    value = query.get(name, "")
    if not value:
        raise ParamError(name, empty=True)
    return value


def _track(ctx: Ctx, inst_id: str):
    track = ctx.sim.market.tracks.get(inst_id)
    if track is None:
        raise RequestRejected("51001", "Instrument ID, Instrument ID code or Spread ID doesn't exist.")
    return track


# ---- public -----------------------------------------------------------------------------------
async def public_time(ctx: Ctx) -> web.Response:
    return ok([{"ts": str(ctx.sim.now_ms())}])


async def public_instruments(ctx: Ctx) -> web.Response:
    inst_type = _required(ctx.query, "instType")
    inst_id = ctx.query.get("instId", "")
    if inst_type != "SWAP":
        return ok([])
    specs = [t.spec for t in ctx.sim.market.tracks.values()]
    if inst_id:
        specs = [s for s in specs if s.inst_id == inst_id]
        if not specs:
            raise RequestRejected("51001", "Instrument ID, Instrument ID code or Spread ID doesn't exist.")
    return ok([s.as_okx() for s in specs])


async def market_ticker(ctx: Ctx) -> web.Response:
    track = _track(ctx, _required(ctx.query, "instId"))
    return ok([track.ticker(ctx.sim.now_ms())])


async def market_tickers(ctx: Ctx) -> web.Response:
    inst_type = _required(ctx.query, "instType")
    if inst_type != "SWAP":
        return ok([])
    now = ctx.sim.now_ms()
    return ok([t.ticker(now) for t in ctx.sim.market.tracks.values()])


async def _candles(ctx: Ctx, history: bool) -> web.Response:
    track = _track(ctx, _required(ctx.query, "instId"))
    bar = ctx.query.get("bar", "") or "1m"
    if not is_valid_bar(bar):
        raise ParamError("bar")
    limit = _limit(ctx.query, "limit", 100, 300)
    after = _opt_ts(ctx.query, "after")
    before = _opt_ts(ctx.query, "before")
    return ok(track.candles(bar, ctx.sim.now_ms(), after=after, before=before, limit=limit, history=history))


async def market_candles(ctx: Ctx) -> web.Response:
    return await _candles(ctx, False)


async def market_history_candles(ctx: Ctx) -> web.Response:
    return await _candles(ctx, True)


async def market_books(ctx: Ctx) -> web.Response:
    track = _track(ctx, _required(ctx.query, "instId"))
    depth = _limit(ctx.query, "sz", 1, 400)
    return ok([track.book(depth)])


async def market_trades(ctx: Ctx) -> web.Response:
    track = _track(ctx, _required(ctx.query, "instId"))
    return ok(track.recent_trades(_limit(ctx.query, "limit", 100, 500)))


FUNDING_INTERVAL_MS = 8 * 3_600_000


async def public_funding_rate(ctx: Ctx) -> web.Response:
    track = _track(ctx, _required(ctx.query, "instId"))
    now = ctx.sim.now_ms()
    funding_time = now - now % FUNDING_INTERVAL_MS + FUNDING_INTERVAL_MS
    return ok([{
        "formulaType": "noRate",
        "fundingRate": "0.0001",
        "fundingTime": str(funding_time),
        "impactValue": "",
        "instId": track.spec.inst_id,
        "instType": "SWAP",
        "interestRate": "0.0001",
        "maxFundingRate": "0.00375",
        "method": "current_period",
        "minFundingRate": "-0.00375",
        "nextFundingRate": "",
        "nextFundingTime": str(funding_time + FUNDING_INTERVAL_MS),
        "premium": "0",
        "settFundingRate": "0.0001",
        "settState": "settled",
        "ts": str(now),
    }])


# ---- account ----------------------------------------------------------------------------------
async def account_balance(ctx: Ctx) -> web.Response:
    view = ctx.sim.engine.balance_view(ctx.sim.quotes(), ctx.sim.now_ms())
    ccy = ctx.query.get("ccy", "")
    if ccy and "USDT" not in [c.strip() for c in ccy.split(",")]:
        view["details"] = []
    return ok([view])


async def account_positions(ctx: Ctx) -> web.Response:
    inst_type = ctx.query.get("instType", "")
    if inst_type and inst_type != "SWAP":
        return ok([])
    ids = {i for i in ctx.query.get("instId", "").split(",") if i} or None
    rows = ctx.sim.engine.positions_view(ctx.sim.quotes(), ids)
    pos_ids = {i for i in ctx.query.get("posId", "").split(",") if i}
    if pos_ids:
        rows = [r for r in rows if r["posId"] in pos_ids]
    return ok(rows)


async def account_config(ctx: Ctx) -> web.Response:
    return ok([{
        "acctLv": "2",
        "acctStpMode": "cancel_maker",
        "autoLoan": False,
        "ctIsoMode": "automatic",
        "enableSpotBorrow": False,
        "greeksType": "PA",
        "feeType": "0",
        "ip": "",
        "type": "0",
        "kycLv": "3",
        "label": "okxsim",
        "level": "Lv1",
        "levelTmp": "",
        "liquidationGear": "-1",
        "mainUid": "100000000000000001",
        "mgnIsoMode": "automatic",
        "opAuth": "1",
        "perm": "read_only,trade",
        "posMode": ctx.sim.engine.pos_mode,
        "roleType": "0",
        "spotBorrowAutoRepay": False,
        "spotOffsetType": "",
        "spotRoleType": "0",
        "spotTraderInsts": [],
        "stgyType": "0",
        "traderInsts": [],
        "uid": "100000000000000001",
        "settleCcy": "USDT",
        "settleCcyList": ["USDT"],
    }])


async def account_set_leverage(ctx: Ctx) -> web.Response:
    body = _decode_body(ctx.body, SetLeverageBody)
    lever = ctx.sim.engine.set_leverage(body.instId, body.lever, body.mgnMode)
    return ok([{"lever": str(lever), "mgnMode": body.mgnMode, "instId": body.instId, "posSide": body.posSide}])


async def account_leverage_info(ctx: Ctx) -> web.Response:
    mgn_mode = _required(ctx.query, "mgnMode")
    if mgn_mode not in ("cross", "isolated"):
        raise ParamError("mgnMode")
    rows = []
    for inst_id in _required(ctx.query, "instId").split(","):
        _track(ctx, inst_id)
        rows.append({"instId": inst_id, "mgnMode": mgn_mode, "posSide": "net" if ctx.sim.engine.pos_mode == "net_mode" else "",
                     "lever": str(ctx.sim.engine.lever_for(inst_id, mgn_mode))})
    return ok(rows)


async def account_set_position_mode(ctx: Ctx) -> web.Response:
    body = _decode_body(ctx.body, SetPositionModeBody)
    ctx.sim.engine.set_position_mode(body.posMode)
    return ok([{"posMode": body.posMode}])


# ---- trade ------------------------------------------------------------------------------------
async def trade_place_order(ctx: Ctx) -> web.Response:
    body = _decode_body(ctx.body, PlaceOrderBody)
    req = OrderRequest(
        inst_id=body.instId, td_mode=body.tdMode, side=body.side, ord_type=body.ordType, sz=body.sz, px=body.px,
        pos_side=body.posSide, cl_ord_id=body.clOrdId, tag=body.tag, reduce_only=body.reduceOnly,
        attach_algo_ords=[msgspec.structs.asdict(a) for a in body.attachAlgoOrds],
    )
    now = ctx.sim.now_ms()
    try:
        order = ctx.sim.engine.place_order(req, ctx.sim.quotes(), now)
    except OrderRejected as exc:
        item = {"clOrdId": body.clOrdId, "ordId": "", "sCode": exc.s_code, "sMsg": exc.s_msg, "tag": body.tag, "ts": str(now)}
        return ctx.trade_envelope([item], failed=True)
    item = {"clOrdId": order.cl_ord_id, "ordId": order.ord_id, "sCode": "0", "sMsg": "Order placed", "tag": order.tag, "ts": str(now)}
    return ctx.trade_envelope([item], failed=False)


async def trade_cancel_order(ctx: Ctx) -> web.Response:
    body = _decode_body(ctx.body, CancelOrderBody)
    now = ctx.sim.now_ms()
    try:
        order = ctx.sim.engine.cancel_order(body.instId, body.ordId, body.clOrdId, now)
    except OrderRejected as exc:
        item = {"clOrdId": body.clOrdId, "ordId": body.ordId, "sCode": exc.s_code, "sMsg": exc.s_msg, "ts": str(now)}
        return ctx.trade_envelope([item], failed=True)
    return ctx.trade_envelope([{"clOrdId": order.cl_ord_id, "ordId": order.ord_id, "sCode": "0", "sMsg": "", "ts": str(now)}], failed=False)


async def trade_close_position(ctx: Ctx) -> web.Response:
    body = _decode_body(ctx.body, ClosePositionBody)
    try:
        pos = ctx.sim.engine.close_position(body.instId, body.mgnMode, body.posSide, ctx.sim.quotes(), ctx.sim.now_ms(),
                                            cl_ord_id=body.clOrdId, tag=body.tag)
    except OrderRejected as exc:
        item = {"clOrdId": body.clOrdId, "ordId": "", "sCode": exc.s_code, "sMsg": exc.s_msg, "tag": body.tag}
        return ctx.trade_envelope([item], failed=True)
    return ctx.trade_envelope([{"clOrdId": body.clOrdId, "instId": pos.inst_id, "posSide": pos.pos_side, "tag": body.tag}], failed=False)


async def trade_get_order(ctx: Ctx) -> web.Response:
    engine = ctx.sim.engine
    order = engine.get_order(_required(ctx.query, "instId"), ctx.query.get("ordId", ""), ctx.query.get("clOrdId", ""))
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


def _check_ids(query, *names: str) -> None:
    for name in names:
        value = query.get(name, "")
        if value and not value.isdigit():
            raise ParamError(name)


async def trade_orders_pending(ctx: Ctx) -> web.Response:
    _check_ids(ctx.query, "after", "before")
    limit = _limit(ctx.query, "limit", 100, 100)
    engine = ctx.sim.engine
    return ok([engine.order_view(o) for o in _order_filter(ctx, list(engine.live.values()))[:limit]])


async def trade_orders_history(ctx: Ctx) -> web.Response:
    _required(ctx.query, "instType")
    _check_ids(ctx.query, "after", "before")
    limit = _limit(ctx.query, "limit", 100, 100)
    engine = ctx.sim.engine
    done = [o for o in engine.orders.values() if o.state in ("filled", "canceled")]
    return ok([engine.order_view(o) for o in _order_filter(ctx, done)[:limit]])


async def trade_fills(ctx: Ctx) -> web.Response:
    q = ctx.query
    _check_ids(q, "after", "before", "begin", "end")
    limit = _limit(q, "limit", 100, 100)
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


Handler = Callable[[Ctx], Awaitable[web.Response]]

# (method, path) -> (handler, private)
ROUTES: dict[tuple[str, str], tuple[Handler, bool]] = {
    ("GET", "/api/v5/public/time"): (public_time, False),
    ("GET", "/api/v5/public/instruments"): (public_instruments, False),
    ("GET", "/api/v5/public/funding-rate"): (public_funding_rate, False),
    ("GET", "/api/v5/market/ticker"): (market_ticker, False),
    ("GET", "/api/v5/market/tickers"): (market_tickers, False),
    ("GET", "/api/v5/market/candles"): (market_candles, False),
    ("GET", "/api/v5/market/history-candles"): (market_history_candles, False),
    ("GET", "/api/v5/market/books"): (market_books, False),
    ("GET", "/api/v5/market/trades"): (market_trades, False),
    ("GET", "/api/v5/account/balance"): (account_balance, True),
    ("GET", "/api/v5/account/positions"): (account_positions, True),
    ("GET", "/api/v5/account/config"): (account_config, True),
    ("GET", "/api/v5/account/leverage-info"): (account_leverage_info, True),
    ("POST", "/api/v5/account/set-leverage"): (account_set_leverage, True),
    ("POST", "/api/v5/account/set-position-mode"): (account_set_position_mode, True),
    ("POST", "/api/v5/trade/order"): (trade_place_order, True),
    ("POST", "/api/v5/trade/cancel-order"): (trade_cancel_order, True),
    ("POST", "/api/v5/trade/close-position"): (trade_close_position, True),
    ("GET", "/api/v5/trade/order"): (trade_get_order, True),
    ("GET", "/api/v5/trade/orders-pending"): (trade_orders_pending, True),
    ("GET", "/api/v5/trade/orders-history"): (trade_orders_history, True),
    ("GET", "/api/v5/trade/fills"): (trade_fills, True),
}
_PATHS = {path for _, path in ROUTES}


def _rate_key(scope: str, request: web.Request, body: object) -> tuple:
    user = request.headers.get("OK-ACCESS-KEY", "")
    ip = request.remote or ""
    parts: list[str] = []
    for part in scope.split("+"):
        if part == "ip":
            parts.append(ip)
        elif part == "user":
            parts.append(user)
        else:
            value = request.query.get(part, "")
            if not value and isinstance(body, dict):
                value = str(body.get(part, ""))
            parts.append(value)
    return tuple(parts)


async def dispatch(request: web.Request) -> web.Response:
    """The one entry point for /api/v5/*: route, authenticate, parse, rate-limit, handle."""
    sim: Simulator = request.app[SIM_KEY]
    in_us = time.time_ns() // 1000
    entry = ROUTES.get((request.method, request.path))
    if entry is None:
        if request.path in _PATHS:
            return error("50115", "Invalid request method.", 405)
        return error("404", "Not Found", 404)
    handler, private = entry
    raw_body = (await request.read()).decode("utf-8", "replace") if request.method == "POST" else ""
    if private:
        code = check_request(
            request.headers, request.method, request.raw_path, raw_body,
            api_key=sim.config.api_key, secret=sim.config.api_secret, passphrase=sim.config.passphrase,
            now_s=time.time(), max_skew_s=sim.config.max_clock_skew_secs,
        )
        if code is not None:
            return gateway_error(code, AUTH_HTTP_STATUS)
    body: object = None
    if request.method == "POST":
        if not request.headers.get("Content-Type", "").lower().startswith("application/json"):
            return error("50006", status=400)
        if not raw_body.strip():
            return error("50000", status=400)
        try:
            body = msgspec.json.decode(raw_body)
        except msgspec.DecodeError:
            return error("50002", status=400)
        if not isinstance(body, dict):
            return error("51000", "Parameter body error", 400)
    if sim.config.rate_limits:
        limit = RATE_LIMITS.get((request.method, request.path))
        if limit is not None:
            key = (request.method, request.path) + _rate_key(limit[1], request, body)
            if not sim.limiter.allow(key, limit[0], time.monotonic()):
                return gateway_error("50011", 429)
    try:
        return await handler(Ctx(sim, request, body, in_us))
    except ParamError as exc:
        return exc.response()
    except RequestRejected as exc:
        return error(exc.code, exc.msg, exc.status)
