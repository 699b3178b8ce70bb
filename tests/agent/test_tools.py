"""The FastMCP tools against the REAL trading API in front of the OKX simulator (one stack for the module).

Called in-process (the same FastMCP server `/mcp` serves, as the agent's loop calls it; MCP over HTTP is in
test_process.py). Each test starts flat (positions closed, open orders cancelled).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastmcp import Client, FastMCP
from fastmcp.exceptions import ToolError
from fastmcp.exceptions import ValidationError as FastMcpValidationError

from agent.origin import acting_as, run_origin
from agent.tools import TRADING_TOOLS, build_tools_server
from agent.trading_api import TradingApi
from tests.agent.conftest import BTC, FAST_API, RealStack
from tests.conftest import _server_url
from tests.helpers import free_port, scratch_database
from tests.stack import api_env, api_server


@contextlib.asynccontextmanager
async def tools(api_url: str, headers: dict[str, str]) -> AsyncIterator[FastMCP]:
    """The tools server called in-process, as the agent's loop calls it (so the origin context applies)."""
    async with httpx.AsyncClient(base_url=api_url, headers=headers, timeout=20) as http:
        yield build_tools_server(lambda: TradingApi(http))


async def data(mcp: FastMCP, name: str, args: dict[str, Any] | None = None, run: str | None = None) -> dict[str, Any]:
    with acting_as(run_origin(run)) if run else contextlib.nullcontext():
        result = await mcp.call_tool(name, args or {})
    assert not result.is_error, result.content
    return result.structured_content


async def error_text(mcp: FastMCP, name: str, args: dict[str, Any], run: str | None = None) -> str:
    with acting_as(run_origin(run)) if run else contextlib.nullcontext():
        try:
            result = await mcp.call_tool(name, args)
        except (ToolError, FastMcpValidationError) as exc:
            return str(exc)
    assert result.is_error, result.structured_content
    return result.content[0].text


def run_origin_recorded(value: str, run_id: str) -> bool:
    """The API records the origin the header carried (interface 1)."""
    return value == f"agent:run:{run_id}"


def last_price(stack: RealStack, inst_id: str = BTC) -> Decimal:
    return Decimal(stack.api.get("/api/market/ticker", instId=inst_id).json()["last"])


async def test_tools_are_listed_with_annotations_and_manuals() -> None:
    mcp = build_tools_server(lambda: TradingApi(httpx.AsyncClient()), default_bar="5m")
    async with Client(mcp) as client:
        listed = {t.name: t for t in await client.list_tools()}
    read_only = {n for n, t in listed.items() if t.annotations and t.annotations.read_only_hint}
    assert read_only == {
        "get_ticker",
        "get_candles",
        "get_order_book",
        "get_funding_rate",
        "get_instrument",
        "get_account_balance",
        "get_positions",
        "get_open_orders",
        "get_risk_limits",
    }
    assert (
        {n for n, t in listed.items() if t.annotations.destructive_hint}
        == set(TRADING_TOOLS)
        == {"place_order", "cancel_order", "close_position", "set_position_tpsl", "move_stop"}
    )
    place = listed["place_order"].description
    assert (
        "CONTRACTS" in str(listed["place_order"].inputSchema)
        and "pending_approval" in place
        and "max_order_pct" in place
    )
    assert "ctVal" in listed["get_instrument"].description and "totalEq" in listed["get_account_balance"].description
    assert "net" in listed["get_positions"].description and "slTriggerPx" in listed["get_positions"].description


async def test_market_account_and_risk_reads(stack: RealStack) -> None:
    async with tools(stack.api.url, stack.api.headers) as client:
        ticker = await data(client, "get_ticker", {"instId": BTC})
        assert Decimal(ticker["last"]) > 0 and ticker["bar"] == "3m"
        candles = await data(client, "get_candles", {"instId": BTC, "bar": "1m", "limit": 60})
        raw = stack.api.get("/api/market/candles", instId=BTC, bar="1m", limit=60).json()["candles"]
        finished = [c for c in raw if c["confirm"] != "0"]
        assert len(finished) < len(raw)  # the simulator's newest candle is still forming ...
        assert (
            candles["indicators"]["closes"] == len(finished) and candles["indicators"]["ema26"] is not None
        )  # ... and left out
        assert candles["lastTs"] == max(int(c["ts"]) for c in finished)
        assert [row[0] for row in candles["candles"]] == sorted(row[0] for row in candles["candles"])
        spec = await data(client, "get_instrument", {"instId": BTC})
        assert spec["instId"] == BTC and (spec["ctVal"], spec["lotSz"]) == ("0.01", "0.1")
        book = await data(client, "get_order_book", {"instId": BTC, "depth": 3})
        assert len(book["asks"]) == 3 and book["bids"]
        assert "not an OKX bar" in await error_text(client, "get_candles", {"instId": BTC, "bar": "7m"})

        balance = await data(client, "get_account_balance")
        sim_balance = stack.sim.control("GET", "state").json()["balance"]
        assert Decimal(balance["totalEq"]) == Decimal(sim_balance["totalEq"])
        assert set(balance["usdt"]) == {"eq", "available", "frozen", "cashBal"} and balance["totalEqCcy"] == "USD"
        assert balance["currencies"][0]["ccy"] == "USDT" and "details" not in balance
        assert await data(client, "get_positions", {"instId": BTC}) == {"positions": []}
        assert await data(client, "get_open_orders", {"instId": BTC}) == {"orders": []}
        risk = await data(client, "get_risk_limits")
        assert risk["limits"]["maxOrderPct"] == "25" and risk["limits"]["approvalMode"] == "auto"
        assert risk["state"]["dailyLossLatched"] is False


