"""Market data: tickers (live from the WebSocket feed, REST when stale), candles, books, trades, instruments."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec
from litestar import Controller, get
from litestar.datastructures import State

from api_server.errors import BadRequest
from api_server.okx.errors import OkxError, OkxOrderRejected, OkxRequestError
from api_server.tickers import Ticker
from shared.instruments import CANDLE_BARS, is_valid_bar, is_valid_inst_id

# OKX codes that mean "this instrument does not exist / bad instId".
_BAD_INSTRUMENT_CODES = {"51001", "51000", "51014", "60018"}


class Candle(msgspec.Struct):
    ts: str
    o: str
    h: str
    l: str  # noqa: E741 - OKX's own field name
    c: str
    vol: str
    volCcy: str
    volCcyQuote: str
    confirm: str


class TickerOut(msgspec.Struct):
    instId: str
    last: str
    lastSz: str
    askPx: str
    askSz: str
    bidPx: str
    bidSz: str
    open24h: str
    high24h: str
    low24h: str
    vol24h: str
    volCcy24h: str
    ts: str
    bar: str
    barCandle: Candle | None
    source: str
    ageMs: int


class CandlesOut(msgspec.Struct):
    instId: str
    bar: str
    candles: list[Candle]


class BookLevel(msgspec.Struct, array_like=True):
    px: str
    sz: str
    liquidatedOrders: str
    numOrders: str


class BooksOut(msgspec.Struct):
    instId: str
    asks: list[BookLevel]
    bids: list[BookLevel]
    ts: str


class Trade(msgspec.Struct):
    instId: str
    tradeId: str
    px: str
    sz: str
    side: str
    ts: str


class Instrument(msgspec.Struct):
    instId: str
    instType: str
    ctVal: str
    ctValCcy: str
    ctMult: str
    ctType: str
    lotSz: str
    minSz: str
    tickSz: str
    lever: str
    settleCcy: str
    state: str


class FundingRate(msgspec.Struct):
    instId: str
    fundingRate: str
    nextFundingRate: str
    fundingTime: str
    nextFundingTime: str


def as_builtin(value: Any) -> Any:
    return value if isinstance(value, (dict, list, str)) else msgspec.to_builtins(value)


def candle_from_row(row: Any) -> Candle:
    r = as_builtin(row)
    if isinstance(r, dict):
        r = [r.get(k, "") for k in ("ts", "o", "h", "l", "c", "vol", "volCcy", "volCcyQuote", "confirm")]
    r = [str(x) for x in r] + [""] * (9 - len(r))
    return Candle(*r[:9])


def require_inst_id(inst_id: str | None, name: str = "instId") -> str:
    if not inst_id:
        raise BadRequest(f"{name} is required (e.g. BTC-USDT-SWAP)", field=name)
    inst_id = inst_id.strip().upper()
    if not is_valid_inst_id(inst_id):
        raise BadRequest(f"{name}: malformed instrument id {inst_id!r} (expected e.g. BTC-USDT-SWAP)", field=name)
    return inst_id


def require_range(value: int | None, name: str, default: int, lo: int, hi: int) -> int:
    if value is None:
        return default
    if not lo <= value <= hi:
        raise BadRequest(f"{name} must be between {lo} and {hi}, got {value}", field=name)
    return value


async def okx_call(coro, field: str = "instId"):
    """Turn OKX's 'no such instrument' answers into a 400 naming the parameter."""
    try:
        return await coro
    except (OkxRequestError, OkxOrderRejected) as exc:
        code = exc.s_code or exc.code
        if code in _BAD_INSTRUMENT_CODES:
            raise BadRequest(f"{field}: OKX says {exc.s_msg or exc.msg or 'unknown instrument'}", field=field, okxCode=code) from None
        raise


class MarketData:
    """Builds ticker answers; holds the short cache of the `OKX_TICKER_BAR` candle per instrument."""

    def __init__(self, state: State) -> None:
        self.settings = state.settings
        self.okx = state.okx
        self.book = state.tickers
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
            instId=t.instId, last=t.last, lastSz=t.lastSz, askPx=t.askPx, askSz=t.askSz, bidPx=t.bidPx, bidSz=t.bidSz,
            open24h=t.open24h, high24h=t.high24h, low24h=t.low24h, vol24h=t.vol24h, volCcy24h=t.volCcy24h, ts=t.ts,
            bar=self.settings.okx_ticker_bar, barCandle=candle, source=source, ageMs=max(0, int((now - received) * 1000)),
        )


