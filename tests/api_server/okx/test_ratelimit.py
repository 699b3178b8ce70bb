"""Client-side limiter: never more than N grants in any window, waits instead of failing (fake clock)."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from api_server.okx.ratelimit import DEFAULT_LIMIT, SlidingWindowLimiter, limit_for, limit_key


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.slept.append(delay)
        self.now += delay
        await asyncio.sleep(0)


def max_in_any_window(grants: list[float], window: float) -> int:
    """Largest number of grants inside one half-open window [t, t+window); checking windows that start at a grant suffices."""
    ordered = sorted(grants)
    best = 0
    for i, start in enumerate(ordered):
        best = max(best, sum(1 for t in ordered[i:] if t < start + window))
    return best


@settings(max_examples=150, deadline=None)
@given(
    limit=st.integers(1, 8),
    gaps=st.lists(st.floats(0, 1.5, allow_nan=False), min_size=1, max_size=40),
)
def test_sequential_grants_never_exceed_the_limit(limit, gaps):
    clock = FakeClock()
    limiter = SlidingWindowLimiter(window_secs=2.0, clock=clock, sleep=clock.sleep)
    grants: list[float] = []

    async def run():
        for gap in gaps:
            clock.now += gap
            await limiter.acquire("GET /x", limit)
            grants.append(clock.now)

    asyncio.run(run())
    assert len(grants) == len(gaps)  # waits, never fails
    assert max_in_any_window(grants, 2.0) <= limit


@settings(max_examples=100, deadline=None)
@given(limit=st.integers(1, 6), callers=st.integers(1, 25), keys=st.integers(1, 3))
def test_concurrent_callers_never_exceed_the_limit_per_key(limit, callers, keys):
    clock = FakeClock()
    limiter = SlidingWindowLimiter(window_secs=2.0, clock=clock, sleep=clock.sleep)
    grants: dict[str, list[float]] = {}

    async def one(i: int):
        key = f"POST /api/v5/trade/order instId={i % keys}"
        await limiter.acquire(key, limit)
        grants.setdefault(key, []).append(clock.now)

    async def run():
        await asyncio.gather(*(one(i) for i in range(callers)))

    asyncio.run(run())
    assert sum(len(v) for v in grants.values()) == callers
    for times in grants.values():
        assert max_in_any_window(times, 2.0) <= limit


async def test_a_full_window_makes_the_next_caller_wait_exactly_until_the_oldest_leaves():
    clock = FakeClock()
    limiter = SlidingWindowLimiter(clock=clock, sleep=clock.sleep)
    for _ in range(3):
        assert await limiter.acquire("k", 3) == 0.0
    clock.now = 0.5
    waited = await limiter.acquire("k", 3)
    assert abs(waited - 1.5) < 1e-9 and abs(clock.now - 2.0) < 1e-9
    assert limiter.waits == 1
    assert limiter.in_window("k", clock.now) == 1  # the three at t=0 have left the window
    assert await limiter.acquire("other", 3) == 0.0  # keys are independent


def test_endpoint_table_and_keys():
    assert limit_for("GET", "/api/v5/market/ticker").limit == 20
    assert limit_for("get", "/api/v5/account/config").limit == 5

    def key(method, path, params):
        bucket, spec = limit_key(method, path, params)
        return bucket, spec.limit

    assert key("POST", "/api/v5/trade/order", {"instId": "BTC-USDT-SWAP", "sz": "1"}) == (
        "POST /api/v5/trade/order instId=BTC-USDT-SWAP",
        60,
    )
    assert key("GET", "/api/v5/public/instruments", {"instType": "SWAP"}) == (
        "GET /api/v5/public/instruments instType=SWAP",
        20,
    )
    assert key("GET", "/api/v5/market/tickers", {"instType": "SWAP"}) == ("GET /api/v5/market/tickers", 20)
    # batch bodies (cancel-algos) are keyed by their instrument too
    assert key("POST", "/api/v5/trade/cancel-algos", [{"instId": "ETH-USDT-SWAP", "algoId": "1"}]) == (
        "POST /api/v5/trade/cancel-algos instId=ETH-USDT-SWAP",
        20,
    )
    assert limit_for("POST", "/api/v5/trade/close-position").limit == 20
    assert limit_for("GET", "/api/v5/account/positions-history").window_secs == 10.0
    assert limit_for("POST", "/api/v5/trade/unlisted") == DEFAULT_LIMIT


async def test_client_waits_at_the_published_limit(okx, make_client):
    """21 ticker calls within one fake instant: the 21st waits for the 2 s window (OKX: 20 / 2 s)."""
    clock = FakeClock()
    client = make_client(clock=clock, sleep=clock.sleep)
    for _ in range(21):
        await client.get_ticker("BTC-USDT-SWAP")
    assert okx.count("GET", "/api/v5/market/ticker") == 21
    assert clock.slept == [2.0] and client.limiter.waits == 1
