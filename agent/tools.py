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
from agent.trading_api import (
    TradingApi, TradingApiError, compact_balance, compact_order, extract_rows, order_outcome, parse_candles,
)
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
Sizes must be multiples of `lotSz` and at least `minSz` (see get_instrument). Numbers are decimal strings.
Every order passes the API's risk guard (see get_risk_limits); a refusal comes back as an error naming the
rule, the limit and the actual value. In approval mode an order answers status "pending_approval": it waits
for a person and is not placed yet.
"""


def build_tools_server(get_api: Callable[[], TradingApi], default_bar: str = "3m") -> FastMCP:
    """`get_api` returns the lifespan-owned client (created after the server object)."""
    mcp = FastMCP("aitrader-okx-tools", instructions=INSTRUCTIONS)

    async def call(method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        return (await send(method, path, payload)).body

    async def send(method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        try:
            if method == "GET":
                return await get_api().send("GET", path, params=payload)
            return await get_api().send(method, path, body=payload or {})
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
        """Account balance, live from OKX: `totalEq` (total equity in USD, the base for sizing risk),
        `usdt` {`eq`, `available` (free to open positions), `frozen` (held by orders/margin), `cashBal`},
        `upl` (unrealized PnL of open positions), `pnl` / `pnlPct` (against the initial equity, null when
        none is set), `currencies` (per-currency equity and availability).

        Example: get_account_balance() -> {"totalEq": "10000", "usdt": {"eq": "10000", "available": "10000", ...}}."""
        return compact_balance(await call("GET", "/api/account/balances"))

    @mcp.tool(annotations=READ_ONLY)
    async def get_positions(instId: OptionalInstId = None) -> dict[str, Any]:
        """Open positions, live from OKX. In net mode `posSide` is "net" and `pos` is signed (positive long,
        negative short); in long/short mode `posSide` is "long" or "short" and `pos` is positive. `pos` is in
        contracts for SWAP. Also `avgPx` (entry), `markPx`, `upl` (unrealized PnL, USDT), `lever`, `liqPx`,
        `notionalUsd`, `mgnMode`, and the exits attached to it: `tpTriggerPx`, `slTriggerPx` (null = none:
        an open position without a stop needs an exit plan). An empty list means flat.

        Example: get_positions(instId="BTC-USDT-SWAP") -> {"positions": [{"posSide": "net", "pos": "-2", ...}]}."""
        body = await call("GET", "/api/account/positions", {"instId": instId})
        rows = extract_rows(body, "positions")
        if instId:
            rows = [r for r in rows if not isinstance(r, dict) or r.get("instId") in (None, instId)]
        return {"positions": rows}

    @mcp.tool(annotations=READ_ONLY)
    async def get_open_orders(instId: OptionalInstId = None) -> dict[str, Any]:
        """Orders still working (state submitting, sent, live or partially_filled), newest first, as the API
        recorded them: `ordId`, `clOrdId`, `side`, `posSide`, `ordType`, `sz` (contracts), `px`, `accFillSz`,
        `tpTriggerPx` / `slTriggerPx` attached, `origin` (agent / manual / external) and `runId`.
        Use cancel_order with `ordId` or `clOrdId` to remove one.

        Example: get_open_orders(instId="BTC-USDT-SWAP") -> {"orders": [{"ordId": "...", "state": "live", ...}]}."""
        body = await call("GET", "/api/account/orders", {"instId": instId, "state": "open", "limit": 100})
        return {"orders": [compact_order(r) for r in extract_rows(body, "orders") if isinstance(r, dict)]}

    @mcp.tool(annotations=READ_ONLY)
    async def get_risk_limits() -> dict[str, Any]:
        """The API's risk guard: `limits` {`maxLeverage`, `maxOrderPct` (max notional of one order, % of
        equity), `maxExposurePct` (max open notional of all positions and resting orders, % of equity),
        `dailyLossLimitPct`, `requireStopLoss`, `approvalMode` (auto, or manual: a person approves each agent
        order), `allowedInstIds`} and `state` {`equity`, `dayLoss`, `maxDayLoss`, `dailyLossLatched` (true:
        new exposure is refused until the next UTC day), `openExposure`, `openExposureByInst`}. Closing a
        position is always allowed. Size orders inside these limits.

        Example: get_risk_limits() -> {"limits": {"maxOrderPct": "25", ...}, "state": {"equity": "10000", ...}}."""
        return await call("GET", "/api/trade/risk")

    @mcp.tool(annotations=TRADING)
    async def place_order(
        instId: InstId,
        side: Annotated[Literal["buy", "sell"], Field(description="buy opens/increases a long or reduces a short; sell the opposite.")],
        ordType: Annotated[Literal["market", "limit"], Field(description="market, or limit with px.")] = "market",
        sz: Annotated[
            DecimalString | None,
            Field(description="Size in CONTRACTS for SWAP, a multiple of lotSz, >= minSz. Give sz or notionalUsdt, not both.", default=None),
        ] = None,
        notionalUsdt: Annotated[
            DecimalString | None,
            Field(description="Alternative to sz: USDT notional; the API converts it to contracts with ctVal/lotSz/minSz (rounded down).", default=None),
        ] = None,
        px: Annotated[DecimalString | None, Field(description="Limit price (limit orders only; a market order must not have one).", default=None)] = None,
        posSide: Annotated[
            Literal["net", "long", "short"] | None,
            Field(description="Omit to let the API use the account's mode. net mode: net. long/short mode: open long = buy+long, open short = sell+short, close long = sell+long.", default=None),
        ] = None,
        tdMode: Annotated[Literal["cross", "isolated"], Field(description="Margin mode.")] = "cross",
        leverage: Annotated[int | None, Field(ge=1, le=125, description="Leverage to set for the instrument before the order (the risk guard has a maximum).", default=None)] = None,
        reduceOnly: Annotated[bool | None, Field(description="Only reduce an existing position (no TP/SL then).", default=None)] = None,
        tpTriggerPx: Annotated[DecimalString | None, Field(description="Take-profit trigger price (last price), attached to an opening order: above the price for a buy, below for a sell.", default=None)] = None,
        slTriggerPx: Annotated[DecimalString | None, Field(description="Stop-loss trigger price (last price), attached to an opening order: below the price for a buy, above for a sell. Always give one when opening.", default=None)] = None,
        clOrdId: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9]{1,32}$", description="Client order id (1-32 letters/digits); generated when absent. Sending the same one again never makes a second order.", default=None)] = None,
        runId: Annotated[str | None, Field(description="Strategy run id (set by the agent, not by the model).", default=None)] = None,
    ) -> dict[str, Any]:
        """Place an order through the API's risk guard, optionally setting leverage first and attaching a
        take-profit and a stop-loss (executed at market when triggered).

        The answer is one record with `status`:
        - "placed": sent to OKX; the record has `ordId`, `clOrdId`, `state` (filled / live / partially_filled),
          `accFillSz`, `avgPx`, `sz` in contracts, the attached `tpTriggerPx`/`slTriggerPx`.
        - "duplicate": that clOrdId was already used; nothing new was sent.
        - "pending_approval": approval mode is on; `approvalId` waits for a person, the order is NOT placed yet.
        A risk refusal is an error naming the rule (max_leverage, max_order_pct, max_exposure, daily_loss_limit,
        stop_loss_required, instrument_not_allowed), the limit and the actual value: change the order or stand aside.

        Example, long 3 BTC-USDT-SWAP contracts (0.03 BTC) at 3x with exits around a price of 60000:
        place_order(instId="BTC-USDT-SWAP", side="buy", ordType="market", sz="3", leverage=3,
                    slTriggerPx="59100", tpTriggerPx="61800")"""
        if (sz is None) == (notionalUsdt is None):
            raise ToolError("give exactly one of sz (contracts) or notionalUsdt")
        if ordType == "limit" and px is None:
            raise ToolError("a limit order needs px")
        if ordType == "market" and px is not None:
            raise ToolError("px is only for limit orders; leave it out for a market order")
        body = {
            "instId": instId, "side": side, "ordType": ordType, "sz": sz, "notionalUsdt": notionalUsdt,
            "px": px, "posSide": posSide, "tdMode": tdMode, "leverage": leverage, "reduceOnly": reduceOnly,
            "tpTriggerPx": tpTriggerPx, "slTriggerPx": slTriggerPx, "clOrdId": clOrdId, "runId": runId,
        }
        return order_outcome(await send("POST", "/api/trade/order", body), body)

    @mcp.tool(annotations=TRADING)
    async def cancel_order(
        instId: InstId,
        ordId: Annotated[str | None, Field(pattern=r"^[0-9]{1,32}$", description="Exchange order id (digits).", default=None)] = None,
        clOrdId: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9]{1,32}$", description="Client order id.", default=None)] = None,
        runId: Annotated[str | None, Field(description="Strategy run id (set by the agent, not by the model).", default=None)] = None,
    ) -> dict[str, Any]:
        """Cancel a working order by `ordId` or `clOrdId` (one of them is needed; see get_open_orders).
        The answer: {"canceled": true, "ordId", "clOrdId", "order": the record with its `state` now}.
        An order that already filled or was canceled is an error from OKX.

        Example: cancel_order(instId="BTC-USDT-SWAP", ordId="645348448086081536")."""
        if not ordId and not clOrdId:
            raise ToolError("give ordId or clOrdId")
        body = {"instId": instId, "ordId": ordId, "clOrdId": clOrdId}
        if runId:
            body["runId"] = runId
        answer = await call("POST", "/api/trade/cancel", body)
        if not isinstance(answer, dict):
            return {"result": answer}
        return {**answer, "order": compact_order(answer.get("order")) if answer.get("order") else None}

    @mcp.tool(annotations=TRADING)
    async def close_position(
        instId: InstId,
        posSide: Annotated[
            Literal["net", "long", "short"] | None,
            Field(description="Which position to close in long/short mode (long or short); omit (or net) in net mode.", default=None),
        ] = None,
        runId: Annotated[str | None, Field(description="Strategy run id (set by the agent, not by the model).", default=None)] = None,
    ) -> dict[str, Any]:
        """Close the whole position of an instrument at market (its attached TP/SL go with it). The risk guard
        always allows closing. The answer has `status` like place_order ("placed" with the closing order's
        record, or "pending_approval" in approval mode). No open position is an error (HTTP 404); two positions
        on the instrument (long/short mode) need `posSide`.

        Example: close_position(instId="ETH-USDT-SWAP", posSide="long")."""
        body = {"instId": instId, "posSide": posSide, "runId": runId}
        return order_outcome(await send("POST", "/api/trade/close-position", body), body)

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