class MarketController(Controller):
    path = "/api/market"
    tags = ["market"]

    @get("/ticker", summary="Latest ticker of one instrument, with the OKX_TICKER_BAR candle")
    async def ticker(self, market: MarketData, instId: str | None = None, symbol: str | None = None) -> TickerOut:
        return await market.ticker(require_inst_id(instId or symbol))

    @get("/tickers", summary="Latest tickers of every configured instrument")
    async def tickers(self, market: MarketData, state: State) -> list[TickerOut]:
        return list(await asyncio.gather(*(market.ticker(i) for i in state.settings.okx_inst_ids)))

    @get("/candles", summary="Candles, oldest first")
    async def candles(self, state: State, instId: str | None = None, bar: str | None = None, limit: int | None = None) -> CandlesOut:
        inst_id = require_inst_id(instId)
        bar = bar or "1m"
        if not is_valid_bar(bar):
            raise BadRequest(f"bar: unknown bar {bar!r}; one of {', '.join(CANDLE_BARS)}", field="bar")
        n = require_range(limit, "limit", 100, 1, 300)
        rows = await okx_call(state.okx.get_candles(inst_id, bar, limit=n))
        candles = [candle_from_row(r) for r in rows]
        candles.sort(key=lambda c: int(c.ts))  # OKX sends newest first; the API promises oldest first
        return CandlesOut(instId=inst_id, bar=bar, candles=candles)

    @get("/books", summary="Order book")
    async def books(self, state: State, instId: str | None = None, sz: int | None = None) -> BooksOut:
        inst_id = require_inst_id(instId)
        depth = require_range(sz, "sz", 20, 1, 400)
        data = as_builtin(await okx_call(state.okx.get_books(inst_id, depth)))
        book = data[0] if isinstance(data, list) else data
        to_levels = lambda rows: [BookLevel(*[str(x) for x in (list(r) + ["", "", "", ""])[:4]]) for r in rows]  # noqa: E731
        return BooksOut(instId=inst_id, asks=to_levels(book.get("asks", [])), bids=to_levels(book.get("bids", [])), ts=str(book.get("ts", "")))

    @get("/trades", summary="Recent public trades, newest first")
    async def trades(self, state: State, instId: str | None = None, limit: int | None = None) -> list[Trade]:
        inst_id = require_inst_id(instId)
        n = require_range(limit, "limit", 100, 1, 500)
        rows = [as_builtin(r) for r in await okx_call(state.okx.get_trades(inst_id, n))]
        return [Trade(instId=r.get("instId", inst_id), tradeId=r["tradeId"], px=r["px"], sz=r["sz"], side=r["side"], ts=r["ts"]) for r in rows]

    @get("/instruments", summary="Instrument specs (ctVal, lotSz, minSz, tickSz) of one or every configured instrument")
    async def instruments(self, state: State, instId: str | None = None) -> list[Instrument]:
        wanted = [require_inst_id(instId)] if instId else list(state.settings.okx_inst_ids)
        specs = await state.instruments.specs(wanted)
        missing = [i for i in wanted if i not in specs]
        if instId and missing:
            raise BadRequest(f"instId: unknown instrument {missing[0]!r}", field="instId")
        return [specs[i] for i in wanted if i in specs]

    @get("/funding-rate", summary="Current funding rate of a perpetual swap")
    async def funding_rate(self, state: State, instId: str | None = None) -> FundingRate:
        inst_id = require_inst_id(instId)
        data = as_builtin(await okx_call(state.okx.get_funding_rate(inst_id)))
        r = data[0] if isinstance(data, list) else data
        if not r:
            raise BadRequest(f"instId: no funding rate for {inst_id}", field="instId")
        return FundingRate(instId=inst_id, fundingRate=r.get("fundingRate", ""), nextFundingRate=r.get("nextFundingRate", ""),
                           fundingTime=r.get("fundingTime", ""), nextFundingTime=r.get("nextFundingTime", ""))