async def test_order_with_exits_is_recorded_as_the_runs_then_closed(stack: RealStack) -> None:
    price = last_price(stack)
    stop, target = (
        (price * Decimal("0.98")).quantize(Decimal("0.1")),
        (price * Decimal("1.03")).quantize(Decimal("0.1")),
    )
    async with tools(stack.api.url, stack.api.headers) as client:
        placed = await data(
            client,
            "place_order",
            {
                "instId": BTC,
                "side": "buy",
                "ordType": "market",
                "sz": "1.5",
                "leverage": 3,
                "slTriggerPx": str(stop),
                "tpTriggerPx": str(target),
            },
            run="run-tools-1",
        )
        assert placed["status"] == "placed" and placed["state"] == "filled", placed
        assert run_origin_recorded(placed["origin"], "run-tools-1")
        assert (placed["runId"], placed["sz"], placed["lever"]) == ("run-tools-1", "1.5", "3")
        assert Decimal(placed["slTriggerPx"]) == stop and Decimal(placed["tpTriggerPx"]) == target

        # The API recorded it as the agent's, with the run id; the simulator holds the position.
        [record] = [o for o in stack.orders(instId=BTC) if o["clOrdId"] == placed["clOrdId"]]
        assert run_origin_recorded(record["origin"], "run-tools-1")
        assert (record["runId"], record["purpose"]) == ("run-tools-1", "order")
        [sim_position] = [p for p in stack.sim.control("GET", "state").json()["positions"] if p["instId"] == BTC]
        assert Decimal(sim_position["pos"]) == Decimal("1.5")

        [position] = (await data(client, "get_positions", {"instId": BTC}))["positions"]
        assert (position["posSide"], Decimal(position["pos"]), position["lever"]) == ("net", Decimal("1.5"), "3")
        assert Decimal(position["slTriggerPx"]) == stop

        closed = await data(client, "close_position", {"instId": BTC}, run="run-tools-1")
        assert closed["status"] == "placed" and closed["purpose"] == "close" and closed["side"] == "sell"
        assert closed["runId"] == "run-tools-1" and run_origin_recorded(closed["origin"], "run-tools-1")
        assert (await data(client, "get_positions", {"instId": BTC}))["positions"] == []
        again = await error_text(client, "close_position", {"instId": BTC})
        assert "HTTP 404" in again and "no open position" in again


async def test_limit_order_is_listed_open_then_cancelled(stack: RealStack) -> None:
    far_below = (last_price(stack) * Decimal("0.5")).quantize(Decimal("0.1"))
    async with tools(stack.api.url, stack.api.headers) as client:
        placed = await data(
            client,
            "place_order",
            {
                "instId": BTC,
                "side": "buy",
                "ordType": "limit",
                "sz": "1",
                "px": str(far_below),
                "clOrdId": "toolsLimit1",
            },
        )
        assert placed["status"] == "placed" and placed["state"] == "live" and placed["origin"] == "manual"
        [working] = (await data(client, "get_open_orders", {"instId": BTC}))["orders"]
        assert working["clOrdId"] == "toolsLimit1" and Decimal(working["px"]) == far_below
        # A run id travels with the cancel (the API accepts it and logs which run cancelled).
        cancelled = await data(client, "cancel_order", {"instId": BTC, "ordId": working["ordId"]}, run="run-cancel-1")
        assert cancelled["canceled"] is True and cancelled["order"]["state"] == "canceled"
        assert (await data(client, "get_open_orders", {"instId": BTC}))["orders"] == []
        assert "ordId" in await error_text(client, "cancel_order", {"instId": BTC, "ordId": "not-digits"})


