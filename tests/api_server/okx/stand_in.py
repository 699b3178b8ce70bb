"""A small stand-in for OKX on a real socket (aiohttp server): scripted REST replies and a public WebSocket.

REST: `script(method, path, *replies)` queues (status, body) replies for one endpoint; the last reply repeats.
Every request is recorded with its raw target, headers and body, and the signature is checked with
`shared.okx_auth.sign` over exactly what arrived. Unscripted paths answer 404 with an OKX-shaped body.

WebSocket `/ws/v5/public`: answers subscribe ops (ack per arg, 60018 for unknown instruments), `ping` → `pong`
(unless `answer_pings` is off), pushes a ticker per subscribed instrument every `push_every` seconds while
`pushing`; `drop()` aborts every socket, `refuse` rejects new upgrades, `notice()` sends OKX's 64008.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from shared.okx_auth import sign
from tests.helpers import FIXTURES, free_port

SECRET = "22582BD0CFF14C41EDBF1AB98506286D"  # the OKX docs' example secret
API_KEY = "test-key-123"
PASSPHRASE = "test-pass"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text()


def fixture_lines(name: str) -> list[str]:
    return [line for line in fixture_text(name).splitlines() if line.strip()]


@dataclass
class Recorded:
    method: str
    raw_path: str
    path: str
    headers: dict[str, str]
    body: str
    signature_ok: bool | None  # None when the request was not signed


@dataclass
class Reply:
    status: int
    body: str
    delay: float = 0.0


@dataclass
class WsBehaviour:
    known: set[str] = field(default_factory=lambda: {"BTC-USDT-SWAP", "ETH-USDT-SWAP"})
    answer_pings: bool = True
    pushing: bool = True
    push_every: float = 0.02
    refuse: bool = False


class OkxStandIn:
    def __init__(self) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws/v5/public"
        self._replies: dict[tuple[str, str], list[Reply]] = {}
        self.requests: list[Recorded] = []
        self.ws = WsBehaviour()
        self.ws_connections = 0
        self.ws_received: list[str] = []
        self.ws_subscribe_ops: list[dict[str, Any]] = []
        self.pings = 0
        self._sockets: list[tuple[web.WebSocketResponse, web.Request]] = []
        self._runner: web.AppRunner | None = None
        self.ws_price = 100.0
        self.rest_ticker_last = "555.5"

    # -- REST scripting ------------------------------------------------------------------------------
    def script(self, method: str, path: str, *replies: Reply | tuple[int, str]) -> None:
        self._replies[(method, path)] = [r if isinstance(r, Reply) else Reply(*r) for r in replies]

    def count(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if r.method == method and r.path == path)

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        body = await request.text()
        signature = request.headers.get("OK-ACCESS-SIGN")
        signature_ok = None
        if signature is not None:
            expected = sign(
                SECRET, request.headers.get("OK-ACCESS-TIMESTAMP", ""), request.method, request.raw_path, body
            )
            signature_ok = signature == expected
        self.requests.append(
            Recorded(request.method, request.raw_path, request.path, dict(request.headers), body, signature_ok)
        )
        if request.path == "/api/v5/market/ticker" and (request.method, request.path) not in self._replies:
            return web.Response(
                text=self._rest_ticker(request.query.get("instId", "")), content_type="application/json"
            )
        queue = self._replies.get((request.method, request.path))
        if not queue:
            return web.Response(
                status=404, text='{"code":"50005","msg":"not scripted"}', content_type="application/json"
            )
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if reply.delay:
            await asyncio.sleep(reply.delay)
        return web.Response(status=reply.status, text=reply.body, content_type="application/json")

    def _rest_ticker(self, inst_id: str) -> str:
        ts = str(int(time.time() * 1000))  # wall-clock ms, like OKX (and like the pushes)
        item = {
            "instType": "SWAP",
            "instId": inst_id,
            "last": self.rest_ticker_last,
            "lastSz": "1",
            "askPx": "555.6",
            "askSz": "1",
            "bidPx": "555.4",
            "bidSz": "1",
            "open24h": "500",
            "high24h": "600",
            "low24h": "400",
            "volCcy24h": "1",
            "vol24h": "100",
            "ts": ts,
            "sodUtc0": "1",
            "sodUtc8": "1",
        }
        return json.dumps({"code": "0", "msg": "", "data": [item]})

    # -- WebSocket -----------------------------------------------------------------------------------
    async def _ws(self, request: web.Request) -> web.StreamResponse:
        if self.ws.refuse:
            return web.Response(status=503, text="refused")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.ws_connections += 1
        entry = (ws, request)
        self._sockets.append(entry)
        subscribed: list[str] = []
        pusher = asyncio.create_task(self._push(ws, subscribed))
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                self.ws_received.append(msg.data)
                if msg.data == "ping":
                    self.pings += 1
                    if self.ws.answer_pings:
                        await ws.send_str("pong")
                    continue
                op = json.loads(msg.data)
                if op.get("op") == "subscribe":
                    self.ws_subscribe_ops.append(op)
                    for arg in op["args"]:
                        inst_id = arg["instId"]
                        if inst_id in self.ws.known:
                            await ws.send_str(json.dumps({"event": "subscribe", "arg": arg, "connId": "c0ffee01"}))
                            subscribed.append(inst_id)
                        else:
                            await ws.send_str(
                                json.dumps(
                                    {
                                        "event": "error",
                                        "code": "60018",
                                        "connId": "c0ffee01",
                                        "msg": f"Wrong URL or channel:tickers,instId:{inst_id} doesn't exist. Please use the correct URL, channel and parameters referring to API document.",
                                    }
                                )
                            )
        finally:
            pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pusher
            with contextlib.suppress(ValueError):
                self._sockets.remove(entry)
        return ws

    def push_frame(self, inst_id: str, last: str, ts: int) -> str:
        data = {
            "instType": "SWAP",
            "instId": inst_id,
            "last": last,
            "lastSz": "3",
            "askPx": last,
            "askSz": "4",
            "bidPx": last,
            "bidSz": "482",
            "open24h": "31671.1",
            "high24h": "32450",
            "low24h": "31234.8",
            "sodUtc0": "31743.6",
            "sodUtc8": "32052.7",
            "volCcy24h": "122143.88",
            "vol24h": "12214388",
            "ts": str(ts),
        }
        return json.dumps({"arg": {"channel": "tickers", "instId": inst_id}, "data": [data]})

    async def _push(self, ws: web.WebSocketResponse, subscribed: list[str]) -> None:
        while not ws.closed:
            await asyncio.sleep(self.ws.push_every)
            if not self.ws.pushing:
                continue
            for inst_id in list(subscribed):
                self.ws_price += 0.1
                ts = int(time.time() * 1000)
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.send_str(self.push_frame(inst_id, f"{self.ws_price:.1f}", ts))

    def drop(self) -> None:
        """Abort every WebSocket's TCP connection (no close frame)."""
        for _ws, request in list(self._sockets):
            if request.transport is not None:
                request.transport.abort()

    async def notice(self) -> None:
        for ws, _ in list(self._sockets):
            await ws.send_str(fixture_text("ws_notice_64008.docs.json"))

    async def send_all(self, text: str) -> None:
        for ws, _ in list(self._sockets):
            await ws.send_str(text)

    @property
    def open_sockets(self) -> int:
        return len(self._sockets)

    # -- lifecycle -----------------------------------------------------------------------------------
    async def start(self) -> OkxStandIn:
        app = web.Application()
        app.router.add_get("/ws/v5/public", self._ws)
        app.router.add_route("*", "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        self.drop()
        if self._runner is not None:
            await self._runner.cleanup()
