"""Wiring: the Simulator (market, engine, WS hub, faults, request log, limiter), its tick loop, and `create_app`."""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
import time
import traceback

from aiohttp import web

from okxsim import control, history, rest
from okxsim.config import SimConfig
from okxsim.control_state import Faults, RateLimiter, RequestLog
from okxsim.engine import Engine
from okxsim.instruments import SPECS
from okxsim.prices import Market, Quote, load_replay_rows
from okxsim.wire import SIM_KEY
from okxsim.ws import Hub


class Simulator:
    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.seed = config.seed if config.seed is not None else random.randrange(2**31)
        now = self.now_ms()
        replay = load_replay_rows(config.replay_file) if config.replay_file else None
        self.market = Market(
            SPECS,
            config.inst_ids,
            seed=self.seed,
            tick_ms=config.tick_ms,
            history_minutes=config.history_minutes,
            now_ms=now,
            replay_closes=replay,
            replay_scale=config.replay_scale,
        )
        specs = {inst_id: SPECS[inst_id] for inst_id in config.inst_ids}
        # Ids start from the start-up clock, so a restarted simulator never repeats one (see engine/ids.py).
        self.engine = Engine(
            specs,
            initial_usdt=config.initial_usdt,
            pos_mode=config.pos_mode,
            id_base=now * 1_000_000,
            holdings=dict(config.holdings),
            acct_lv=config.acct_lv,
            cl_ord_id_live_only=config.cl_ord_id_live_only,
        )
        self.hub = Hub(self)
        self.faults = Faults()
        self.requests = RequestLog()
        self.limiter = RateLimiter()

    # Skew of the simulator's clock against the machine's (POST /_sim/clock); tests use it to check 50102.
    clock_offset_ms = 0

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.clock_offset_ms

    def quotes(self) -> dict[str, Quote]:
        return {inst_id: track.quote for inst_id, track in self.market.tracks.items()}

    async def price_changed(self, inst_ids: list[str], now_ms: int, *, force_push: bool = False) -> None:
        """After prices moved: match resting orders and TP/SL, then push tickers."""
        if not inst_ids:
            return
        quotes = self.quotes()
        for inst_id in inst_ids:
            if self.engine.live or self.engine.positions:
                self.engine.on_quote(inst_id, quotes, now_ms)
            await self.hub.push_ticker(inst_id, force=force_push)

    async def tick_loop(self) -> None:
        interval = self.config.tick_ms / 1000
        loop = asyncio.get_running_loop()
        next_at = loop.time() + interval
        while True:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            next_at = max(next_at + interval, loop.time())
            now = self.now_ms()
            try:
                await self.price_changed(self.market.step(now), now)
            except Exception:  # one bad step must not stop the market
                traceback.print_exc(file=sys.stderr)


@web.middleware
async def request_middleware(request: web.Request, handler):
    """Record /api and /ws requests (secrets redacted) and apply injected faults to the matching REST paths."""
    path = request.path
    if path.startswith("/_sim"):
        return await handler(request)
    sim: Simulator = request.app[SIM_KEY]
    body = (
        (await request.read()).decode("utf-8", "replace") if request.method == "POST" and request.can_read_body else ""
    )
    entry = sim.requests.record(request.method, request.raw_path, request.headers, body)
    response = None
    try:
        fault = None if path.startswith("/ws/") else sim.faults.match(path)
        if fault is not None and fault.execute:
            # The request is carried out (an order executes), then its reply is delayed, replaced or lost.
            response = await handler(request)
            if fault.latency_ms:
                await asyncio.sleep(fault.latency_ms / 1000)
            if fault.drop_reply:
                if request.transport is not None:
                    request.transport.abort()
                raise ConnectionResetError("okxsim fault: reply dropped after execution")
            if fault.answers:
                response = fault.response()
            return response
        if fault is not None:
            if fault.latency_ms:
                await asyncio.sleep(fault.latency_ms / 1000)
            if fault.answers:
                response = fault.response()
        if response is None:
            response = await handler(request)
        return response
    except web.HTTPException as exc:
        response = exc
        raise
    finally:
        entry["status"] = getattr(response, "status", 500) if response is not None else 500


def create_app(config: SimConfig) -> web.Application:
    sim = Simulator(config)
    app = web.Application(middlewares=[request_middleware], client_max_size=1024 * 1024)
    app[SIM_KEY] = sim
    rest.ROUTES.update(history.ROUTES)
    app.router.add_route("GET", "/api/v5/{tail:.*}", rest.dispatch)
    app.router.add_route("POST", "/api/v5/{tail:.*}", rest.dispatch)

    async def public_ws(request: web.Request):
        return await sim.hub.handle(request, "public")

    async def business_ws(request: web.Request):
        return await sim.hub.handle(request, "business")

    async def private_ws(request: web.Request):
        return await sim.hub.handle(request, "private")

    app.router.add_get("/ws/v5/public", public_ws)
    app.router.add_get("/ws/v5/business", business_ws)
    app.router.add_get("/ws/v5/private", private_ws)
    control.add_routes(app)

    async def start_loops(app: web.Application):
        tasks = [asyncio.create_task(sim.tick_loop()), asyncio.create_task(sim.hub.candle_loop())]
        yield
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def close_sockets(app: web.Application) -> None:
        await sim.hub.close_all()

    app.cleanup_ctx.append(start_loops)
    app.on_shutdown.append(close_sockets)
    return app
