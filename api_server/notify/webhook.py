"""A generic webhook channel: one JSON POST per alert, signed so the receiver can trust it.

Headers: `X-AiTrader-Timestamp: <unix seconds>` and `X-AiTrader-Signature: sha256=<hex>` where the digest is
HMAC-SHA256(NOTIFY_WEBHOOK_SECRET, "<timestamp>.<body>"); signing the timestamp lets a receiver refuse replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import aiohttp

from api_server.notify.alerts import Alert


class ChannelError(Exception):
    """A delivery failed; `retryable` says whether trying again can help."""

    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def alert_body(alert: Alert, now: float) -> dict[str, Any]:
    return {
        "kind": alert.kind,
        "title": alert.title,
        "text": alert.text,
        "data": alert.data,
        "approvalId": alert.approval_id,
        "ts": int(now * 1000),
    }


class WebhookChannel:
    name = "webhook"

    def __init__(self, session: aiohttp.ClientSession, url: str, secret: str, timeout_secs: float = 10.0) -> None:
        self._session, self._url, self._secret = session, url, secret
        self._timeout = aiohttp.ClientTimeout(total=timeout_secs)

    async def send(self, alert: Alert) -> None:
        now = time.time()
        body = json.dumps(alert_body(alert, now), separators=(",", ":"), default=str).encode()
        ts = str(int(now))
        headers = {
            "Content-Type": "application/json",
            "X-AiTrader-Timestamp": ts,
            "X-AiTrader-Signature": sign(self._secret, ts, body),
        }
        try:
            async with self._session.post(self._url, data=body, headers=headers, timeout=self._timeout) as resp:
                if resp.status >= 500 or resp.status == 429:
                    raise ChannelError(f"webhook answered {resp.status}")
                if resp.status >= 400:
                    raise ChannelError(f"webhook answered {resp.status}", retryable=False)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ChannelError(f"webhook unreachable: {type(exc).__name__}") from None
