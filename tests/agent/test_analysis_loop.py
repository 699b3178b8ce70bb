"""POST /analysis against a scripted OpenAI-compatible server over real HTTP.

The scripted server plays DeepSeek: streamed tool-call fragments, parallel calls, reasoning_content that
must come back within the loop (400 otherwise), 429/5xx, slowness. Orders and refusals go to the REAL
trading API + simulator; the loop-only behaviours (retries, timeouts, bad arguments) use the stand-in API.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.agent.conftest import RealStack, agent_settings, analysis_body, serve_agent
from tests.agent.scripted_llm import (
    Reply,
    ScriptedModel,
    assistant_turns_with_tools,
    decision_args,
    final_reply,
    status_reply,
    text_reply,
    tool_calls_reply,
    tool_messages,
)
from tests.agent.standin_api import StandInApi
from tests.stack import API_TOKEN as STACK_TOKEN


def requires_reasoning_back(expected: list[str], then: Reply):
    """Like DeepSeek's thinking mode: every assistant tool-call turn must carry its reasoning_content."""

    def step(body: dict[str, Any]) -> Reply:
        turns = assistant_turns_with_tools(body)
        got = [t.get("reasoning_content") for t in turns]
        if got != expected:
            return status_reply(400, f"Missing reasoning_content in assistant messages: expected {expected}, got {got}")
        return then

    return step


def order_from_ticker(body: dict[str, Any]) -> Reply:
    """Step 2: a long with exits placed around the price the model just read with get_ticker (call c1)."""
    last = Decimal(json.loads(next(m for m in tool_messages(body) if m["tool_call_id"] == "c1")["content"])["last"])
    args = {
        "instId": "BTC-USDT-SWAP",
        "side": "buy",
        "ordType": "market",
        "sz": "0.5",
        "leverage": 3,
        "slTriggerPx": str((last * Decimal("0.98")).quantize(Decimal("0.1"))),
        "tpTriggerPx": str((last * Decimal("1.04")).quantize(Decimal("0.1"))),
    }
    return tool_calls_reply(
        [("c4", "place_order", json.dumps(args))],
        reasoning="Uptrend; small long with exits.",
        usage={"prompt_tokens": 1500, "completion_tokens": 40, "prompt_tokens_details": {"cached_tokens": 1000}},
    )


