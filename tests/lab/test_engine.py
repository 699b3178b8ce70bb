"""The backtest engine over real data: no look-ahead (scripted model over real HTTP), determinism, the LLM cache,
the budget stop, and the exchange's path semantics (TP/SL at the level, fees, funding, liquidation)."""

from __future__ import annotations

import json
import math
from decimal import Decimal

import pytest

from api_server.lab.candles import CandleRow, parse_file_text
from api_server.lab.engine import BacktestInput, run_backtest
from api_server.lab.exchange import LabExchange
from api_server.lab.llm_cache import LlmCache
from api_server.lab.profiles import LlmSpec, ProfileSpec, ScheduleSpec, VolatilitySpec
from okxsim.engine import OrderRequest
from okxsim.instruments import SPECS
from tests.agent.scripted_llm import ScriptedModel, tool_calls_reply
from tests.helpers import REPO_ROOT

XRP = REPO_ROOT / "data" / "candles" / "freqtrade_XRP_USDT_USDT-5m-futures.json"
D = Decimal


def xrp_rows(n: int | None = None) -> list[CandleRow]:
    rows = parse_file_text(XRP.read_text())
    return rows[:n] if n else rows


def spec(**kw) -> ProfileSpec:
    base = dict(
        inst_ids=["XRP-USDT-SWAP"],
        bar="5m",
        schedule=ScheduleSpec(enabled=True, interval_secs=900),
        volatility=VolatilitySpec(enabled=True, threshold_bps=80),
    )
    return ProfileSpec(**{**base, **kw})


def scripted_step(body: dict) -> object:
    """Each analysis: ask for the ticker and 100 candles, then answer with the decision (as the agent's analyses end)."""
    if body["messages"][-1]["role"] == "user":
        return tool_calls_reply(
            [
                ("c1", "get_ticker", json.dumps({"instId": "XRP-USDT-SWAP"})),
                ("c2", "get_candles", json.dumps({"instId": "XRP-USDT-SWAP", "limit": 100, "show": 100})),
            ]
        )
    decision = {"action": "no_trade", "instId": "XRP-USDT-SWAP", "confidence": 50, "reason": "No trade: scripted."}
    return tool_calls_reply(
        [("d1", "submit_decision", json.dumps(decision))], usage={"prompt_tokens": 1000, "completion_tokens": 50}
    )


@pytest.fixture
async def scripted(monkeypatch):
    model = await ScriptedModel([scripted_step] * 2000).start()
    monkeypatch.setenv("LAB_LLM_API_KEY", "scripted-key")
    monkeypatch.setenv("LLM_PRICE_INPUT_PER_MTOK", "1")
    monkeypatch.setenv("LLM_PRICE_OUTPUT_PER_MTOK", "2")
    yield model
    await model.stop()


def scripted_input(model: ScriptedModel, rows, **kw) -> BacktestInput:
    llm = LlmSpec(provider="openai-compatible", base_url=model.base_url, model="scripted-1")
    return BacktestInput("XRP-USDT-SWAP", "5m", rows, spec(llm=llm), SPECS["XRP-USDT-SWAP"], D(10000), **kw)


@pytest.mark.timeout(400)
async def test_no_tool_sees_data_after_the_ticker(scripted):
    out = await run_backtest(scripted_input(scripted, xrp_rows(400)), cache=LlmCache())
    assert len(out.runs) > 20
    first_ts = xrp_rows(1)[0].ts
    checked = 0
    for body in scripted.requests:
        tools = {m["tool_call_id"]: m["content"] for m in body["messages"] if m.get("role") == "tool"}
        if not tools:
            continue
        ticker = json.loads(tools["c1"])
        now = int(ticker["ts"])
        checked += 1
        if tools["c2"].startswith("error: the trading API returned no finished candles"):
            assert now < first_ts + 300_000, "no finished candle although one had closed"
            continue
        rows = json.loads(tools["c2"])["candles"]
        assert rows, "candles were returned"
        # get_candles shows finished candles only: each one closed by `now`.
        assert all(r[0] + 300_000 <= now for r in rows), "a candle is shown before it closed"
        # The last price is the path price at `now`: never beyond what the forming candle shows so far, and the
        # forming candle is the one right after the newest finished one (a scheduled wake-up between two path
        # points sees the market as of the earlier point, so `now` may be the forming candle's close time).
        forming = ticker["barCandle"]
        if forming is not None:
            assert (
                int(forming["ts"]) == rows[-1][0] + 300_000
                and int(forming["ts"]) <= now <= int(forming["ts"]) + 300_000
            )
            assert float(forming["l"]) <= float(ticker["last"]) <= float(forming["h"])
        else:  # right after a close: the last price is that candle's close
            assert float(ticker["last"]) == rows[-1][4] and now - 300_000 < rows[-1][0] + 300_000
    assert checked == len(out.runs)


