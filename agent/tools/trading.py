"""Trading tools: place, cancel, close, set or move a position's TP/SL. Each carries the caller's origin
(`agent.origin`, sent as `X-AiTrader-Origin` by the API client); analyses also send their run id in the body."""

from typing import Annotated, Any, Literal

from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from pydantic import Field

from agent.origin import current_origin, run_id_of
from agent.tools.common import TRADING, TRADING_TAG, ApiCaller, DecimalString, InstId
from agent.trading_api import compact_order, extract_rows, order_outcome

PosSide = Annotated[
    Literal["net", "long", "short"] | None,
    Field(description="Which position: omit (or net) in net mode; long or short in long/short mode.", default=None),
]


def register_trading_tools(mcp: FastMCP, api: ApiCaller) -> None:
    @mcp.tool(annotations=TRADING, tags={TRADING_TAG})
    async def place_order(
        instId: InstId,
        side: Annotated[
            Literal["buy", "sell"],
            Field(description="buy opens/increases a long or reduces a short; sell the opposite."),
        ],
        ordType: Annotated[Literal["market", "limit"], Field(description="market, or limit with px.")] = "market",
        sz: Annotated[
            DecimalString | None,
            Field(
                description="Size in CONTRACTS for SWAP, a multiple of lotSz, >= minSz. Give sz or notionalUsdt, not both.",
                default=None,
            ),
        ] = None,
        notionalUsdt: Annotated[
            DecimalString | None,
            Field(
                description="Alternative to sz: USDT notional; the API converts it to contracts with ctVal/lotSz/minSz (rounded down).",
                default=None,
            ),
        ] = None,
        px: Annotated[
            DecimalString | None,
            Field(description="Limit price (limit orders only; a market order must not have one).", default=None),
        ] = None,
        posSide: Annotated[
            Literal["net", "long", "short"] | None,
            Field(
                description="Omit to let the API use the account's mode. net mode: net. long/short mode: open long = buy+long, open short = sell+short, close long = sell+long.",
                default=None,
            ),
        ] = None,
        tdMode: Annotated[Literal["cross", "isolated"], Field(description="Margin mode.")] = "cross",
        leverage: Annotated[
            int | None,
            Field(
                ge=1,
                le=125,
                description="Leverage to set for the instrument before the order (the risk guard has a maximum).",
                default=None,
            ),
        ] = None,
        reduceOnly: Annotated[
            bool | None, Field(description="Only reduce an existing position (no TP/SL then).", default=None)
        ] = None,
        tpTriggerPx: Annotated[
            DecimalString | None,
            Field(
                description="Take-profit trigger price (last price), attached to an opening order: above the price for a buy, below for a sell.",
                default=None,
            ),
        ] = None,
        slTriggerPx: Annotated[
            DecimalString | None,
            Field(
                description="Stop-loss trigger price (last price), attached to an opening order: below the price for a buy, above for a sell. Always give one when opening.",
                default=None,
            ),
        ] = None,
        clOrdId: Annotated[
            str | None,
            Field(
                pattern=r"^[A-Za-z0-9]{1,32}$",
                description="Client order id (1-32 letters/digits); generated when absent. Sending the same one again never makes a second order.",
                default=None,
            ),
        ] = None,
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
            "instId": instId,
            "side": side,
            "ordType": ordType,
            "sz": sz,
            "notionalUsdt": notionalUsdt,
            "px": px,
            "posSide": posSide,
            "tdMode": tdMode,
            "leverage": leverage,
            "reduceOnly": reduceOnly,
            "tpTriggerPx": tpTriggerPx,
            "slTriggerPx": slTriggerPx,
            "clOrdId": clOrdId,
            "runId": run_id_of(current_origin()),
        }
        return order_outcome(await api.send("POST", "/api/trade/order", body), body)

    @mcp.tool(annotations=TRADING, tags={TRADING_TAG})
    async def cancel_order(
        instId: InstId,
        ordId: Annotated[
            str | None, Field(pattern=r"^[0-9]{1,32}$", description="Exchange order id (digits).", default=None)
        ] = None,
        clOrdId: Annotated[
            str | None, Field(pattern=r"^[A-Za-z0-9]{1,32}$", description="Client order id.", default=None)
        ] = None,
    ) -> dict[str, Any]:
        """Cancel a working order by `ordId` or `clOrdId` (one of them is needed; see get_open_orders).
        The answer: {"canceled": true, "ordId", "clOrdId", "order": the record with its `state` now}.
        An order that already filled or was canceled is an error from OKX.

        Example: cancel_order(instId="BTC-USDT-SWAP", ordId="645348448086081536")."""
        if not ordId and not clOrdId:
            raise ToolError("give ordId or clOrdId")
        body = {"instId": instId, "ordId": ordId, "clOrdId": clOrdId, "runId": run_id_of(current_origin())}
        answer = await api.call("POST", "/api/trade/cancel", body)
        if not isinstance(answer, dict):
            return {"result": answer}
        return {**answer, "order": compact_order(answer.get("order")) if answer.get("order") else None}

    @mcp.tool(annotations=TRADING, tags={TRADING_TAG})
    async def close_position(
        instId: InstId,
        posSide: Annotated[
            Literal["net", "long", "short"] | None,
            Field(
                description="Which position to close in long/short mode (long or short); omit (or net) in net mode.",
                default=None,
            ),
        ] = None,
    ) -> dict[str, Any]:
        """Close the whole position of an instrument at market (its attached TP/SL go with it). The risk guard
        always allows closing. The answer has `status` like place_order ("placed" with the closing order's
        record, or "pending_approval" in approval mode). No open position is an error (HTTP 404); two positions
        on the instrument (long/short mode) need `posSide`.

        Example: close_position(instId="ETH-USDT-SWAP", posSide="long")."""
        body = {"instId": instId, "posSide": posSide, "runId": run_id_of(current_origin())}
        return order_outcome(await api.send("POST", "/api/trade/close-position", body), body)

    async def set_tpsl(instId: str, posSide: str | None, tp: str | None, sl: str | None) -> dict[str, Any]:
        body = {"instId": instId, "posSide": posSide, "tpTriggerPx": tp, "slTriggerPx": sl}
        answer = await api.send("POST", "/api/trade/position-tpsl", body)
        return tpsl_outcome(answer.status, answer.body, body)

    @mcp.tool(annotations=TRADING, tags={TRADING_TAG})
    async def set_position_tpsl(
        instId: InstId,
        posSide: PosSide = None,
        tpTriggerPx: Annotated[
            DecimalString | None,
            Field(
                description="Take-profit trigger price (last price); null or omitted removes the take-profit.",
                default=None,
            ),
        ] = None,
        slTriggerPx: Annotated[
            DecimalString | None,
            Field(
                description="Stop-loss trigger price (last price); null or omitted removes the stop-loss.", default=None
            ),
        ] = None,
    ) -> dict[str, Any]:
        """Set (replace) the take-profit and stop-loss of an OPEN position, as exchange-side algo orders that close
        it at market when triggered. Both legs are replaced: give both to keep both; a leg left out is REMOVED.
        For a long the stop is below the price and the target above; the opposite for a short.
        The answer: {"status": "set", "instId", "posSide", "tpTriggerPx", "slTriggerPx", "algoIds"}, or
        "pending_approval" in approval mode. No open position is an error (HTTP 404).

        Example: set_position_tpsl(instId="BTC-USDT-SWAP", slTriggerPx="59100", tpTriggerPx="61800")"""
        return await set_tpsl(instId, posSide, tpTriggerPx, slTriggerPx)

    @mcp.tool(annotations=TRADING, tags={TRADING_TAG})
    async def move_stop(
        instId: InstId,
        slTriggerPx: Annotated[DecimalString, Field(description="The new stop-loss trigger price (last price).")],
        posSide: PosSide = None,
    ) -> dict[str, Any]:
        """Move the stop-loss of an open position (e.g. to break-even or trailing), keeping its take-profit.
        Reads the position's current take-profit and sets both again; same answer as set_position_tpsl.

        Example: move_stop(instId="BTC-USDT-SWAP", slTriggerPx="60250")"""
        body = await api.call("GET", "/api/account/positions", {"instId": instId})
        held = [
            p
            for p in extract_rows(body, "positions")
            if isinstance(p, dict) and p.get("instId") == instId and (posSide is None or p.get("posSide") == posSide)
        ]
        if not held:
            raise ToolError(
                f"no open position in {instId}" + (f" ({posSide})" if posSide else "") + " to move a stop on"
            )
        if len(held) > 1:
            raise ToolError(f"{instId} has a long and a short position: give posSide")
        return await set_tpsl(
            instId, posSide or held[0].get("posSide"), held[0].get("tpTriggerPx") or None, slTriggerPx
        )


def tpsl_outcome(status: int, body: Any, request: dict[str, Any]) -> dict[str, Any]:
    """`POST /api/trade/position-tpsl`'s answer as one record: "set" (200) or "pending_approval" (202)."""
    answer = body if isinstance(body, dict) else {}
    if status == 202:
        return {
            "status": "pending_approval",
            "approvalId": answer.get("approvalId"),
            **{k: v for k, v in request.items() if v is not None},
            "note": "TRADE_APPROVAL_MODE=manual: the TP/SL change waits for a person; it is not in force yet",
        }
    keys = ("instId", "posSide", "tpTriggerPx", "slTriggerPx", "algoIds")
    return {"status": "set", **{k: answer.get(k) for k in keys}}
