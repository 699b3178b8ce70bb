"""Tool calls of one model message run in the model's order: read-only ones together, trading ones one at a time,
and a failed trading call stops the later trading calls of that message (real HTTP: scripted model, stand-in API)."""

from __future__ import annotations

import json

from agent.llm.client import LlmError
from agent.llm.loop import batches
from agent.llm.stream import AssembledCall
from tests.agent.chat_events import read_events
from tests.agent.conftest import agent_settings, analysis_body, serve_agent
from tests.agent.scripted_llm import (
    ScriptedModel,
    decision_args,
    final_reply,
    text_reply,
    tool_calls_reply,
    tool_messages,
)
from tests.agent.standin_api import StandInApi

BTC = "BTC-USDT-SWAP"
CLOSE = ("t2", "close_position", json.dumps({"instId": BTC}))
OPEN_SHORT = ("t3", "place_order", json.dumps({"instId": BTC, "side": "sell", "sz": "1", "slTriggerPx": "61000"}))


def test_batches_keep_order_and_isolate_trading_calls() -> None:
    names = ["get_ticker", "get_positions", "close_position", "get_ticker", "place_order", "place_order", "get_candles"]
    calls = [AssembledCall(i, f"c{i}", n) for i, n in enumerate(names)]
    grouped = [[c.name for c in b] for b in batches(calls, frozenset({"close_position", "place_order"}))]
    assert grouped == [
        ["get_ticker", "get_positions"],
        ["close_position"],
        ["get_ticker"],
        ["place_order"],
        ["place_order"],
        ["get_candles"],
    ]
    assert LlmError("x").reason == "llm_error"


async def test_close_then_open_runs_in_that_order_one_at_a_time(
    fresh_database_url: str, standin_api: StandInApi, model: ScriptedModel
) -> None:
    standin_api.positions = [{"instId": BTC, "posSide": "net", "pos": "2", "avgPx": "59000"}]
    standin_api.trade_delay = 0.3  # concurrent writes would overlap in the stand-in
    model.steps = [
        lambda body: tool_calls_reply([("t1", "get_ticker", json.dumps({"instId": BTC})), CLOSE, OPEN_SHORT]),
        lambda body: final_reply("Reversed to short.\nConfidence: 60", decision_args("open_short", 60, size="1")),
    ]
    settings = agent_settings(fresh_database_url, standin_api.base_url, llm_base_url=model.base_url)
    async with serve_agent(settings) as client:
        answer = (await client.post("/analysis", json=analysis_body("run-order"))).json()
    assert answer["type"] == "analysis_result", answer
    writes = [r["path"] for r in standin_api.requests if r["path"].startswith("/api/trade/") and r["method"] == "POST"]
    assert writes == ["/api/trade/close-position", "/api/trade/order"]
    assert standin_api.max_trades_in_flight == 1
    assert [o["tool"] for o in answer["orders"]] == ["close_position", "place_order"]
    assert [m["tool_call_id"] for m in tool_messages(model.requests[1])] == ["t1", "t2", "t3"]


async def test_a_failed_close_stops_the_open_in_the_same_message(
    fresh_database_url: str, standin_api: StandInApi, model: ScriptedModel
) -> None:
    """No position to close (404): the "open the other side" after it must not run; the model is told why."""
    model.steps = [
        lambda body: tool_calls_reply([CLOSE, OPEN_SHORT, ("t4", "get_positions", json.dumps({"instId": BTC}))]),
        lambda body: final_reply("Nothing to reverse.\nConfidence: 40", decision_args("no_trade", 40)),
    ]
    settings = agent_settings(fresh_database_url, standin_api.base_url, llm_base_url=model.base_url)
    async with serve_agent(settings) as client:
        answer = (await client.post("/analysis", json=analysis_body("run-stop"))).json()
    assert answer["type"] == "analysis_result", answer
    assert standin_api.orders() == []
    results = {m["tool_call_id"]: m["content"] for m in tool_messages(model.requests[1])}
    assert "no open position" in results["t2"]
    assert "not run: the earlier close_position call" in results["t3"]
    assert json.loads(results["t4"]) == {"positions": []}  # read-only calls still run
    assert [c["ok"] for c in answer["toolCalls"]][:3] == [False, False, True]


async def test_chat_reports_each_trading_result_before_the_next_call(
    fresh_database_url: str, standin_api: StandInApi, model: ScriptedModel
) -> None:
    standin_api.positions = [{"instId": BTC, "posSide": "net", "pos": "2", "avgPx": "59000"}]
    model.steps = [
        lambda body: tool_calls_reply([CLOSE, OPEN_SHORT]),
        lambda body: text_reply("Done."),
    ]
    settings = agent_settings(fresh_database_url, standin_api.base_url, llm_base_url=model.base_url)
    async with serve_agent(settings) as client:
        events = await read_events(client, {"message": "reverse my BTC long"})
    sequence = [(kind, data["id"]) for kind, data in events if kind in ("tool_call", "tool_result")]
    assert sequence == [("tool_call", "t2"), ("tool_result", "t2"), ("tool_call", "t3"), ("tool_result", "t3")]
    session_id = events[0][1]["sessionId"]
    origins = [
        r["origin"] for r in standin_api.requests if r["path"].startswith("/api/trade/") and r["method"] == "POST"
    ]
    assert origins == [f"agent:chat:{session_id}"] * 2
