"""The tests' stand-in trading API cannot drift from the real one: everything the agent's tools send to it is
valid against the real API's request schemas, and everything it answers is valid against the real API's response
schemas, both read from the API's OpenAPI document (frontend/openapi/api.json, itself checked against the running
code by the schema-drift check). A field renamed or added on either side fails here."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import httpx
import jsonschema
import pytest

from agent.origin import acting_as, run_origin
from agent.tools import build_tools_server
from agent.trading_api import TradingApi
from tests.agent.standin_api import TOKEN, StandInApi
from tests.helpers import REPO_ROOT

SPEC = json.loads((REPO_ROOT / "frontend" / "openapi" / "api.json").read_text())


def schema_for(path: str, method: str, *, status: int | None = None) -> dict[str, Any]:
    op = SPEC["paths"][path][method.lower()]
    if status is None:
        ref = op["requestBody"]["content"]["application/json"]["schema"]
    else:
        ref = op["responses"][str(status)]["content"]["application/json"]["schema"]
    # One document, local refs: validate against the component with every other component beside it.
    return {**ref, "components": SPEC["components"]}


FOUND: list[str] = []


def check(instance: Any, schema: dict[str, Any], what: str, *, closed: bool = False) -> None:
    """`closed`: a request body may carry only the fields the API declares (the API refuses unknown ones)."""
    validator = jsonschema.Draft202012Validator(schema)
    errors = [
        f"{list(e.path)}: {e.message}" for e in sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    ]
    if closed and isinstance(instance, dict):
        name = schema["$ref"].rsplit("/", 1)[-1]
        declared = set(SPEC["components"]["schemas"][name].get("properties", {}))
        errors += [f"undeclared field {key!r}" for key in sorted(set(instance) - declared)]
    assert not errors, f"{what}: " + "; ".join(errors[:8])


def test_the_spec_has_the_routes_the_stand_in_serves():
    for path in (
        "/api/trade/order",
        "/api/trade/cancel",
        "/api/trade/close-position",
        "/api/trade/position-tpsl",
        "/api/trade/risk",
        "/api/account/balances",
        "/api/account/positions",
        "/api/market/ticker",
    ):
        assert path in SPEC["paths"], path


async def test_tool_requests_and_stand_in_answers_follow_the_real_schemas():
    api = await StandInApi().start()
    try:
        async with httpx.AsyncClient(
            base_url=api.base_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=20
        ) as http:
            mcp = build_tools_server(lambda: TradingApi(http))
            with acting_as(run_origin("schema-run")):
                for name, args in (
                    ("get_ticker", {"instId": "BTC-USDT-SWAP"}),
                    ("get_account_balance", {}),
                    ("get_candles", {"instId": "BTC-USDT-SWAP"}),
                    ("get_order_book", {"instId": "BTC-USDT-SWAP"}),
                    ("get_funding_rate", {"instId": "BTC-USDT-SWAP"}),
                    ("get_open_orders", {}),
                    ("get_positions", {}),
                    ("get_risk_limits", {}),
                    (
                        "place_order",
                        {
                            "instId": "BTC-USDT-SWAP",
                            "side": "buy",
                            "ordType": "market",
                            "sz": "1",
                            "slTriggerPx": "59000",
                            "tpTriggerPx": "61000",
                            "leverage": 3,
                        },
                    ),
                    (
                        "place_order",
                        {
                            "instId": "BTC-USDT-SWAP",
                            "side": "buy",
                            "ordType": "limit",
                            "px": "59500",
                            "notionalUsdt": "500",
                        },
                    ),
                    ("set_position_tpsl", {"instId": "BTC-USDT-SWAP", "slTriggerPx": "58000"}),
                    ("close_position", {"instId": "BTC-USDT-SWAP"}),
                    ("cancel_order", {"instId": "BTC-USDT-SWAP", "ordId": "123"}),
                ):
                    with contextlib.suppress(Exception):  # a tool's own refusal is fine: the wire is what is checked
                        await mcp.call_tool(name, args)
            # Every answer the stand-in gave, against the real response schema of that route and status.
            checked = 0
            for req in list(api.requests):  # (replaying adds to the log)
                method, path, body = req["method"], req["path"], req["body"]
                if method == "POST" and body is not None:
                    check(body, schema_for(path, method), f"request {method} {path}", closed=True)
                    checked += 1
                resp = await http.request(
                    method,
                    path,
                    params=req["query"],
                    json=body,
                    headers={"X-AiTrader-Origin": req["origin"]} if req["origin"] else None,
                )
                if resp.status_code in (200, 201, 202):
                    try:
                        check(resp.json(), schema_for(path, method, status=resp.status_code), f"answer {method} {path}")
                    except AssertionError as exc:
                        FOUND.append(str(exc))
                    checked += 1
    finally:
        await api.stop()
    assert not FOUND, "\n".join(FOUND)
    paths = {r["path"] for r in api.requests}
    assert {"/api/trade/order", "/api/market/ticker", "/api/account/balances"} <= paths, paths
    assert checked >= 8


def test_a_drifted_field_is_caught():
    # The check is not vacuous: an order body with a field the API does not declare is refused by the schema.
    with pytest.raises(AssertionError, match="request"):
        check(
            {"instId": "BTC-USDT-SWAP", "side": "buy", "ordType": "market", "sz": "1", "size": "1"},
            schema_for("/api/trade/order", "POST"),
            "request POST /api/trade/order",
            closed=True,
        )
