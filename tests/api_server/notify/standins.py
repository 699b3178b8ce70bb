"""Local stand-ins of the Telegram Bot API and of a webhook receiver, on real sockets (kernel-picked ports).

The Telegram stand-in keeps the Bot API's envelope (`{"ok": true, "result": ...}` / `{"ok": false,
"error_code", "description", "parameters": {"retry_after"}}`) and can be told to fail the next N calls.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from typing import Any

from aiohttp import web

from tests.helpers import serve_app


class TelegramStandIn:
    def __init__(self, token: str) -> None:
        self.token = token
        self.messages: list[dict[str, Any]] = []
        self.answers: list[dict[str, Any]] = []
        self.edits: list[dict[str, Any]] = []
        self.pending_updates: list[dict[str, Any]] = []
        self.fail_next = 0
        self.fail_code = 500
        self._update_id = 100
        self._message_id = 1
        self._updates_ready = asyncio.Event()
        self.runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self.runner, port = await serve_app(app)
        self.base_url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    def press(self, data: str, chat_id: int | str, message_id: int = 1, text: str = "") -> None:
        """A person presses an inline button in `chat_id`."""
        self._update_id += 1
        self.pending_updates.append(
            {
                "update_id": self._update_id,
                "callback_query": {
                    "id": f"cq{self._update_id}",
                    "from": {"id": int(chat_id)},
                    "data": data,
                    "message": {"message_id": message_id, "chat": {"id": int(chat_id)}, "text": text},
                },
            }
        )
        self._updates_ready.set()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        if self.fail_next > 0:
            self.fail_next -= 1
            body: dict[str, Any] = {"ok": False, "error_code": self.fail_code, "description": "stand-in failure"}
            if self.fail_code == 429:
                body["parameters"] = {"retry_after": 0}
            return web.json_response(body, status=self.fail_code)
        payload = await request.json()
        method = request.match_info["method"]
        if method == "sendMessage":
            self._message_id += 1
            msg = {"message_id": self._message_id, "chat": {"id": int(payload["chat_id"])}, **payload}
            self.messages.append(msg)
            return web.json_response({"ok": True, "result": msg})
        if method == "getUpdates":
            offset = payload.get("offset", 0)
            if not any(u["update_id"] >= offset for u in self.pending_updates):
                self._updates_ready.clear()
                try:
                    await asyncio.wait_for(self._updates_ready.wait(), min(payload.get("timeout", 0), 2))
                except TimeoutError:
                    pass
            ready = [u for u in self.pending_updates if u["update_id"] >= offset]
            return web.json_response({"ok": True, "result": ready})
        if method == "answerCallbackQuery":
            self.answers.append(payload)
            return web.json_response({"ok": True, "result": True})
        if method == "editMessageText":
            self.edits.append(payload)
            return web.json_response({"ok": True, "result": True})
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)


class WebhookReceiver:
    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.received: list[dict[str, Any]] = []
        self.bad_signatures = 0
        self.fail_next = 0
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self.runner, port = await serve_app(app)
        self.url = f"http://127.0.0.1:{port}/hook"

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        ts = request.headers.get("X-AiTrader-Timestamp", "")
        want = "sha256=" + hmac.new(self.secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, request.headers.get("X-AiTrader-Signature", "")):
            self.bad_signatures += 1
            return web.Response(status=401)
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.Response(status=503)
        self.received.append(await request.json())
        return web.Response(status=204)
