"""The daily LLM budget is reserved before every model call (parallel chats cannot pass it together) and the
number of concurrent LLM turns is bounded (real HTTP, real PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.llm import Usage
from agent.llm.pricing import DEFAULT_PRICES, ModelPrice, PriceTable, cost_usd, is_peak, parse_price_overrides
from agent.llm.stream import usage_from_response
from tests.agent.chat_events import read_events
from tests.agent.conftest import agent_settings, serve_agent
from tests.agent.scripted_llm import ScriptedModel, text_reply
from tests.agent.standin_api import StandInApi


def slow_answer(delay: float = 0.5):
    def step(body: dict) -> object:
        reply = text_reply("ok", usage={"prompt_tokens": 10, "completion_tokens": 10})
        reply.delay_before = delay
        return reply

    return step


async def test_parallel_chats_cannot_pass_the_budget_together(
    fresh_database_url: str, standin_api: StandInApi, model: ScriptedModel
) -> None:
    # Input free, output $1/1M, LLM_MAX_TOKENS=1000: each call reserves $0.001; the budget holds one reservation.
    model.steps = [slow_answer()] * 6
    settings = agent_settings(
        fresh_database_url,
        standin_api.base_url,
        llm_base_url=model.base_url,
        llm_daily_budget_usd=0.0015,
        llm_price_input_per_mtok=0,
        llm_price_output_per_mtok=1,
        llm_max_tokens=1000,
        llm_max_concurrent_turns=8,
    )
    async with serve_agent(settings) as client:
        runs = await asyncio.gather(*(read_events(client, {"message": f"hello {i}"}) for i in range(6)))
        usage = (await client.get("/usage")).json()
    endings = [events[-1] for events in runs]
    finals = [e for e in endings if e[0] == "final"]
    refused = [e for e in endings if e[0] == "error"]
    assert len(finals) == 1 and len(refused) == 5, endings
    assert all(e[1]["reason"] == "budget" and "budget exhausted" in e[1]["error"] for e in refused)
    assert len(model.requests) == 1
    assert usage["calls"] == 1 and usage["reservedUsd"] == 0 and usage["costUsd"] == pytest.approx(10 / 1e6)


async def test_concurrent_turns_are_bounded(
    fresh_database_url: str, standin_api: StandInApi, model: ScriptedModel
) -> None:
    model.steps = [slow_answer(0.4)] * 4
    settings = agent_settings(
        fresh_database_url,
        standin_api.base_url,
        llm_base_url=model.base_url,
        llm_max_concurrent_turns=1,
        llm_turn_wait_secs=5,
    )
    async with serve_agent(settings) as client:
        runs = await asyncio.gather(*(read_events(client, {"message": f"q{i}"}) for i in range(3)))
    assert [events[-1][0] for events in runs] == ["final"] * 3  # they waited for the slot
    assert model.max_in_flight == 1 and len(model.requests) == 3


async def test_a_turn_that_cannot_get_a_slot_in_time_is_refused(
    fresh_database_url: str, standin_api: StandInApi, model: ScriptedModel
) -> None:
    model.steps = [slow_answer(1.0)] * 2
    settings = agent_settings(
        fresh_database_url,
        standin_api.base_url,
        llm_base_url=model.base_url,
        llm_max_concurrent_turns=1,
        llm_turn_wait_secs=0.2,
    )
    async with serve_agent(settings) as client:
        runs = await asyncio.gather(*(read_events(client, {"message": f"q{i}"}) for i in range(2)))
    endings = sorted(events[-1][0] for events in runs)
    assert endings == ["error", "final"]
    [error] = [events[-1][1] for events in runs if events[-1][0] == "error"]
    assert "LLM_MAX_CONCURRENT_TURNS" in error["error"] and error["reason"] == "llm_error"  # busy, not a spent budget
    assert len(model.requests) == 1


# ---- prices (pure) ---------------------------------------------------------------------------------------


def test_deepseek_prices_peak_and_off_peak() -> None:
    table = PriceTable.with_overrides({})
    monday_peak = datetime(2026, 11, 30, 2, 30, tzinfo=UTC)
    monday_off = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
    saturday = datetime(2026, 12, 5, 2, 30, tzinfo=UTC)
    assert is_peak(monday_peak) and not is_peak(monday_off) and not is_peak(saturday)
    assert is_peak(datetime(2026, 11, 30, 9, 59, tzinfo=UTC)) and not is_peak(datetime(2026, 11, 30, 10, 0, tzinfo=UTC))
    usage = Usage(input_tokens=1_000_000, cached_input_tokens=400_000, output_tokens=1_000_000)
    assert table.cost("deepseek-flash", usage, monday_peak) == pytest.approx(0.6 * 0.30 + 0.4 * 0.006 + 1.20)
    assert table.cost("deepseek-flash", usage, monday_off) == pytest.approx((0.6 * 0.30 + 0.4 * 0.006 + 1.20) / 2)
    assert table.cost("deepseek-v4-pro", usage, monday_peak) == pytest.approx(0.6 * 1.32 + 0.4 * 0.044 + 3.96)
    assert table.cost("deepseek-v4-pro", usage, saturday) == pytest.approx((0.6 * 1.32 + 0.4 * 0.044 + 3.96) / 2)
    assert table.price("unknown-model", monday_peak) is None


def test_reasoning_tokens_are_counted_as_output() -> None:
    included = usage_from_response(
        {"prompt_tokens": 10, "completion_tokens": 300, "completion_tokens_details": {"reasoning_tokens": 200}}
    )
    assert (included.output_tokens, included.reasoning_tokens) == (300, 200)
    apart = usage_from_response(
        {"prompt_tokens": 10, "completion_tokens": 100, "completion_tokens_details": {"reasoning_tokens": 200}}
    )
    assert (apart.output_tokens, apart.reasoning_tokens) == (300, 200)  # billed: 100 answer + 200 reasoning


def test_price_overrides_per_model() -> None:
    table = PriceTable.with_overrides(
        parse_price_overrides(
            '{"deepseek-flash": {"input": 1, "output": 2}, "gpt-x": {"input": 2, "cachedInput": 0.5, "output": 8, "offPeakFactor": 0.25}}'
        )
    )
    saturday = datetime(2026, 12, 5, 12, tzinfo=UTC)
    assert table.price("deepseek-flash", saturday) == ModelPrice(1.0, 1.0, 2.0)  # user's flat price wins
    assert table.price("gpt-x", saturday) == ModelPrice(0.5, 0.125, 2.0)
    assert table.price("deepseek-v4-pro", saturday) == DEFAULT_PRICES["deepseek-v4-pro"].at(saturday)
    for bad in (
        '{"m": {"input": 1}}',
        '{"m": {"input": 1, "output": 1, "extra": 2}}',
        '{"m": {"input": 1, "output": 1, "offPeakFactor": 2}}',
        "[]",
    ):
        with pytest.raises(ValueError):
            parse_price_overrides(bad)


@given(st.integers(0, 10**7), st.integers(0, 10**7), st.integers(0, 10**7), st.datetimes(timezones=st.just(UTC)))
def test_off_peak_never_costs_more_and_cost_grows_with_tokens(
    prompt: int, cached: int, output: int, when: datetime
) -> None:
    price = DEFAULT_PRICES["deepseek-flash"]
    usage = Usage(input_tokens=prompt, cached_input_tokens=min(cached, prompt), output_tokens=output)
    now = cost_usd(usage, price.at(when))
    assert 0 <= now <= cost_usd(usage, price) + 1e-12
    more = Usage(input_tokens=prompt + 1, cached_input_tokens=min(cached, prompt), output_tokens=output + 1)
    assert cost_usd(more, price.at(when)) > now
