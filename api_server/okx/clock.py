"""OKX server time as the client sees it: an offset to `GET /api/v5/public/time`, used for signing.

OKX rejects a signed request whose OK-ACCESS-TIMESTAMP is more than 30 s from its own clock (50102,
OKX_FACTS §1.2). A machine whose clock is a minute off must still trade, so every signature uses
`local now + offset`, where the offset comes from OKX's time endpoint:

- measured at the midpoint of the request's round trip (the server stamped its time somewhere inside it);
- taken at the first signed call (start-up), again when older than `resync_secs` (periodically), and at
  once when OKX answers 50102 (the client then resends a read once; see `OkxRestClient`).
The offset is only ever set from OKX's answer; a failed sync keeps the previous one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

log = logging.getLogger(__name__)

LocalNow = Callable[[], datetime]
Monotonic = Callable[[], float]

RESYNC_SECS = 300.0
# After a failed sync, signed calls go out with the kept offset for this long before the next attempt (no extra
# /public/time request per call while OKX's time endpoint is down).
RETRY_AFTER_FAILURE_SECS = 10.0
# Drift worth a log line: a third of OKX's 30 s tolerance.
WARN_OFFSET_MS = 10_000


def measured_offset_ms(local_before_ms: float, server_ms: int, local_after_ms: float) -> float:
    """Server minus local time, with the server's stamp taken as the midpoint of the round trip."""
    return server_ms - (local_before_ms + local_after_ms) / 2


class ServerClock:
    def __init__(
        self,
        *,
        local_now: LocalNow = lambda: datetime.now(UTC),
        monotonic: Monotonic = time.monotonic,
        resync_secs: float = RESYNC_SECS,
    ) -> None:
        self._local_now = local_now
        self._monotonic = monotonic
        self.resync_secs = resync_secs
        self.offset_ms: float = 0.0
        self.synced_at: float | None = None  # monotonic time of the last successful sync
        self.syncs = 0
        self._retry_at: float | None = None
        self._lock = asyncio.Lock()

    def local_ms(self) -> float:
        return self._local_now().timestamp() * 1000

    def now(self) -> datetime:
        """OKX's time now, as best known (local time when never synced)."""
        return self._local_now() + timedelta(milliseconds=self.offset_ms)

    def server_ms(self) -> int:
        return int(self.local_ms() + self.offset_ms)

    @property
    def stale(self) -> bool:
        now = self._monotonic()
        if self._retry_at is not None and now < self._retry_at:
            return False
        return self.synced_at is None or now - self.synced_at >= self.resync_secs

    def failed(self) -> None:
        """A sync failed: keep the offset, try again in RETRY_AFTER_FAILURE_SECS (a forced sync still goes at once)."""
        self._retry_at = self._monotonic() + RETRY_AFTER_FAILURE_SECS

    async def sync(self, fetch_server_ms: Callable[[], Awaitable[int]], *, force: bool = False) -> float:
        """Measure the offset once (concurrent callers share one measurement); returns it in ms."""
        started = self._monotonic()
        async with self._lock:
            if not force and self.synced_at is not None and self.synced_at >= started:
                return self.offset_ms  # someone else synced while we waited
            if not force and not self.stale:
                return self.offset_ms
            before = self.local_ms()
            server = await fetch_server_ms()
            after = self.local_ms()
            previous = self.offset_ms
            self.offset_ms = measured_offset_ms(before, server, after)
            self.synced_at = self._monotonic()
            self._retry_at = None
            self.syncs += 1
        if abs(self.offset_ms) >= WARN_OFFSET_MS or abs(self.offset_ms - previous) >= WARN_OFFSET_MS:
            log.warning(
                "this machine's clock is %.1f s %s OKX's; signing with OKX's time",
                abs(self.offset_ms) / 1000,
                "behind" if self.offset_ms > 0 else "ahead of",
            )
        return self.offset_ms

    def status(self) -> dict[str, object]:
        return {
            "offsetMs": round(self.offset_ms),
            "syncs": self.syncs,
            "ageSecs": None if self.synced_at is None else round(self._monotonic() - self.synced_at, 1),
        }
