"""OKX v5 request signing (used by the API's OKX client and by the simulator to check it).

prehash = timestamp + METHOD + requestPath(with raw query) + body; sign = base64(HMAC-SHA256(secret, prehash)).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime


def sign(secret: str, timestamp: str, method: str, request_path: str, body: str = "") -> str:
    prehash = f"{timestamp}{method.upper()}{request_path}{body}"
    digest = hmac.new(secret.encode(), prehash.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def iso_timestamp(now: datetime | None = None) -> str:
    """OK-ACCESS-TIMESTAMP format: UTC ISO-8601 with milliseconds and a trailing Z."""
    now = now or datetime.now(UTC)
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def parse_iso_timestamp(value: str) -> datetime:
    """Parse an OK-ACCESS-TIMESTAMP; raises ValueError when malformed."""
    if not value.endswith("Z"):
        raise ValueError("timestamp must end with Z")
    return datetime.strptime(value[:-1], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)
