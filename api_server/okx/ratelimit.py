"""Client-side rate limiter at OKX's published limits (the one table: `shared.okx_ratelimits`).

A sliding-window log per key: a request is granted when fewer than N were granted in the last window,
otherwise the caller WAITS until the oldest grant leaves the window. Never more than N grants fall in any
half-open window. Keys are the endpoint, plus the instrument for per-instrument limits; each key may carry
its own window (OKX counts most endpoints per 2 s, positions-history per 10 s).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

from shared.okx_ratelimits import DEFAULT_LIMIT, OKX_ENDPOINT_LIMITS, WINDOW_SECS, EndpointLimit, limit_for, limit_key

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

__all__ = [
    "DEFAULT_LIMIT",
    "OKX_ENDPOINT_LIMITS",
    "EndpointLimit",
    "SlidingWindowLimiter",
    "WINDOW_SECS",
    "limit_for",
    "limit_key",
]


class SlidingWindowLimiter:
    """Waits until a request may go out; never fails. Clock and sleep are injectable for tests."""

    def __init__(
        self, *, window_secs: float = WINDOW_SECS, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.window_secs = window_secs
        self._clock = clock
        self._sleep = sleep
        self._grants: dict[str, deque[float]] = {}
        self.waits = 0  # how many times a caller had to wait

    def delay_needed(self, key: str, limit: int, now: float, window_secs: float | None = None) -> float:
        """Seconds until a grant is possible for `key` at `now` (0 when one is possible now)."""
        window = self.window_secs if window_secs is None else window_secs
        grants = self._grants.get(key)
        if not grants:
            return 0.0
        horizon = now - window
        while grants and grants[0] <= horizon:
            grants.popleft()
        if len(grants) < limit:
            return 0.0
        # Floor: float rounding can leave a ~1e-16 remainder that a sleep would not move a clock past.
        return max(grants[0] + window - now, 1e-6)

    async def acquire(self, key: str, limit: int, window_secs: float | None = None) -> float:
        """Take one slot for `key`, waiting as long as needed; returns the seconds waited."""
        if limit <= 0:
            raise ValueError("limit must be positive")
        waited = 0.0
        while True:
            now = self._clock()
            delay = self.delay_needed(key, limit, now, window_secs)
            if delay <= 0:
                # No await between the check and the append: concurrent callers cannot over-grant.
                self._grants.setdefault(key, deque()).append(now)
                return waited
            self.waits += 1
            waited += delay
            await self._sleep(delay)

    def in_window(self, key: str, now: float) -> int:
        grants = self._grants.get(key, ())
        return sum(1 for t in grants if t > now - self.window_secs)
