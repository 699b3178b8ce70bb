"""A small stand-in for the trading API (aiohttp, real HTTP) for agent tests of tool plumbing.

It speaks the documented paths and bodies of docs/ARCHITECTURE.md / CONTRACT §4 with canned market
data (a deterministic price path) and a toy risk rule, and records every request it receives.
It exists only until the real account/trade endpoints are ready; market tests can use the real API.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import web

from tests.helpers import free_port

TOKEN = "test-token-agent"


@dataclass
class StandInApi:
    token: str = TOKEN
    price: float = 60000.0
    trend: str = "up"  # shape of the candle closes: up, down or flat
    equity: str = "10000"
    max_notional_usdt: float = 20000.0
    positions: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail_paths: dict[str, tuple[int, Any]] = field(default_factory=dict)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def orders(self) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests if r["path"] == "/api/trade/order"]

    def closes(self) -> list[float]:
        """120 closes ending at `price`: a 2% drift (up/down) under a saw-tooth, so RSI stays between 30 and 70."""
        out = []
        for i in range(120):
            drift = {"up": 0.02, "down": -0.02}.get(self.trend, 0.0) * (i - 119) / 119
            out.append(round(self.price * (1 + drift) + 80 * math.sin(i * 2.1), 1))
        out[-1] = self.price
        return out

    async def start(self) -> "StandInApi":
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/api/health", lambda r: web.json_response({"status": "ok"}))
        app.router.add_get("/api/market/ticker", self._ticker)
        app.router.add_get("/api/market/candles", self._candles)
        app.router.add_get("/api/market/instruments", self._instruments)
        app.router.add_get("/api/market/books", self._books)
        app.router.add_get("/api/market/funding-rate", self._funding)
        app.router.add_get("/api/account/balances", self._balances)
        app.router.add_get("/api/account/positions", self._positions)
        app.router.add_get("/api/account/orders", self._orders)
        app.router.add_post("/api/trade/order", self._place)
        app.router.add_post("/api/trade/cancel", self._cancel)
        app.router.add_post("/api/trade/close-position", self._close)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        self.port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        self.requests.append({"method": request.method, "path": request.path, "query": dict(request.query), "body": body,
                              "auth": request.headers.get("Authorization")})
        if request.path != "/api/health" and request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "unauthorized"}, status=401)
        if request.path in self.fail_paths:
            status, payload = self.fail_paths[request.path]
            return web.json_response(payload, status=status)
        return await handler(request)

    def _inst(self, request: web.Request) -> str:
        inst = request.query.get("instId")
        if not inst:
            raise web.HTTPBadRequest(text=json.dumps({"error": "instId is required", "field": "instId"}), content_type="application/json")
        return inst

    async def _ticker(self, request: web.Request) -> web.Response:
        inst = self._inst(request)
        p = str(self.price)
        return web.json_response({"instId": inst, "last": p, "bidPx": p, "askPx": p, "open24h": p, "high24h": p, "low24h": p,
                                  "vol24h": "1000", "volCcy24h": "10", "ts": "1700000000000", "bar": "3m"})

    async def _candles(self, request: web.Request) -> web.Response:
        inst = self._inst(request)
        limit = int(request.query.get("limit", "100"))
        closes = self.closes()[-limit:]
        rows = [
            {"ts": str(1700000000000 + i * 180000), "o": str(c), "h": str(c + 5), "l": str(c - 5), "c": str(c), "vol": "10",
             "volCcy": "0.1", "volCcyQuote": "6000", "confirm": "1"}
            for i, c in enumerate(closes)
        ]
        return web.json_response({"instId": inst, "bar": request.query.get("bar", "3m"), "candles": rows})

    async def _instruments(self, request: web.Request) -> web.Response:
        inst = request.query.get("instId", "BTC-USDT-SWAP")
        return web.json_response([{"instId": inst, "instType": "SWAP", "ctVal": "0.01", "ctValCcy": "BTC", "ctMult": "1",
                                   "ctType": "linear", "lotSz": "0.01", "minSz": "0.01", "tickSz": "0.1", "lever": "100",
                                   "settleCcy": "USDT", "state": "live"}])

    async def _books(self, request: web.Request) -> web.Response:
        inst = self._inst(request)
        return web.json_response({"instId": inst, "asks": [[str(self.price + 0.1), "5", "0", "1"]],
                                  "bids": [[str(self.price - 0.1), "4", "0", "1"]], "ts": "1700000000000"})

    async def _funding(self, request: web.Request) -> web.Response:
        inst = self._inst(request)
        return web.json_response({"instId": inst, "fundingRate": "0.0001", "nextFundingRate": "", "fundingTime": "1700000000000",
                                  "nextFundingTime": "1700028800000"})

    async def _balances(self, request: web.Request) -> web.Response:
        return web.json_response({"totalEq": self.equity, "usdt": {"available": self.equity, "frozen": "0"}})

    async def _positions(self, request: web.Request) -> web.Response:
        return web.json_response(self.positions)

    async def _orders(self, request: web.Request) -> web.Response:
        return web.json_response([])

    async def _place(self, request: web.Request) -> web.Response:
        body = await request.json()
        sz = Decimal(body.get("sz") or "0")
        notional = float(sz) * 0.01 * self.price
        if notional > self.max_notional_usdt:
            return web.json_response({"error": "risk guard refused the order", "rule": "max_position_notional",
                                      "limitUsdt": str(self.max_notional_usdt), "requestedUsdt": f"{notional:.2f}",
                                      "field": "sz"}, status=422)
        side = "long" if body["side"] == "buy" else "short"
        self.positions.append({"instId": body["instId"], "posSide": "net", "pos": str(sz if side == "long" else -sz),
                               "avgPx": str(self.price)})
        return web.json_response({"ordId": uuid.uuid4().hex[:12], "clOrdId": body.get("clOrdId") or "agentgen1",
                                  "state": "filled", "origin": "agent" if body.get("runId") else "manual",
                                  "runId": body.get("runId")})

    async def _cancel(self, request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response({"ordId": body.get("ordId"), "state": "canceled"})

    async def _close(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.positions = [p for p in self.positions if p["instId"] != body["instId"]]
        return web.json_response({"instId": body["instId"], "closed": True, "runId": body.get("runId")})
