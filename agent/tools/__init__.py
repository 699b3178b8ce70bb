"""The agent's tools as a FastMCP server: mounted at /mcp for outside MCP clients, and called in-process by the loop.

Every tool is a thin, documented call to the trading API over HTTP (the API owns OKX keys, the risk
guard and the records). Docstrings and parameter descriptions are the model's manual.

At /mcp each request carries a named MCP token (`agent.mcp_tokens`); `McpScopes` hides and refuses the
trading tools for a token without the `trade` scope and the strategy lab's tools (`agent.tools_lab`) for a
token without the `lab` scope, and makes the token's name the calls' origin (`mcp:<name>`). In-process
calls (analyses, chat) have no HTTP request and set their own origin; they never see the lab tools.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from fastmcp.server.dependencies import get_http_request
from fastmcp.server.middleware import Middleware, MiddlewareContext

from agent.origin import acting_as, mcp_origin
from agent.tools.account import register_account_tools
from agent.tools.common import INSTRUCTIONS, TRADING_TAG, TRADING_TOOLS, ApiCaller
from agent.tools.market import register_market_tools
from agent.tools.trading import register_trading_tools
from agent.tools_lab import LAB_TAG, LAB_TOOL_NAMES, register_lab_tools
from agent.trading_api import TradingApi

__all__ = ["TRADING_TOOLS", "build_tools_server", "openai_tool_schemas", "MCP_CALLER_STATE"]

# Set on the ASGI scope's state by the /mcp token check (agent.app): {"name": str, "scopes": [str]}.
MCP_CALLER_STATE = "aitrader_mcp_caller"


def _outside_caller() -> dict[str, Any] | None:
    """The MCP token behind this request, or None for an in-process call (no HTTP request)."""
    try:
        request = get_http_request()
    except RuntimeError:
        return None
    caller = request.scope.get("state", {}).get(MCP_CALLER_STATE)
    # An HTTP request without a checked token never reaches here (the ASGI check answers 401 first); refuse anyway.
    return caller if isinstance(caller, dict) else {"name": "unknown", "scopes": []}


class McpScopes(Middleware):
    async def on_list_tools(self, context: MiddlewareContext[Any], call_next: Any) -> Sequence[Any]:
        tools = await call_next(context)
        caller = _outside_caller()
        scopes = set() if caller is None else set(caller["scopes"])
        hidden = {LAB_TAG} if "lab" not in scopes else set()
        if caller is not None and "trade" not in scopes:
            hidden.add(TRADING_TAG)
        return [t for t in tools if not hidden & (t.tags or set())]

    async def on_call_tool(self, context: MiddlewareContext[Any], call_next: Any) -> Any:
        caller = _outside_caller()
        name = context.message.name
        if name in LAB_TOOL_NAMES and (caller is None or "lab" not in caller["scopes"]):
            scopes = "in-process call" if caller is None else f"this token has {','.join(caller['scopes'])}"
            raise ToolError(f"tool {name} needs an MCP token with the lab scope; {scopes}")
        if caller is None:
            return await call_next(context)
        if name in TRADING_TOOLS and "trade" not in caller["scopes"]:
            raise ToolError(
                f"tool {name} needs an MCP token with the trade scope; this token has {','.join(caller['scopes'])}"
            )
        with acting_as(mcp_origin(caller["name"])) if name in TRADING_TOOLS else contextlib.nullcontext():
            return await call_next(context)


def build_tools_server(get_api: Callable[[], TradingApi], default_bar: str = "3m") -> FastMCP:
    """`get_api` returns the lifespan-owned client (created after the server object)."""
    mcp = FastMCP("aitrader-okx-tools", instructions=INSTRUCTIONS, middleware=[McpScopes()])
    api = ApiCaller(get_api)
    register_market_tools(mcp, api, default_bar)
    register_account_tools(mcp, api)
    register_trading_tools(mcp, api)
    register_lab_tools(mcp, get_api)
    return mcp


async def openai_tool_schemas(mcp: FastMCP) -> list[dict[str, Any]]:
    """The MCP tool list as OpenAI `tools` (the analysis and chat loops'); the lab's tools are for MCP clients only."""
    schemas: list[dict[str, Any]] = []
    for tool in await mcp.list_tools():
        if LAB_TAG in (tool.tags or set()):
            continue
        mcp_tool = tool.to_mcp_tool()
        parameters = dict(mcp_tool.input_schema or {"type": "object", "properties": {}})
        schemas.append(
            {
                "type": "function",
                "function": {
                    "name": mcp_tool.name,
                    "description": mcp_tool.description or "",
                    "parameters": parameters,
                },
            }
        )
    return schemas
