"""One WebSocket connection and the wire messages every OKX WebSocket URL shares (events, errors, login)."""

from __future__ import annotations

import secrets
import time

from aiohttp import web

from okxsim.wire import encode

IDLE_CLOSE_CODE = 4004
LOGIN_FAILED_CLOSE_CODE = 4001
NOTICE_64008 = "The connection will soon be closed for a service upgrade. Please reconnect."
ERROR_60018 = (
    "Wrong URL or channel:{channel},instId:{inst_id} doesn't exist. Please use the correct URL, channel and "
    "parameters referring to API document."
)
ERROR_64001 = "This channel has been migrated to the '/business' URL. Please subscribe using the new URL."
# OKX's WebSocket error table (docs `error/code/websocket-public.md`); the login texts are the ones OKX sends
# (e.g. {"event":"error","msg":"Invalid sign","code":"60007"}, python-okx issue #17).
LOGIN_MESSAGES = {
    "60004": "Invalid timestamp",
    "60005": "Invalid apiKey",
    "60006": "Timestamp request expired",
    "60007": "Invalid sign",
    "60009": "Login failed.",
    "60024": "Wrong passphrase",
}
PLEASE_LOG_IN = ("60011", "Please log in")
# The account the simulator holds (same uid as /api/v5/account/config); private pushes name it in `arg.uid`.
SIM_UID = "100000000000000001"


class Connection:
    __slots__ = (
        "conn_id",
        "kind",
        "last_sent",
        "logged_in",
        "private_subs",
        "request",
        "snapshot_due",
        "subs",
        "unsubscribed_since",
        "ws",
    )

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, kind: str) -> None:
        self.ws = ws
        self.request = request
        self.conn_id = secrets.token_hex(4)
        self.kind = kind  # public | business | private
        self.subs: set[tuple[str, str]] = set()  # market-data subscriptions: (channel, instId)
        # Account subscriptions: (channel, instType, instFamily, instId) -> the arg as the client sent it.
        self.private_subs: dict[tuple[str, str, str, str], dict[str, str]] = {}
        # positions subscriptions with regular snapshots: key -> (next due, monotonic; interval in s)
        self.snapshot_due: dict[tuple[str, str, str, str], tuple[float, float]] = {}
        self.last_sent = time.monotonic()
        self.unsubscribed_since: float | None = time.monotonic()
        self.logged_in = False

    @property
    def has_subscription(self) -> bool:
        return bool(self.subs or self.private_subs)

    def subscription_changed(self) -> None:
        if self.has_subscription:
            self.unsubscribed_since = None
        elif self.unsubscribed_since is None:
            self.unsubscribed_since = time.monotonic()

    async def send(self, text: str) -> None:
        if self.ws.closed:
            return
        try:
            await self.ws.send_str(text)
            self.last_sent = time.monotonic()
        except (ConnectionError, RuntimeError):
            pass

    async def send_json(self, payload: dict) -> None:
        await self.send(encode(payload).decode())

    async def event(self, payload: dict, req_id: str | None) -> None:
        """An event reply (`subscribe`, `login`, `error`…); OKX echoes the request's `id` first when one was sent."""
        await self.send_json({"id": req_id, **payload} if req_id is not None else payload)

    async def error(self, code: str, msg: str, req_id: str | None) -> None:
        await self.event({"event": "error", "code": code, "msg": msg, "connId": self.conn_id}, req_id)
