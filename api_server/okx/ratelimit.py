"""Client-side rate limiter at OKX's published limits ("N requests per 2 seconds" per endpoint).

A sliding-window log per key: a request is granted when fewer than N were granted in the last window,
otherwise the caller WAITS until the oldest grant leaves the window. Never more than N grants fall in any
half-open window of `window_secs`. Keys are the endpoint, plus the instrument for per-instrument limits.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from typing import Awaitable, Callable

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

WINDOW_SECS = 2.0


@dataclass(frozen=True)
class EndpointLimit:
    limit: int  # requests per window
    key_param: str | None = None  # a request parameter that splits the limit (OKX "+ Instrument ID" rules)


# OKX_FACTS.md §3 "Rate-limit summary" (limit / 2 s). Keys: (METHOD, path).
OKX_ENDPOINT_LIMITS: dict[tuple[str, str], EndpointLimit] = {
    ("GET", "/api/v5/market/ticker"): EndpointLimit(20),
    ("GET", "/api/v5/market/tickers"): EndpointLimit(20),
    ("GET", "/api/v5/market/candles"): EndpointLimit(40),
    ("GET", "/api/v5/market/history-candles"): EndpointLimit(20),
    ("GET", "/api/v5/market/books"): EndpointLimit(40),
    ("GET", "/api/v5/market/trades"): EndpointLimit(100),
    ("GET", "/api/v5/public/instruments"): EndpointLimit(20, "instType"),
    ("GET", "/api/v5/public/time"): EndpointLimit(10),
    ("GET", "/api/v5/account/balance"): EndpointLimit(10),
    ("GET", "/api/v5/account/positions"): EndpointLimit(10),
    ("GET", "/api/v5/account/config"): EndpointLimit(5),
    ("POST", "/api/v5/trade/order"): EndpointLimit(60, "instId"),
    ("POST", "/api/v5/trade/cancel-order"): EndpointLimit(60, "instId"),
    ("GET", "/api/v5/trade/order"): EndpointLimit(60, "instId"),
    ("GET", "/api/v5/trade/orders-pending"): EndpointLimit(60),
    ("GET", "/api/v5/trade/fills"): EndpointLimit(60),
    ("POST", "/api/v5/account/set-position-mode"): EndpointLimit(5),
}
# Endpoints the summary does not list (funding-rate, set-leverage, orders-history, close-position):
# a conservative 5 per 2 s, per instrument where the request names one. The limiter only ever waits,
# so a too-low guess costs latency under bursts, never a failure.
DEFAULT_LIMIT = EndpointLimit(5, "instId")


def limit_for(method: str, path: str) -> EndpointLimit:
    return OKX_ENDPOINT_LIMITS.get((method.upper(), path), DEFAULT_LIMIT)


def limit_key(method: str, path: str, params: dict[str, object] | None) -> tuple[str, int]:
    """(bucket key, limit) for one request."""
    spec = limit_for(method, path)
    key = f"{method.upper()} {path}"
    if spec.key_param and params:
        value = params.get(spec.key_param)
        if value:
            key = f"{key} {spec.key_param}={value}"
    return key, spec.limit


class SlidingWindowLimiter:
    """Waits until a request may go out; never fails. Clock and sleep are injectable for tests."""

    def __init__(self, *, window_secs: float = WINDOW_SECS, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        self.window_secs = window_secs
        self._clock = clock
        self._sleep = sleep
        self._grants: dict[str, deque[float]] = {}
        self.waits = 0  # how many times a caller had to wait

    def delay_needed(self, key: str, limit: int, now: float) -> float:
        """Seconds until a grant is possible for `key` at `now` (0 when one is possible now)."""
        grants = self._grants.get(key)
        if not grants:
            return 0.0
        horizon = now - self.window_secs
        while grants and grants[0] <= horizon:
            grants.popleft()
        if len(grants) < limit:
            return 0.0
        # Floor: float rounding can leave a ~1e-16 remainder that a sleep would not move a clock past.
        return max(grants[0] + self.window_secs - now, 1e-6)

    async def acquire(self, key: str, limit: int) -> float:
        """Take one slot for `key`, waiting as long as needed; returns the seconds waited."""
        if limit <= 0:
            raise ValueError("limit must be positive")
        waited = 0.0
        while True:
            now = self._clock()
            delay = self.delay_needed(key, limit, now)
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
