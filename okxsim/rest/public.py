"""Public REST endpoints: time, instruments, funding, mark price, price limit, market data."""

from __future__ import annotations

from aiohttp import web

from okxsim.engine import RequestRejected
from okxsim.rest.common import Ctx, limit_param, opt_ts, required, track_of
from okxsim.wire import ParamError, fmt, ok
from shared.instruments import is_valid_bar


async def public_time(ctx: Ctx) -> web.Response:
    return ok([{"ts": str(ctx.sim.now_ms())}])


async def public_instruments(ctx: Ctx) -> web.Response:
    inst_type = required(ctx.query, "instType")
    inst_id = ctx.query.get("instId", "")
    if inst_type != "SWAP":
        return ok([])
    specs = [t.spec for t in ctx.sim.market.tracks.values()]
    if inst_id:
        specs = [s for s in specs if s.inst_id == inst_id]
        if not specs:
            raise RequestRejected("51001", "Instrument ID, Instrument ID code or Spread ID doesn't exist.")
    states = ctx.sim.engine.inst_state
    return ok([{**s.as_okx(), "state": states.get(s.inst_id, "live")} for s in specs])


async def market_ticker(ctx: Ctx) -> web.Response:
    track = track_of(ctx, required(ctx.query, "instId"))
    return ok([track.ticker(ctx.sim.now_ms())])


async def market_tickers(ctx: Ctx) -> web.Response:
    inst_type = required(ctx.query, "instType")
    if inst_type != "SWAP":
        return ok([])
    now = ctx.sim.now_ms()
    return ok([t.ticker(now) for t in ctx.sim.market.tracks.values()])


async def _candles(ctx: Ctx, history: bool) -> web.Response:
    track = track_of(ctx, required(ctx.query, "instId"))
    bar = ctx.query.get("bar", "") or "1m"
    if not is_valid_bar(bar):
        raise ParamError("bar")
    limit = limit_param(ctx.query, "limit", 100, 300)
    after = opt_ts(ctx.query, "after")
    before = opt_ts(ctx.query, "before")
    return ok(track.candles(bar, ctx.sim.now_ms(), after=after, before=before, limit=limit, history=history))


async def market_candles(ctx: Ctx) -> web.Response:
    return await _candles(ctx, False)


async def market_history_candles(ctx: Ctx) -> web.Response:
    return await _candles(ctx, True)


async def market_books(ctx: Ctx) -> web.Response:
    track = track_of(ctx, required(ctx.query, "instId"))
    depth = limit_param(ctx.query, "sz", 1, 400)
    return ok([track.book(depth)])


async def market_trades(ctx: Ctx) -> web.Response:
    track = track_of(ctx, required(ctx.query, "instId"))
    return ok(track.recent_trades(limit_param(ctx.query, "limit", 100, 500)))


FUNDING_INTERVAL_MS = 8 * 3_600_000


async def public_funding_rate(ctx: Ctx) -> web.Response:
    track = track_of(ctx, required(ctx.query, "instId"))
    now = ctx.sim.now_ms()
    funding_time = now - now % FUNDING_INTERVAL_MS + FUNDING_INTERVAL_MS
    return ok(
        [
            {
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
            }
        ]
    )


def _swap_tracks(ctx: Ctx) -> list:
    inst_type = required(ctx.query, "instType")
    if inst_type != "SWAP":
        return []
    inst_id = ctx.query.get("instId", "")
    if inst_id:
        return [track_of(ctx, inst_id)]
    return list(ctx.sim.market.tracks.values())


async def public_mark_price(ctx: Ctx) -> web.Response:
    """The simulator has one price per instrument: mark = last (as in the margin model)."""
    now = str(ctx.sim.now_ms())
    return ok(
        [
            {"instType": "SWAP", "instId": t.spec.inst_id, "markPx": fmt(t.quote.last), "ts": now}
            for t in _swap_tracks(ctx)
        ]
    )


async def public_price_limit(ctx: Ctx) -> web.Response:
    track = track_of(ctx, required(ctx.query, "instId"))
    buy, sell = ctx.sim.engine.price_limit(track.spec.inst_id, ctx.sim.quotes())
    return ok(
        [
            {
                "instType": "SWAP",
                "instId": track.spec.inst_id,
                "buyLmt": fmt(buy),
                "sellLmt": fmt(sell),
                "ts": str(ctx.sim.now_ms()),
                "enabled": True,
            }
        ]
    )
