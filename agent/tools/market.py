"""Market tools: ticker, candles with indicators, order book, funding rate, instrument specs."""

from typing import Annotated, Any

from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from pydantic import Field

from agent.indicators import indicator_summary, volatility_summary
from agent.tools.common import READ_ONLY, ApiCaller, InstId
from agent.trading_api import closed_only, extract_rows, parse_candles
from shared.instruments import CANDLE_BARS


def register_market_tools(mcp: FastMCP, api: ApiCaller, default_bar: str) -> None:
    @mcp.tool(annotations=READ_ONLY)
    async def get_ticker(instId: InstId) -> dict[str, Any]:
        """Latest ticker of one instrument: `last`, `bidPx`, `askPx`, `open24h`, `high24h`, `low24h`,
        `vol24h` (contracts for SWAP), `volCcy24h` (coin), `ts` (ms), `bar`.

        Example: get_ticker(instId="BTC-USDT-SWAP")."""
        body = await api.call("GET", "/api/market/ticker", {"instId": instId})
        return body if isinstance(body, dict) else {"ticker": body}

    @mcp.tool(annotations=READ_ONLY)
    async def get_candles(
        instId: InstId,
        bar: Annotated[
            str | None,
            Field(
                description=f"Candle period, one of {', '.join(CANDLE_BARS[:16])}; default {default_bar}.", default=None
            ),
        ] = None,
        limit: Annotated[int, Field(ge=30, le=300, description="Candles used for the indicators (30-300).")] = 100,
        show: Annotated[int, Field(ge=0, le=100, description="How many of the newest candles to return as rows.")] = 12,
    ) -> dict[str, Any]:
        """Candles with indicators computed oldest-first on the closes of FINISHED candles (the still-forming one is
        left out): EMA(12), EMA(26), MACD(12,26,9) (line, signal, histogram), RSI(14, Wilder), ATR(14) and volume
        against its 20-candle mean; also the previous values so crosses can be seen.
        `emaTrend` is "up" when EMA12 > EMA26. Rows are [ts, open, high, low, close, volume(contracts)],
        oldest first. RSI above 70 is overbought, below 30 oversold.

        Example: get_candles(instId="BTC-USDT-SWAP", bar="15m", limit=100)."""
        chosen_bar = bar or default_bar
        if chosen_bar not in CANDLE_BARS:
            raise ToolError(f"bar {chosen_bar!r} is not an OKX bar; use one of {', '.join(CANDLE_BARS[:16])}")
        body = await api.call("GET", "/api/market/candles", {"instId": instId, "bar": chosen_bar, "limit": limit})
        candles = closed_only(parse_candles(body))
        if not candles:
            raise ToolError(f"the trading API returned no finished candles for {instId} {chosen_bar}")
        rows = [[c.ts, c.open, c.high, c.low, c.close, c.volume] for c in candles[-show:]] if show else []
        return {
            "instId": instId,
            "bar": chosen_bar,
            "lastClose": candles[-1].close,
            "lastTs": candles[-1].ts,
            "indicators": {
                **indicator_summary([c.close for c in candles]),
                **volatility_summary(
                    [c.high for c in candles],
                    [c.low for c in candles],
                    [c.close for c in candles],
                    [c.volume for c in candles],
                ),
            },
            "candles": rows,
        }

    @mcp.tool(annotations=READ_ONLY)
    async def get_order_book(
        instId: InstId,
        depth: Annotated[int, Field(ge=1, le=50, description="Price levels per side.")] = 5,
    ) -> dict[str, Any]:
        """Order book: `bids` and `asks` as levels `{px, sz (contracts for SWAP), numOrders}`, best first.

        Example: get_order_book(instId="ETH-USDT-SWAP", depth=5)."""
        body = await api.call("GET", "/api/market/books", {"instId": instId, "sz": depth})
        return body if isinstance(body, dict) else {"books": body}

    @mcp.tool(annotations=READ_ONLY)
    async def get_funding_rate(instId: InstId) -> dict[str, Any]:
        """Current and next funding rate of a perpetual swap (a positive rate means longs pay shorts,
        every 8 h by default). Only SWAP instruments have one.

        Example: get_funding_rate(instId="BTC-USDT-SWAP")."""
        body = await api.call("GET", "/api/market/funding-rate", {"instId": instId})
        return body if isinstance(body, dict) else {"fundingRate": body}

    @mcp.tool(annotations=READ_ONLY)
    async def get_instrument(instId: InstId) -> dict[str, Any]:
        """Instrument specs: `ctVal` (coin per contract), `ctValCcy`, `lotSz` (size step), `minSz`
        (smallest order), `tickSz` (price step), `lever` (max leverage), `state`.
        Use it before sizing: contracts = notional USDT / (price x ctVal), rounded down to lotSz.

        Example: get_instrument(instId="BTC-USDT-SWAP") -> ctVal "0.01": 1 contract = 0.01 BTC."""
        body = await api.call("GET", "/api/market/instruments", {"instId": instId})
        rows = extract_rows(body, "instruments")
        if rows:
            match = next((r for r in rows if isinstance(r, dict) and r.get("instId") == instId), rows[0])
            return match if isinstance(match, dict) else {"instrument": match}
        return body if isinstance(body, dict) else {"instrument": body}