async def test_streamed_parallel_tool_calls_reasoning_passback_and_order(
    fresh_database_url: str, stack: RealStack, model: ScriptedModel
) -> None:
    model.steps = [
        lambda body: tool_calls_reply(
            [
                ("c1", "get_ticker", '{"instId": "BTC-USDT-SWAP"}'),
                ("c2", "get_candles", '{"instId": "BTC-USDT-SWAP", "bar": "15m", "limit": 60}'),
                ("c3", "get_positions", '{"instId": "BTC-USDT-SWAP"}'),
            ],
            split=4,
            interleave=True,
            reasoning="Check price, trend and positions first.",
            usage={"prompt_tokens": 1000, "completion_tokens": 50, "prompt_cache_hit_tokens": 600},
        ),
        lambda body: requires_reasoning_back(["Check price, trend and positions first."], order_from_ticker(body))(
            body
        ),
        requires_reasoning_back(
            ["Check price, trend and positions first.", "Uptrend; small long with exits."],
            final_reply(
                "Opened a 0.5-contract long with stop and target.\nConfidence: 70",
                decision_args("open_long", 70, size="0.5"),
                usage={"prompt_tokens": 1800, "completion_tokens": 25},
            ),
        ),
    ]
    settings = agent_settings(
        fresh_database_url,
        stack.api.url,
        llm_base_url=model.base_url,
        api_token=STACK_TOKEN,
        llm_price_input_per_mtok=1,
        llm_price_cached_input_per_mtok=0.1,
        llm_price_output_per_mtok=2,
    )
    async with serve_agent(settings) as client:
        answer = (await client.post("/analysis", json=analysis_body("run-42"))).json()

    assert answer["type"] == "analysis_result", answer
    assert answer["runId"] == "run-42" and answer["instId"] == "BTC-USDT-SWAP"
    assert answer["summary"] == "Opened a 0.5-contract long with stop and target."
    assert answer["confidence"] == 70
    assert [c["name"] for c in answer["toolCalls"]] == ["get_ticker", "get_candles", "get_positions", "place_order"]
    assert answer["decision"] == decision_args("open_long", 70, size="0.5")
    assert (answer["provider"], answer["model"]) == ("deepseek", "deepseek-flash")
    assert all(c["ok"] and c["error"] is None for c in answer["toolCalls"]), answer["toolCalls"]
    assert answer["toolCalls"][1]["arguments"] == {"instId": "BTC-USDT-SWAP", "bar": "15m", "limit": 60}

    # The order reached the simulator through the real API, recorded as the agent's with the run id and exits.
    [order] = answer["orders"]
    assert (order["tool"], order["status"], order["runId"], order["side"], order["sz"]) == (
        "place_order",
        "placed",
        "run-42",
        "buy",
        "0.5",
    )
    [record] = [o for o in stack.orders(instId="BTC-USDT-SWAP") if o["clOrdId"] == order["clOrdId"]]
    # The origin is the header the agent sent (interface 1).
    assert record["origin"] == "agent:run:run-42" and record["runId"] == "run-42"
    assert (record["lever"], record["state"]) == ("3", "filled")
    assert record["slTriggerPx"] == order["slTriggerPx"] and record["tpTriggerPx"] == order["tpTriggerPx"]

    # What the model saw: code-built context from the real API, tools without runId, tool results in call order.
    first = model.requests[0]
    assert first["model"] == "deepseek-flash" and first["stream"] is True
    assert first["messages"][0]["role"] == "system" and "Confidence" in first["messages"][0]["content"]
    context = first["messages"][-1]["content"]
    assert "Instrument: BTC-USDT-SWAP" in context and "source=manual" in context and "+84.0 bps" in context
    assert '"rsi14"' in context and '"ctVal":"0.01"' in context and '"totalEq":' in context
    names = {t["function"]["name"] for t in first["tools"]}
    assert {
        "get_ticker",
        "get_candles",
        "get_order_book",
        "get_funding_rate",
        "get_instrument",
        "get_account_balance",
        "get_positions",
        "get_open_orders",
        "get_risk_limits",
        "place_order",
        "cancel_order",
        "close_position",
        "set_position_tpsl",
        "move_stop",
        "submit_decision",
    } == names
    assert all("runId" not in t["function"]["parameters"]["properties"] for t in first["tools"])
    results = tool_messages(model.requests[1])
    assert [m["tool_call_id"] for m in results] == ["c1", "c2", "c3"]
    candles = json.loads(results[1]["content"])
    assert candles["bar"] == "15m" and candles["indicators"]["ema26"] is not None
    assert json.loads(results[2]["content"]) == {"positions": []}

    # Usage: cached input from DeepSeek's and OpenAI's fields; cost from the configured prices.
    usage = answer["usage"]
    assert (usage["inputTokens"], usage["cachedInputTokens"], usage["outputTokens"], usage["modelCalls"]) == (
        4300,
        1600,
        115,
        3,
    )
    assert usage["costUsd"] == pytest.approx(((4300 - 1600) * 1 + 1600 * 0.1 + 115 * 2) / 1e6)


async def test_reasoning_is_not_resent_in_a_later_analysis_but_history_is(
    fresh_database_url: str, standin_api: StandInApi, model: ScriptedModel
) -> None:
    def no_reasoning_and_history(body: dict[str, Any]) -> Reply:
        if any("reasoning_content" in m for m in body["messages"]):
            return status_reply(400, "reasoning_content from another analysis was sent")
        replayed = [m["content"] for m in body["messages"] if m["role"] == "assistant"]
        if replayed != ["Stand aside: trend unclear.\nConfidence: 40"]:
            return status_reply(400, f"expected the previous answer in history, got {replayed}")
        return final_reply("Still flat.\nConfidence: 55", decision_args("no_trade", 55))

    model.steps = [
        lambda body: tool_calls_reply(
            [("a1", "get_ticker", '{"instId":"BTC-USDT-SWAP"}')], reasoning="secret thoughts"
        ),
        requires_reasoning_back(["secret thoughts"], final_reply("Stand aside: trend unclear.\nConfidence: 40")),
        no_reasoning_and_history,
    ]
    settings = agent_settings(fresh_database_url, standin_api.base_url, llm_base_url=model.base_url)
    async with serve_agent(settings) as client:
        first = (await client.post("/analysis", json=analysis_body("run-a"))).json()
        second = (await client.post("/analysis", json=analysis_body("run-b", source="schedule"))).json()
    assert first["type"] == "analysis_result" and first["confidence"] == 40
    assert second["type"] == "analysis_result", second
    assert second["summary"] == "Still flat." and second["confidence"] == 55