async def test_the_context_shows_simulated_time_never_the_wall_clock(scripted):
    out = await run_backtest(scripted_input(scripted, xrp_rows(120)), cache=None)
    contexts = [
        m["content"]
        for b in scripted.requests
        for m in b["messages"]
        if m.get("role") == "user" and m["content"].startswith("# Strategy analysis request")
    ]
    assert len(contexts) == 2 * len(out.runs)  # the context is resent with the tool results
    assert all("Time (UTC): 2021-11-1" in c for c in contexts)


def test_the_forming_candle_is_marked_and_shows_only_the_path_so_far():
    from api_server.lab.market import MarketView, path_points

    rows = xrp_rows(3)
    view = MarketView("XRP-USDT-SWAP", rows, "5m", 300_000)
    points = list(path_points(rows, 300_000))
    for point in points[:6]:  # candle 0 complete, candle 1 at its first extreme
        view.advance(point)
    shown = view.visible_rows(10)
    assert [r["confirm"] for r in shown] == ["1", "0"]
    forming, candle = shown[-1], rows[1]
    assert forming["c"] == format(points[5].price, "f")
    first_extreme = candle.low if candle.close >= candle.open else candle.high
    assert {forming["h"], forming["l"]} == {format(candle.open, "f"), format(first_extreme, "f")}


@pytest.mark.timeout(400)
async def test_rerun_is_answered_from_the_cache_and_identical(scripted):
    cache = LlmCache()
    first = await run_backtest(scripted_input(scripted, xrp_rows(300)), cache=cache)
    sent = len(scripted.requests)
    second = await run_backtest(scripted_input(scripted, xrp_rows(300)), cache=cache)
    assert len(scripted.requests) == sent, "the rerun asked the model again"
    strip = lambda runs: [{k: v for k, v in r.items() if k not in ("id", "toolCalls", "orders")} for r in runs]
    assert strip(first.runs) == strip(second.runs)
    assert first.equity == second.equity
    assert first.cost_usd == second.cost_usd > 0


@pytest.mark.timeout(400)
async def test_budget_stops_the_backtest_and_marks_it_partial(scripted):
    # Per run: the tool-call answer (200 in, 30 out) + the final answer (1000 in, 50 out) at 1 / 2 USD per million.
    per_run = (1200 * 1 + 80 * 2) / 1_000_000
    out = await run_backtest(scripted_input(scripted, xrp_rows(600), budget_usd=0.011), cache=LlmCache())
    assert out.partial and out.partial_reason == "budget"
    assert len(out.runs) == math.ceil(0.011 / per_run) == 9
    assert out.cost_usd == pytest.approx(9 * per_run)
    assert out.end_ts < xrp_rows(600)[-1].ts


@pytest.mark.timeout(400)
async def test_offline_model_backtest_is_deterministic_and_trades():
    rows = xrp_rows(600)
    inp = BacktestInput("XRP-USDT-SWAP", "5m", rows, spec(), SPECS["XRP-USDT-SWAP"], D(10000), slippage_bps=D(2))
    a, b = await run_backtest(inp), await run_backtest(inp)
    assert [(f.ts, f.side, f.px, f.sz) for f in a.fills] == [(f.ts, f.side, f.px, f.sz) for f in b.fills]
    assert a.equity == b.equity and a.fills, "the offline rule traded in two days"
    assert {r["source"] for r in a.runs} == {"schedule", "volatility"}
    assert all(r["status"] == "succeeded" for r in a.runs)
    # A run ends in the model's submitted decision (derived only where the rule had too little history to decide),
    # and its orders carry the run's origin (X-AiTrader-Origin).
    derived = [r for r in a.runs if r["decision"]["reason"].startswith("derived")]
    assert len(derived) < len(a.runs) and all(
        "not enough market history" in r["summary"] or "could not read the data" in r["summary"] for r in derived
    )
    placed = [o for r in a.runs for o in r["orders"]]
    assert placed and all(o["origin"] == f"agent:run:{r['id']}" for r in a.runs for o in r["orders"])
    # Fees are 0.05 % taker on every fill's notional.
    for f in a.fills:
        assert f.fee == -(f.px * f.sz * SPECS["XRP-USDT-SWAP"].ct_val * D("0.0005"))


# ---- the exchange's path semantics -------------------------------------------------------------


def exchange(**kw) -> LabExchange:
    ex = LabExchange(SPECS["XRP-USDT-SWAP"], D(10000), **kw)
    ex.move_to(0, D("1.0000"))
    return ex


def test_stop_between_two_path_points_fills_at_the_stop_not_at_the_point():
    ex = exchange()
    ex.place(
        OrderRequest(
            inst_id="XRP-USDT-SWAP",
            td_mode="cross",
            side="buy",
            ord_type="market",
            sz="10",
            attach_algo_ords=[{"slTriggerPx": "0.9800", "tpTriggerPx": "1.0500"}],
        )
    )
    ex.move_to(1000, D("0.9500"))  # the path falls through the stop in one segment
    stop = [f for f in ex.fills if f.kind == "tp_sl"]
    assert len(stop) == 1 and stop[0].px == D("0.9800") and stop[0].side == "sell"
    assert ex.position_contracts() == 0


