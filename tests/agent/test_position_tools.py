"""The model manages what it opened: TP/SL on an open position and moving the stop (interface 2, against the
stand-in API's agreed shape), and the code-built context (risk, funding, 4H with ATR/volume, other exposure,
no still-forming candle)."""

from __future__ import annotations

import json

from tests.agent.conftest import agent_settings, analysis_body, serve_agent
from tests.agent.scripted_llm import ScriptedModel, decision_args, final_reply, tool_calls_reply, tool_messages
from tests.agent.standin_api import StandInApi

BTC, ETH = "BTC-USDT-SWAP", "ETH-USDT-SWAP"


async def test_attach_then_move_the_stop_of_an_open_position(
    fresh_database_url: str, standin_api: StandInApi, model: ScriptedModel
) -> None:
    standin_api.positions = [
        {"instId": BTC, "posSide": "net", "pos": "2", "avgPx": "59000", "tpTriggerPx": None, "slTriggerPx": None},
        {"instId": ETH, "posSide": "net", "pos": "-5", "avgPx": "3000", "notionalUsd": "1500"},
    ]
    standin_api.forming_close = 99999.0
    model.steps = [
        lambda body: tool_calls_reply(
            [("p1", "set_position_tpsl", json.dumps({"instId": BTC, "slTriggerPx": "58000", "tpTriggerPx": "63000"}))]
        ),
        lambda body: tool_calls_reply([("p2", "move_stop", json.dumps({"instId": BTC, "slTriggerPx": "59000"}))]),
        lambda body: tool_calls_reply(
            [
                ("p3", "set_position_tpsl", json.dumps({"instId": "SOL-USDT-SWAP", "slTriggerPx": "1"})),
                ("p4", "get_candles", json.dumps({"instId": BTC, "limit": 60})),
            ]
        ),
        lambda body: final_reply(
            "Stop at break-even.\nConfidence: 65", decision_args("hold", 65, stop="59000", target="63000")
        ),
    ]
    settings = agent_settings(fresh_database_url, standin_api.base_url, llm_base_url=model.base_url)
    async with serve_agent(settings) as client:
        answer = (await client.post("/analysis", json=analysis_body("run-tpsl"))).json()
    assert answer["type"] == "analysis_result", answer
    calls = [r for r in standin_api.requests if r["path"] == "/api/trade/position-tpsl"]
    assert [c["body"] for c in calls] == [
        {"instId": BTC, "tpTriggerPx": "63000", "slTriggerPx": "58000"},
        {"instId": BTC, "posSide": "net", "tpTriggerPx": "63000", "slTriggerPx": "59000"},  # the take-profit is kept
        {"instId": "SOL-USDT-SWAP", "slTriggerPx": "1"},
    ]
    assert {c["origin"] for c in calls} == {"agent:run:run-tpsl"}
    assert [(o["tool"], o["status"], o["slTriggerPx"]) for o in answer["orders"]] == [
        ("set_position_tpsl", "set", "58000"),
        ("move_stop", "set", "59000"),
    ]
    assert len(answer["orders"][1]["algoIds"]) == 2
    results = {m["tool_call_id"]: m["content"] for m in tool_messages(model.requests[3])}
    assert "HTTP 404" in results["p3"] and "no open position" in results["p3"]
    candles = json.loads(results["p4"])
    assert candles["lastClose"] != 99999.0 and candles["indicators"]["atr14"] > 0  # the forming candle is left out

    context = model.requests[0]["messages"][-1]["content"]
    assert "Higher timeframe 4H" in context and '"atr14"' in context and '"volumeRatio"' in context
    assert '"fundingRate":"0.0001"' in context
    assert '"maxLeverage":"10"' in context and '"dailyLossLatched":false' in context
    assert f'Exposure on other instruments (positions): [{{"instId":"{ETH}"' in context
    assert "99999" not in context
    bars = [r["query"].get("bar") for r in standin_api.requests if r["path"] == "/api/market/candles"]
    assert "4H" in bars
