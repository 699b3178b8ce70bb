"""The one backoff rule for every retry loop in the product (OKX REST, WebSocket feeds, LLM calls, lookups).

Exponential steps capped at `cap`: step(attempt) = min(cap, base * 2**attempt), attempt 0 = the first retry.
Two jitter styles, because the callers need different guarantees:
- "full": uniform in [0, step] (AWS's "full jitter"): best spread for many clients hitting one limit.
- "equal": step/2 fixed + uniform in [0, step/2]: waits keep growing, so a reconnect loop never spins.
A server's Retry-After, when given, is a floor (never wait less than the server asked), still capped.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Jitter = Literal["full", "equal", "none"]


@dataclass(frozen=True)
class Backoff:
    base: float = 0.2
    cap: float = 5.0
    jitter: Jitter = "full"
    rng: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    def step(self, attempt: int) -> float:
        """The capped exponential step, before jitter."""
        if attempt < 0:
            raise ValueError("attempt must be >= 0")
        # min() before the power would overflow for large attempts: cap the exponent first.
        return min(self.cap, math.ldexp(self.base, min(attempt, 62)))

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        step = self.step(attempt)
        if self.jitter == "full":
            wait = self.rng() * step
        elif self.jitter == "equal":
            wait = step / 2 + self.rng() * step / 2
        else:
            wait = step
        if retry_after is not None and retry_after > wait:
            wait = retry_after
        return min(wait, self.cap)
