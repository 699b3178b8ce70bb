"""The public (/ws/v5/public: tickers) and business (/ws/v5/business: candle<bar>) WebSockets."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from typing import TYPE_CHECKING

import msgspec
from aiohttp import WSCloseCode, WSMsgType, web

from shared.instruments import CANDLE_BARS

from okxsim.auth import check_ws_login
from okxsim.wire import encode

if TYPE_CHECKING:
    from okxsim.sim_api import SimulatorApi as Simulator

CANDLE_CHANNELS = {"candle" + bar: bar for bar in CANDLE_BARS}
IDLE_CLOSE_CODE = 4004
NOTICE_64008 = "The connection will soon be closed for a service upgrade. Please reconnect."
ERROR_60018 = "Wrong URL or channel:{channel},instId:{inst_id} doesn't exist. Please use the correct URL, channel and parameters referring to API document."
ERROR_64001 = "This channel has been migrated to the '/business' URL. Please subscribe using the new URL."
CANDLE_PUSH_INTERVAL_S = 1.0


class Connection:
    __slots__ = ("ws", "request", "conn_id", "kind", "subs", "last_sent", "unsubscribed_since", "logged_in")

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, kind: str) -> None:
        self.ws = ws
        self.request = request
        self.conn_id = secrets.token_hex(4)
        self.kind = kind
        self.subs: set[tuple[str, str]] = set()
        self.last_sent = time.monotonic()
        self.unsubscribed_since: float | None = time.monotonic()
        self.logged_in = False

    async def send(self, text: str) -> None:
        if self.ws.closed:
            return
        try:
            await self.ws.send_str(text)
            self.last_sent = time.monotonic()
        except (ConnectionError, RuntimeError):
            pass


class Hub:
    def __init__(self, sim: "Simulator") -> None:
        self.sim = sim
        self.connections: set[Connection] = set()
        self.ticker_subs: dict[str, set[Connection]] = {}
        self.candle_subs: dict[tuple[str, str], set[Connection]] = {}
        self.refuse_until = 0.0
        self._last_push: dict[str, float] = {}
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self._last_candle: dict[tuple[str, str], list[str]] = {}
        self._deferred: set[asyncio.Task] = set()  # keeps throttled pushes alive until they ran

    # ---- pushes ------------------------------------------------------------------------
    def _ticker_text(self, inst_id: str) -> str:
        track = self.sim.market.tracks[inst_id]
        return encode({"arg": {"channel": "tickers", "instId": inst_id}, "data": [track.ticker(self.sim.now_ms())]}).decode()

    async def push_ticker(self, inst_id: str, *, force: bool = False) -> None:
        """Push the newest ticker to subscribers, at most once per `ticker_min_interval_secs` unless forced."""
        subs = self.ticker_subs.get(inst_id)
        if not subs:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        wait = self._last_push.get(inst_id, -1e9) + self.sim.config.ticker_min_interval_secs - now
        if wait > 0 and not force:
            if inst_id not in self._pending:
                self._pending[inst_id] = loop.call_later(wait, self._deferred_push, inst_id)
            return
        handle = self._pending.pop(inst_id, None)
        if handle is not None:
            handle.cancel()
        self._last_push[inst_id] = now
        text = self._ticker_text(inst_id)
        for conn in list(subs):
            await conn.send(text)

    def _deferred_push(self, inst_id: str) -> None:
        self._pending.pop(inst_id, None)
        task = asyncio.ensure_future(self.push_ticker(inst_id))
        self._deferred.add(task)
        task.add_done_callback(self._deferred.discard)

    async def candle_loop(self) -> None:
        """Business-channel candle pushes: the current bar of each subscribed channel, once a second when it changed."""
        while True:
            await asyncio.sleep(CANDLE_PUSH_INTERVAL_S)
            for (channel, inst_id), subs in list(self.candle_subs.items()):
                if not subs:
                    continue
                rows = self.sim.market.tracks[inst_id].candles(CANDLE_CHANNELS[channel], self.sim.now_ms(), after=None, before=None, limit=1, history=False)
                if not rows or self._last_candle.get((channel, inst_id)) == rows[0]:
                    continue
                self._last_candle[(channel, inst_id)] = rows[0]
                text = encode({"arg": {"channel": channel, "instId": inst_id}, "data": rows}).decode()
                for conn in list(subs):
                    await conn.send(text)

    async def broadcast_notice(self) -> int:
        count = 0
        for conn in list(self.connections):
            if conn.kind in ("public", "business"):
                await conn.send(encode({"event": "notice", "code": "64008", "msg": NOTICE_64008, "connId": conn.conn_id}).decode())
                count += 1
        return count

    def drop_all(self, refuse_secs: float) -> int:
        """Close every socket abruptly (no close frame) and refuse new ones for `refuse_secs`."""
        self.refuse_until = time.monotonic() + max(0.0, refuse_secs)
        count = 0
        for conn in list(self.connections):
            transport = conn.request.transport
            if transport is not None:
                transport.abort()
            self._forget(conn)
            count += 1
        return count

    async def close_all(self) -> None:
        for conn in list(self.connections):
            with contextlib.suppress(Exception):
                await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
            self._forget(conn)

    def _forget(self, conn: Connection) -> None:
        self.connections.discard(conn)
        for key in conn.subs:
            channel, inst_id = key
            if channel == "tickers":
                self.ticker_subs.get(inst_id, set()).discard(conn)
            else:
                self.candle_subs.get(key, set()).discard(conn)
        conn.subs.clear()

    # ---- protocol ----------------------------------------------------------------------
    async def _error(self, conn: Connection, code: str, msg: str, req_id: str | None) -> None:
        event: dict = {"event": "error", "code": code, "msg": msg, "connId": conn.conn_id}
        if req_id is not None:
            event = {"id": req_id, **event}
        await conn.send(encode(event).decode())

    async def _handle_text(self, conn: Connection, text: str) -> None:
        if text == "ping":
            await conn.send("pong")
            return
        try:
            message = msgspec.json.decode(text)
        except msgspec.DecodeError:
            await self._error(conn, "60012", f"Invalid request: {text}", None)
            return
        if not isinstance(message, dict):
            await self._error(conn, "60012", f"Invalid request: {text}", None)
            return
        req_id = message.get("id")
        req_id = str(req_id) if req_id is not None else None
        op = message.get("op")
        args = message.get("args")
        if op not in ("subscribe", "unsubscribe", "login"):
            if op is None:
                await self._error(conn, "60012", f"Invalid request: {text}", req_id)
            else:
                await self._error(conn, "60019", f"Invalid op: {op}", req_id)
            return
        if not isinstance(args, list) or not args or not all(isinstance(a, dict) for a in args):
            await self._error(conn, "60012", f"Invalid request: {text}", req_id)
            return
        if op == "login":
            cfg = self.sim.config
            code = check_ws_login(args[0], api_key=cfg.api_key, secret=cfg.api_secret, passphrase=cfg.passphrase,
                                  now_s=time.time(), max_skew_s=cfg.max_clock_skew_secs)
            if code is None:
                conn.logged_in = True
                ack = {"event": "login", "code": "0", "msg": "", "connId": conn.conn_id}
                await conn.send(encode({"id": req_id, **ack} if req_id else ack).decode())
            else:
                await self._error(conn, "60009", "Login failed.", req_id)
            return
        for arg in args:
            channel = arg.get("channel")
            inst_id = arg.get("instId")
            if not isinstance(channel, str) or not channel or not isinstance(inst_id, str):
                await self._error(conn, "60012", f"Invalid request: {text}", req_id)
                continue
            if conn.kind == "public" and channel in CANDLE_CHANNELS:
                await self._error(conn, "64001", ERROR_64001, req_id)
                continue
            valid_channel = (channel == "tickers" and conn.kind == "public") or (channel in CANDLE_CHANNELS and conn.kind == "business")
            if not valid_channel or inst_id not in self.sim.market.tracks:
                await self._error(conn, "60018", ERROR_60018.format(channel=channel, inst_id=inst_id), req_id)
                continue
            key = (channel, inst_id)
            subs = self.ticker_subs.setdefault(inst_id, set()) if channel == "tickers" else self.candle_subs.setdefault(key, set())
            ack: dict = {"event": op, "arg": {"channel": channel, "instId": inst_id}, "connId": conn.conn_id}
            if req_id is not None:
                ack = {"id": req_id, **ack}
            if op == "subscribe":
                conn.subs.add(key)
                subs.add(conn)
                conn.unsubscribed_since = None
                await conn.send(encode(ack).decode())
                await self._snapshot(conn, channel, inst_id)
            else:
                conn.subs.discard(key)
                subs.discard(conn)
                if not conn.subs:
                    conn.unsubscribed_since = time.monotonic()
                await conn.send(encode(ack).decode())

    async def _snapshot(self, conn: Connection, channel: str, inst_id: str) -> None:
        """OKX sends the current state right after a subscription."""
        if channel == "tickers":
            await conn.send(self._ticker_text(inst_id))
            return
        rows = self.sim.market.tracks[inst_id].candles(CANDLE_CHANNELS[channel], self.sim.now_ms(), after=None, before=None, limit=1, history=False)
        await conn.send(encode({"arg": {"channel": channel, "instId": inst_id}, "data": rows}).decode())

    async def _watchdog(self, conn: Connection) -> None:
        """Close with 4004 after `ws_idle_secs` without a subscription, or without anything sent."""
        idle = self.sim.config.ws_idle_secs
        step = min(1.0, idle / 5)
        while not conn.ws.closed:
            await asyncio.sleep(step)
            now = time.monotonic()
            no_sub = conn.unsubscribed_since is not None and now - conn.unsubscribed_since >= idle
            if no_sub or now - conn.last_sent >= idle:
                await conn.ws.close(code=IDLE_CLOSE_CODE, message=b"No data received in 30s")
                return

    async def handle(self, request: web.Request, kind: str) -> web.StreamResponse:
        if time.monotonic() < self.refuse_until:
            return web.Response(status=503, text="WebSocket connections refused for now (okxsim /_sim/ws/drop)")
        ws = web.WebSocketResponse(autoping=True, max_msg_size=64 * 1024)
        await ws.prepare(request)
        conn = Connection(ws, request, kind)
        self.connections.add(conn)
        watchdog = asyncio.create_task(self._watchdog(conn))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._handle_text(conn, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await self._error(conn, "60012", "Invalid request: binary frame", None)
        finally:
            watchdog.cancel()
            self._forget(conn)
        return ws
