"""/api/market: tickers, candles, books, trades, instruments, funding rates (all through `MarketData`)."""

from __future__ import annotations

from litestar import Controller, get

from api_server.errors import BadRequest
from api_server.fields import require_inst_id, require_range
from api_server.market.schemas import BooksOut, CandlesOut, FundingRate, Instrument, TickerOut, Trade
from api_server.market.service import MarketData
from shared.instruments import CANDLE_BARS, is_valid_bar


class MarketController(Controller):
    path = "/api/market"
    tags = ["market"]

    @get("/ticker", summary="Latest ticker of one instrument, with the OKX_TICKER_BAR candle")
    async def ticker(self, market: MarketData, instId: str | None = None, symbol: str | None = None) -> TickerOut:
        return await market.ticker(require_inst_id(instId or symbol))

    @get("/tickers", summary="Latest tickers of every configured instrument")
    async def tickers(self, market: MarketData) -> list[TickerOut]:
        return await market.tickers()

    @get("/candles", summary="Candles, oldest first")
    async def candles(
        self, market: MarketData, instId: str | None = None, bar: str | None = None, limit: int | None = None
    ) -> CandlesOut:
        inst_id = require_inst_id(instId)
        bar = bar or "1m"
        if not is_valid_bar(bar):
            raise BadRequest(f"bar: unknown bar {bar!r}; one of {', '.join(CANDLE_BARS)}", field="bar")
        return await market.candles(inst_id, bar, require_range(limit, "limit", 100, 1, 300))

    @get("/books", summary="Order book")
    async def books(self, market: MarketData, instId: str | None = None, sz: int | None = None) -> BooksOut:
        return await market.books(require_inst_id(instId), require_range(sz, "sz", 20, 1, 400))

    @get("/trades", summary="Recent public trades, newest first")
    async def trades(self, market: MarketData, instId: str | None = None, limit: int | None = None) -> list[Trade]:
        return await market.trades(require_inst_id(instId), require_range(limit, "limit", 100, 1, 500))

    @get("/instruments", summary="Instrument specs (ctVal, lotSz, minSz, tickSz) of one or every configured instrument")
    async def instruments(self, market: MarketData, instId: str | None = None) -> list[Instrument]:
        return await market.instrument_specs(require_inst_id(instId) if instId else None)

    @get("/funding-rate", summary="Current funding rate of a perpetual swap")
    async def funding_rate(self, market: MarketData, instId: str | None = None) -> FundingRate:
        return await market.funding_rate(require_inst_id(instId))
