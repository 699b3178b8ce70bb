"""The offline model: the rule (pure) and its decisions through real HTTP, tools and the stand-in API."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st
from openai import AsyncOpenAI

from agent.offline_model import LABEL, OFFLINE_MODEL_NAME, RISK_FRACTION, MarketView, Spec, decide
from tests.agent.conftest import agent_settings, analysis_body, serve_agent
from tests.agent.standin_api import TOKEN, StandInApi

BTC = Spec(Decimal("0.01"), Decimal("0.01"), Decimal("0.01"), Decimal("0.1"))

markets = st.builds(
    MarketView,
    price=st.decimals(min_value=1, max_value=200000, places=1),
    ema_fast=st.floats(min_value=1, max_value=200000),
    ema_slow=st.floats(min_value=1, max_value=200000),
    rsi=st.floats(min_value=0, max_value=100),
)


@settings(max_examples=300, deadline=None)
@given(markets, st.decimals(min_value=1, max_value=1_000_000, places=2))
def test_every_opening_has_a_stop_a_target_and_bounded_risk(market: MarketView, equity: Decimal) -> None:
    decision = decide(market, equity, Decimal(0), None, BTC)
    if not decision.action.startswith("open_"):
        assert decision.action == "none" and decision.contracts is None
        return
    assert decision.stop_px is not None and decision.take_px is not None
    if decision.action == "open_long":
        assert decision.stop_px < market.price < decision.take_px
    else:
        assert decision.take_px < market.price < decision.stop_px
    contracts = decision.contracts
    assert contracts >= BTC.min_sz and (contracts / BTC.lot_sz) == (contracts / BTC.lot_sz).to_integral_value()
    assert contracts * BTC.ct_val * market.price <= equity  # notional capped at 1x equity
    risk = abs(market.price - decision.stop_px) * contracts * BTC.ct_val
    assert risk <= equity * RISK_FRACTION + contracts * BTC.ct_val * BTC.tick_sz
    assert 50 <= decision.confidence <= 85


def test_signals_and_position_handling() -> None:
    up = MarketView(Decimal(60000), 60100.0, 60000.0, 55.0)
    down = MarketView(Decimal(60000), 59900.0, 60000.0, 45.0)
    flat = MarketView(Decimal(60000), 60001.0, 60000.0, 50.0)
    overbought = MarketView(Decimal(60000), 60100.0, 60000.0, 75.0)
    equity = Decimal(10000)
    assert decide(up, equity, Decimal(0), None, BTC).action == "open_long"
    assert decide(down, equity, Decimal(0), None, BTC).action == "open_short"
    assert decide(flat, equity, Decimal(0), None, BTC).action == "none"
    assert decide(overbought, equity, Decimal(0), None, BTC).action == "none"
    assert decide(up, equity, Decimal(2), "net", BTC).action == "hold"
    close = decide(down, equity, Decimal(2), "long", BTC)
    assert close.action == "close" and close.close_pos_side == "long"
    assert decide(up, equity, Decimal(-2), "net", BTC).action == "close"
    assert decide(up, Decimal("0.5"), Decimal(0), None, BTC).action == "none"  # too small for minSz
    # 1% of 10000 over a 1.5% stop at 60000 with 0.01 BTC contracts: 100 / (900 * 0.01) = 11.11 contracts
    assert decide(up, equity, Decimal(0), None, BTC).contracts == Decimal("11.11")


@pytest.mark.parametrize(("trend", "side"), [("up", "buy"), ("down", "sell")])
async def test_offline_analysis_places_an_order_with_exits(fresh_database_url: str, standin_api: StandInApi, trend: str, side: str) -> None:
    standin_api.trend = trend
    settings_ = agent_settings(fresh_database_url, standin_api.base_url)
    async with serve_agent(settings_) as client:
        answer = (await client.post("/analysis", json=analysis_body(f"run-{trend}"))).json()
    assert answer["type"] == "analysis_result", answer
    assert answer["provider"] == "offline" and answer["model"] == OFFLINE_MODEL_NAME
    assert answer["summary"].startswith(LABEL) and "stop-loss" in answer["summary"]
    assert isinstance(answer["confidence"], int) and 50 <= answer["confidence"] <= 85
    assert [c["name"] for c in answer["toolCalls"]] == [
        "get_ticker", "get_candles", "get_account_balance", "get_positions", "get_instrument", "place_order"]
    [order] = standin_api.orders()
    assert order["side"] == side and order["runId"] == f"run-{trend}" and order["leverage"] == 3
    sl, tp = Decimal(order["slTriggerPx"]), Decimal(order["tpTriggerPx"])
    assert (sl < 60000 < tp) if side == "buy" else (tp < 60000 < sl)
    assert answer["orders"][0]["request"]["sz"] == order["sz"]


async def test_offline_analysis_closes_a_position_against_the_trend_and_stands_aside_when_flat(
    fresh_database_url: str, standin_api: StandInApi
) -> None:
    standin_api.trend = "down"
    standin_api.positions = [{"instId": "BTC-USDT-SWAP", "posSide": "long", "pos": "3", "avgPx": "61000"}]
    settings_ = agent_settings(fresh_database_url, standin_api.base_url)
    async with serve_agent(settings_) as client:
        closing = (await client.post("/analysis", json=analysis_body("run-close"))).json()
        standin_api.trend = "flat"
        flat = (await client.post("/analysis", json=analysis_body("run-flat"))).json()
    assert closing["toolCalls"][-1]["name"] == "close_position" and "Closed the position" in closing["summary"]
    close_request = [r for r in standin_api.requests if r["path"] == "/api/trade/close-position"][0]["body"]
    assert close_request == {"instId": "BTC-USDT-SWAP", "posSide": "long", "runId": "run-close"}
    assert flat["type"] == "analysis_result" and "No order." in flat["summary"] and flat["confidence"] == 50
    assert standin_api.orders() == []


async def test_offline_endpoint_non_streaming_with_the_openai_client(fresh_database_url: str, standin_api: StandInApi) -> None:
    settings_ = agent_settings(fresh_database_url, standin_api.base_url)
    async with serve_agent(settings_):
        client = AsyncOpenAI(base_url=settings_.llm_base_url, api_key=TOKEN)
        tools = [{"type": "function", "function": {"name": n, "parameters": {"type": "object"}}}
                 for n in ("get_ticker", "get_candles")]
        reply = await client.chat.completions.create(
            model=OFFLINE_MODEL_NAME, messages=[{"role": "user", "content": "How is ETH-USDT-SWAP?"}], tools=tools)
        await client.close()
    calls = reply.choices[0].message.tool_calls
    assert reply.choices[0].finish_reason == "tool_calls"
    assert [c.function.name for c in calls] == ["get_ticker", "get_candles"]
    assert '"ETH-USDT-SWAP"' in calls[0].function.arguments and reply.usage.prompt_tokens > 0