async def test_bad_json_unknown_tool_and_invalid_arguments_go_back_to_the_model(
    fresh_database_url: str, standin_api: StandInApi, model: ScriptedModel
) -> None:
    model.steps = [
        lambda body: tool_calls_reply(
            [
                ("b1", "get_ticker", '{"instId": "BTC-USDT-SWAP"'),
                ("b2", "get_weather", '{"city": "Paris"}'),
                ("b3", "get_ticker", '{"instId": "btc usdt"}'),
                ("b4", "get_ticker", '["BTC-USDT-SWAP"]'),
            ]
        ),
        lambda body: final_reply("I could not read the market; no action."),
    ]
    settings = agent_settings(fresh_database_url, standin_api.base_url, llm_base_url=model.base_url)
    async with serve_agent(settings) as client:
        answer = (await client.post("/analysis", json=analysis_body())).json()
    assert answer["type"] == "analysis_result", answer
    assert answer["confidence"] == 50  # no "Confidence:" line: the structured decision's confidence
    results = {m["tool_call_id"]: m["content"] for m in tool_messages(model.requests[1])}
    assert "not valid JSON" in results["b1"]
    assert "unknown tool 'get_weather'" in results["b2"] and "get_ticker" in results["b2"]
    assert "invalid arguments for get_ticker" in results["b3"] and "instId" in results["b3"]
    assert "must be a JSON object" in results["b4"]
    assert [c["ok"] for c in answer["toolCalls"]] == [False, False, False, False]
    assert not [
        r
        for r in standin_api.requests
        if r["path"] == "/api/market/ticker" and r["query"].get("instId") != "BTC-USDT-SWAP"
    ]


async def test_risk_refusal_is_a_readable_tool_result(
    fresh_database_url: str, stack: RealStack, model: ScriptedModel
) -> None:
    model.steps = [
        lambda body: tool_calls_reply([("r1", "place_order", '{"instId":"BTC-USDT-SWAP","side":"buy","sz":"500"}')]),
        lambda body: final_reply(
            "The risk guard refused; standing aside.\nConfidence: 30", decision_args("no_trade", 30)
        ),
    ]
    settings = agent_settings(fresh_database_url, stack.api.url, llm_base_url=model.base_url, api_token=STACK_TOKEN)
    async with serve_agent(settings) as client:
        answer = (await client.post("/analysis", json=analysis_body("run-refused"))).json()
    [refusal] = tool_messages(model.requests[1])
    assert "risk guard refused" in refusal["content"] and "rule max_order_pct" in refusal["content"]
    assert "limit " in refusal["content"] and "actual " in refusal["content"]
    assert answer["type"] == "analysis_result" and answer["orders"] == []
    assert answer["toolCalls"][0]["ok"] is False and "max_order_pct" in answer["toolCalls"][0]["error"]
    refusals = stack.api.get("/api/trade/risk/refusals").json()["refusals"]
    assert [r["rule"] for r in refusals if r["runId"] == "run-refused"] == ["max_order_pct"]


async def test_429_then_success(fresh_database_url: str, standin_api: StandInApi, model: ScriptedModel) -> None:
    model.steps = [
        lambda body: status_reply(429, "Rate limit reached", {"Retry-After": "0"}),
        lambda body: status_reply(429, "Rate limit reached"),
        lambda body: final_reply("Hold.\nConfidence: 50"),
    ]
    settings = agent_settings(fresh_database_url, standin_api.base_url, llm_base_url=model.base_url, llm_max_retries=3)
    async with serve_agent(settings) as client:
        answer = (await client.post("/analysis", json=analysis_body())).json()
    assert answer["type"] == "analysis_result" and answer["summary"] == "Hold."
    assert len(model.requests) == 3


async def test_persistent_5xx_ends_as_analysis_error(
    fresh_database_url: str, standin_api: StandInApi, model: ScriptedModel
) -> None:
    model.steps = [lambda body: status_reply(503, "Service busy")] * 3
    settings = agent_settings(fresh_database_url, standin_api.base_url, llm_base_url=model.base_url, llm_max_retries=2)
    async with serve_agent(settings) as client:
        response = await client.post("/analysis", json=analysis_body("run-5xx"))
    assert response.status_code == 200
    answer = response.json()
    assert answer == {
        "type": "analysis_error",
        "runId": "run-5xx",
        "instId": "BTC-USDT-SWAP",
        "error": answer["error"],
        "reason": "llm_error",
        "toolCalls": [],
        "orders": [],
    }
    assert "HTTP 503" in answer["error"] and "gave up after 3 attempts" in answer["error"]
    assert len(model.requests) == 3