def test_slippage_moves_market_fills_against_the_taker():
    ex = exchange(slippage_bps=D(10))
    ex.place(OrderRequest(inst_id="XRP-USDT-SWAP", td_mode="cross", side="buy", ord_type="market", sz="1"))
    assert ex.fills[-1].px == D("1.0010")


def test_limit_fills_at_its_price_as_maker_with_the_backtest_fee():
    ex = exchange(maker_rate=D("0.0001"))
    ex.place(OrderRequest(inst_id="XRP-USDT-SWAP", td_mode="cross", side="buy", ord_type="limit", sz="10", px="0.9900"))
    ex.move_to(1000, D("0.9700"))
    fill = ex.fills[-1]
    assert (fill.px, fill.exec_type) == (D("0.9900"), "M")
    assert fill.fee == -(D("0.9900") * 10 * 100 * D("0.0001"))


def test_funding_is_paid_every_8_hours_by_longs_when_positive():
    ex = LabExchange(SPECS["XRP-USDT-SWAP"], D(10000), funding_rate=D("0.0001"))
    ex.move_to(1, D("1"))
    ex.place(OrderRequest(inst_id="XRP-USDT-SWAP", td_mode="cross", side="buy", ord_type="market", sz="10"))
    ex.move_to(8 * 3_600_000 + 5, D("1"))  # one settlement (08:00 UTC of day 0)
    assert ex.funding_paid == -(D(10) * 100 * D(1) * D("0.0001"))
    ex.move_to(24 * 3_600_000 + 5, D("1"))  # 16:00 and 00:00
    assert ex.funding_paid == -3 * (D(10) * 100 * D("0.0001"))


def test_liquidation_closes_the_position_when_equity_reaches_maintenance_margin():
    ex = LabExchange(SPECS["XRP-USDT-SWAP"], D(100))
    ex.move_to(0, D("1"))
    ex.engine.set_leverage("XRP-USDT-SWAP", "50", "cross")
    ex.place(
        OrderRequest(inst_id="XRP-USDT-SWAP", td_mode="cross", side="buy", ord_type="market", sz="40")
    )  # 4000 USDT
    ex.move_to(1000, D("0.975"))  # -100 USDT: equity ~0 < maintenance margin
    assert ex.liquidations == 1 and ex.position_contracts() == 0
    assert ex.fills[-1].kind == "liquidation"


async def test_the_agents_tpsl_tool_replaces_the_positions_stop_and_it_fires_on_the_path():
    import httpx
    from fastmcp.exceptions import ToolError

    from agent.origin import acting_as
    from agent.tools import build_tools_server
    from agent.trading_api import TradingApi
    from api_server.lab.facade import LabApiTransport, LabTradingApi
    from api_server.lab.market import MarketView

    ex = exchange()
    api = LabTradingApi(
        ex, MarketView("XRP-USDT-SWAP", xrp_rows(3), "5m", 300_000), spec().risk_limits("XRP-USDT-SWAP"), D(10000)
    )
    async with httpx.AsyncClient(base_url="http://lab-api", transport=LabApiTransport(api)) as client:
        trading = TradingApi(client)
        mcp = build_tools_server(lambda: trading)
        with acting_as("agent:run:run-1"):
            with pytest.raises(ToolError, match="404"):
                await mcp.call_tool("set_position_tpsl", {"instId": "XRP-USDT-SWAP", "slTriggerPx": "0.99"})
            ex.place(
                OrderRequest(
                    inst_id="XRP-USDT-SWAP",
                    td_mode="cross",
                    side="buy",
                    ord_type="market",
                    sz="10",
                    attach_algo_ords=[{"slTriggerPx": "0.9800", "tpTriggerPx": "1.0500"}],
                )
            )
            with pytest.raises(ToolError, match="slTriggerPx"):  # a long's stop above the price
                await mcp.call_tool("set_position_tpsl", {"instId": "XRP-USDT-SWAP", "slTriggerPx": "1.01"})
            result = await mcp.call_tool(
                "set_position_tpsl", {"instId": "XRP-USDT-SWAP", "slTriggerPx": "0.9900", "tpTriggerPx": "1.0300"}
            )
            set_ = result.structured_content
            assert set_["status"] == "set" and len(set_["algoIds"]) == 1
            assert (D(set_["slTriggerPx"]), D(set_["tpTriggerPx"])) == (D("0.99"), D("1.03"))
            moved = (
                await mcp.call_tool("move_stop", {"instId": "XRP-USDT-SWAP", "slTriggerPx": "0.9950"})
            ).structured_content
            assert (D(moved["slTriggerPx"]), D(moved["tpTriggerPx"])) == (D("0.995"), D("1.03")), (
                "move_stop kept the TP"
            )
        rows = (await trading.get("/api/account/positions"))["positions"]
        assert [(D(r["slTriggerPx"]), D(r["tpTriggerPx"])) for r in rows] == [(D("0.995"), D("1.03"))]
    ex.move_to(1000, D("0.9850"))  # through the new stop (0.995), above the replaced one (0.98)
    stops = [f for f in ex.fills if f.kind == "tp_sl"]
    assert len(stops) == 1 and stops[0].px == D("0.9950") and ex.position_contracts() == 0
