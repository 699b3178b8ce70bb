"""The lab end to end over real sockets and a real PostgreSQL: the trading API's /api/lab routes, real
`python -m api_server.lab.worker` processes taking procrastinate jobs, a worker killed mid-backtest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.helpers import PYTHON, REPO_ROOT, base_env, stop_process, wait_until
from tests.stack import api_env, api_server, okxsim

XRP_FILE = "data/candles/freqtrade_XRP_USDT_USDT-5m-futures.json"
ROWS = json.loads((REPO_ROOT / XRP_FILE).read_text())


@pytest.fixture(scope="module")
def stack(module_database_url, tmp_path_factory):
    logs = tmp_path_factory.mktemp("lab-logs")
    with okxsim(logs) as sim, api_server(logs, api_env(sim, module_database_url)) as api:
        yield api, module_database_url, logs


def start_worker(database_url: str, logs: Path, name: str) -> subprocess.Popen:
    env = base_env(
        DATABASE_URL=database_url,
        LAB_HEARTBEAT_SECS="1",
        LAB_STALLED_AFTER_SECS="4",
        LAB_STALLED_CHECK_SECS="1",
        LOG_LEVEL="INFO",
    )
    log = open(logs / f"worker-{name}.log", "ab")
    return subprocess.Popen(
        [PYTHON, "-m", "api_server.lab.worker"],
        env=env,
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def dataset(api, rows, inst="XRP-USDT-SWAP", bar="5m") -> dict:
    r = api.post("/api/lab/datasets", {"instId": inst, "bar": bar, "candles": rows})
    assert r.status_code == 201, r.text
    return r.json()


XRP_PROFILE = {
    "name": "xrp",
    "llm": {"provider": "offline"},
    "instIds": ["XRP-USDT-SWAP"],
    "bar": "5m",
    "schedule": {"enabled": True, "intervalSecs": 900},
    "volatility": {"enabled": True, "thresholdBps": 80},
}


def xrp_profile(api) -> None:
    assert api.post("/api/lab/profiles", XRP_PROFILE).status_code == 201


def wait_status(api, backtest_id: str, statuses=("succeeded", "failed", "canceled"), timeout=240) -> dict:
    return wait_until(
        lambda: (b := api.get(f"/api/lab/backtests/{backtest_id}").json())["status"] in statuses and b,
        timeout=timeout,
        what=f"backtest {backtest_id} in {statuses}",
        interval=0.3,
    )


def test_dataset_upload_names_the_malformed_row(stack):
    api, _, _ = stack
    bad = [ROWS[0], ROWS[1], [ROWS[2][0], "abc", 1, 1, 1, 1]]
    r = api.post("/api/lab/datasets", {"instId": "XRP-USDT-SWAP", "bar": "5m", "candles": bad})
    assert r.status_code == 400 and r.json()["field"] == "candles[2]", r.text
    r = api.post("/api/lab/datasets", {"instId": "XRP-USDT-SWAP", "bar": "5m", "candles": list(reversed(ROWS[:50]))})
    assert r.status_code == 201
    body = r.json()
    assert body["count"] == 50 and body["from"] == "2021-11-15T00:00:00Z" and body["id"]
    r = api.post("/api/lab/datasets", {"instId": "XRP-USDT-SWAP", "bar": "5m", "file": "../../etc/passwd"})
    assert r.status_code == 400 and r.json()["field"] == "file"
    r = api.post("/api/lab/datasets", {"instId": "XRP-USDT-SWAP", "bar": "5m", "file": XRP_FILE})
    assert r.status_code == 201 and r.json()["count"] == 1999
    assert api.post("/api/lab/datasets", {"instId": "nope", "bar": "5m", "candles": ROWS}).json()["field"] == "instId"


def test_profiles_are_versioned_immutable_and_diffable(stack):
    api, database_url, _ = stack
    base = {
        "name": "trend",
        "llm": {"provider": "offline"},
        "instIds": ["XRP-USDT-SWAP"],
        "bar": "5m",
        "schedule": {"enabled": True, "intervalSecs": 900},
        "volatility": {"enabled": True, "thresholdBps": 80},
    }
    r1 = api.post("/api/lab/profiles", base)
    assert r1.status_code == 201 and r1.json()["version"] == 1
    assert api.post("/api/lab/profiles", base).json() | {"spec": None} == {
        "name": "trend",
        "version": 1,
        "created": False,
        "spec": None,
    }
    r2 = api.post("/api/lab/profiles", {**base, "volatility": {"enabled": True, "thresholdBps": 60}})
    assert r2.json()["version"] == 2
    versions = api.get("/api/lab/profiles/trend/versions").json()
    assert [v["version"] for v in versions] == [1, 2]
    diff = api.get("/api/lab/profiles/trend/diff", from_version=1, to_version=2).json()["changes"]
    assert diff == [{"path": "volatility.thresholdBps", "from": 80.0, "to": 60.0}]
    bad = api.post("/api/lab/profiles", {**base, "llm": {"provider": "gpt"}})
    assert bad.status_code == 400 and bad.json()["field"] == "llm.provider"
    assert api.post("/api/lab/profiles", {**base, "volatility": {"thresholdBps": 60, "typo": 1}}).status_code == 400
    import psycopg

    with psycopg.connect(database_url) as conn, pytest.raises(psycopg.errors.RaiseException):
        conn.execute("update lab_profiles set spec = '{}' where name = 'trend'")
    names = [p["name"] for p in api.get("/api/lab/profiles").json()]
    assert "trend" in names  # (`default` is made from the environment only when no profile exists)


def test_estimate_and_budget_refusal_before_start(stack):
    api, _, _ = stack
    ds = dataset(api, ROWS[:600])
    api.post(
        "/api/lab/profiles",
        {
            "name": "paid",
            "llm": {"provider": "deepseek", "model": "deepseek-flash"},
            "instIds": ["XRP-USDT-SWAP"],
            "bar": "5m",
        },
    )
    r = api.post(
        "/api/lab/backtests", {"profile": "paid", "datasetId": ds["id"], "initialEquity": 10000, "budgetUsd": 0.0001}
    )
    assert r.status_code == 422 and r.json()["field"] == "budgetUsd", r.text
    est = r.json()["estimate"]
    assert est["runs"] > 0 and est["costUsd"] > 0.0001
    dry = api.post(
        "/api/lab/backtests", {"profile": "paid", "datasetId": ds["id"], "initialEquity": 10000, "dryRun": True}
    )
    assert dry.status_code == 202 and dry.json()["id"] is None and dry.json()["estimate"]["runs"] == est["runs"]
    assert (
        api.post("/api/lab/backtests", {"profile": "paid", "datasetId": "ds-missing", "initialEquity": 1}).status_code
        == 404
    )
    bad = api.post("/api/lab/backtests", {"profile": "paid", "datasetId": ds["id"], "initialEquity": -5})
    assert bad.status_code == 400 and bad.json()["field"] == "initialEquity"


@pytest.mark.timeout(300)
def test_backtest_runs_on_a_worker_and_its_results_have_the_contract_shape(stack):
    api, database_url, logs = stack
    ds = dataset(api, ROWS[:700])
    xrp_profile(api)
    worker = start_worker(database_url, logs, "a")
    try:
        r = api.post(
            "/api/lab/backtests", {"profile": "xrp", "datasetId": ds["id"], "initialEquity": 10000, "slippageBps": 2}
        )
        assert r.status_code == 202, r.text
        backtest_id, estimate = r.json()["id"], r.json()["estimate"]
        with httpx.stream(
            "GET", f"{api.url}/api/lab/backtests/{backtest_id}/events", headers=api.headers, timeout=240
        ) as s:
            events = [line for line in s.iter_lines() if line.startswith("event:")]
        assert events[-1] == "event: done" and "event: progress" in events
        bt = api.get(f"/api/lab/backtests/{backtest_id}").json()
    finally:
        stop_process(worker)
    assert bt["status"] == "succeeded" and bt["progress"] == 1 and not bt["partial"]
    assert (bt["profile"], bt["profileVersion"], bt["instId"], bt["startEquity"]) == ("xrp", 1, "XRP-USDT-SWAP", 10000)
    m = bt["metrics"]
    for key in (
        "totalReturn",
        "buyHoldReturn",
        "maxDrawdown",
        "sharpe",
        "sortino",
        "winRate",
        "profitFactor",
        "trades",
        "fees",
        "funding",
        "llmCostUsd",
        "runsBySource",
    ):
        assert key in m
    assert m["buyHoldReturn"] == pytest.approx(ROWS[699][4] / ROWS[0][1] - 1)
    assert 0 <= m["maxDrawdown"] < 1 and m["runs"] == sum(m["runsBySource"].values()) == estimate["runs"]
    assert bt["endEquity"] == pytest.approx(10000 * (1 + m["totalReturn"]))
    equity = api.get(f"/api/lab/backtests/{backtest_id}/equity").json()
    assert len(equity) == 700 and all(a["ts"] < b["ts"] for a, b in zip(equity, equity[1:]))
    assert equity[-1]["equity"] == pytest.approx(bt["endEquity"])
    fills = api.get(f"/api/lab/backtests/{backtest_id}/fills").json()
    assert fills and set(fills[0]) >= {"ts", "side", "px", "sz", "fee", "realizedPnl"}
    assert sum(f["fee"] for f in fills) == pytest.approx(-m["fees"])
    runs = api.get(f"/api/lab/backtests/{backtest_id}/runs").json()
    assert len(runs) == m["runs"] and runs[0]["triggeredAt"].startswith("2021-11-15")
    assert {
        "id",
        "instId",
        "source",
        "triggeredAt",
        "finishedAt",
        "triggerPrice",
        "baselinePrice",
        "deviationBps",
        "status",
        "error",
        "summary",
    } <= set(runs[0])
    # Isolation: the live tables saw nothing.
    import psycopg

    with psycopg.connect(database_url) as conn:
        assert conn.execute("select count(*) from strategy_runs").fetchone()[0] == 0
        assert conn.execute("select count(*) from trade_orders").fetchone()[0] == 0
        assert conn.execute("select count(*) from trade_fills").fetchone()[0] == 0
    listed = api.get("/api/lab/backtests", profile="xrp").json()
    assert [b["id"] for b in listed] == [backtest_id]


@pytest.mark.timeout(480)
def test_a_sweep_fans_out_and_two_workers_share_it(stack):
    api, database_url, logs = stack
    ds = dataset(api, ROWS[:400])
    xrp_profile(api)
    body = {
        "backtest": {"profile": "xrp", "datasetId": ds["id"], "initialEquity": 5000},
        "grid": {"volatility.thresholdBps": [50, 100], "schedule.intervalSecs": [600, 1800]},
    }
    r = api.post("/api/lab/sweeps", body)
    assert r.status_code == 202, r.text
    made = r.json()["backtests"]
    assert len(made) == 4 and len({b["profile"] for b in made}) == 4
    workers = [start_worker(database_url, logs, f"s{i}") for i in range(2)]
    try:
        done = [wait_status(api, b["id"]) for b in made]
    finally:
        for w in workers:
            stop_process(w)
    assert all(d["status"] == "succeeded" for d in done)
    runs = {
        b["settings"]["schedule.intervalSecs"]: d["metrics"]["runsBySource"]["schedule"] for b, d in zip(made, done)
    }
    assert runs[600] > runs[1800], "a shorter timer runs more often"
    cmp = api.get("/api/lab/compare", ids=",".join(b["id"] for b in made)).json()
    assert all(abs(c[0]["equity"] - 1) < 0.05 for c in cmp["equity"].values())
    assert cmp["profileDiffs"][made[1]["id"]]


@pytest.mark.timeout(480)
def test_a_killed_worker_s_backtest_is_retried_and_never_shown_half_done(stack):
    api, database_url, logs = stack
    ds = dataset(api, ROWS[:1200])
    xrp_profile(api)
    r = api.post("/api/lab/backtests", {"profile": "xrp", "datasetId": ds["id"], "initialEquity": 10000})
    backtest_id = r.json()["id"]
    first = start_worker(database_url, logs, "killed")
    try:
        wait_until(
            lambda: api.get(f"/api/lab/backtests/{backtest_id}").json()["progress"] > 0.05,
            timeout=120,
            what="progress",
            interval=0.2,
        )
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
    during = api.get(f"/api/lab/backtests/{backtest_id}").json()
    assert during["status"] == "running" and during["metrics"] is None
    assert api.get(f"/api/lab/backtests/{backtest_id}/equity").json() == []
    second = start_worker(database_url, logs, "second")
    try:
        done = wait_status(api, backtest_id, timeout=300)
    finally:
        stop_process(second)
    assert done["status"] == "succeeded" and done["attempts"] == 2
    assert len(api.get(f"/api/lab/backtests/{backtest_id}/equity").json()) == 1200


async def test_lab_mcp_tools_start_and_read_a_backtest(stack):
    """The MCP tools (agent/tools_lab.py) through a real MCP client against the real API."""
    from fastmcp import Client, FastMCP

    from agent.tools_lab import LAB_TOOL_NAMES, register_lab_tools
    from agent.trading_api import TradingApi

    api, _, _ = stack
    xrp_profile(api)
    ds = dataset(api, ROWS[:120])
    async with httpx.AsyncClient(base_url=api.url, headers=api.headers, timeout=30) as http:
        mcp = FastMCP("lab-tools-test")
        register_lab_tools(mcp, lambda: TradingApi(http))
        async with Client(mcp) as client:
            assert {t.name for t in await client.list_tools()} == set(LAB_TOOL_NAMES)
            started = (
                await client.call_tool("lab_start_backtest", {"profile": "xrp", "datasetId": ds["id"]})
            ).structured_content
            assert started["id"].startswith("bt-") and started["estimate"]["runs"] > 0
            got = (await client.call_tool("lab_get_backtest", {"id": started["id"]})).structured_content
            assert got["status"] in ("queued", "running", "succeeded") and got["profile"] == "xrp"
            refused = await client.call_tool("lab_get_backtest", {"id": "bt-missing"}, raise_on_error=False)
            assert refused.is_error and "404" in refused.content[0].text


def test_history_candles_are_fetched_from_okx_into_a_dataset(stack):
    """The simulator serves OKX's history-candles; the API pages through it with its own client."""
    api, _, _ = stack
    r = api.post("/api/lab/datasets/fetch", {"instId": "BTC-USDT-SWAP", "bar": "1m", "days": 0.25})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["count"] >= 300 and body["source"] == "okx:history-candles"  # 360 wanted, 4 pages of 100
    again = api.post("/api/lab/datasets/fetch", {"instId": "BTC-USDT-SWAP", "bar": "1m", "days": 0.25})
    assert again.status_code == 201
    assert api.post("/api/lab/datasets/fetch", {"instId": "BTC-USDT-SWAP", "bar": "7m"}).json()["field"] == "bar"
