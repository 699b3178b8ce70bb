"""The newest ticker per instrument, kept in memory, with subscribers.

`TickerBook` is fed by the WebSocket feed (`source="ws"`) and, while the socket is down, by the REST
poller (`source="rest"`). Readers: the market routes (`get`/`snapshot`), the SSE stream (`subscribe()`
queues) and the strategy scheduler (synchronous `add_listener` callbacks, called inline for lowest latency).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import msgspec

log = logging.getLogger(__name__)

TickerListener = Callable[["Ticker"], None]


class Ticker(msgspec.Struct, kw_only=True):
    """One OKX ticker (values are OKX's decimal strings, `ts` in ms) plus where and when we got it.

    The same Struct decodes OKX's WebSocket push `data[]` items and REST `/market/ticker(s)` items,
    so both paths hand the book identical objects.
    """

    instId: str
    last: str = ""
    lastSz: str = ""
    askPx: str = ""
    askSz: str = ""
    bidPx: str = ""
    bidSz: str = ""
    open24h: str = ""
    high24h: str = ""
    low24h: str = ""
    vol24h: str = ""
    volCcy24h: str = ""
    ts: str = "0"
    instType: str = ""
    source: str = "ws"  # "ws" | "rest"
    received_at: float = 0.0  # epoch seconds (time.time()) when this process received it


def _ts_ms(ticker: Ticker) -> int:
    try:
        return int(ticker.ts)
    except ValueError:
        return -1


def _same_prices(a: Ticker, b: Ticker) -> bool:
    return a.last == b.last and a.bidPx == b.bidPx and a.askPx == b.askPx and a.bidSz == b.bidSz and a.askSz == b.askSz


class TickerBook:
    """Newest ticker per instrument.

    `update` ignores a ticker older (by OKX `ts`) than the one held. A ticker with the same `ts` and the
    same prices (e.g. a REST poll repeating what the socket already delivered) refreshes `received_at`
    silently; anything newer is stored and fanned out to listeners and subscriber queues.
    """

    def __init__(self, *, queue_size: int = 256, wall_clock: Callable[[], float] = time.time) -> None:
        self._tickers: dict[str, Ticker] = {}
        self._ts: dict[str, int] = {}
        self._queues: list[asyncio.Queue[Ticker]] = []
        self._listeners: list[TickerListener] = []
        self._queue_size = queue_size
        self._wall_clock = wall_clock
        self.accepted = 0
        self.ignored = 0
        self.dropped = 0  # updates a slow subscriber lost (oldest-first)

    # -- writers -------------------------------------------------------------------------------------
    def update(self, ticker: Ticker) -> bool:
        """Store `ticker` if it is not older than the held one; True when subscribers were notified."""
        inst_id = ticker.instId
        ts = _ts_ms(ticker)
        held_ts = self._ts.get(inst_id)
        if held_ts is not None:
            if ts < held_ts:
                self.ignored += 1
                return False
            if ts == held_ts and _same_prices(ticker, self._tickers[inst_id]):
                self._tickers[inst_id] = ticker  # fresher receipt time, nothing new to tell anyone
                self.ignored += 1
                return False
        self._tickers[inst_id] = ticker
        self._ts[inst_id] = ts
        self.accepted += 1
        for listener in self._listeners:
            try:
                listener(ticker)
            except Exception:  # a buggy listener must never stop the feed
                log.exception("ticker listener %r failed", listener)
        for queue in self._queues:
            if queue.full():
                try:
                    queue.get_nowait()
                    self.dropped += 1
                except asyncio.QueueEmpty:
                    pass
            queue.put_nowait(ticker)
        return True

    # -- readers -------------------------------------------------------------------------------------
    def get(self, inst_id: str) -> Ticker | None:
        return self._tickers.get(inst_id)

    def snapshot(self) -> dict[str, Ticker]:
        return dict(self._tickers)

    def age(self, inst_id: str, now: float | None = None) -> float | None:
        """Seconds since the held ticker for `inst_id` was received (None when there is none)."""
        ticker = self._tickers.get(inst_id)
        if ticker is None:
            return None
        now = self._wall_clock() if now is None else now
        return max(0.0, now - ticker.received_at)

    def __len__(self) -> int:
        return len(self._tickers)

    # -- subscribers ---------------------------------------------------------------------------------
    def subscribe(self, maxsize: int | None = None) -> asyncio.Queue[Ticker]:
        """A bounded queue receiving every accepted update; when full, the oldest item is dropped."""
        queue: asyncio.Queue[Ticker] = asyncio.Queue(maxsize=maxsize or self._queue_size)
        self._queues.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Ticker]) -> None:
        try:
            self._queues.remove(queue)
        except ValueError:
            pass

    def add_listener(self, fn: TickerListener) -> None:
        """`fn(ticker)` is called synchronously on every accepted update; it must be quick and not block."""
        self._listeners.append(fn)

    def remove_listener(self, fn: TickerListener) -> None:
        try:
            self._listeners.remove(fn)
        except ValueError:
            pass

    @property
    def subscriber_count(self) -> int:
        return len(self._queues) + len(self._listeners)
