"""A failed analysis keeps what it did (interface 3), finish_reason is checked, the decision is validated
(scripted model over real HTTP, stand-in API, real PostgreSQL memory)."""

from __future__ import annotations

import json
from typing import Any

from tests.agent.conftest import agent_settings, analysis_body, serve_agent
from tests.agent.scripted_llm import (
    Reply,
    ScriptedModel,
    decision_args,
    final_reply,
    status_reply,
    text_reply,
    tool_calls_reply,
    tool_messages,
)
from tests.agent.standin_api import StandInApi

BTC = "BTC-USDT-SWAP"
BUY = ("o1", "place_order", json.dumps({"instId": BTC, "side": "buy", "sz": "1", "slTriggerPx": "59000"}))


def cut(reply: Reply, reason: str) -> Reply:
    """The same reply with another finish_reason (as a provider that stopped early sends it)."""
    reply.chunks = [c for c in reply.chunks if not any(ch.get("finish_reason") for ch in c.get("choices", []))]
    reply.chunks.insert(len(reply.chunks) - 1, {"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]})
    return reply


async def test_error_after_an_order_carries_the_order_and_memory_tells_the_next_run(
    fresh_database_url: str, standin_api: StandInApi, model: ScriptedModel
) -> None:
    def next_run_sees_the_failure(body: dict[str, Any]) -> Reply:
        replayed = " ".join(m["content"] for m in body["messages"] if m["role"] == "assistant")
        if "run-fail FAILED (llm_error)" not in replayed or "place_order placed buy 1" not in replayed:
            return status_reply(400, f"the failed run is missing from history: {replayed!r}")
        return final_reply("Position already open from the failed run; holding.\nConfidence: 50")

    model.steps = (
        [lambda body: tool_calls_reply([BUY])]
        + [lambda body: status_reply(503, "busy")] * 2
        + [next_run_sees_the_failure]
    )
    settings = agent_settings(fresh_database_url, standin_api.base_url, llm_base_url=model.base_url, llm_max_retries=1)
    async with serve_agent(settings) as client:
        failed = (await client.post("/analysis", json=analysis_body("run-fail"))).json()
        second = (await client.post("/analysis", json=analysis_body("run-next"))).json()
    assert failed["type"] == "analysis_error" and failed["reason"] == "llm_error" and "HTTP 503" in failed["error"]
    assert [c["name"] for c in failed["toolCalls"]] == ["place_order"] and failed["toolCalls"][0]["ok"] is True
    [order] = failed["orders"]
    assert (order["tool"], order["status"], order["side"], order["runId"]) == (
        "place_order",
        "placed",
        "buy",
        "run-fail",
    )
    assert second["type"] == "analysis_result", second


async def test_length_with_nothing_executed_is_retried_once(
    fresh_database_url: str, standin_api: StandInApi, model: ScriptedModel
) -> None:
    model.steps = [
        lambda body: cut(text_reply("Half an ans"), "length"),
        lambda body: final_reply("Hold.\nConfidence: 45", decision_args("hold", 45)),
    ]
    settings = agent_settings(fresh_database_url, standin_api.base_url, llm_base_url=model.base_url)
    async with serve_agent(settings) as client:
        answer = (await client.post("/analysis", json=analysis_body("run-len"))).json()
    assert answer["type"] == "analysis_result" and answer["summary"] == "Hold." and len(model.requests) == 2


async def test_content_filter_after_an_order_is_an_error_that_says_why(
    fresh_database_url: str, standin_api: StandInApi, model: ScriptedModel
) -> None:
    model.steps = [lambda body: tool_calls_reply([BUY]), lambda body: cut(text_reply(""), "content_filter")]
    settings = agent_settings(fresh_database_url, standin_api.base_url, llm_base_url=model.base_url)
    async with serve_agent(settings) as client:
        answer = (await client.post("/analysis", json=analysis_body("run-cf"))).json()
    assert answer["type"] == "analysis_error" and answer["reason"] == "finish_reason", answer
    assert "finish_reason=content_filter" in answer["error"] and "after trading tool calls" in answer["error"]
    assert [o["status"] for o in answer["orders"]] == ["placed"]
    assert len(model.requests) == 2  # not retried: an order was already placed


async def test_twice_insufficient_resources_is_an_error(
    fresh_database_url: str, standin_api: StandInApi, model: ScriptedModel
) -> None:
    model.steps = [lambda body: cut(text_reply("x"), "insufficient_system_resource")] * 2
    settings = agent_settings(fresh_database_url, standin_api.base_url, llm_base_url=model.base_url)
    async with serve_agent(settings) as client:
        answer = (await client.post("/analysis", json=analysis_body("run-isr"))).json()
    assert answer["type"] == "analysis_error" and answer["reason"] == "finish_reason" and answer["orders"] == []
    assert len(model.requests) == 2


async def test_an_invalid_decision_goes_back_to_the_model_and_a_missing_one_is_asked_for(
    fresh_database_url: str, standin_api: StandInApi, model: ScriptedModel
) -> None:
    bad = decision_args("buy_more", 150, inst_id="ETH-USDT-SWAP", stop="cheap")
    model.steps = [
        lambda body: tool_calls_reply([("d1", "submit_decision", json.dumps(bad))]),
        lambda body: final_reply("Hold.\nConfidence: 55", decision_args("hold", 55, invalidation="close below 59000")),
        lambda body: text_reply("No trade.\nConfidence: 20"),  # second analysis: text only
        lambda body: tool_calls_reply([("d2", "submit_decision", json.dumps(decision_args("no_trade", 20)))]),
    ]
    settings = agent_settings(fresh_database_url, standin_api.base_url, llm_base_url=model.base_url)
    async with serve_agent(settings) as client:
        first = (await client.post("/analysis", json=analysis_body("run-d1"))).json()
        second = (await client.post("/analysis", json=analysis_body("run-d2"))).json()
    [refusal] = tool_messages(model.requests[1])
    for field in ("action", "confidence", "stop"):
        assert field in refusal["content"], refusal
    assert first["decision"] == decision_args("hold", 55, invalidation="close below 59000")
    assert model.requests[3]["tool_choice"] == {"type": "function", "function": {"name": "submit_decision"}}
    assert second["decision"]["action"] == "no_trade" and second["summary"] == "No trade."
