"""The private WebSocket and the REST catch-up against the real simulator (in-process, real sockets), a real
REST client and a real PostgreSQL: login, fills in the database within a second, nothing lost or doubled
across reconnects and backlogs."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from decimal import Decimal

import aiohttp
import pytest
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from api_server.account.sync import AccountSync, SyncLoop
from api_server.okx.rest import OkxRestClient
from api_server.okx.ws_private import BUSINESS_CHANNELS, PRIVATE_CHANNELS, AccountPushes, PrivateFeed
from okxsim.engine import OrderRequest
from shared.backoff import Backoff
from shared.migrate import apply_migrations
from tests.okxsim.conftest import QUIET, start_server

BTC = "BTC-USDT-SWAP"
FAST = {
    "ping_after_secs": 5.0,
    "pong_timeout_secs": 2.0,
    "stale_after_secs": 30.0,
    "backoff": Backoff(0.05, 0.2, "equal"),
}


@pytest.fixture
async def pool(fresh_database_url):
    apply_migrations(fresh_database_url)
    async with AsyncConnectionPool(
        fresh_database_url, min_size=1, max_size=4, open=False, kwargs={"row_factory": dict_row, "autocommit": True}
    ) as pool:
        yield pool


@pytest.fixture
async def sim():
    srv = await start_server(dataclasses.replace(QUIET, initial_usdt=Decimal(100000000)))
    try:
        yield srv
    finally:
        await srv.runner.cleanup()


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as s:
        yield s


def rest_client(session, sim) -> OkxRestClient:
    cfg = sim.config
    return OkxRestClient(
        session,
        base_url=sim.base,
        api_key=cfg.api_key,
        api_secret=cfg.api_secret,
        passphrase=cfg.passphrase,
        simulated=True,
        timeout_secs=10,
        max_retries=2,
    )


def ws(sim, path: str) -> str:
    return sim.base.replace("http://", "ws://") + path


def make_feeds(sim, session, sync, published, *, secret: str | None = None) -> list[PrivateFeed]:
    pushes = AccountPushes(sync, lambda name, payload: published.append((name, payload)))
    cfg = sim.config
    common = {
        "api_key": cfg.api_key,
        "api_secret": secret or cfg.api_secret,
        "passphrase": cfg.passphrase,
        "session": session,
        "on_subscribed": sync.request_catch_up,
        **FAST,
    }
    return [
        PrivateFeed(ws(sim, "/ws/v5/private"), PRIVATE_CHANNELS, pushes, **common),
        PrivateFeed(ws(sim, "/ws/v5/business"), BUSINESS_CHANNELS, pushes, **common),
    ]


async def until(predicate, timeout: float = 15.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = await predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def scalar(pool, sql: str, *args):
    async with pool.connection() as conn:
        row = await (await conn.execute(sql, args)).fetchone()
    return next(iter(row.values()))


async def _like(value, text: str):
    result = await value
    return result if result and text in result else None


def market(side: str = "buy", sz: str = "1") -> OrderRequest:
    return OrderRequest(inst_id=BTC, td_mode="cross", side=side, ord_type="market", sz=sz)


async def test_login_with_the_right_keys_subscribes_and_a_bad_signature_is_refused(sim, session, pool):
    sync = AccountSync(pool, rest_client(session, sim))
    good = make_feeds(sim, session, sync, [])
    bad = make_feeds(sim, session, sync, [], secret="not-the-secret")[0]
    for feed in (*good, bad):
        await feed.start()
    try:
        await asyncio.wait_for(asyncio.gather(*(f.subscribed_event.wait() for f in good)), 10)
        assert good[0].subscribed == {"orders", "positions", "balance_and_position"}
        assert good[1].subscribed == {"orders-algo"}

        async def refused():
            return bad.reconnects >= 2 and bad.last_error.startswith("login failed 60007")

        await until(refused, what="the bad signature refused")
        assert bad.state != "subscribed" and not bad.subscribed
        assert "not-the-secret" not in repr(bad) and sim.config.api_secret not in str(bad.status())
    finally:
        for feed in (*good, bad):
            await feed.stop()


async def test_a_fill_on_the_simulator_reaches_the_database_within_a_second(sim, session, pool):
    okx = rest_client(session, sim)
    published: list = []
    sync = AccountSync(pool, okx, on_change=lambda report: published.append(("account", report.as_dict())))
    feeds = make_feeds(sim, session, sync, published)
    for feed in feeds:
        await feed.start()
    try:
        await asyncio.wait_for(feeds[0].subscribed_event.wait(), 10)
        # Someone trades on the OKX app (straight at the simulator): no REST sync runs in this test.
        started = time.monotonic()
        order = sim.sim.engine.place_order(market(), sim.sim.quotes(), sim.sim.now_ms())
        fill = sim.sim.engine.fills[-1]

        async def recorded():
            return await scalar(pool, "select count(*) from trade_fills where trade_id = %s", fill.trade_id)

        await until(recorded, timeout=2.0, what="the fill in the database")
        elapsed = time.monotonic() - started
        assert elapsed < 1.0, elapsed
        row = await scalar(pool, "select state from trade_orders where ord_id = %s", order.ord_id)
        assert row == "filled"

        async def position_open():
            return await scalar(pool, "select count(*) from trade_positions where state = 'open' and inst_id = %s", BTC)

        await until(position_open, timeout=2.0, what="the position record")
        assert any(name == "account" and payload.get("fillsInserted") == 1 for name, payload in published)
        # Every `account` event keeps the sync report's keys, pushes included (consumers read `fillsInserted`).
        assert all("fillsInserted" in payload for name, payload in published if name == "account")
        assert any(payload.get("channel") == "balance_and_position" for _, payload in published)
        # Closed on the app: the position record closes through the pushes too.
        sim.sim.engine.close_position(BTC, "cross", "", sim.sim.quotes(), sim.sim.now_ms())

        async def closed():
            return await scalar(pool, "select count(*) from trade_positions where state = 'closed'")

        await until(closed, timeout=2.0, what="the closed position record")
        assert await scalar(pool, "select count(*) from trade_fills") == 2

        async def refined():  # OKX's own account of the close (positions-history), added in the background
            return await scalar(pool, "select close_detail from trade_positions where state = 'closed'")

        detail = await until(lambda: _like(refined(), "positions-history"), timeout=5.0, what="the close refined")
        assert "closed, close avg" in detail and "realised PnL" in detail
    finally:
        for feed in feeds:
            await feed.stop()


async def test_concurrent_reconnect_and_a_backlog_of_1000_fills_are_recorded_exactly_once(sim, session, pool):
    okx = rest_client(session, sim)
    sync = AccountSync(pool, okx)
    loop = SyncLoop(sync, 0.2)
    feeds = make_feeds(sim, session, sync, [])
    loop.start()
    for feed in feeds:
        await feed.start()
    engine = sim.sim.engine
    try:
        await asyncio.wait_for(feeds[0].subscribed_event.wait(), 10)
        # The socket drops and stays refused while 1,000 fills happen.
        sim.sim.hub.drop_all(refuse_secs=1.0)
        for i in range(1000):
            engine.place_order(market("buy" if i % 2 == 0 else "sell"), sim.sim.quotes(), sim.sim.now_ms())
        # ...and more keep coming while it reconnects and the catch-up pages through.
        for _ in range(40):
            engine.place_order(market(), sim.sim.quotes(), sim.sim.now_ms())
            await asyncio.sleep(0.05)
        expected = {f.trade_id for f in engine.fills}
        assert len(expected) == 1040

        async def all_recorded():
            return await scalar(pool, "select count(*) from trade_fills") == len(expected)

        try:
            await until(all_recorded, timeout=60, what="every fill recorded")
        except AssertionError:
            raise AssertionError(
                (
                    await scalar(pool, "select count(*) from trade_fills"),
                    sync.last_catch_up,
                    sync.last_error,
                    [f.status() for f in feeds],
                )
            ) from None
        assert feeds[0].reconnects >= 1 and feeds[0].state == "subscribed"
        async with pool.connection() as conn:
            rows = await (
                await conn.execute("select trade_id, count(*) as n from trade_fills group by trade_id")
            ).fetchall()
        assert {r["trade_id"] for r in rows} == expected and all(r["n"] == 1 for r in rows)

        async def all_orders():
            return await scalar(pool, "select count(*) from trade_orders") == 1040

        await until(all_orders, timeout=30, what="every order recorded once")
    finally:
        for feed in feeds:
            await feed.stop()
        await loop.stop()


async def test_three_days_offline_the_catch_up_pages_through_every_fill(sim, session, pool):
    engine = sim.sim.engine
    now = sim.sim.now_ms()
    three_days = 3 * 24 * 3600 * 1000
    for i in range(450):  # one fill every ~10 minutes over three days, while the API was not running
        ts = now - three_days + i * (three_days // 450)
        engine.place_order(market("buy" if i % 3 else "sell"), sim.sim.quotes(), ts)
    sync = AccountSync(pool, rest_client(session, sim))
    report = await sync.catch_up()
    assert report.fills_read == 450 and report.fills_inserted == 450 and report.pages >= 5
    assert await scalar(pool, "select count(distinct trade_id) from trade_fills") == 450
    oldest = await scalar(pool, "select min(filled_at) from trade_fills")
    assert (time.time() - oldest.timestamp()) > 3 * 24 * 3600 - 60
    assert await scalar(pool, "select count(*) from trade_orders") == 450
    # A second catch-up reads one page and records nothing twice.
    engine.place_order(market(), sim.sim.quotes(), sim.sim.now_ms())
    again = await sync.catch_up()
    assert again.fills_read == 1 and again.fills_inserted == 1
    assert await scalar(pool, "select count(*) from trade_fills") == 451


async def test_notice_64008_moves_to_a_fresh_connection_at_once_and_asks_for_a_catch_up(sim, session, pool):
    sync = AccountSync(pool, rest_client(session, sim))
    feed = make_feeds(sim, session, sync, [])[0]
    await feed.start()
    try:
        await asyncio.wait_for(feed.subscribed_event.wait(), 10)
        sync.catch_up_requested.clear()
        assert await sim.sim.hub.broadcast_notice() >= 1

        async def resubscribed():
            return feed.reconnects == 1 and feed.state == "subscribed"

        await until(resubscribed, timeout=5, what="a fresh subscribed connection")
        assert feed.last_error.startswith("notice 64008") and sync.catch_up_requested.is_set()
    finally:
        await feed.stop()