async def test_provider_400_is_not_retried(
    fresh_database_url: str, standin_api: StandInApi, model: ScriptedModel
) -> None:
    model.steps = [lambda body: status_reply(400, "Model Not Exist")]
    settings = agent_settings(fresh_database_url, standin_api.base_url, llm_base_url=model.base_url, llm_max_retries=3)
    async with serve_agent(settings) as client:
        answer = (await client.post("/analysis", json=analysis_body())).json()
    assert answer["type"] == "analysis_error" and "HTTP 400" in answer["error"] and "Model Not Exist" in answer["error"]
    assert len(model.requests) == 1


async def test_call_timeout_ends_as_analysis_error(
    fresh_database_url: str, standin_api: StandInApi, model: ScriptedModel
) -> None:
    slow = text_reply("too late")
    slow.delay_before = 5
    model.steps = [lambda body: slow]
    settings = agent_settings(
        fresh_database_url,
        standin_api.base_url,
        llm_base_url=model.base_url,
        llm_call_timeout_secs=0.5,
        llm_max_retries=0,
    )
    async with serve_agent(settings) as client:
        started = time.monotonic()
        answer = (await client.post("/analysis", json=analysis_body())).json()
        elapsed = time.monotonic() - started
    assert answer["type"] == "analysis_error" and "timed out after 0.5s" in answer["error"]
    assert elapsed < 3


async def test_total_timeout_across_steps(
    fresh_database_url: str, standin_api: StandInApi, model: ScriptedModel
) -> None:
    def slow_tool_call(body: dict[str, Any]) -> Reply:
        reply = tool_calls_reply([(f"t{len(body['messages'])}", "get_ticker", '{"instId":"BTC-USDT-SWAP"}')])
        reply.delay_before = 0.5
        return reply

    model.steps = [slow_tool_call] * 5
    settings = agent_settings(
        fresh_database_url,
        standin_api.base_url,
        llm_base_url=model.base_url,
        llm_call_timeout_secs=1,
        llm_total_timeout_secs=1.2,
    )
    async with serve_agent(settings) as client:
        answer = (await client.post("/analysis", json=analysis_body())).json()
    assert answer["type"] == "analysis_error" and "total timeout of 1.2s" in answer["error"]


async def test_step_limit_asks_once_more_for_a_final_answer(
    fresh_database_url: str, standin_api: StandInApi, model: ScriptedModel
) -> None:
    """At LLM_MAX_STEPS the model is asked once more with tool_choice="none"; its answer ends the run."""
    ticker = lambda body: tool_calls_reply([(f"s{len(body['messages'])}", "get_ticker", '{"instId":"BTC-USDT-SWAP"}')])
    model.steps = [
        ticker,
        ticker,
        lambda body: text_reply("Out of steps: hold.\nConfidence: 35"),
        lambda body: tool_calls_reply([("d", "submit_decision", json.dumps(decision_args("hold", 35)))]),
    ]
    settings = agent_settings(fresh_database_url, standin_api.base_url, llm_base_url=model.base_url, llm_max_steps=2)
    async with serve_agent(settings) as client:
        answer = (await client.post("/analysis", json=analysis_body())).json()
    assert answer["type"] == "analysis_result", answer
    assert answer["summary"] == "Out of steps: hold." and answer["decision"]["action"] == "hold"
    assert [r.get("tool_choice") for r in model.requests] == [
        None,
        None,
        "none",
        {"type": "function", "function": {"name": "submit_decision"}},
    ]


async def test_step_limit_still_calling_tools_is_an_error_that_keeps_the_calls(
    fresh_database_url: str, standin_api: StandInApi, model: ScriptedModel
) -> None:
    model.steps = [
        lambda body: tool_calls_reply([(f"s{len(body['messages'])}", "get_ticker", '{"instId":"BTC-USDT-SWAP"}')])
    ] * 3
    settings = agent_settings(fresh_database_url, standin_api.base_url, llm_base_url=model.base_url, llm_max_steps=2)
    async with serve_agent(settings) as client:
        answer = (await client.post("/analysis", json=analysis_body())).json()
    assert (
        answer["type"] == "analysis_error" and "LLM_MAX_STEPS" in answer["error"] and answer["reason"] == "step_limit"
    )
    assert [c["name"] for c in answer["toolCalls"]] == ["get_ticker", "get_ticker"]
    assert len(model.requests) == 3 and model.requests[2]["tool_choice"] == "none"


