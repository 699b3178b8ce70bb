"""Telegram Bot API channel: alerts as messages to one chat, approvals answered with inline buttons.

Only the configured chat can answer, and each button carries a MAC of (approval id, choice) keyed by the
bot token, so a forged or replayed-for-another-approval callback is refused. The bot token is part of every
Bot API URL: URLs are never logged, errors name the method only.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from api_server.notify.alerts import Alert
from api_server.notify.webhook import ChannelError
from shared.backoff import Backoff

log = logging.getLogger("aitrader.api.notify.telegram")

# decide(approval_id, approve) → a short outcome text shown in the chat (e.g. "approved: order placed").
Decide = Callable[[int, bool], Awaitable[str]]


def button_mac(token: str, approval_id: int, choice: str) -> str:
    return hmac.new(token.encode(), f"{approval_id}:{choice}".encode(), hashlib.sha256).hexdigest()[:16]


def callback_data(token: str, approval_id: int, choice: str) -> str:
    # Telegram allows 64 bytes of callback data: "ap:<id>:<a|r>:<16 hex>" stays far below.
    return f"ap:{approval_id}:{choice}:{button_mac(token, approval_id, choice)}"


def parse_callback(token: str, data: str) -> tuple[int, bool] | None:
    """(approval id, approve?) for a genuine button of ours, else None."""
    parts = data.split(":")
    if len(parts) != 4 or parts[0] != "ap" or parts[2] not in ("a", "r") or not parts[1].isdigit():
        return None
    approval_id = int(parts[1])
    if not hmac.compare_digest(parts[3], button_mac(token, approval_id, parts[2])):
        return None
    return approval_id, parts[2] == "a"


class TelegramChannel:
    name = "telegram"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        token: str,
        chat_id: str,
        api_base: str = "https://api.telegram.org",
        poll_timeout_secs: int = 25,
    ) -> None:
        self._session, self._token, self._chat_id = session, token, chat_id
        self._base = f"{api_base.rstrip('/')}/bot{token}"
        self._poll_timeout = poll_timeout_secs
        self._offset = 0

    async def _call(self, method: str, payload: dict[str, Any], timeout: float = 15.0) -> Any:
        try:
            async with self._session.post(
                f"{self._base}/{method}", json=payload, timeout=aiohttp.ClientTimeout(total=timeout)
            ) as resp:
                try:
                    body = await resp.json(content_type=None)
                except ValueError:
                    body = None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ChannelError(f"telegram {method}: {type(exc).__name__}") from None
        if not isinstance(body, dict) or not body.get("ok"):
            code = body.get("error_code") if isinstance(body, dict) else resp.status
            retryable = code == 429 or (isinstance(code, int) and code >= 500) or body is None
            raise ChannelError(f"telegram {method} failed ({code})", retryable=retryable)
        return body.get("result")

    async def send(self, alert: Alert) -> None:
        payload: dict[str, Any] = {"chat_id": self._chat_id, "text": f"{alert.title}\n{alert.text}"}
        if alert.approval_id is not None:
            payload["reply_markup"] = {
                "inline_keyboard": [
                    [
                        {"text": "Approve", "callback_data": callback_data(self._token, alert.approval_id, "a")},
                        {"text": "Reject", "callback_data": callback_data(self._token, alert.approval_id, "r")},
                    ]
                ]
            }
        await self._call("sendMessage", payload)

    async def handle_update(self, update: dict[str, Any], decide: Decide) -> str | None:
        """Answer one update; returns the outcome text for a genuine approval button, else None."""
        query = update.get("callback_query")
        if not isinstance(query, dict):
            return None
        chat_id = str(((query.get("message") or {}).get("chat") or {}).get("id", ""))
        parsed = parse_callback(self._token, str(query.get("data", "")))
        if chat_id != self._chat_id or parsed is None:
            log.warning("telegram: refused an approval button from chat %s (not ours or not genuine)", chat_id or "?")
            await self._call("answerCallbackQuery", {"callback_query_id": query.get("id"), "text": "not allowed"})
            return None
        approval_id, approve = parsed
        try:
            outcome = await decide(approval_id, approve)
        except Exception as exc:  # the decision's own error (already decided, refused by risk) is the answer
            outcome = f"not done: {exc}"
        await self._call("answerCallbackQuery", {"callback_query_id": query.get("id"), "text": outcome[:190]})
        message = query.get("message") or {}
        if message.get("message_id") is not None:
            await self._call(
                "editMessageText",
                {
                    "chat_id": self._chat_id,
                    "message_id": message["message_id"],
                    "text": f"{message.get('text', '')}\n→ {outcome}",
                },
            )
        return outcome

    async def poll_updates(self, decide: Decide, stop: asyncio.Event) -> None:
        """Long-poll getUpdates until `stop`; a failing Bot API backs off and never ends the loop."""
        backoff, attempt = Backoff(base=1.0, cap=60.0, jitter="equal"), 0
        while not stop.is_set():
            try:
                updates = await self._call(
                    "getUpdates",
                    {"offset": self._offset, "timeout": self._poll_timeout, "allowed_updates": ["callback_query"]},
                    timeout=self._poll_timeout + 10,
                )
                attempt = 0
            except ChannelError as exc:
                log.warning("%s; retrying", exc)
                await _sleep_or_stop(stop, backoff.delay(attempt))
                attempt += 1
                continue
            for update in updates or []:
                if isinstance(update, dict) and isinstance(update.get("update_id"), int):
                    self._offset = max(self._offset, update["update_id"] + 1)
                    try:
                        await self.handle_update(update, decide)
                    except ChannelError as exc:
                        log.warning("%s while answering an update", exc)


async def _sleep_or_stop(stop: asyncio.Event, secs: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), secs)
    except TimeoutError:
        pass
