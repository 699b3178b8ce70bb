"""Market data from OKX: tickers (live from the WebSocket feed's book, REST when stale) with the
OKX_TICKER_BAR candle, candles, books, trades, funding rates and instrument specs."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from api_server.errors import BadRequest
from api_server.market.instruments import InstrumentCatalog
from api_server.market.schemas import (
    BookLevel,
    BooksOut,
    Candle,
    CandlesOut,
    FundingRate,
    Instrument,
    TickerOut,
    Trade,
    as_builtin,
    candle_from_row,
)
from api_server.okx.errors import OkxError, OkxOrderRejected, OkxRequestError
from api_server.okx.rest import OkxRestClient
from api_server.settings import Settings
from api_server.tickers import Ticker, TickerBook

# OKX codes that mean "this instrument does not exist / bad instId".
_BAD_INSTRUMENT_CODES = {"51001", "51000", "51014", "60018"}


async def okx_call(coro, field: str = "instId"):
    """Turn OKX's 'no such instrument' answers into a 400 naming the parameter."""
    try:
        return await coro
    except (OkxRequestError, OkxOrderRejected) as exc:
        code = exc.s_code or exc.code
        if code in _BAD_INSTRUMENT_CODES:
            raise BadRequest(
                f"{field}: OKX says {exc.s_msg or exc.msg or 'unknown instrument'}", field=field, okxCode=code
            ) from None
        raise


class MarketData:
    """The market reads the routes answer with; holds the short cache of the `OKX_TICKER_BAR` candle per instrument."""

    def __init__(
        self, *, settings: Settings, okx: OkxRestClient, book: TickerBook, instruments: InstrumentCatalog
    ) -> None:
        self.settings = settings
        self.okx = okx
        self.book = book
        self.instruments = instruments
        self._bar_cache: dict[str, tuple[float, Candle | None]] = {}
        self._bar_locks: dict[str, asyncio.Lock] = {}

    async def bar_candle(self, inst_id: str) -> Candle | None:
        now = time.monotonic()
        cached = self._bar_cache.get(inst_id)
        if cached and now - cached[0] < 1.0:
            return cached[1]
        lock = self._bar_locks.setdefault(inst_id, asyncio.Lock())
        async with lock:  # one refresh at a time per instrument (single flight)
            cached = self._bar_cache.get(inst_id)
            if cached and time.monotonic() - cached[0] < 1.0:
                return cached[1]
            try:
                rows = await self.okx.get_candles(inst_id, self.settings.okx_ticker_bar, limit=1)
                candle = candle_from_row(rows[0]) if rows else None
            except OkxError:
                # The live ticker is still useful without the bar; keep the last known bar.
                candle = cached[1] if cached else None
            self._bar_cache[inst_id] = (time.monotonic(), candle)
            return candle

    async def ticker(self, inst_id: str) -> TickerOut:
        t: Ticker | None = self.book.get(inst_id)
        now = time.time()
        if t is not None and (now - t.received_at) <= self.settings.okx_ws_stale_secs:
            source, received = t.source, t.received_at
        else:
            t = await okx_call(self.okx.get_ticker(inst_id))
            source, received = "rest", now
        candle = await self.bar_candle(inst_id)
        # Field by field from the Struct: this is the hottest route, so no intermediate dict.
        return TickerOut(
            instId=t.instId,
            last=t.last,
            lastSz=t.lastSz,
            askPx=t.askPx,
            askSz=t.askSz,
            bidPx=t.bidPx,
            bidSz=t.bidSz,
            open24h=t.open24h,
            high24h=t.high24h,
            low24h=t.low24h,
            vol24h=t.vol24h,
            volCcy24h=t.volCcy24h,
            ts=t.ts,
            bar=self.settings.okx_ticker_bar,
            barCandle=candle,
            source=source,
            ageMs=max(0, int((now - received) * 1000)),
        )

    async def tickers(self) -> list[TickerOut]:
        return list(await asyncio.gather(*(self.ticker(i) for i in self.settings.okx_inst_ids)))

    async def candles(self, inst_id: str, bar: str, limit: int) -> CandlesOut:
        rows = await okx_call(self.okx.get_candles(inst_id, bar, limit=limit))
        candles = [candle_from_row(r) for r in rows]
        candles.sort(key=lambda c: int(c.ts))  # OKX sends newest first; the API promises oldest first
        return CandlesOut(instId=inst_id, bar=bar, candles=candles)

    async def books(self, inst_id: str, depth: int) -> BooksOut:
        data = as_builtin(await okx_call(self.okx.get_books(inst_id, depth)))
        book = data[0] if isinstance(data, list) else data
        to_levels = lambda rows: [BookLevel(*[str(x) for x in (list(r) + ["", "", "", ""])[:4]]) for r in rows]  # noqa: E731
        return BooksOut(
            instId=inst_id,
            asks=to_levels(book.get("asks", [])),
            bids=to_levels(book.get("bids", [])),
            ts=str(book.get("ts", "")),
        )

    async def trades(self, inst_id: str, limit: int) -> list[Trade]:
        rows = [as_builtin(r) for r in await okx_call(self.okx.get_trades(inst_id, limit))]
        return [
            Trade(
                instId=r.get("instId", inst_id),
                tradeId=r["tradeId"],
                px=r["px"],
                sz=r["sz"],
                side=r["side"],
                ts=r["ts"],
            )
            for r in rows
        ]

    async def instrument_specs(self, inst_id: str | None) -> list[Instrument]:
        """One instrument's spec (400 when OKX does not know it) or every configured instrument's."""
        wanted = [inst_id] if inst_id else list(self.settings.okx_inst_ids)
        specs = await self.instruments.specs(wanted)
        missing = [i for i in wanted if i not in specs]
        if inst_id and missing:
            raise BadRequest(f"instId: unknown instrument {missing[0]!r}", field="instId")
        return [specs[i] for i in wanted if i in specs]

    async def funding_rate(self, inst_id: str) -> FundingRate:
        data = as_builtin(await okx_call(self.okx.get_funding_rate(inst_id)))
        r: Any = data[0] if isinstance(data, list) else data
        if not r:
            raise BadRequest(f"instId: no funding rate for {inst_id}", field="instId")
        return FundingRate(
            instId=inst_id,
            fundingRate=r.get("fundingRate", ""),
            nextFundingRate=r.get("nextFundingRate", ""),
            fundingTime=r.get("fundingTime", ""),
            nextFundingTime=r.get("nextFundingTime", ""),
        )
