"""The REST client and ticker feed against the real OKX simulator process (`python -m okxsim`)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import aiohttp
import pytest

from api_server.okx.clock import ServerClock
from api_server.okx.errors import OkxAuthError, OkxOrderRejected, OkxRateLimited, OkxUnavailable
from api_server.okx.rest import OkxRestClient
from api_server.okx.ws_feed import TickerFeed
from api_server.tickers import TickerBook
from tests.api_server.okx.lost_reply_proxy import LostReplyProxy
from tests.helpers import PYTHON, base_env, free_port, running

KEY, SECRET, PASSPHRASE = "itest-key", "itest-secret-0123456789", "itest-pass"
INSTS = ["BTC-USDT-SWAP", "ETH-USDT-SWAP"]


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    port = free_port()
    env = base_env(
        OKXSIM_PORT=str(port),
        OKXSIM_API_KEY=KEY,
        OKXSIM_API_SECRET=SECRET,
        OKXSIM_PASSPHRASE=PASSPHRASE,
        OKXSIM_TICK_MS="100",
        OKXSIM_SEED="11",
        OKXSIM_WS_IDLE_SECS="5",
    )
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("okxsim") / "okxsim.log"
    with running([PYTHON, "-m", "okxsim"], env, f"{base}/_sim/state", log_path, timeout=60):
        yield base


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def okx(sim, http):
    async with http.post(f"{sim}/_sim/reset") as resp:
        assert resp.status == 200
    async with http.delete(f"{sim}/_sim/faults") as resp:
        assert resp.status == 200
    return OkxRestClient(
        http,
        base_url=sim,
        api_key=KEY,
        api_secret=SECRET,
        passphrase=PASSPHRASE,
        simulated=True,
        timeout_secs=5,
        max_retries=3,
        backoff_base=0.05,
        backoff_max=0.2,
    )


async def until(predicate, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def test_public_market_data(okx):
    ticker = await okx.get_ticker("BTC-USDT-SWAP")
    assert ticker.instId == "BTC-USDT-SWAP" and Decimal(ticker.last) > 0 and ticker.source == "rest"
    assert Decimal(ticker.bidPx) <= Decimal(ticker.askPx)
    tickers = await okx.get_tickers("SWAP")
    assert {"BTC-USDT-SWAP", "ETH-USDT-SWAP"} <= {t.instId for t in tickers}
    candles = await okx.get_candles("BTC-USDT-SWAP", "1m", limit=5)
    assert len(candles) == 5 and int(candles[0].ts) > int(candles[1].ts)  # newest first
    (inst,) = await okx.get_instruments("SWAP", "BTC-USDT-SWAP")
    assert inst.instId == "BTC-USDT-SWAP" and Decimal(inst.ctVal) > 0 and Decimal(inst.lotSz) > 0
    book = await okx.get_books("BTC-USDT-SWAP", 5)
    assert book.asks and book.bids and Decimal(book.asks[0][0]) >= Decimal(book.bids[0][0])
    server_ms = await okx.get_server_time()
    assert abs(server_ms - time.time() * 1000) < 5_000
    rate = await okx.get_funding_rate("BTC-USDT-SWAP")
    assert rate.instId == "BTC-USDT-SWAP"


async def test_signed_private_calls_and_an_order_round_trip(okx, sim, http):
    balance = await okx.get_balance()
    assert Decimal(balance.totalEq) > 0
    config = await okx.get_account_config()
    assert config.posMode in ("net_mode", "long_short_mode")
    await okx.set_leverage("BTC-USDT-SWAP", 5, "cross")
    (inst,) = await okx.get_instruments("SWAP", "BTC-USDT-SWAP")
    placed = await okx.place_order(
        inst_id="BTC-USDT-SWAP", td_mode="cross", side="buy", ord_type="market", sz=inst.minSz
    )
    assert placed.sCode == "0" and placed.ordId and len(placed.clOrdId) == 32
    order = await okx.get_order("BTC-USDT-SWAP", cl_ord_id=placed.clOrdId)
    assert order.ordId == placed.ordId
    positions = await okx.get_positions("SWAP", "BTC-USDT-SWAP")
    assert positions and Decimal(positions[0].pos) != 0
    fills = await okx.get_fills(inst_type="SWAP", inst_id="BTC-USDT-SWAP")
    assert any(f.ordId == placed.ordId for f in fills)
    history = await okx.get_orders_history("SWAP", inst_id="BTC-USDT-SWAP")
    assert any(o.ordId == placed.ordId for o in history)
    await okx.close_position("BTC-USDT-SWAP", "cross", pos_side=positions[0].posSide or None)
    remaining = await okx.get_positions("SWAP", "BTC-USDT-SWAP")
    assert all(Decimal(p.pos or "0") == 0 for p in remaining)
    # what the simulator received was signed over exactly what we sent (it checks; a bad one is 401)
    async with http.get(f"{sim}/_sim/requests", params={"limit": "50"}) as resp:
        seen = await resp.json()
    text = str(seen)
    assert SECRET not in text and PASSPHRASE not in text


async def test_limit_order_cancel_and_pending(okx):
    ticker = await okx.get_ticker("ETH-USDT-SWAP")
    (inst,) = await okx.get_instruments("SWAP", "ETH-USDT-SWAP")
    far_below = (Decimal(ticker.last) * Decimal("0.5")).quantize(Decimal(inst.tickSz))
    placed = await okx.place_order(
        inst_id="ETH-USDT-SWAP",
        td_mode="cross",
        side="buy",
        ord_type="limit",
        px=str(far_below),
        sz=inst.minSz,
        cl_ord_id="itestlimit1",
    )
    pending = await okx.get_orders_pending("SWAP", inst_id="ETH-USDT-SWAP")
    assert any(o.clOrdId == "itestlimit1" and o.state == "live" for o in pending)
    cancelled = await okx.cancel_order("ETH-USDT-SWAP", ord_id=placed.ordId)
    assert cancelled.sCode == "0"
    assert (await okx.get_order("ETH-USDT-SWAP", ord_id=placed.ordId)).state == "canceled"
    with pytest.raises(OkxOrderRejected) as err:
        await okx.cancel_order("ETH-USDT-SWAP", ord_id=placed.ordId)
    assert err.value.s_code == "51400"


async def test_bad_credentials_are_an_auth_error(sim, http):
    client = OkxRestClient(
        http, base_url=sim, api_key=KEY, api_secret="wrong-secret", passphrase=PASSPHRASE, simulated=True
    )
    with pytest.raises(OkxAuthError) as err:
        await client.get_balance()
    assert err.value.code in ("50113", "50111", "50105") and err.value.http_status == 401


async def test_simulator_faults_are_retried_then_bounded(okx, sim, http):
    async with http.post(
        f"{sim}/_sim/faults", json={"status": 503, "code": "50001", "count": 2, "pathPrefix": "/api/v5/public/time"}
    ) as resp:
        assert resp.status == 200
    assert await okx.get_server_time() > 0
    assert okx.stats["retries"] == 2
    async with http.post(
        f"{sim}/_sim/faults", json={"status": 429, "code": "50011", "count": None, "pathPrefix": "/api/v5/public/time"}
    ) as resp:
        assert resp.status == 200
    with pytest.raises(OkxRateLimited) as err:
        await okx.get_server_time()
    assert err.value.code == "50011" and err.value.http_status == 429 and err.value.attempts == okx.max_retries + 1
    async with http.delete(f"{sim}/_sim/faults") as resp:
        assert resp.status == 200


async def test_feed_survives_a_ws_drop_with_prices_still_flowing(okx, sim, http):
    book = TickerBook()
    feed = TickerFeed(
        sim.replace("http://", "ws://") + "/ws/v5/public",
        INSTS,
        book,
        okx,
        session=http,
        ping_after_secs=1.0,
        pong_timeout_secs=1.0,
        stale_after_secs=3.0,
        poll_secs=0.1,
        backoff_base=0.05,
        backoff_max=0.3,
    )
    await feed.start()
    try:
        await until(lambda: feed.state == "connected", what="connected")
        await until(lambda: all((t := book.get(i)) is not None and t.source == "ws" for i in INSTS), what="ws tickers")
        async with http.post(f"{sim}/_sim/ws/drop", json={"refuseSecs": 0.6}) as resp:
            assert resp.status == 200
        await until(lambda: feed.state != "connected", what="noticed the drop")
        await until(lambda: all(book.get(i).source == "rest" for i in INSTS), what="REST fills the gap")
        await until(lambda: feed.state == "connected", what="reconnected")
        assert feed.reconnects >= 1
        # a price set on the simulator now arrives over the new socket
        ws_prices: list[Decimal] = []
        book.add_listener(
            lambda t: ws_prices.append(Decimal(t.last)) if t.source == "ws" and t.instId == "BTC-USDT-SWAP" else None
        )
        async with http.post(f"{sim}/_sim/price", json={"instId": "BTC-USDT-SWAP", "price": "43210.5"}) as resp:
            assert resp.status == 200
        await until(lambda: Decimal("43210.5") in ws_prices, what="the set price pushed over the socket")
        assert feed.status()["polling"] is False
    finally:
        await feed.stop()


async def test_unreachable_simulator_is_unavailable(http):
    client = OkxRestClient(
        http, base_url=f"http://127.0.0.1:{free_port()}", simulated=True, max_retries=1, backoff_base=0.01
    )
    with pytest.raises(OkxUnavailable):
        await client.get_ticker("BTC-USDT-SWAP")


# -- issue 11: lost replies and clock skew, against the real simulator ---------------------------------
async def sim_orders(http, sim) -> list[dict]:
    async with http.get(f"{sim}/_sim/state") as resp:
        state = await resp.json()
    return [*state["orders"]["pending"], *state["orders"]["history"]]


@pytest.fixture
async def lossy(sim):
    proxy = await LostReplyProxy(sim).start()
    try:
        yield proxy
    finally:
        await proxy.stop()


async def test_a_lost_reply_after_a_fill_leaves_exactly_one_order_at_okx(sim, http, lossy):
    """The simulator executes (fills) the market order; the reply is lost (connection reset): the client finds
    it by clOrdId instead of resending, so OKX holds exactly one order for it.
    Stand-in: `LostReplyProxy` forwards to the real simulator and aborts the reply (the simulator's own
    execute-then-drop fault is being added by sim-rest)."""
    async with http.post(f"{sim}/_sim/reset") as resp:
        assert resp.status == 200
    client = OkxRestClient(
        http,
        base_url=lossy.base_url,
        api_key=KEY,
        api_secret=SECRET,
        passphrase=PASSPHRASE,
        simulated=True,
        timeout_secs=5,
        max_retries=3,
        backoff_base=0.05,
        backoff_max=0.2,
    )
    (inst,) = await client.get_instruments("SWAP", "BTC-USDT-SWAP")
    lossy.lose_next("POST", "/api/v5/trade/order")
    result = await client.place_order(
        inst_id="BTC-USDT-SWAP", td_mode="cross", side="buy", ord_type="market", sz=inst.minSz, cl_ord_id="lostreply1"
    )
    assert lossy.dropped == [("POST", "/api/v5/trade/order", 200)]  # executed at the simulator, reply lost
    assert result.recovered is True and result.ordId
    orders = [o for o in await sim_orders(http, sim) if o["clOrdId"] == "lostreply1"]
    assert len(orders) == 1 and orders[0]["state"] == "filled" and orders[0]["ordId"] == result.ordId
    assert lossy.forwarded.count(("POST", "/api/v5/trade/order")) == 1
    positions = await client.get_positions("SWAP", "BTC-USDT-SWAP")
    assert sum(abs(Decimal(p.pos)) for p in positions) == Decimal(inst.minSz)  # one fill, not two


async def test_a_lost_close_position_reply_is_not_resent(sim, http, lossy):
    async with http.post(f"{sim}/_sim/reset") as resp:
        assert resp.status == 200
    client = OkxRestClient(
        http,
        base_url=lossy.base_url,
        api_key=KEY,
        api_secret=SECRET,
        passphrase=PASSPHRASE,
        simulated=True,
        timeout_secs=5,
        max_retries=3,
        backoff_base=0.05,
        backoff_max=0.2,
    )
    (inst,) = await client.get_instruments("SWAP", "ETH-USDT-SWAP")
    await client.place_order(inst_id="ETH-USDT-SWAP", td_mode="cross", side="buy", ord_type="market", sz=inst.minSz)
    (position,) = [p for p in await client.get_positions("SWAP", "ETH-USDT-SWAP") if Decimal(p.pos)]
    lossy.lose_next("POST", "/api/v5/trade/close-position")
    result = await client.close_position(
        "ETH-USDT-SWAP", "cross", pos_side=position.posSide if position.posSide != "net" else None
    )
    assert result.recovered is True and len(lossy.dropped) == 1
    assert lossy.forwarded.count(("POST", "/api/v5/trade/close-position")) == 1
    assert all(Decimal(p.pos or "0") == 0 for p in await client.get_positions("SWAP", "ETH-USDT-SWAP"))


def skewed(seconds: float):
    return lambda: datetime.now(UTC) + timedelta(seconds=seconds)


async def test_a_machine_clock_60s_off_still_gets_balances(sim, http):
    """The simulator rejects timestamps more than 30 s from its clock (50102), like OKX."""
    client = OkxRestClient(
        http,
        base_url=sim,
        api_key=KEY,
        api_secret=SECRET,
        passphrase=PASSPHRASE,
        simulated=True,
        now=skewed(-60),
        max_retries=1,
        backoff_base=0.01,
        backoff_max=0.05,
    )
    balance = await client.get_balance()
    assert Decimal(balance.totalEq) > 0
    assert 58_000 < client.clock.offset_ms < 62_000 and client.stats["errors"]["50102"] == 0
    # ...and the same skew without the start-up sync: OKX answers 50102, the client resyncs and resends once
    pinned = ServerClock(local_now=skewed(+60), resync_secs=3600)
    pinned.synced_at = pinned._monotonic()  # believes it is in sync, with offset 0: signs 60 s ahead
    client = OkxRestClient(
        http,
        base_url=sim,
        api_key=KEY,
        api_secret=SECRET,
        passphrase=PASSPHRASE,
        simulated=True,
        server_clock=pinned,
        max_retries=1,
        backoff_base=0.01,
        backoff_max=0.05,
    )
    positions = await client.get_positions("SWAP")
    assert isinstance(positions, list)
    assert client.stats["errors"]["50102"] == 1 and client.clock.syncs == 1
    assert -62_000 < client.clock.offset_ms < -58_000
    placed = await client.place_order(inst_id="BTC-USDT-SWAP", td_mode="cross", side="buy", ord_type="market", sz="1")
    assert placed.sCode == "0"  # writes sign with OKX's time too


# -- the same two faults through the simulator's own controls (execute-then-drop fault, /_sim/clock) -------
async def test_the_simulators_lost_reply_fault_after_a_fill_leaves_one_order(okx, sim, http):
    try:
        async with http.post(
            f"{sim}/_sim/faults",
            json={"execute": True, "dropReply": True, "count": 1, "pathPrefix": "/api/v5/trade/order"},
        ) as resp:
            assert resp.status == 200 and (await resp.json())["faults"][0]["dropReply"] is True
        result = await okx.place_order(
            inst_id="BTC-USDT-SWAP", td_mode="cross", side="buy", ord_type="market", sz="1", cl_ord_id="simfault1"
        )
    finally:
        async with http.delete(f"{sim}/_sim/faults"):
            pass
    assert result.recovered is True
    orders = [o for o in await sim_orders(http, sim) if o["clOrdId"] == "simfault1"]
    assert len(orders) == 1 and orders[0]["state"] == "filled"


async def test_the_simulators_clock_60s_ahead_still_answers_balances(sim, http):
    async with http.post(f"{sim}/_sim/clock", json={"offsetMs": 60_000}) as resp:
        assert resp.status == 200
    try:
        client = OkxRestClient(
            http,
            base_url=sim,
            api_key=KEY,
            api_secret=SECRET,
            passphrase=PASSPHRASE,
            simulated=True,
            max_retries=1,
            backoff_base=0.01,
            backoff_max=0.05,
        )
        assert Decimal((await client.get_balance()).totalEq) > 0
        assert 58_000 < client.clock.offset_ms < 62_000
    finally:
        async with http.post(f"{sim}/_sim/clock", json={"offsetMs": 0}):
            pass
