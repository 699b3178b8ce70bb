"""Fixtures: an OKX stand-in on a real socket and a REST client pointed at it (fast retries, no real waits)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import aiohttp
import pytest

from api_server.okx.clock import ServerClock
from api_server.okx.rest import OkxRestClient
from tests.api_server.okx.stand_in import API_KEY, PASSPHRASE, SECRET, OkxStandIn


@pytest.fixture
async def okx():
    server = await OkxStandIn().start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as s:
        yield s


class SleepRecorder:
    """Records requested delays; yields to the loop instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


def synced_clock(**kwargs) -> ServerClock:
    """A clock that counts as synced (offset 0) for an hour: tests not about the clock see no /public/time call."""
    clock = ServerClock(resync_secs=3600, **kwargs)
    clock.synced_at = clock._monotonic()
    return clock


@pytest.fixture
def make_client(okx, session, sleeps):
    def make(**overrides) -> OkxRestClient:
        kwargs = dict(
            base_url=okx.base_url,
            api_key=API_KEY,
            api_secret=SECRET,
            passphrase=PASSPHRASE,
            simulated=True,
            timeout_secs=2.0,
            max_retries=3,
            backoff_base=0.2,
            backoff_max=5.0,
            sleep=sleeps,
            rng=lambda: 1.0,
        )
        kwargs.update(overrides)
        if "server_clock" not in kwargs:
            kwargs["server_clock"] = synced_clock(**({"local_now": kwargs["now"]} if "now" in kwargs else {}))
        return OkxRestClient(session, **kwargs)

    return make


@pytest.fixture
def client(make_client) -> OkxRestClient:
    return make_client()


DOC_TIME = datetime(2020, 12, 8, 9, 8, 57, 715000, tzinfo=UTC)
