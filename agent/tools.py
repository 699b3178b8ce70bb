"""The agent's tools as a FastMCP server: mounted at /mcp for any MCP client, and called in-process by the loop.

Every tool is a thin, documented call to the trading API over HTTP (the API owns OKX keys, the risk
guard and the records). Docstrings and parameter descriptions are the model's manual.
"""


from typing import Annotated, Any, Callable, Literal

from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from agent.indicators import indicator_summary
from agent.trading_api import TradingApi, TradingApiError, extract_rows, parse_candles
from shared.instruments import CANDLE_BARS

# The strategy run id is attached by the agent's own loop, never chosen by the model.
RUN_ID_PARAM = "runId"
TRADING_TOOLS = frozenset({"place_order", "cancel_order", "close_position"})

READ_ONLY = ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=True)
TRADING = ToolAnnotations(readOnlyHint=False, destructiveHint=True, idempotentHint=False, openWorldHint=True)

InstId = Annotated[
    str,
    Field(
        description="OKX instrument id, upper case, e.g. BTC-USDT-SWAP (USDT-margined perpetual) or BTC-USDT (spot).",
        pattern=r"^[A-Z0-9]{1,20}-[A-Z0-9]{1,20}(-(SWAP|[0-9]{6}))?$",
    ),
]
OptionalInstId = Annotated[
    str | None,
    Field(description="Limit to one instrument id (e.g. BTC-USDT-SWAP); omit for all.", default=None),
]
DecimalString = Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]+)?$")]

INSTRUCTIONS = """\
Tools for trading OKX through the AiTrader trading API.
Units: for SWAP/FUTURES every size (`sz`, position `pos`, book sizes) is a number of CONTRACTS; one
contract is `ctVal` units of `ctValCcy` (BTC-USDT-SWAP: 0.01 BTC). Notional USDT = contracts x ctVal x price.
Sizes must be multiples of `lotSz` and at least `minSz` (see get_instrument). Prices are strings.
Every order passes the API's risk guard; a refusal comes back as an error naming the rule and the numbers.
"""


