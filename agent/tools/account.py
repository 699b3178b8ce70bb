"""Account tools: balance, positions, open orders, the risk guard's limits."""

from typing import Any

from fastmcp import FastMCP

from agent.tools.common import READ_ONLY, ApiCaller, OptionalInstId
from agent.trading_api import compact_balance, compact_order, extract_rows


def register_account_tools(mcp: FastMCP, api: ApiCaller) -> None:
    @mcp.tool(annotations=READ_ONLY)
    async def get_account_balance() -> dict[str, Any]:
        """Account balance, live from OKX: `totalEq` (total equity in USD, the base for sizing risk),
        `usdt` {`eq`, `available` (free to open positions), `frozen` (held by orders/margin), `cashBal`},
        `upl` (unrealized PnL of open positions), `pnl` / `pnlPct` (against the initial equity, null when
        none is set), `currencies` (per-currency equity and availability).

        Example: get_account_balance() -> {"totalEq": "10000", "usdt": {"eq": "10000", "available": "10000", ...}}."""
        return compact_balance(await api.call("GET", "/api/account/balances"))

    @mcp.tool(annotations=READ_ONLY)
    async def get_positions(instId: OptionalInstId = None) -> dict[str, Any]:
        """Open positions, live from OKX. In net mode `posSide` is "net" and `pos` is signed (positive long,
        negative short); in long/short mode `posSide` is "long" or "short" and `pos` is positive. `pos` is in
        contracts for SWAP. Also `avgPx` (entry), `markPx`, `upl` (unrealized PnL, USDT), `lever`, `liqPx`,
        `notionalUsd`, `mgnMode`, and the exits attached to it: `tpTriggerPx`, `slTriggerPx` (null = none:
        an open position without a stop needs an exit plan). An empty list means flat.

        Example: get_positions(instId="BTC-USDT-SWAP") -> {"positions": [{"posSide": "net", "pos": "-2", ...}]}."""
        body = await api.call("GET", "/api/account/positions", {"instId": instId})
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
        body = await api.call("GET", "/api/account/orders", {"instId": instId, "state": "open", "limit": 100})
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
        return await api.call("GET", "/api/trade/risk")
