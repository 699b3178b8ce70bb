"""The three OKX WebSocket URLs: /ws/v5/public, /ws/v5/business, /ws/v5/private.

Shared rules (OKX_FACTS §4.2-4.6): text `ping` -> `pong`; `op` one of subscribe/unsubscribe/login, else 60019;
malformed -> 60012; `login` signed over timestamp + "GET" + "/users/self/verify" (base64 HMAC-SHA256), a
failed login answers its error event and closes the socket with 4001; 30 s without a subscription or
without anything sent closes with 4004. Market data lives in public.py, the account channels in private.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

import msgspec
from aiohttp import WSCloseCode, WSMsgType, web

from okxsim.auth import check_ws_login
from okxsim.ws.connection import (
    ERROR_60018,
    IDLE_CLOSE_CODE,
    LOGIN_FAILED_CLOSE_CODE,
    LOGIN_MESSAGES,
    NOTICE_64008,
    Connection,
)
from okxsim.ws.private import AccountChannels, is_account_channel
from okxsim.ws.public import CANDLE_CHANNELS, MarketChannels, is_market_channel

if TYPE_CHECKING:
    from okxsim.sim_api import SimulatorApi as Simulator

__all__ = ["CANDLE_CHANNELS", "IDLE_CLOSE_CODE", "Hub"]


class Hub:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.connections: set[Connection] = set()
        self.refuse_until = 0.0
        self.market = MarketChannels(sim)
        self.account = AccountChannels(sim)

    # ---- what the simulator drives -------------------------------------------------------
    async def push_ticker(self, inst_id: str, *, force: bool = False) -> None:
        await self.market.push_ticker(inst_id, force=force)

    async def candle_loop(self) -> None:
        await self.market.candle_loop()

    async def broadcast_notice(self) -> int:
        """OKX's 64008 service-upgrade notice goes to public and private connections (docs `notification.md`)."""
        count = 0
        for conn in list(self.connections):
            if conn.kind not in ("public", "private"):
                continue
            await conn.send_json({"event": "notice", "code": "64008", "msg": NOTICE_64008, "connId": conn.conn_id})
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
        await self.account.stop()

    def _forget(self, conn: Connection) -> None:
        self.connections.discard(conn)
        self.market.forget(conn)
        self.account.forget(conn)

    # ---- protocol ----------------------------------------------------------------------
    async def _handle_text(self, conn: Connection, text: str) -> None:
        if text == "ping":
            await conn.send("pong")
            return
        try:
            message = msgspec.json.decode(text)
        except msgspec.DecodeError:
            await conn.error("60012", f"Invalid request: {text}", None)
            return
        if not isinstance(message, dict):
            await conn.error("60012", f"Invalid request: {text}", None)
            return
        req_id = message.get("id")
        req_id = str(req_id) if req_id is not None else None
        op = message.get("op")
        args = message.get("args")
        if op not in ("subscribe", "unsubscribe", "login"):
            if op is None:
                await conn.error("60012", f"Invalid request: {text}", req_id)
            else:
                await conn.error("60019", f"Invalid op: {op}", req_id)
            return
        if not isinstance(args, list) or not args or not all(isinstance(a, dict) for a in args):
            await conn.error("60012", f"Invalid request: {text}", req_id)
            return
        if op == "login":
            await self._login(conn, args[0], req_id)
            return
        for arg in args:
            channel = arg.get("channel")
            if not isinstance(channel, str) or not channel:
                await conn.error("60012", f"Invalid request: {text}", req_id)
            elif is_market_channel(channel):
                await self.market.on_arg(conn, op, arg, req_id, text)
            elif is_account_channel(channel):
                await self.account.on_arg(conn, op, arg, req_id, text)
            else:
                await conn.error("60018", ERROR_60018.format(channel=channel, inst_id=arg.get("instId", "")), req_id)

    async def _login(self, conn: Connection, arg: dict, req_id: str | None) -> None:
        cfg = self.sim.config
        code = check_ws_login(
            arg,
            api_key=cfg.api_key,
            secret=cfg.api_secret,
            passphrase=cfg.passphrase,
            now_s=time.time(),
            max_skew_s=cfg.max_clock_skew_secs,
        )
        if code is None:
            conn.logged_in = True
            await conn.event({"event": "login", "code": "0", "msg": "", "connId": conn.conn_id}, req_id)
            return
        await conn.error(code, LOGIN_MESSAGES.get(code, LOGIN_MESSAGES["60009"]), req_id)
        with contextlib.suppress(Exception):
            await conn.ws.close(code=LOGIN_FAILED_CLOSE_CODE, message=b"Login Failed")

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
                    await conn.error("60012", "Invalid request: binary frame", None)
        finally:
            watchdog.cancel()
            self._forget(conn)
        return ws