async def test_refusals_and_duplicates_are_readable(stack: RealStack) -> None:
    price = last_price(stack)
    async with tools(stack.api.url, stack.api.headers) as client:
        refused = await error_text(client, "place_order", {"instId": BTC, "side": "buy", "sz": "1000"}, run="run-big")
        assert "risk guard refused" in refused and "rule max_order_pct" in refused and "HTTP 422" in refused
        assert "limit " in refused and "actual " in refused and "RISK_MAX_ORDER_PCT" in refused
        wrong_tp = await error_text(
            client, "place_order", {"instId": BTC, "side": "buy", "sz": "1", "tpTriggerPx": str(price * Decimal("0.9"))}
        )
        assert "HTTP 400" in wrong_tp and "field tpTriggerPx" in wrong_tp
        assert "exactly one of sz" in await error_text(client, "place_order", {"instId": BTC, "side": "buy"})
        assert "only for limit" in await error_text(
            client, "place_order", {"instId": BTC, "side": "buy", "sz": "1", "px": "1"}
        )

        first = await data(
            client, "place_order", {"instId": BTC, "side": "sell", "sz": "1", "clOrdId": "toolsDup1"}, run="run-dup"
        )
        second = await data(
            client, "place_order", {"instId": BTC, "side": "sell", "sz": "1", "clOrdId": "toolsDup1"}, run="run-dup"
        )
        assert first["status"] == "placed" and second["status"] == "duplicate" and second["ordId"] == first["ordId"]
    refusals = stack.api.get("/api/trade/risk/refusals").json()["refusals"]
    assert any(
        r["runId"] == "run-big" and run_origin_recorded(r["origin"], "run-big") and r["rule"] == "max_order_pct"
        for r in refusals
    )
    assert len([o for o in stack.orders(instId=BTC) if o["clOrdId"] == "toolsDup1"]) == 1


async def test_approval_mode_answers_pending_and_places_nothing(stack: RealStack, tmp_path: Path) -> None:
    """A second API on the same simulator, TRADE_APPROVAL_MODE=manual: agent orders wait for a person."""
    with scratch_database(_server_url(), "t_appr") as database_url:
        env = api_env(stack.sim, database_url, **FAST_API, TRADE_APPROVAL_MODE="manual")
        with api_server(tmp_path, env) as api:
            sim_orders_before = len(stack.sim.control("GET", "state").json()["orders"]["history"])
            async with tools(api.url, api.headers) as client:
                pending = await data(client, "place_order", {"instId": BTC, "side": "buy", "sz": "1"}, run="run-appr")
                closing = await error_text(client, "close_position", {"instId": BTC}, run="run-appr")
            assert pending["status"] == "pending_approval" and isinstance(pending["approvalId"], int)
            assert pending["runId"] == "run-appr" and pending["sz"] == "1" and "not placed" in pending["note"]
            assert "no open position" in closing
            [approval] = api.get("/api/trade/approvals").json()["approvals"]
            assert approval["id"] == pending["approvalId"] and approval["runId"] == "run-appr"
            assert len(stack.sim.control("GET", "state").json()["orders"]["history"]) == sim_orders_before
            assert not [o for o in api.get("/api/account/orders").json()["orders"] if o["runId"] == "run-appr"]


async def test_api_unreachable_is_a_tool_error() -> None:
    async with tools(f"http://127.0.0.1:{free_port()}", {}) as client:
        text = await error_text(client, "get_account_balance", {})
    assert "unreachable" in text


@pytest.mark.parametrize("path", ["/api/account/balances", "/api/trade/order"])
async def test_wrong_token_is_a_readable_refusal(stack: RealStack, path: str) -> None:
    async with tools(stack.api.url, {"Authorization": "Bearer wrong"}) as client:
        if path.endswith("balances"):
            text = await error_text(client, "get_account_balance", {})
        else:
            text = await error_text(client, "place_order", {"instId": BTC, "side": "buy", "sz": "1"})
    assert "HTTP 401" in text


async def test_position_tpsl_and_move_stop_against_the_real_api(stack: RealStack) -> None:
    price = last_price(stack)
    stop, target = (
        (price * Decimal("0.97")).quantize(Decimal("0.1")),
        (price * Decimal("1.05")).quantize(Decimal("0.1")),
    )
    moved = (price * Decimal("0.99")).quantize(Decimal("0.1"))
    async with tools(stack.api.url, stack.api.headers) as client:
        await data(client, "place_order", {"instId": BTC, "side": "buy", "sz": "1"}, run="run-tpsl-1")
        set_ = await data(
            client,
            "set_position_tpsl",
            {"instId": BTC, "slTriggerPx": str(stop), "tpTriggerPx": str(target)},
            run="run-tpsl-1",
        )
        assert set_["status"] == "set" and set_["algoIds"], set_
        assert (Decimal(set_["slTriggerPx"]), Decimal(set_["tpTriggerPx"])) == (stop, target)
        after_move = await data(client, "move_stop", {"instId": BTC, "slTriggerPx": str(moved)}, run="run-tpsl-1")
        assert Decimal(after_move["slTriggerPx"]) == moved and Decimal(after_move["tpTriggerPx"]) == target
        [position] = (await data(client, "get_positions", {"instId": BTC}))["positions"]
        assert Decimal(position["slTriggerPx"]) == moved and Decimal(position["tpTriggerPx"]) == target
        wrong_side = await error_text(
            client, "set_position_tpsl", {"instId": BTC, "slTriggerPx": str(price * 2)}, run="run-tpsl-1"
        )
        assert "HTTP 400" in wrong_side or "HTTP 422" in wrong_side, wrong_side
        await data(client, "close_position", {"instId": BTC}, run="run-tpsl-1")
        none_open = await error_text(client, "move_stop", {"instId": BTC, "slTriggerPx": str(moved)}, run="run-tpsl-1")
        assert "no open position" in none_open