def build_tools_server(get_api: Callable[[], TradingApi], default_bar: str = "3m") -> FastMCP:
    """`get_api` returns the lifespan-owned client (created after the server object)."""
    mcp = FastMCP("aitrader-okx-tools", instructions=INSTRUCTIONS)

    async def call(method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        try:
            if method == "GET":
                return await get_api().get(path, payload)
            return await get_api().post(path, payload or {})
        except TradingApiError as exc:
            raise ToolError(str(exc)) from None

    @mcp.tool(annotations=READ_ONLY)
    async def get_ticker(instId: InstId) -> dict[str, Any]:
        """Latest ticker of one instrument: `last`, `bidPx`, `askPx`, `open24h`, `high24h`, `low24h`,
        `vol24h` (contracts for SWAP), `volCcy24h` (coin), `ts` (ms), `bar`.

        Example: get_ticker(instId="BTC-USDT-SWAP")."""
        body = await call("GET", "/api/market/ticker", {"instId": instId})
        return body if isinstance(body, dict) else {"ticker": body}

    @mcp.tool(annotations=READ_ONLY)
    async def get_candles(
        instId: InstId,
        bar: Annotated[
            str | None,
            Field(description=f"Candle period, one of {', '.join(CANDLE_BARS[:16])}; default {default_bar}.", default=None),
        ] = None,
        limit: Annotated[int, Field(ge=30, le=300, description="Candles used for the indicators (30-300).")] = 100,
        show: Annotated[int, Field(ge=0, le=100, description="How many of the newest candles to return as rows.")] = 12,
    ) -> dict[str, Any]:
        """Candles with indicators computed oldest-first on closing prices: EMA(12), EMA(26), MACD(12,26,9)
        (line, signal, histogram) and RSI(14, Wilder); also the previous values so crosses can be seen.
        `emaTrend` is "up" when EMA12 > EMA26. Rows are [ts, open, high, low, close, volume(contracts)],
        oldest first. RSI above 70 is overbought, below 30 oversold.

        Example: get_candles(instId="BTC-USDT-SWAP", bar="15m", limit=100)."""
        chosen_bar = bar or default_bar
        if chosen_bar not in CANDLE_BARS:
            raise ToolError(f"bar {chosen_bar!r} is not an OKX bar; use one of {', '.join(CANDLE_BARS[:16])}")
        body = await call("GET", "/api/market/candles", {"instId": instId, "bar": chosen_bar, "limit": limit})
        candles = parse_candles(body)
        if not candles:
            raise ToolError(f"the trading API returned no candles for {instId} {chosen_bar}")
        rows = [[c.ts, c.open, c.high, c.low, c.close, c.volume] for c in candles[-show:]] if show else []
        return {
            "instId": instId,
            "bar": chosen_bar,
            "lastClose": candles[-1].close,
            "lastTs": candles[-1].ts,
            "indicators": indicator_summary([c.close for c in candles]),
            "candles": rows,
        }

    @mcp.tool(annotations=READ_ONLY)
    async def get_order_book(
        instId: InstId,
        depth: Annotated[int, Field(ge=1, le=50, description="Price levels per side.")] = 5,
    ) -> dict[str, Any]:
        """Order book: `bids` and `asks` as [price, size(contracts for SWAP), ...], best first.

        Example: get_order_book(instId="ETH-USDT-SWAP", depth=5)."""
        body = await call("GET", "/api/market/books", {"instId": instId, "sz": depth})
        return body if isinstance(body, dict) else {"books": body}

    @mcp.tool(annotations=READ_ONLY)
    async def get_funding_rate(instId: InstId) -> dict[str, Any]:
        """Current and next funding rate of a perpetual swap (a positive rate means longs pay shorts,
        every 8 h by default). Only SWAP instruments have one.

        Example: get_funding_rate(instId="BTC-USDT-SWAP")."""
        body = await call("GET", "/api/market/funding-rate", {"instId": instId})
        return body if isinstance(body, dict) else {"fundingRate": body}

    @mcp.tool(annotations=READ_ONLY)
    async def get_instrument(instId: InstId) -> dict[str, Any]:
        """Instrument specs: `ctVal` (coin per contract), `ctValCcy`, `lotSz` (size step), `minSz`
        (smallest order), `tickSz` (price step), `lever` (max leverage), `state`.
        Use it before sizing: contracts = notional USDT / (price x ctVal), rounded down to lotSz.

        Example: get_instrument(instId="BTC-USDT-SWAP") -> ctVal "0.01": 1 contract = 0.01 BTC."""
        body = await call("GET", "/api/market/instruments", {"instId": instId})
        rows = extract_rows(body, "instruments")
        if rows:
            match = next((r for r in rows if isinstance(r, dict) and r.get("instId") == instId), rows[0])
            return match if isinstance(match, dict) else {"instrument": match}
        return body if isinstance(body, dict) else {"instrument": body}

    @mcp.tool(annotations=READ_ONLY)
    async def get_account_balance() -> dict[str, Any]:
        """Account equity and USDT available / frozen (USDT). Size risk from total equity.

        Example: get_account_balance()."""
        body = await call("GET", "/api/account/balances")
        return body if isinstance(body, dict) else {"balances": body}

    @mcp.tool(annotations=READ_ONLY)
    async def get_positions(instId: OptionalInstId = None) -> dict[str, Any]:
        """Open positions. In net mode `posSide` is "net" and `pos` is signed (positive long, negative
        short); in long/short mode `posSide` is "long" or "short" and `pos` is positive. `pos` is in
        contracts for SWAP; `avgPx` entry, `upl` unrealized PnL (USDT), `lever`, `liqPx`.

        Example: get_positions(instId="BTC-USDT-SWAP")."""
        body = await call("GET", "/api/account/positions", {"instId": instId})
        rows = extract_rows(body, "positions")
        if instId:
            rows = [r for r in rows if not isinstance(r, dict) or r.get("instId") in (None, instId)]
        return {"positions": rows}

    @mcp.tool(annotations=READ_ONLY)
    async def get_open_orders(instId: OptionalInstId = None) -> dict[str, Any]:
        """Orders still working (state live or partially_filled), with `ordId`, `clOrdId`, `side`,
        `posSide`, `sz` (contracts), `px`, attached TP/SL. Use cancel_order to remove one.

        Example: get_open_orders(instId="BTC-USDT-SWAP")."""
        body = await call("GET", "/api/account/orders", {"instId": instId})
        rows = extract_rows(body, "orders")
        open_rows = [
            r for r in rows
            if isinstance(r, dict)
            and (not instId or r.get("instId") in (None, instId))
            and r.get("state", "live") in ("live", "partially_filled")
        ]
        return {"orders": open_rows}

    @mcp.tool(annotations=TRADING)
    async def place_order(
        instId: InstId,
        side: Annotated[Literal["buy", "sell"], Field(description="buy opens/increases long or closes short; sell the opposite.")],
        ordType: Annotated[Literal["market", "limit"], Field(description="market, or limit with px.")] = "market",
        sz: Annotated[
            DecimalString | None,
            Field(description="Size in CONTRACTS for SWAP (coin for spot), a multiple of lotSz, >= minSz. Give sz or notionalUsdt.", default=None),
        ] = None,
        notionalUsdt: Annotated[
            DecimalString | None,
            Field(description="Alternative to sz: USDT notional; the API converts with ctVal/lotSz/minSz.", default=None),
        ] = None,
        px: Annotated[DecimalString | None, Field(description="Limit price (limit orders only).", default=None)] = None,
        posSide: Annotated[
            Literal["net", "long", "short"] | None,
            Field(description="net in net mode; long/short in long/short mode (open long = buy+long, open short = sell+short). Default from the account mode.", default=None),
        ] = None,
        tdMode: Annotated[Literal["cross", "isolated"], Field(description="Margin mode.")] = "cross",
        leverage: Annotated[int | None, Field(ge=1, le=125, description="Leverage to set before the order.", default=None)] = None,
        reduceOnly: Annotated[bool | None, Field(description="Only reduce an existing position.", default=None)] = None,
        tpTriggerPx: Annotated[DecimalString | None, Field(description="Attached take-profit trigger price.", default=None)] = None,
        slTriggerPx: Annotated[DecimalString | None, Field(description="Attached stop-loss trigger price. Always give one when opening.", default=None)] = None,
        clOrdId: Annotated[str | None, Field(max_length=32, description="Client order id; generated when absent.", default=None)] = None,
        runId: Annotated[str | None, Field(description="Strategy run id (set by the agent, not by the model).", default=None)] = None,
    ) -> dict[str, Any]:
        """Place an order through the API's risk guard, optionally setting leverage and attaching a
        take-profit and a stop-loss (market orders at trigger). The answer has `ordId`, `clOrdId`, state.
        A refusal (e.g. HTTP 422 from the risk guard) names the rule and the numbers: adjust or stand aside.

        Example, long 0.5 BTC-USDT-SWAP contracts (0.005 BTC) at 3x with exits:
        place_order(instId="BTC-USDT-SWAP", side="buy", ordType="market", sz="0.5", leverage=3,
                    slTriggerPx="58000", tpTriggerPx="66000")"""
        if (sz is None) == (notionalUsdt is None):
            raise ToolError("give exactly one of sz (contracts) or notionalUsdt")
        if ordType == "limit" and px is None:
            raise ToolError("a limit order needs px")
        body = {
            "instId": instId, "side": side, "ordType": ordType, "sz": sz, "notionalUsdt": notionalUsdt,
            "px": px, "posSide": posSide, "tdMode": tdMode, "leverage": leverage, "reduceOnly": reduceOnly,
            "tpTriggerPx": tpTriggerPx, "slTriggerPx": slTriggerPx, "clOrdId": clOrdId, "runId": runId,
        }
        answer = await call("POST", "/api/trade/order", body)
        return answer if isinstance(answer, dict) else {"result": answer}

    @mcp.tool(annotations=TRADING)
    async def cancel_order(
        instId: InstId,
        ordId: Annotated[str | None, Field(description="Exchange order id.", default=None)] = None,
        clOrdId: Annotated[str | None, Field(description="Client order id.", default=None)] = None,
    ) -> dict[str, Any]:
        """Cancel a working order by `ordId` or `clOrdId` (one of them is needed).

        Example: cancel_order(instId="BTC-USDT-SWAP", ordId="645348448086081536")."""
        if not ordId and not clOrdId:
            raise ToolError("give ordId or clOrdId")
        answer = await call("POST", "/api/trade/cancel", {"instId": instId, "ordId": ordId, "clOrdId": clOrdId})
        return answer if isinstance(answer, dict) else {"result": answer}

    @mcp.tool(annotations=TRADING)
    async def close_position(
        instId: InstId,
        posSide: Annotated[
            Literal["net", "long", "short"] | None,
            Field(description="Which side to close in long/short mode; net (or omit) in net mode.", default=None),
        ] = None,
        runId: Annotated[str | None, Field(description="Strategy run id (set by the agent, not by the model).", default=None)] = None,
    ) -> dict[str, Any]:
        """Close the whole position of an instrument at market (and its attached TP/SL).

        Example: close_position(instId="ETH-USDT-SWAP", posSide="long")."""
        answer = await call("POST", "/api/trade/close-position", {"instId": instId, "posSide": posSide, "runId": runId})
        return answer if isinstance(answer, dict) else {"result": answer}

    return mcp


async def openai_tool_schemas(mcp: FastMCP) -> list[dict[str, Any]]:
    """The MCP tool list as OpenAI `tools`; the run id parameter is hidden from the model."""
    schemas: list[dict[str, Any]] = []
    for tool in await mcp.list_tools():
        mcp_tool = tool.to_mcp_tool()
        parameters = dict(mcp_tool.input_schema or {"type": "object", "properties": {}})
        properties = {k: v for k, v in (parameters.get("properties") or {}).items() if k != RUN_ID_PARAM}
        parameters["properties"] = properties
        if "required" in parameters:
            parameters["required"] = [r for r in parameters["required"] if r != RUN_ID_PARAM]
        schemas.append({
            "type": "function",
            "function": {"name": mcp_tool.name, "description": mcp_tool.description or "", "parameters": parameters},
        })
    return schemas
