"""MCP tools of the strategy lab (scope `lab`): start a backtest, read its results, compare backtests.

Like every agent tool they are thin calls to the trading API over HTTP (`/api/lab/...`, CONTRACT §8).
Register them on a FastMCP server with `register_lab_tools(mcp, get_api)`; they carry the `lab` tag so the
token-scope filter can show them only to tokens with the `lab` scope.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from agent.trading_api import TradingApi, TradingApiError

LAB_TAG = "lab"
LAB_TOOL_NAMES = (
    "lab_list_datasets",
    "lab_list_profiles",
    "lab_start_backtest",
    "lab_get_backtest",
    "lab_compare_backtests",
)
READ = ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False)
START = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=False)

BacktestId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="Backtest id (bt-...).")]


def register_lab_tools(mcp: FastMCP, get_api: Callable[[], TradingApi]) -> None:
    async def call(method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        api = get_api()
        try:
            if method == "GET":
                return await api.get(path, payload)
            return await api.post(path, payload or {})
        except TradingApiError as exc:
            raise ToolError(str(exc)) from None

    @mcp.tool(annotations=READ, tags={LAB_TAG})
    async def lab_list_datasets() -> dict[str, Any]:
        """Candle datasets available for backtests: `id`, `instId`, `bar`, `count`, `from`, `to` (UTC)."""
        return {"datasets": await call("GET", "/api/lab/datasets")}

    @mcp.tool(annotations=READ, tags={LAB_TAG})
    async def lab_list_profiles() -> dict[str, Any]:
        """Strategy profiles (newest version of each): prompt, LLM, instruments, bar, trigger settings, risk limits."""
        return {"profiles": await call("GET", "/api/lab/profiles")}

    @mcp.tool(annotations=START, tags={LAB_TAG})
    async def lab_start_backtest(
        profile: Annotated[str, Field(description="Profile name (see lab_list_profiles).")],
        datasetId: Annotated[str, Field(description="Dataset id (see lab_list_datasets).")],
        initialEquity: Annotated[float, Field(gt=0, description="Starting equity in USDT.")] = 10000,
        profileVersion: Annotated[int | None, Field(ge=1, description="Profile version; newest when omitted.")] = None,
        slippageBps: Annotated[float, Field(ge=0, le=1000, description="Slippage of market fills in bps.")] = 0,
        budgetUsd: Annotated[float | None, Field(ge=0, description="LLM budget: refused over it, stops at it.")] = None,
    ) -> dict[str, Any]:
        """Queue a backtest of a profile over a dataset (run by `make lab-worker`). Answers its `id` and the cost
        `estimate` (`runs`, `costUsd`); over `budgetUsd` it is refused with the estimate. Poll lab_get_backtest."""
        body = {"profile": profile, "datasetId": datasetId, "initialEquity": initialEquity, "slippageBps": slippageBps}
        if profileVersion is not None:
            body["profileVersion"] = profileVersion
        if budgetUsd is not None:
            body["budgetUsd"] = budgetUsd
        return await call("POST", "/api/lab/backtests", body)

    @mcp.tool(annotations=READ, tags={LAB_TAG})
    async def lab_get_backtest(id: BacktestId) -> dict[str, Any]:
        """A backtest: `status` (queued/running/succeeded/failed/canceled), `progress` 0..1, `partial`, and once done
        `metrics` as fractions (totalReturn 0.05 = +5 %): totalReturn, buyHoldReturn, maxDrawdown, sharpe, sortino,
        winRate, profitFactor, trades, fees, funding, llmCostUsd, runsBySource."""
        return await call("GET", f"/api/lab/backtests/{id}")

    @mcp.tool(annotations=READ, tags={LAB_TAG})
    async def lab_compare_backtests(
        ids: Annotated[list[BacktestId], Field(min_length=1, max_length=12, description="Backtest ids to compare.")],
    ) -> dict[str, Any]:
        """Backtests side by side: each one's metrics and the profile changes against the first (no equity points)."""
        answer = await call("GET", "/api/lab/compare", {"ids": ",".join(ids)})
        return {"backtests": answer.get("backtests"), "profileDiffs": answer.get("profileDiffs")}
