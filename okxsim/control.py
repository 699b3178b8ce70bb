"""The control API under /_sim (no auth; for tests and `make run`): prices, pause, faults, WS drops, request log, state."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

import msgspec
from aiohttp import web

from okxsim.control_state import Fault
from okxsim.wire import SIM_KEY, encode, fmt

if TYPE_CHECKING:
    from okxsim.sim_api import SimulatorApi as Simulator


class PriceBody(msgspec.Struct):
    instId: str
    price: str | int | float


class FaultBody(msgspec.Struct):
    status: int | None = None
    code: str | None = None
    count: int | None = None
    latencyMs: int | None = None
    pathPrefix: str = "/api/v5"
    execute: bool = False
    dropReply: bool = False


class ClockBody(msgspec.Struct):
    offsetMs: int


class AccountBody(msgspec.Struct):
    acctLv: str | None = None
    holdings: dict[str, str] | None = None


class ModeBody(msgspec.Struct):
    clOrdIdLiveOnly: bool


class InstrumentStateBody(msgspec.Struct):
    instId: str
    state: str


class DropBody(msgspec.Struct):
    refuseSecs: float | int = 0


def _json(payload: object, status: int = 200) -> web.Response:
    return web.Response(body=encode(payload), status=status, content_type="application/json")


def _bad(field: str, problem: str) -> web.Response:
    return _json({"error": f"{field}: {problem}", "field": field}, 400)


async def _body(request: web.Request, kind: type[msgspec.Struct], *, optional: bool = False):
    raw = await request.read()
    if not raw.strip() and optional:
        raw = b"{}"
    try:
        return msgspec.json.decode(raw, type=kind), None
    except msgspec.ValidationError as exc:
        text = str(exc)
        field = text.rsplit("$.", 1)[-1].strip("` ") if "$." in text else text.split("`")[1] if "`" in text else "body"
        return None, _bad(field, text)
    except msgspec.DecodeError as exc:
        return None, _bad("body", f"invalid JSON ({exc})")


def _sim(request: web.Request) -> Simulator:
    return request.app[SIM_KEY]


async def set_price(request: web.Request) -> web.Response:
    body, problem = await _body(request, PriceBody)
    if problem:
        return problem
    sim = _sim(request)
    track = sim.market.tracks.get(body.instId)
    if track is None:
        return _bad("instId", f"unknown instrument {body.instId!r}; known: {', '.join(sim.market.tracks)}")
    try:
        price = Decimal(str(body.price))
    except InvalidOperation:
        return _bad("price", f"not a number: {body.price!r}")
    if not price.is_finite() or price <= 0:
        return _bad("price", "must be a positive number")
    now = sim.now_ms()
    track.set_price(track.quantize(float(price)) if price % track.tick else price, now)
    await sim.price_changed([body.instId], now, force_push=True)
    return _json({"instId": body.instId, "last": fmt(track.last), "ts": str(now)})


async def pause(request: web.Request) -> web.Response:
    _sim(request).market.paused = True
    return _json({"paused": True})


async def resume(request: web.Request) -> web.Response:
    _sim(request).market.paused = False
    return _json({"paused": False})


async def add_fault(request: web.Request) -> web.Response:
    body, problem = await _body(request, FaultBody)
    if problem:
        return problem
    if body.status is not None and not 100 <= body.status <= 599:
        return _bad("status", "must be an HTTP status 100..599")
    if body.code is not None and not body.code.isdigit():
        return _bad("code", 'must be an OKX code such as "50011"')
    if body.count is not None and body.count < 1:
        return _bad("count", "must be >= 1 (or null for until cleared)")
    if body.latencyMs is not None and not 0 <= body.latencyMs <= 120_000:
        return _bad("latencyMs", "must be 0..120000")
    if not body.pathPrefix.startswith("/"):
        return _bad("pathPrefix", "must start with /")
    if body.status is None and body.code is None and not body.latencyMs and not body.dropReply:
        return _bad("status", "give status, code, latencyMs or dropReply")
    if body.dropReply and not body.execute:
        return _bad("dropReply", "needs execute: true (a reply is only lost after the request ran)")
    faults = _sim(request).faults
    faults.active.append(
        Fault(
            body.status,
            body.code,
            body.count,
            body.latencyMs or 0,
            body.pathPrefix,
            execute=body.execute,
            drop_reply=body.dropReply,
        )
    )
    return _json({"faults": [f.as_json() for f in faults.active]})


async def clear_faults(request: web.Request) -> web.Response:
    _sim(request).faults.active.clear()
    return _json({"faults": []})


async def ws_drop(request: web.Request) -> web.Response:
    body, problem = await _body(request, DropBody, optional=True)
    if problem:
        return problem
    if body.refuseSecs < 0 or body.refuseSecs > 3600:
        return _bad("refuseSecs", "must be 0..3600")
    dropped = _sim(request).hub.drop_all(float(body.refuseSecs))
    return _json({"dropped": dropped, "refuseSecs": body.refuseSecs})


async def ws_notice(request: web.Request) -> web.Response:
    return _json({"notified": await _sim(request).hub.broadcast_notice()})


async def get_requests(request: web.Request) -> web.Response:
    raw = request.query.get("limit", "")
    entries = list(_sim(request).requests.entries)
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            return _bad("limit", "must be a positive integer")
        entries = entries[-int(raw) :]
    return _json({"requests": entries})


async def clear_requests(request: web.Request) -> web.Response:
    _sim(request).requests.entries.clear()
    return _json({"requests": []})


async def reset(request: web.Request) -> web.Response:
    sim = _sim(request)
    sim.engine.reset()
    sim.limiter.clear()
    return _json({"reset": True})


async def state(request: web.Request) -> web.Response:
    sim = _sim(request)
    engine = sim.engine
    quotes = sim.quotes()
    live = sorted(engine.live.values(), key=lambda o: int(o.ord_id), reverse=True)
    done = sorted(
        (o for o in engine.orders.values() if o.state in ("filled", "canceled")),
        key=lambda o: int(o.ord_id),
        reverse=True,
    )
    return _json(
        {
            "posMode": engine.pos_mode,
            "paused": sim.market.paused,
            "prices": {inst: fmt(q.last) for inst, q in quotes.items()},
            "balance": engine.balance_view(quotes, sim.now_ms()),
            "positions": engine.positions_view(quotes),
            "orders": {
                "pending": [engine.order_view(o) for o in live],
                "history": [engine.order_view(o) for o in done[:200]],
            },
            "fills": [engine.fill_view(f) for f in reversed(engine.fills[-200:])],
            "faults": [f.as_json() for f in sim.faults.active],
            "wsConnections": len(sim.hub.connections),
        }
    )


async def set_clock(request: web.Request) -> web.Response:
    body, problem = await _body(request, ClockBody)
    if problem:
        return problem
    if abs(body.offsetMs) > 7 * 86_400_000:
        return _bad("offsetMs", "must be within +-7 days")
    sim = _sim(request)
    sim.clock_offset_ms = body.offsetMs
    return _json({"offsetMs": body.offsetMs, "now": str(sim.now_ms())})


async def set_account(request: web.Request) -> web.Response:
    body, problem = await _body(request, AccountBody)
    if problem:
        return problem
    engine = _sim(request).engine
    if body.acctLv is not None:
        if body.acctLv not in ("1", "2", "3", "4"):
            return _bad("acctLv", 'must be "1", "2", "3" or "4"')
        engine.acct_lv = body.acctLv
    if body.holdings is not None:
        holdings = {}
        for ccy, amount in body.holdings.items():
            try:
                value = Decimal(amount)
            except InvalidOperation:
                return _bad("holdings", f"not a number for {ccy}: {amount!r}")
            if ccy == "USDT" or not value.is_finite() or value < 0:
                return _bad("holdings", f"{ccy}: coins other than USDT, amounts >= 0")
            holdings[ccy] = value
        engine.holdings = holdings
    return _json({"acctLv": engine.acct_lv, "holdings": {c: fmt(v) for c, v in engine.holdings.items()}})


async def set_mode(request: web.Request) -> web.Response:
    body, problem = await _body(request, ModeBody)
    if problem:
        return problem
    _sim(request).engine.cl_ord_id_live_only = body.clOrdIdLiveOnly
    return _json({"clOrdIdLiveOnly": body.clOrdIdLiveOnly})


async def set_instrument_state(request: web.Request) -> web.Response:
    body, problem = await _body(request, InstrumentStateBody)
    if problem:
        return problem
    sim = _sim(request)
    if body.instId not in sim.market.tracks:
        return _bad("instId", f"unknown instrument {body.instId!r}")
    if body.state not in ("live", "suspend", "preopen", "test"):
        return _bad("state", "one of live, suspend, preopen, test")
    sim.engine.inst_state[body.instId] = body.state
    return _json({"instId": body.instId, "state": body.state})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/_sim/clock", set_clock)
    app.router.add_post("/_sim/account", set_account)
    app.router.add_post("/_sim/mode", set_mode)
    app.router.add_post("/_sim/instrument-state", set_instrument_state)
    app.router.add_post("/_sim/price", set_price)
    app.router.add_post("/_sim/pause", pause)
    app.router.add_post("/_sim/resume", resume)
    app.router.add_post("/_sim/faults", add_fault)
    app.router.add_delete("/_sim/faults", clear_faults)
    app.router.add_post("/_sim/ws/drop", ws_drop)
    app.router.add_post("/_sim/notice", ws_notice)
    app.router.add_get("/_sim/requests", get_requests)
    app.router.add_delete("/_sim/requests", clear_requests)
    app.router.add_post("/_sim/reset", reset)
    app.router.add_get("/_sim/state", state)
