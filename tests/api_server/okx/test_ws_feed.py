"""Ticker feed against a stand-in OKX WebSocket + REST server on a real socket (short timings)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from api_server.okx.ws_feed import TickerFeed, inst_type_of
from api_server.tickers import TickerBook
from tests.api_server.okx.stand_in import fixture_text

INSTS = ["BTC-USDT-SWAP", "ETH-USDT-SWAP"]


async def until(predicate, timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


@pytest.fixture
async def make_feed(okx, client, session):
    feeds: list[TickerFeed] = []

    def make(inst_ids=INSTS, **overrides) -> TickerFeed:
        kwargs = dict(
            session=session,
            ping_after_secs=5.0,
            pong_timeout_secs=0.2,
            stale_after_secs=5.0,
            poll_secs=0.05,
            backoff_base=0.02,
            backoff_max=0.1,
        )
        kwargs.update(overrides)
        feed = TickerFeed(okx.ws_url, inst_ids, TickerBook(), client, **kwargs)
        feeds.append(feed)
        return feed

    yield make
    for feed in feeds:  # stop() is idempotent
        await feed.stop()


async def test_subscribes_once_for_all_and_pushes_update_the_book(okx, make_feed):
    feed = make_feed(INSTS + ["NMR-USDT-SWAP"])
    await feed.start()
    try:
        await until(lambda: feed.state == "connected", what="connected")
        await until(
            lambda: all((t := feed.book.get(i)) is not None and t.source == "ws" for i in INSTS), what="ws tickers"
        )
        assert len(okx.ws_subscribe_ops) == 1
        assert okx.ws_subscribe_ops[0]["args"] == [
            {"channel": "tickers", "instId": i} for i in INSTS + ["NMR-USDT-SWAP"]
        ]
        status = feed.status()
        assert status["state"] == "connected" and status["reconnects"] == 0 and status["polling"] is False
        assert status["subscribed"] == sorted(INSTS)
        assert status["rejected"] == ["NMR-USDT-SWAP"]  # 60018: logged, the others continue
        assert status["connected_since"] is not None and status["last_message_age"] < 1.0
        before = feed.book.get("BTC-USDT-SWAP")
        await until(lambda: feed.book.get("BTC-USDT-SWAP") is not before, what="a newer push")
        assert int(feed.book.get("BTC-USDT-SWAP").ts) >= int(before.ts)
    finally:
        await feed.stop()
    assert feed.status()["state"] == "down"
    await until(lambda: okx.open_sockets == 0, what="socket closed on stop")


async def test_drop_reconnects_resubscribes_and_rest_fills_the_gap(okx, make_feed):
    feed = make_feed()
    await feed.start()
    try:
        await until(lambda: feed.state == "connected" and feed.book.get("BTC-USDT-SWAP").source == "ws", what="live")
        okx.ws.refuse = True
        okx.drop()
        await until(lambda: feed.status()["polling"], what="polling while down")
        await until(
            lambda: all(
                feed.book.get(i).source == "rest" and feed.book.get(i).last == okx.rest_ticker_last for i in INSTS
            ),
            what="REST tickers in the book",
        )
        assert feed.state in ("connecting", "down")
        rest_calls = okx.count("GET", "/api/v5/market/ticker")
        await until(lambda: okx.count("GET", "/api/v5/market/ticker") >= rest_calls + 4, what="repeated polls")

        okx.ws.refuse = False
        await until(lambda: feed.state == "connected", what="reconnected")
        await until(lambda: all(feed.book.get(i).source == "ws" for i in INSTS), what="ws tickers again")
        assert feed.status()["polling"] is False
        assert feed.reconnects >= 1
        assert len(okx.ws_subscribe_ops) >= 2
        assert okx.ws_subscribe_ops[-1] == okx.ws_subscribe_ops[0]  # everything resubscribed
        calls_after = okx.count("GET", "/api/v5/market/ticker")
        await asyncio.sleep(0.3)  # six poll periods
        assert okx.count("GET", "/api/v5/market/ticker") == calls_after  # poller stopped with the socket back
    finally:
        await feed.stop()


async def test_notice_64008_reconnects_at_once(okx, make_feed):
    feed = make_feed(backoff_base=5.0, backoff_max=5.0)  # a backoff wait would time this test out
    await feed.start()
    try:
        await until(lambda: feed.state == "connected", what="connected")
        await okx.notice()
        await until(lambda: okx.ws_connections == 2 and feed.state == "connected", what="reconnect after notice")
        assert "64008" in feed.status()["last_error"]
        assert feed.status()["reconnects"] == 1
        assert len(okx.ws_subscribe_ops) == 2
    finally:
        await feed.stop()


async def test_error_event_reconnects(okx, make_feed):
    feed = make_feed()
    await feed.start()
    try:
        await until(lambda: feed.state == "connected", what="connected")
        await okx.send_all(fixture_text("ws_tickers_subscribe_error.docs.json"))
        await until(lambda: okx.ws_connections == 2 and feed.state == "connected", what="reconnect after error event")
        assert "60012" in feed.last_error
    finally:
        await feed.stop()


async def test_ping_after_idle_and_pong_keeps_the_connection(okx, make_feed):
    okx.ws.pushing = False
    # The pinger wakes on the pong itself, so a generous pong timeout costs no time and a slow, loaded
    # machine (a pong after 0.2 s) cannot turn into a reconnect: the test waits on events, not on sleeps.
    feed = make_feed(ping_after_secs=0.1, pong_timeout_secs=10.0, stale_after_secs=30.0)
    await feed.start()
    try:
        await until(lambda: okx.pings >= 3, what="three pings")
        assert okx.ws_connections == 1 and feed.state == "connected"
        assert "ping" in okx.ws_received
    finally:
        await feed.stop()


async def test_no_pong_reconnects(okx, make_feed):
    okx.ws.pushing = False
    okx.ws.answer_pings = False
    feed = make_feed(ping_after_secs=0.1, pong_timeout_secs=0.1, stale_after_secs=10.0)
    await feed.start()
    try:
        await until(lambda: okx.ws_connections >= 2, what="reconnect after missing pong")
        assert okx.pings >= 1
        assert "no pong" in feed.last_error and feed.reconnects >= 1
        # Resubscribed on the new socket: an event the stand-in records (the "connected" state itself only
        # lasts until the next unanswered ping, 0.2 s here, so waiting for it would race a loaded machine).
        await until(lambda: len(okx.ws_subscribe_ops) >= 2, what="resubscribed after the reconnect")
    finally:
        await feed.stop()


async def test_watchdog_reconnects_a_silent_feed(okx, make_feed):
    okx.ws.pushing = False  # pongs keep the socket "alive", but no ticker arrives
    feed = make_feed(ping_after_secs=0.05, pong_timeout_secs=0.2, stale_after_secs=0.3)
    await feed.start()
    try:
        await until(lambda: okx.ws_connections >= 2, what="watchdog reconnect")
        assert "no ticker" in feed.last_error
        okx.ws.pushing = True
        await until(
            lambda: feed.book.get("BTC-USDT-SWAP") is not None and feed.book.get("BTC-USDT-SWAP").source == "ws",
            what="prices flow",
        )
    finally:
        await feed.stop()


async def test_many_instruments_poll_with_one_tickers_call_per_type(okx, make_feed):
    insts = ["BTC-USDT-SWAP", "ETH-USDT-SWAP", "SOL-USDT-SWAP", "DOGE-USDT-SWAP"]
    items = []
    for inst_id in insts + ["XRP-USDT-SWAP"]:
        item = json.loads(fixture_text("rest_market_ticker.docs.json"))["data"][0]
        item.update(instId=inst_id, ts=str(int(time.time() * 1000)))
        items.append(item)
    okx.script("GET", "/api/v5/market/tickers", (200, json.dumps({"code": "0", "msg": "", "data": items})))
    okx.ws.refuse = True
    feed = make_feed(insts)
    await feed.start()
    try:
        await until(lambda: len(feed.book) == 4, what="REST tickers for all four")
        assert feed.book.get("XRP-USDT-SWAP") is None  # not ours
        assert okx.count("GET", "/api/v5/market/ticker") == 0
        assert okx.requests[0].raw_path == "/api/v5/market/tickers?instType=SWAP"
        assert feed.status()["state"] in ("connecting", "down") and feed.status()["polling"]
    finally:
        await feed.stop()


def test_backoff_grows_with_jitter_and_is_capped(client):
    feed = TickerFeed("ws://unused", INSTS, TickerBook(), client, backoff_base=0.5, backoff_max=30.0, rng=lambda: 1.0)
    assert [feed._backoff(n) for n in range(8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    feed = TickerFeed("ws://unused", INSTS, TickerBook(), client, backoff_base=0.5, backoff_max=30.0, rng=lambda: 0.0)
    assert [feed._backoff(n) for n in range(3)] == [0.25, 0.5, 1.0]


def test_instrument_type_from_id():
    assert [inst_type_of(i) for i in ("BTC-USDT-SWAP", "BTC-USDT", "BTC-USDT-250808", "BTC-USD-250808-50000-C")] == [
        "SWAP",
        "SPOT",
        "FUTURES",
        "OPTION",
    ]


def test_handle_frame_applies_the_recorded_push(client):
    book = TickerBook()
    feed = TickerFeed("ws://unused", ["BTC-USDT-SWAP"], book, client, wall_clock=lambda: 1234.5)
    assert feed.handle_frame(fixture_text("ws_tickers_push.swap.recorded.json")) is None
    ticker = book.get("BTC-USDT-SWAP")
    assert (ticker.last, ticker.bidPx, ticker.ts, ticker.source, ticker.received_at) == (
        "31807.4",
        "31807.3",
        "1654033232461",
        "ws",
        1234.5,
    )
    assert feed.handle_frame("pong") is None
    assert feed.handle_frame("{not json") is None  # logged and ignored
    assert feed.handle_frame(fixture_text("ws_error_60018.recorded.json")) is None
    assert feed.handle_frame(fixture_text("ws_notice_64008.docs.json")).startswith("notice 64008")
    assert feed.handle_frame(fixture_text("ws_tickers_subscribe_error.docs.json")).startswith("error event 60012")
    assert feed.handle_frame(fixture_text("ws_unsubscribe_ack.docs.json")) is None
    assert feed.frames == 7 and feed.tickers_applied == 1
