"""TickerBook: newest ticker per instrument, ordering by OKX ts, bounded subscriber queues, listeners."""

from __future__ import annotations

import asyncio

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from api_server.tickers import Ticker, TickerBook
from tests.helpers import FIXTURES


def make(
    inst_id: str = "BTC-USDT-SWAP", ts: int = 1_000, last: str = "100", received_at: float = 0.0, source: str = "ws"
) -> Ticker:
    return Ticker(instId=inst_id, last=last, bidPx=last, askPx=last, ts=str(ts), source=source, received_at=received_at)


def test_recorded_push_item_decodes_into_ticker():
    frame = msgspec.json.decode((FIXTURES / "ws_tickers_push.swap.recorded.json").read_bytes())
    ticker = msgspec.convert(frame["data"][0], Ticker)
    assert (ticker.instId, ticker.last, ticker.bidPx, ticker.askPx) == (
        "BTC-USDT-SWAP",
        "31807.4",
        "31807.3",
        "31807.4",
    )
    assert (ticker.vol24h, ticker.volCcy24h, ticker.ts, ticker.instType) == (
        "12214388",
        "122143.88",
        "1654033232461",
        "SWAP",
    )
    assert ticker.source == "ws"


def test_newest_is_kept_and_older_ts_ignored():
    book = TickerBook()
    assert book.update(make(ts=2_000, last="101"))
    assert not book.update(make(ts=1_999, last="99"))
    assert book.get("BTC-USDT-SWAP").last == "101"
    assert book.update(make(ts=2_001, last="102"))
    assert book.get("BTC-USDT-SWAP").last == "102"
    assert (book.accepted, book.ignored) == (2, 1)
    assert book.get("ETH-USDT-SWAP") is None


def test_same_ts_same_prices_refreshes_receipt_without_notifying():
    book = TickerBook()
    seen: list[Ticker] = []
    book.add_listener(seen.append)
    book.update(make(ts=5, received_at=10.0, source="ws"))
    assert not book.update(make(ts=5, received_at=12.0, source="rest"))
    assert len(seen) == 1
    assert book.get("BTC-USDT-SWAP").received_at == 12.0
    # same ts but a different price is news
    assert book.update(make(ts=5, last="101", received_at=13.0))
    assert len(seen) == 2


def test_snapshot_and_age():
    book = TickerBook(wall_clock=lambda: 110.0)
    book.update(make("BTC-USDT-SWAP", received_at=100.0))
    book.update(make("ETH-USDT-SWAP", received_at=105.5))
    snap = book.snapshot()
    assert sorted(snap) == ["BTC-USDT-SWAP", "ETH-USDT-SWAP"]
    snap.clear()  # a copy: the book is untouched
    assert len(book) == 2
    assert book.age("BTC-USDT-SWAP") == 10.0
    assert book.age("ETH-USDT-SWAP", now=106.0) == 0.5
    assert book.age("SOL-USDT-SWAP", now=106.0) is None


async def test_slow_subscriber_loses_oldest_and_never_blocks():
    book = TickerBook()
    slow = book.subscribe(maxsize=3)
    fast = book.subscribe(maxsize=100)
    for ts in range(1, 11):
        book.update(make(ts=ts, last=str(ts)))
    assert slow.qsize() == 3
    assert [slow.get_nowait().ts for _ in range(3)] == ["8", "9", "10"]
    assert fast.qsize() == 10
    assert book.dropped == 7
    book.unsubscribe(slow)
    book.unsubscribe(slow)  # twice is harmless
    book.update(make(ts=11))
    assert slow.qsize() == 0 and fast.qsize() == 11


async def test_queue_consumer_receives_updates_in_order():
    book = TickerBook()
    queue = book.subscribe()
    received: list[str] = []

    async def consume():
        while len(received) < 5:
            received.append((await queue.get()).last)

    consumer = asyncio.create_task(consume())
    for i in range(5):
        book.update(make(ts=i + 1, last=f"{100 + i}"))
        await asyncio.sleep(0)
    await asyncio.wait_for(consumer, 1)
    assert received == ["100", "101", "102", "103", "104"]


def test_listener_errors_do_not_stop_updates_or_other_listeners():
    book = TickerBook()
    calls: list[str] = []

    def broken(_t: Ticker) -> None:
        raise RuntimeError("boom")

    book.add_listener(broken)
    book.add_listener(lambda t: calls.append(t.last))
    assert book.update(make(ts=1, last="1"))
    assert book.update(make(ts=2, last="2"))
    assert calls == ["1", "2"]
    book.remove_listener(broken)
    assert book.subscriber_count == 1


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["A-USDT-SWAP", "B-USDT-SWAP"]), st.integers(0, 50), st.integers(0, 1000)),
        max_size=60,
    )
)
def test_book_always_holds_the_max_ts_per_instrument(updates):
    book = TickerBook()
    for inst_id, ts, px in updates:
        book.update(make(inst_id, ts=ts, last=str(px)))
    for inst_id in {u[0] for u in updates}:
        best = max(ts for i, ts, _ in updates if i == inst_id)
        assert int(book.get(inst_id).ts) == best
