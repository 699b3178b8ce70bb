"""The FastMCP tool server, listed and called in memory with fastmcp.Client against the stand-in trading API."""

from __future__ import annotations

import httpx
from fastmcp import Client

from agent.tools import build_tools_server
from agent.trading_api import TradingApi
from tests.agent.standin_api import TOKEN, StandInApi


async def test_tools_listed_with_annotations_and_called(standin_api: StandInApi) -> None:
    async with httpx.AsyncClient(base_url=standin_api.base_url, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        api = TradingApi(http)
        mcp = build_tools_server(lambda: api, default_bar="5m")
        async with Client(mcp) as client:
            tools = {t.name: t for t in await client.list_tools()}
            read_only = {n for n, t in tools.items() if t.annotations and t.annotations.read_only_hint}
            assert read_only == {"get_ticker", "get_candles", "get_order_book", "get_funding_rate", "get_instrument",
                                 "get_account_balance", "get_positions", "get_open_orders"}
            assert {n for n, t in tools.items() if t.annotations.destructive_hint} == {"place_order", "cancel_order", "close_position"}
            assert "contracts" in tools["place_order"].description.lower() and "ctVal" in tools["get_instrument"].description

            candles = await client.call_tool("get_candles", {"instId": "BTC-USDT-SWAP", "limit": 100, "show": 3})
            data = candles.structured_content
            assert data["bar"] == "5m" and len(data["candles"]) == 3
            assert data["candles"][-1][4] == standin_api.price  # newest last, close column
            assert data["indicators"]["closes"] == 100 and 0 <= data["indicators"]["rsi14"] <= 100
            candle_request = [r for r in standin_api.requests if r["path"] == "/api/market/candles"][-1]
            assert candle_request["query"] == {"instId": "BTC-USDT-SWAP", "bar": "5m", "limit": "100"}
            assert candle_request["auth"] == f"Bearer {TOKEN}"

            book = (await client.call_tool("get_order_book", {"instId": "BTC-USDT-SWAP", "depth": 2})).structured_content
            assert book["asks"][0][0] == str(standin_api.price + 0.1)
            spec = (await client.call_tool("get_instrument", {"instId": "BTC-USDT-SWAP"})).structured_content
            assert spec["ctVal"] == "0.01" and spec["minSz"] == "0.01"
            funding = (await client.call_tool("get_funding_rate", {"instId": "BTC-USDT-SWAP"})).structured_content
            assert funding["fundingRate"] == "0.0001"

            placed = await client.call_tool("place_order", {"instId": "BTC-USDT-SWAP", "side": "sell", "sz": "1",
                                                            "slTriggerPx": "61000", "runId": "run-mcp"})
            assert placed.structured_content["origin"] == "agent"
            assert standin_api.orders()[-1]["runId"] == "run-mcp" and standin_api.orders()[-1]["tdMode"] == "cross"
            positions = (await client.call_tool("get_positions", {"instId": "BTC-USDT-SWAP"})).structured_content
            assert positions["positions"][0]["pos"] == "-1"
            closed = (await client.call_tool("close_position", {"instId": "BTC-USDT-SWAP"})).structured_content
            assert closed["closed"] is True

            refused = await client.call_tool("place_order", {"instId": "BTC-USDT-SWAP", "side": "buy", "sz": "1000"},
                                             raise_on_error=False)
            assert refused.is_error and "HTTP 422" in refused.content[0].text and "max_position_notional" in refused.content[0].text
            both = await client.call_tool("place_order", {"instId": "BTC-USDT-SWAP", "side": "buy"}, raise_on_error=False)
            assert both.is_error and "exactly one of sz" in both.content[0].text
            bad = await client.call_tool("get_ticker", {"instId": "nope"}, raise_on_error=False)
            assert bad.is_error
            assert not [r for r in standin_api.requests if r["query"].get("instId") == "nope"]


async def test_api_unreachable_is_a_tool_error() -> None:
    from tests.helpers import free_port

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{free_port()}") as http:
        mcp = build_tools_server(lambda: TradingApi(http))
        async with Client(mcp) as client:
            result = await client.call_tool("get_account_balance", {}, raise_on_error=False)
    assert result.is_error and "unreachable" in result.content[0].text
