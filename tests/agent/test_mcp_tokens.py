"""Named MCP tokens at /mcp (interface 4) with a real MCP client over HTTP: scopes, origin, the endpoint."""

from __future__ import annotations

import hashlib

import httpx
import psycopg
import pytest
from fastmcp import Client

from agent.tools import TRADING_TOOLS
from agent.tools_lab import LAB_TOOL_NAMES
from tests.agent.conftest import agent_settings, serve_agent
from tests.agent.standin_api import StandInApi

BTC = "BTC-USDT-SWAP"


async def test_scopes_origin_and_endpoint(fresh_database_url: str, standin_api: StandInApi) -> None:
    settings = agent_settings(fresh_database_url, standin_api.base_url)
    mcp_url = f"{settings.self_base_url}/mcp"
    async with serve_agent(settings) as client:
        reader = (await client.post("/mcp-tokens", json={"name": "inspector", "scopes": ["read"]})).json()
        trader = await client.post("/mcp-tokens", json={"name": "cursor.desk-1", "scopes": ["read", "trade"]})
        assert trader.status_code == 201 and trader.json()["scopes"] == ["read", "trade"]
        trader_token = trader.json()["token"]

        async with Client(mcp_url, auth=reader["token"]) as mcp:
            names = {t.name for t in await mcp.list_tools()}
            assert "get_ticker" in names and not names & TRADING_TOOLS  # read alone hides the trading tools
            assert not names & set(LAB_TOOL_NAMES)  # and the lab's
            refused = await mcp.call_tool(
                "place_order", {"instId": BTC, "side": "buy", "sz": "1"}, raise_on_error=False
            )
            assert refused.is_error and "trade scope" in refused.content[0].text
            refused = await mcp.call_tool("lab_list_datasets", {}, raise_on_error=False)
            assert refused.is_error and "lab scope" in refused.content[0].text
            ticker = await mcp.call_tool("get_ticker", {"instId": BTC})
            assert ticker.structured_content["instId"] == BTC
        assert standin_api.orders() == []
        assert not [r for r in standin_api.requests if r["path"].startswith("/api/lab/")]

        async with Client(mcp_url, auth=trader_token) as mcp:
            assert TRADING_TOOLS <= {t.name for t in await mcp.list_tools()}
            placed = await mcp.call_tool(
                "place_order", {"instId": BTC, "side": "buy", "sz": "1", "slTriggerPx": "59000"}
            )
            assert placed.structured_content["status"] == "placed"
            assert placed.structured_content["origin"] == "mcp:cursor.desk-1"
        [order_request] = [r for r in standin_api.requests if r["path"] == "/api/trade/order"]
        assert order_request["origin"] == "mcp:cursor.desk-1" and "runId" not in order_request["body"]
        assert order_request["auth"] == f"Bearer {settings.api_token.get_secret_value()}"  # the agent's own credential

        listed = (await client.get("/mcp-tokens")).json()["tokens"]
        assert [t["name"] for t in listed] == ["cursor.desk-1", "inspector"] and all("token" not in t for t in listed)
        assert listed[0]["lastUsedAt"] is not None

        lab = (await client.post("/mcp-tokens", json={"name": "lab-bot", "scopes": ["lab"]})).json()
        assert lab["scopes"] == ["read", "lab"]
        async with Client(mcp_url, auth=lab["token"]) as mcp:
            names = {t.name for t in await mcp.list_tools()}
            assert set(LAB_TOOL_NAMES) <= names and "get_ticker" in names and not names & TRADING_TOOLS
            await mcp.call_tool("lab_list_datasets", {}, raise_on_error=False)
        assert [r["path"] for r in standin_api.requests if r["path"].startswith("/api/lab/")] == ["/api/lab/datasets"]

        bad_scope = await client.post("/mcp-tokens", json={"name": "x", "scopes": ["admin"]})
        assert bad_scope.status_code == 400 and bad_scope.json()["field"] == "scopes"
        bad_name = await client.post("/mcp-tokens", json={"name": "has space", "scopes": ["read"]})
        assert bad_name.status_code == 400 and bad_name.json()["field"] == "name"
        again = await client.post("/mcp-tokens", json={"name": "inspector", "scopes": ["read"]})
        assert again.status_code == 409 and again.json()["field"] == "name"
        # The endpoint needs the master token; an MCP token is not one.
        async with httpx.AsyncClient(base_url=settings.self_base_url) as other:
            assert (
                await other.get("/mcp-tokens", headers={"Authorization": f"Bearer {trader_token}"})
            ).status_code == 401

        assert (await client.delete("/mcp-tokens/cursor.desk-1")).json() == {"name": "cursor.desk-1", "revoked": True}
        assert (await client.delete("/mcp-tokens/cursor.desk-1")).status_code == 404
        with pytest.raises(Exception):
            async with Client(mcp_url, auth=trader_token) as mcp:
                await mcp.list_tools()

    with psycopg.connect(fresh_database_url) as conn:
        stored = conn.execute("select name, token_sha256 from agent_mcp_tokens order by name").fetchall()
    assert stored[0] == ("cursor.desk-1", hashlib.sha256(trader_token.encode()).hexdigest())
    assert all(trader_token not in row[1] for row in stored)