async def test_daily_budget_stops_analyses_without_calling_the_model(
    fresh_database_url: str, standin_api: StandInApi, model: ScriptedModel
) -> None:
    # Output at $1/1M, input free: each call reserves LLM_MAX_TOKENS=1000 -> $0.001, then costs 100 tokens -> $0.0001.
    # The budget fits the first reservation, not the second one on top of the first call's cost.
    model.steps = [
        lambda body: final_reply("Hold.\nConfidence: 50", usage={"prompt_tokens": 1000, "completion_tokens": 100})
    ]
    settings = agent_settings(
        fresh_database_url,
        standin_api.base_url,
        llm_base_url=model.base_url,
        llm_daily_budget_usd=0.00105,
        llm_price_input_per_mtok=0,
        llm_price_output_per_mtok=1,
        llm_max_tokens=1000,
    )
    async with serve_agent(settings) as client:
        first = (await client.post("/analysis", json=analysis_body("run-1"))).json()
        second = (await client.post("/analysis", json=analysis_body("run-2"))).json()
        usage = (await client.get("/usage")).json()
        run_usage = (await client.get("/usage", params={"runId": "run-1"})).json()
    assert first["type"] == "analysis_result" and first["usage"]["costUsd"] == pytest.approx(0.0001)
    assert second["type"] == "analysis_error" and second["error"].startswith("budget exhausted")
    assert second["reason"] == "budget"
    assert len(model.requests) == 1
    assert usage["costUsd"] == pytest.approx(0.0001) and usage["calls"] == 1 and usage["dailyBudgetUsd"] == 0.00105
    assert usage["reservedUsd"] == 0
    assert run_usage["calls"][0]["input_tokens"] == 1000


async def test_unreachable_model_is_an_analysis_error(fresh_database_url: str, standin_api: StandInApi) -> None:
    from tests.helpers import free_port

    settings = agent_settings(
        fresh_database_url, standin_api.base_url, llm_base_url=f"http://127.0.0.1:{free_port()}/v1", llm_max_retries=1
    )
    async with serve_agent(settings) as client:
        answer = (await client.post("/analysis", json=analysis_body())).json()
    assert answer["type"] == "analysis_error" and "unreachable" in answer["error"]


async def test_request_validation_and_auth(fresh_database_url: str, standin_api: StandInApi) -> None:
    settings = agent_settings(fresh_database_url, standin_api.base_url)
    async with serve_agent(settings) as client:
        health = await httpx.AsyncClient().get(f"{settings.self_base_url}/health")
        assert health.status_code == 200 and health.json()["database"] == "ok"
        for path in ("/analysis", "/sessions", "/mcp", "/offline/v1/chat/completions"):
            unauthorised = await httpx.AsyncClient().post(
                f"{settings.self_base_url}{path}", json={}, headers={"Authorization": "Bearer wrong"}
            )
            assert unauthorised.status_code == 401 and unauthorised.json()["field"] == "Authorization", path
        cases = [
            ({k: v for k, v in analysis_body().items() if k != "runId"}, "runId"),
            ({**analysis_body(), "instId": "btc/usdt"}, "instId"),
            ({**analysis_body(), "source": "cron"}, "source"),
            ({**analysis_body(), "trigger": {"price": "abc"}}, "trigger.price"),
            ({**analysis_body(), "runId": "run with spaces"}, "runId"),
        ]
        for body, field in cases:
            response = await client.post("/analysis", json=body)
            assert response.status_code == 400, body  # the API's status for the same kind of error (issue 15)
            assert set(response.json()) == {"status_code", "detail", "field"}
            assert response.json()["field"] == field and field in response.json()["detail"]
        broken = await client.post("/analysis", content=b"{not json", headers={"Content-Type": "application/json"})
        assert broken.status_code == 400 and broken.json()["field"] == "body"
        missing = await client.get("/sessions/chat:none")
        assert missing.status_code == 404 and missing.json() == {
            "status_code": 404,
            "detail": "no session 'chat:none'",
            "field": "session_id",
        }
    assert not [r for r in standin_api.requests if r["path"].startswith("/api/trade")]
