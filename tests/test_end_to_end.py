"""The whole system as real processes: OKX simulator, trading API, agent (offline model), one PostgreSQL database.

Manual trigger -> the API asks the agent (`POST /analysis`) -> the offline model calls the tools -> the tools
call the API -> the API's risk guard and the simulator -> the run is recorded with its summary, confidence,
tool calls and orders, and the API's order records carry origin `agent` and the run id.

The offline model decides with EMA12/EMA26 + RSI14 on 100 candles of OKX_TICKER_BAR. To get a clear signal
deterministically, the test reads those candles, computes with the agent's own indicator code a last price
that gives a long (or short) signal, and sets it with `POST /_sim/price` (the random walk is paused).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agent.indicators import indicator_summary
from agent.offline_model import MarketView, signal_of, trend_of
from agent.trading_api import parse_candles
from tests.conftest import _server_url
from tests.helpers import free_port, scratch_database
from tests.stack import Agent, Api, Sim, agent_env, agent_server, api_env, api_server, okxsim

BTC = "BTC-USDT-SWAP"
SIM_ENV = {"OKXSIM_INST_IDS": BTC, "OKXSIM_TICK_MS": "3600000", "OKXSIM_RATE_LIMITS": "false", "OKXSIM_SEED": "7"}
API_FAST = {
    "OKX_INST_IDS": BTC,
    "ACCOUNT_SYNC_INTERVAL_SECS": "0.5",
    "BALANCE_SNAPSHOT_INTERVAL_SECS": "1",
    "SCHEDULER_LEADER_POLL_SECS": "0.3",
    "AGENT_TIMEOUT_SECS": "60",
    "LOG_LEVEL": "INFO",
}


def new_database():
    return scratch_database(_server_url(), "t_e2e")


@contextlib.contextmanager
def system(log_dir: Path, sim: Sim, **agent_overrides: str) -> Iterator[tuple[Api, Agent]]:
    """The API and the agent wired to each other (ports fixed first), on a new database."""
    with new_database() as database_url:
        agent_port = free_port()
        api_vars = api_env(sim, database_url, **API_FAST, AGENT_BASE_URL=f"http://127.0.0.1:{agent_port}")
        with api_server(log_dir, api_vars) as api:
            with agent_server(log_dir, agent_env(api.url, database_url, agent_port, **agent_overrides)) as agent:
                yield api, agent


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    with okxsim(tmp_path_factory.mktemp("e2e-sim"), **SIM_ENV) as simulator:
        simulator.control("POST", "pause")
        yield simulator


@pytest.fixture(scope="module")
def wired(sim: Sim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, Agent]]:
    with system(tmp_path_factory.mktemp("e2e-logs"), sim) as pair:
        yield pair


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def signal_price(api: Api) -> tuple[Decimal, str]:
    """A last price that makes the offline rule see a clear signal on the candles the agent will read."""
    body = api.get("/api/market/candles", instId=BTC, bar="3m", limit=100).json()
    closes = [c.close for c in parse_candles(body)]
    assert len(closes) == 100
    base = Decimal(str(closes[-1]))
    for step in range(4, 40):  # moves of 0.4 % to 4 %, up first, then down
        for direction in (1, -1):
            price = (base * (1 + Decimal(direction * step) / 1000)).quantize(Decimal("0.1"))
            ind = indicator_summary(closes[:-1] + [float(price)])
            market = MarketView(price, ind["ema12"], ind["ema26"], ind["rsi14"])
            _, spread_bps = trend_of(market)
            # Comfortably inside the rule's bands, so a minute rolling over before the agent reads cannot flip it.
            if signal_of(market) != "none" and abs(spread_bps) > 10 and 35 < market.rsi < 65:
                return price, signal_of(market)
    raise AssertionError(f"no price gives a clear signal on these candles (last close {base})")


def set_price(sim: Sim, api: Api, price: Decimal) -> None:
    sim.control("POST", "price", {"instId": BTC, "price": str(price)})
    wait_for(lambda: Decimal(api.get("/api/market/ticker", instId=BTC).json()["last"]) == price, 10, "the API's ticker")


def run_to_end(api: Api) -> dict[str, Any]:
    accepted = api.post("/api/model/strategy-run", {"instId": BTC})
    assert accepted.status_code == 202, accepted.text
    [run_id] = accepted.json()["runIds"]

    def finished() -> dict[str, Any] | None:
        run = api.get(f"/api/model/strategy-runs/{run_id}").json()
        return run if run["status"] not in ("running",) else None

    # The run is recorded when the API's scheduler (leader) picks it up; 404 until then.
    wait_for(lambda: api.get(f"/api/model/strategy-runs/{run_id}").status_code == 200, 20, "the run record")
    return wait_for(finished, 60, f"run {run_id} to finish")


def test_manual_run_places_a_real_order_through_the_agent_then_holds(wired: tuple[Api, Agent], sim: Sim) -> None:
    api, agent = wired
    price, signal = signal_price(api)
    set_price(sim, api, price)

    run = run_to_end(api)
    assert run["status"] == "succeeded", run
    assert run["source"] == "manual" and Decimal(run["triggerPrice"]) == price and run["error"] is None
    assert run["summary"].startswith("[offline model]") and f"opening {signal}" in run["summary"]
    assert "stop-loss" in run["summary"] and 50 <= run["confidence"] <= 85
    assert run["provider"] == "offline" and run["model"] == "aitrader-offline-rules-v1"
    assert [c["name"] for c in run["toolCalls"]] == [
        "get_ticker",
        "get_candles",
        "get_account_balance",
        "get_positions",
        "get_instrument",
        "get_risk_limits",
        "place_order",
    ]
    assert all(c["ok"] for c in run["toolCalls"])
    [order] = run["orders"]
    side = "buy" if signal == "long" else "sell"
    assert (order["status"], order["side"], order["runId"], order["origin"], order["state"]) == (
        "placed",
        side,
        run["id"],
        f"agent:run:{run['id']}",
        "filled",
    )
    stop, target = Decimal(order["slTriggerPx"]), Decimal(order["tpTriggerPx"])
    assert (stop < price < target) if side == "buy" else (target < price < stop)

    # The API's records: origin agent with the run id; the simulator holds the position with its stop.
    [record] = [
        o for o in api.get("/api/account/orders", instId=BTC).json()["orders"] if o["clOrdId"] == order["clOrdId"]
    ]
    assert (record["origin"], record["runId"], record["purpose"], record["lever"]) == (
        f"agent:run:{run['id']}",
        run["id"],
        "order",
        "3",
    )
    [position] = api.get("/api/account/positions", instId=BTC).json()["positions"]
    assert Decimal(position["pos"]) == (Decimal(order["sz"]) if side == "buy" else -Decimal(order["sz"]))
    assert Decimal(position["slTriggerPx"]) == stop
    # Sized inside the risk guard (25 % of equity per order by default).
    equity = Decimal(json.loads(run["toolCalls"][2]["result"])["totalEq"])
    assert Decimal(order["sz"]) * Decimal("0.01") * price <= equity / 4

    # The agent remembered the analysis in PostgreSQL under the instrument's session.
    session = agent.get(f"/sessions/analysis:{BTC}").json()
    assert {m["runId"] for m in session["messages"]} == {run["id"]} and session["messages"][-1]["role"] == "assistant"

    # Same market, position held: the rule holds; the run is recorded and places nothing.
    second = run_to_end(api)
    assert second["status"] == "succeeded" and second["orders"] == [], second
    assert f"holding the {signal} position" in second["summary"] and "No order" in second["summary"]
    assert second["toolCalls"][-1]["name"] == "get_risk_limits"
    assert not [o for o in api.get("/api/account/orders", instId=BTC).json()["orders"] if o["runId"] == second["id"]]
    history = api.get("/api/model/strategy-runs", instId=BTC).json()
    assert [r["id"] for r in history[:2]] == [second["id"], run["id"]]


def test_budget_exhausted_is_an_analysis_error_recorded_as_a_failed_run(sim: Sim, tmp_path: Path) -> None:
    with system(tmp_path, sim, LLM_DAILY_BUDGET_USD="0") as (api, agent):
        run = run_to_end(api)
        usage = agent.get("/usage").json()
    assert run["status"] == "failed" and run["summary"] is None and run["orders"] == []
    assert run["error"].startswith("analysis_error: budget exhausted") and "LLM_DAILY_BUDGET_USD" in run["error"]
    assert usage["calls"] == 0  # the model was never called


def test_agent_unreachable_is_a_failed_run(sim: Sim, tmp_path: Path) -> None:
    with new_database() as database_url:
        with api_server(tmp_path, api_env(sim, database_url, **API_FAST)) as api:  # AGENT_BASE_URL: nothing listens
            run = run_to_end(api)
    assert run["status"] == "failed" and "agent unreachable" in run["error"], run
