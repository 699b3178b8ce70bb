"""The offline model: the rule (pure) and its decisions through real HTTP, tools and the stand-in API."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai import AsyncOpenAI

from agent.offline_model import (
    LABEL,
    LIMIT_SAFETY,
    OFFLINE_MODEL_NAME,
    RISK_FRACTION,
    GuardLimits,
    MarketView,
    Spec,
    decide,
    guard_limits,
)
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


limits_strategy = st.builds(
    GuardLimits,
    max_order_pct=st.one_of(st.none(), st.decimals(min_value=1, max_value=500, places=1)),
    max_exposure_pct=st.one_of(st.none(), st.decimals(min_value=1, max_value=500, places=1)),
    open_exposure=st.decimals(min_value=0, max_value=100_000, places=2),
    max_leverage=st.one_of(st.none(), st.decimals(min_value=1, max_value=125, places=0)),
)


@settings(max_examples=300, deadline=None)
@given(markets, st.decimals(min_value=1, max_value=1_000_000, places=2), limits_strategy)
def test_every_opening_has_a_stop_a_target_and_bounded_risk(
    market: MarketView, equity: Decimal, limits: GuardLimits
) -> None:
    decision = decide(market, equity, Decimal(0), None, BTC, limits)
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
    notional = contracts * BTC.ct_val * market.price
    assert notional <= equity  # notional capped at 1x equity
    if limits.max_order_pct is not None:  # and inside the risk guard's limits
        assert notional <= equity * limits.max_order_pct / 100 * LIMIT_SAFETY
    if limits.max_exposure_pct is not None:
        assert limits.open_exposure + notional <= equity * limits.max_exposure_pct / 100
    assert 1 <= decision.leverage <= 3 and (limits.max_leverage is None or decision.leverage <= limits.max_leverage)
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
    # The guard's limits as GET /api/trade/risk gives them: 25% per order -> 2375 USDT -> 3.95 contracts; leverage 2.
    risk = {
        "limits": {"maxOrderPct": "25", "maxExposurePct": "100", "maxLeverage": "2"},
        "state": {"openExposure": "0", "dailyLossLatched": False},
    }
    capped = decide(up, equity, Decimal(0), None, BTC, guard_limits(risk))
    assert (capped.contracts, capped.leverage) == (Decimal("3.95"), 2)
    latched = guard_limits({**risk, "state": {"openExposure": "0", "dailyLossLatched": True}})
    assert decide(up, equity, Decimal(0), None, BTC, latched).action == "none"
    assert guard_limits({}) == GuardLimits()


@pytest.mark.parametrize(("trend", "side"), [("up", "buy"), ("down", "sell")])
async def test_offline_analysis_places_an_order_with_exits(
    fresh_database_url: str, standin_api: StandInApi, trend: str, side: str
) -> None:
    standin_api.trend = trend
    settings_ = agent_settings(fresh_database_url, standin_api.base_url)
    async with serve_agent(settings_) as client:
        answer = (await client.post("/analysis", json=analysis_body(f"run-{trend}"))).json()
    assert answer["type"] == "analysis_result", answer
    assert answer["provider"] == "offline" and answer["model"] == OFFLINE_MODEL_NAME
    assert answer["summary"].startswith(LABEL) and "stop-loss" in answer["summary"]
    assert isinstance(answer["confidence"], int) and 50 <= answer["confidence"] <= 85
    assert [c["name"] for c in answer["toolCalls"]] == [
        "get_ticker",
        "get_candles",
        "get_account_balance",
        "get_positions",
        "get_instrument",
        "get_risk_limits",
        "place_order",
    ]
    [order] = standin_api.orders()
    assert order["side"] == side and order["runId"] == f"run-{trend}" and order["leverage"] == 3
    [placed] = [r for r in standin_api.requests if r["path"] == "/api/trade/order"]
    assert placed["origin"] == f"agent:run:run-{trend}"
    decision = answer["decision"]
    assert (
        decision["action"] == ("open_long" if side == "buy" else "open_short") and decision["instId"] == "BTC-USDT-SWAP"
    )
    assert (decision["size"], decision["stop"], decision["target"]) == (
        "3.95",
        order["slTriggerPx"],
        order["tpTriggerPx"],
    )
    assert decision["confidence"] == answer["confidence"] and decision["reason"].startswith("opening")
    sl, tp = Decimal(order["slTriggerPx"]), Decimal(order["tpTriggerPx"])
    assert (sl < 60000 < tp) if side == "buy" else (tp < 60000 < sl)
    # Sized inside the guard's RISK_MAX_ORDER_PCT (25% of 10000 USDT, with a 5% margin): 2375 / (60000 x 0.01) -> 3.95
    assert order["sz"] == "3.95"
    [recorded] = answer["orders"]
    assert (recorded["status"], recorded["sz"], recorded["runId"]) == ("placed", "3.95", f"run-{trend}")


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
    assert (
        closing["toolCalls"][-1]["name"] == "close_position"
    )  # submit_decision is the `decision` field, not a tool call
    assert "Closed the position" in closing["summary"]
    close_request = [r for r in standin_api.requests if r["path"] == "/api/trade/close-position"][0]["body"]
    assert close_request == {"instId": "BTC-USDT-SWAP", "posSide": "long", "runId": "run-close"}
    assert closing["decision"]["action"] == "close"
    assert flat["type"] == "analysis_result" and "No order." in flat["summary"] and flat["confidence"] == 50
    assert flat["decision"]["action"] == "no_trade" and flat["decision"]["size"] is None
    assert standin_api.orders() == []


async def test_offline_endpoint_non_streaming_with_the_openai_client(
    fresh_database_url: str, standin_api: StandInApi
) -> None:
    settings_ = agent_settings(fresh_database_url, standin_api.base_url)
    async with serve_agent(settings_):
        client = AsyncOpenAI(base_url=settings_.base_url, api_key=TOKEN)
        tools = [
            {"type": "function", "function": {"name": n, "parameters": {"type": "object"}}}
            for n in ("get_ticker", "get_candles")
        ]
        reply = await client.chat.completions.create(
            model=OFFLINE_MODEL_NAME, messages=[{"role": "user", "content": "How is ETH-USDT-SWAP?"}], tools=tools
        )
        await client.close()
    calls = reply.choices[0].message.tool_calls
    assert reply.choices[0].finish_reason == "tool_calls"
    assert [c.function.name for c in calls] == ["get_ticker", "get_candles"]
    assert '"ETH-USDT-SWAP"' in calls[0].function.arguments and reply.usage.prompt_tokens > 0
