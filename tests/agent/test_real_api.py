"""The agent's tools and an offline analysis against the REAL trading API in front of the OKX simulator.

Market tools run end to end now. Account and trade endpoints are still being built: until they exist
the offline analysis must still answer (an analysis_result saying what it could not read), never crash.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastmcp import Client

from agent.tools import build_tools_server
from agent.trading_api import TradingApi
from tests.agent.conftest import agent_settings, analysis_body, serve_agent
from tests.stack import API_TOKEN, api_env, api_server, okxsim


@pytest.fixture
def stack(tmp_path: Path, fresh_database_url: str):
    with okxsim(tmp_path, OKXSIM_INST_IDS="BTC-USDT-SWAP") as sim:
        with api_server(tmp_path, api_env(sim, fresh_database_url, OKX_INST_IDS="BTC-USDT-SWAP")) as api:
            yield api, fresh_database_url


async def test_market_tools_and_offline_analysis_through_the_real_api(stack) -> None:
    api, database_url = stack
    async with httpx.AsyncClient(base_url=api.url, headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=15) as http:
        mcp = build_tools_server(lambda: TradingApi(http))
        async with Client(mcp) as client:
            ticker = (await client.call_tool("get_ticker", {"instId": "BTC-USDT-SWAP"})).structured_content
            assert float(ticker["last"]) > 0 and ticker["bar"] == "3m"
            candles = (await client.call_tool("get_candles", {"instId": "BTC-USDT-SWAP", "bar": "1m", "limit": 60})).structured_content
            assert candles["indicators"]["closes"] == 60 and candles["indicators"]["ema26"] is not None
            assert [row[0] for row in candles["candles"]] == sorted(row[0] for row in candles["candles"])
            spec = (await client.call_tool("get_instrument", {"instId": "BTC-USDT-SWAP"})).structured_content
            assert spec["instId"] == "BTC-USDT-SWAP" and float(spec["ctVal"]) > 0
            book = (await client.call_tool("get_order_book", {"instId": "BTC-USDT-SWAP", "depth": 3})).structured_content
            assert book["asks"] and book["bids"]
            bad = await client.call_tool("get_candles", {"instId": "BTC-USDT-SWAP", "bar": "7m"}, raise_on_error=False)
            assert bad.is_error and "not an OKX bar" in bad.content[0].text

    settings = agent_settings(database_url, api.url, api_token=API_TOKEN)
    async with serve_agent(settings) as agent:
        agent.headers["Authorization"] = f"Bearer {API_TOKEN}"
        answer = (await agent.post("/analysis", json=analysis_body("run-real"))).json()
    assert answer["type"] == "analysis_result", answer
    assert answer["summary"].startswith("[offline model]") and isinstance(answer["confidence"], int)
    names = [c["name"] for c in answer["toolCalls"]]
    assert names[:5] == ["get_ticker", "get_candles", "get_account_balance", "get_positions", "get_instrument"]
    market_calls = [c for c in answer["toolCalls"] if c["name"] in ("get_ticker", "get_candles", "get_instrument")]
    assert all(c["ok"] for c in market_calls)
