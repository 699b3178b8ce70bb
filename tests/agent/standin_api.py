"""A small stand-in for the trading API (aiohttp, real HTTP) for agent tests that need what the real API
cannot give on demand.

Kept for: (1) candle histories with a chosen trend (up / down / flat), so the offline model's decisions
(open long, open short, close against the trend, stand aside) are each tested deterministically;
(2) the scripted-model loop tests, which check what the loop does with tool results (fragments,
reasoning pass-back, retries, timeouts) and need no exchange. Account, trade and risk behaviour is
tested against the real API + simulator (tests/agent/test_tools.py, tests/test_end_to_end.py).

Its answers copy the REAL API's shapes (api_server/account/routes.py, trading/routes.py, account/schemas.py, trading/schemas.py):
balances `{totalEq, usdt{eq,available,frozen,cashBal}, ...}`, `{"positions": [...]}`, `{"orders": [...]}`,
order 201 `{"order", "duplicate", "risk"}`, refusal 422 `{status_code, detail, rule, limit, actual}`,
close-position 201 / 404, `GET /api/trade/risk`, and the agreed position TP/SL endpoint (interface 2:
`POST /api/trade/position-tpsl` -> 200 `{instId, posSide, tpTriggerPx, slTriggerPx, algoIds}`, 404 `field: instId`).
Trading writes take their origin from `X-AiTrader-Origin` (interface 1: validated, 400 naming the header; none =
manual). It records every request it receives, and how many trading writes were in flight at once.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import web

from tests.helpers import serve_app

TOKEN = "test-token-agent"
ORIGIN_RE = re.compile(r"^(agent:run:|agent:chat:|mcp:)[A-Za-z0-9_.:-]{1,64}$")


ALLOWED = {
    "allowed": True,
    "rule": "ok",
    "message": "order within the risk limits",
    "limit": None,
    "actual": None,
    "needsApproval": False,
}


@dataclass
class StandInApi:
    token: str = TOKEN
    price: float = 60000.0
    trend: str = "up"  # shape of the candle closes: up, down or flat
    equity: str = "10000"
    max_order_pct: str = "25"
    positions: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail_paths: dict[str, tuple[int, Any]] = field(default_factory=dict)
    forming_close: float | None = None  # when set: one more, still-forming candle (confirm "0") at this close
    trade_delay: float = 0.0  # seconds each trading write takes (to see whether writes overlap)
    trades_in_flight: int = 0
    max_trades_in_flight: int = 0
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

    async def start(self) -> StandInApi:
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
        app.router.add_get("/api/trade/risk", self._risk)
        app.router.add_post("/api/trade/position-tpsl", self._position_tpsl)
        self._runner, self.port = await serve_app(app)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "query": dict(request.query),
                "body": body,
                "auth": request.headers.get("Authorization"),
                "origin": request.headers.get("X-AiTrader-Origin"),
            }
        )
        if request.path != "/api/health" and request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "unauthorized"}, status=401)
        origin = request.headers.get("X-AiTrader-Origin")
        if origin is not None and not ORIGIN_RE.match(origin):
            return web.json_response(
                {"status_code": 400, "detail": "malformed origin", "field": "X-AiTrader-Origin"}, status=400
            )
        if request.path in self.fail_paths:
            status, payload = self.fail_paths[request.path]
            return web.json_response(payload, status=status)
        if request.method == "POST" and request.path.startswith("/api/trade/"):
            self.trades_in_flight += 1
            self.max_trades_in_flight = max(self.max_trades_in_flight, self.trades_in_flight)
            try:
                if self.trade_delay:
                    await asyncio.sleep(self.trade_delay)
                return await handler(request)
            finally:
                self.trades_in_flight -= 1
        return await handler(request)

    def _inst(self, request: web.Request) -> str:
        inst = request.query.get("instId")
        if not inst:
            raise web.HTTPBadRequest(
                text=json.dumps({"error": "instId is required", "field": "instId"}), content_type="application/json"
            )
        return inst

    async def _ticker(self, request: web.Request) -> web.Response:
        inst = self._inst(request)
        p = str(self.price)
        return web.json_response(
            {
                "instId": inst,
                "last": p,
                "bidPx": p,
                "askPx": p,
                "open24h": p,
                "high24h": p,
                "low24h": p,
                "vol24h": "1000",
                "volCcy24h": "10",
                "ts": "1700000000000",
                "bar": "3m",
                "lastSz": "1",
                "bidSz": "5",
                "askSz": "4",
                "ageMs": 10,
                "source": "ws",
                "barCandle": None,
            }
        )

    async def _candles(self, request: web.Request) -> web.Response:
        inst = self._inst(request)
        limit = int(request.query.get("limit", "100"))
        closes = self.closes()[-limit:]
        rows = [
            {
                "ts": str(1700000000000 + i * 180000),
                "o": str(c),
                "h": str(c + 5),
                "l": str(c - 5),
                "c": str(c),
                "vol": "10",
                "volCcy": "0.1",
                "volCcyQuote": "6000",
                "confirm": "1",
            }
            for i, c in enumerate(closes)
        ]
        if self.forming_close is not None:
            c = self.forming_close
            rows.append(
                {
                    "ts": str(1700000000000 + len(rows) * 180000),
                    "o": str(c),
                    "h": str(c),
                    "l": str(c),
                    "c": str(c),
                    "vol": "1",
                    "volCcy": "0.01",
                    "volCcyQuote": "600",
                    "confirm": "0",
                }
            )
        return web.json_response({"instId": inst, "bar": request.query.get("bar", "3m"), "candles": rows})

    async def _instruments(self, request: web.Request) -> web.Response:
        inst = request.query.get("instId", "BTC-USDT-SWAP")
        return web.json_response(
            [
                {
                    "instId": inst,
                    "instType": "SWAP",
                    "ctVal": "0.01",
                    "ctValCcy": "BTC",
                    "ctMult": "1",
                    "ctType": "linear",
                    "lotSz": "0.01",
                    "minSz": "0.01",
                    "tickSz": "0.1",
                    "lever": "100",
                    "settleCcy": "USDT",
                    "state": "live",
                }
            ]
        )

    async def _books(self, request: web.Request) -> web.Response:
        inst = self._inst(request)

        def level(px: float, sz: str) -> dict[str, str]:
            return {"px": str(px), "sz": sz, "liquidatedOrders": "0", "numOrders": "1"}

        return web.json_response(
            {
                "instId": inst,
                "asks": [level(self.price + 0.1, "5")],
                "bids": [level(self.price - 0.1, "4")],
                "ts": "1700000000000",
            }
        )

    async def _funding(self, request: web.Request) -> web.Response:
        inst = self._inst(request)
        return web.json_response(
            {
                "instId": inst,
                "fundingRate": "0.0001",
                "nextFundingRate": "",
                "fundingTime": "1700000000000",
                "nextFundingTime": "1700028800000",
            }
        )

    async def _balances(self, request: web.Request) -> web.Response:
        e = self.equity
        return web.json_response(
            {
                "totalEq": e,
                "totalEqCcy": "USD",
                "usdt": {"eq": e, "available": e, "frozen": "0", "cashBal": e},
                "tradingEq": e,
                "tradingEqSource": "USDT eq",
                "accountMode": "futures",
                "usdtAvailable": e,
                "usdtFrozen": "0",
                "upl": "0",
                "details": [
                    {"ccy": "USDT", "eq": e, "cashBal": e, "availBal": e, "frozenBal": "0", "upl": "0", "eqUsd": e}
                ],
                "initialEquity": {"amount": None, "setAt": None, "source": None},
                "pnl": None,
                "pnlPct": None,
                "uTime": None,
                "ts": "2026-01-01T00:00:00+00:00",
            }
        )

    async def _positions(self, request: web.Request) -> web.Response:
        return web.json_response({"positions": self.positions})

    async def _orders(self, request: web.Request) -> web.Response:
        return web.json_response({"orders": []})

    async def _risk(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "limits": {
                    "allowedInstIds": ["BTC-USDT-SWAP", "ETH-USDT-SWAP"],
                    "maxLeverage": "10",
                    "maxOrderPct": self.max_order_pct,
                    "maxExposurePct": "100",
                    "dailyLossLimitPct": "5",
                    "requireStopLoss": False,
                    "approvalMode": "auto",
                },
                "state": {
                    "equity": self.equity,
                    "dayLoss": "0",
                    "maxDayLoss": "500",
                    "dailyLossLatched": False,
                    "openExposure": "0",
                    "openExposureByInst": {},
                    "day": "2026-01-01",
                    "dayStartEquity": self.equity,
                    "latchedAt": None,
                    "reopensAt": None,
                    "resetAt": None,
                },
            }
        )

    def _order(self, body: dict[str, Any], purpose: str, sz: Decimal, side: str, origin: str | None) -> dict[str, Any]:
        return {
            "id": len(self.requests),
            "clOrdId": body.get("clOrdId") or uuid.uuid4().hex,
            "ordId": str(10**17 + len(self.requests)),
            "instId": body["instId"],
            "origin": origin or "manual",
            "runId": body.get("runId"),
            "purpose": purpose,
            "side": side,
            "posSide": "net",
            "ordType": body.get("ordType", "market"),
            "tdMode": "cross",
            "sz": str(sz),
            "px": None,
            "reduceOnly": purpose == "close",
            "lever": str(body.get("leverage") or 1),
            "tpTriggerPx": body.get("tpTriggerPx"),
            "slTriggerPx": body.get("slTriggerPx"),
            "state": "filled",
            "accFillSz": str(sz),
            "avgPx": str(self.price),
            "fee": "0",
            "error": None,
            "cancelSource": "",
            "category": "normal",
            "okxSource": "",
            "pnl": None,
            "createdAt": "2026-01-01T00:00:00+00:00",
            "updatedAt": "2026-01-01T00:00:00+00:00",
            "okxCreatedAt": None,
            "okxUpdatedAt": None,
        }

    async def _place(self, request: web.Request) -> web.Response:
        body = await request.json()
        sz = Decimal(body.get("sz") or "0")
        notional = sz * Decimal("0.01") * Decimal(str(self.price))
        limit = Decimal(self.equity) * Decimal(self.max_order_pct) / 100
        if notional > limit:
            return web.json_response(
                {
                    "status_code": 422,
                    "detail": f"order notional {notional} USDT is above the maximum per order "
                    f"{limit} USDT (RISK_MAX_ORDER_PCT)",
                    "rule": "max_order_pct",
                    "limit": str(limit),
                    "actual": str(notional),
                    "refusalId": 1,
                },
                status=422,
            )
        side = "long" if body["side"] == "buy" else "short"
        self.positions.append(
            {
                "instId": body["instId"],
                "mgnMode": "cross",
                "posSide": "net",
                "pos": str(sz if side == "long" else -sz),
                "avgPx": str(self.price),
            }
        )
        order = self._order(body, "order", sz, body["side"], request.headers.get("X-AiTrader-Origin"))
        return web.json_response({"order": order, "duplicate": False, "risk": ALLOWED}, status=201)

    async def _cancel(self, request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response(
            {"canceled": True, "ordId": body.get("ordId"), "clOrdId": body.get("clOrdId"), "order": None}
        )

    async def _close(self, request: web.Request) -> web.Response:
        body = await request.json()
        held = [p for p in self.positions if p["instId"] == body["instId"]]
        if not held:
            return web.json_response(
                {"status_code": 404, "detail": f"no open position in {body['instId']}", "field": "instId"}, status=404
            )
        self.positions = [p for p in self.positions if p["instId"] != body["instId"]]
        pos = Decimal(held[0]["pos"])
        order = self._order(
            body,
            "close",
            abs(pos),
            "sell" if pos > 0 or held[0].get("posSide") == "long" else "buy",
            request.headers.get("X-AiTrader-Origin"),
        )
        return web.json_response(
            {
                "order": order,
                "duplicate": False,
                "risk": {**ALLOWED, "message": "closing / reduce-only order: always allowed"},
            },
            status=201,
        )

    async def _position_tpsl(self, request: web.Request) -> web.Response:
        body = await request.json()
        for key in ("tpTriggerPx", "slTriggerPx"):
            value = body.get(key)
            if value is not None and (not isinstance(value, str) or not re.match(r"^[0-9]+(\.[0-9]+)?$", value)):
                return web.json_response(
                    {"status_code": 400, "detail": f"{key} must be a decimal string", "field": key}, status=400
                )
        pos_side = body.get("posSide") or "net"
        held = [p for p in self.positions if p["instId"] == body.get("instId") and p.get("posSide", "net") == pos_side]
        if not held:
            return web.json_response(
                {"status_code": 404, "detail": f"no open position in {body.get('instId')}", "field": "instId"},
                status=404,
            )
        position = held[0]
        position["tpTriggerPx"], position["slTriggerPx"] = body.get("tpTriggerPx"), body.get("slTriggerPx")
        algo_ids = [
            str(9 * 10**17 + len(self.requests) * 2 + i)
            for i, k in enumerate(("tpTriggerPx", "slTriggerPx"))
            if body.get(k)
        ]
        return web.json_response(
            {
                "instId": position["instId"],
                "posSide": pos_side,
                "tpTriggerPx": body.get("tpTriggerPx"),
                "slTriggerPx": body.get("slTriggerPx"),
                "algoIds": algo_ids,
            }
        )
