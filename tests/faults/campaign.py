"""The fault campaign: each scenario injects one fault into a running system (real simulator, API, offline agent,
PostgreSQL), checks that the system recovers by itself and that nothing is lost, duplicated or placed twice,
and returns one row of the fault table. `tests/faults/test_faults.py` runs them short; `scripts/soak.py` long.

`scale` stretches every duration (1 = the short version in `make test`).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from tests.faults.processes import FullStack, ServiceProcess, wait_until
from tests.helpers import free_port
from tests.stack import Api, Sim

INST = "BTC-USDT-SWAP"


@dataclass
class FaultResult:
    fault: str
    injected: str
    checked: str
    result: str  # "pass" or what went wrong
    recovery_secs: float | None
    details: dict | None = None  # further figures of the run (seconds per variant, counts)

    def row(self) -> dict[str, Any]:
        return asdict(self)


# -- reading both sides ---------------------------------------------------------------------------------------------
def sim_orders(sim: Sim) -> list[dict]:
    orders = sim.control("GET", "state").json()["orders"]
    return orders["pending"] + orders["history"]


def sim_fills(sim: Sim) -> list[dict]:
    return sim.control("GET", "state").json()["fills"]


ORDER_PATH = "/api/v5/trade/order"


def sim_requests(sim: Sim) -> list[dict]:
    return sim.control("GET", "requests").json()["requests"]


def order_posts(sim: Sim, cl_ord_id: str) -> int:
    """How many times the order with this clOrdId was POSTed to the simulator since its request log was last
    cleared (1 = sent once, never resent)."""
    return sum(
        1 for e in sim_requests(sim) if e["method"] == "POST" and e["target"] == ORDER_PATH and cl_ord_id in e["body"]
    )


def api_orders(api: Api) -> list[dict]:
    return api.get("/api/account/orders", state="all", limit="1000").json()["orders"]


def api_fills(api: Api) -> list[dict]:
    return api.get("/api/account/fills", limit="1000").json()["fills"]


def runs(api: Api) -> list[dict]:
    return api.get("/api/model/strategy-runs", limit=500).json()


def health(api: Api) -> dict:
    return httpx.get(api.url + "/api/health", headers=api.headers, timeout=5).json()  # details need the token


_sides = iter(["buy", "sell"] * 10_000)


def place(api: Api, cl_ord_id: str, sz: str = "1", side: str | None = None) -> httpx.Response:
    """A market order; buys and sells alternate so the campaign never runs into the exposure limit."""
    side = side or next(_sides)
    return httpx.post(
        api.url + "/api/trade/order",
        headers=api.headers,
        timeout=60,
        json={"instId": INST, "side": side, "ordType": "market", "sz": sz, "clOrdId": cl_ord_id},
    )


def new_cl_ord_id(tag: str) -> str:
    return (tag + uuid.uuid4().hex)[:32]


def assert_orders_consistent(stack: FullStack, cl_ord_ids: list[str]) -> None:
    """Every order we asked for exists exactly once at OKX and exactly once in the API's records; fills agree."""
    api, sim = stack.api, stack.sim
    httpx.post(api.url + "/api/account/sync", headers=api.headers, timeout=30).raise_for_status()
    at_okx = [o["clOrdId"] for o in sim_orders(sim)]
    recorded = [o["clOrdId"] for o in api_orders(api)]
    for cl in cl_ord_ids:
        assert at_okx.count(cl) == 1, f"{cl} at OKX {at_okx.count(cl)} times"
        assert recorded.count(cl) == 1, f"{cl} recorded {recorded.count(cl)} times"
    assert len(recorded) == len(set(recorded)), "duplicate order records"
    okx_trade_ids = sorted(str(f.get("tradeId")) for f in sim_fills(sim))
    api_trade_ids = [str(f["tradeId"]) for f in api_fills(api)]
    assert len(api_trade_ids) == len(set(api_trade_ids)), "duplicate fill records"
    assert sorted(api_trade_ids) == okx_trade_ids, (
        f"fills differ: OKX {len(okx_trade_ids)}, recorded {len(api_trade_ids)}"
    )


def assert_runs_closed(api: Api, run_ids: list[str], timeout: float = 30) -> list[dict]:
    """Each run id exists exactly once and reaches an end state (never stuck `running`)."""

    def closed() -> list[dict] | None:
        rows = runs(api)
        mine = [r for r in rows if r["id"] in run_ids]
        ids = [r["id"] for r in rows]
        assert len(ids) == len(set(ids)), "duplicate run records"
        return (
            mine
            if len(mine) == len(run_ids) and all(r["status"] in ("succeeded", "failed", "skipped") for r in mine)
            else None
        )

    return wait_until(closed, timeout, 0.2, "runs closed")


def manual_run(api: Api) -> list[str]:
    response = api.post("/api/model/strategy-run", {"instId": INST})
    assert response.status_code == 202, response.text
    return response.json()["runIds"]


def feed_state(api: Api) -> dict:
    return health(api)["okx"]["feed"]


# -- scenarios --------------------------------------------------------------------------------------------------------
def ws_drops(stack: FullStack, scale: float = 1.0) -> FaultResult:
    api, sim = stack.api, stack.sim
    drops = max(2, int(3 * scale))
    reconnects_before = feed_state(api)["reconnects"]
    recoveries = []
    last_seen = None
    for _ in range(drops):
        wait_until(lambda: feed_state(api)["state"] == "connected", 20, what="feed connected")
        sim.control("POST", "ws/drop", {"refuseSecs": 1})
        began = time.monotonic()
        # While the socket is down the market routes still answer (REST fallback).
        assert api.get("/api/market/ticker", instId=INST).status_code == 200
        wait_until(lambda: feed_state(api)["state"] == "connected", 30, 0.05, "feed reconnected")
        recoveries.append(time.monotonic() - began)
        ticker = wait_until(
            lambda: (t := api.get("/api/market/ticker", instId=INST).json())["source"] == "ws" and t,
            10,
            what="ws ticker again",
        )
        assert last_seen is None or int(ticker["ts"]) >= last_seen
        last_seen = int(ticker["ts"])
        time.sleep(max(0.0, 2.0 * scale - recoveries[-1]))  # "dropped every few seconds"
    assert feed_state(api)["reconnects"] >= reconnects_before + drops
    assert health(api)["status"] == "ok"
    return FaultResult(
        "OKX WebSocket dropped",
        f"{drops} drops ~{2 * scale:.0f} s apart, new sockets refused 1 s each",
        "feed reconnects and resubscribes by itself; REST fallback answers meanwhile; ticker ts never goes back",
        "pass",
        round(max(recoveries), 2),
    )


def rate_limited(stack: FullStack, scale: float = 1.0) -> FaultResult:
    api, sim = stack.api, stack.sim
    # Fewer 429s in a row than the client's retries (OKX_MAX_RETRIES, 4): each order still goes through, once.
    placed, elapsed = [], 0.0
    for _ in range(max(1, int(scale))):
        cl = new_cl_ord_id("rl")
        sim.control("POST", "faults", {"status": 429, "code": "50011", "count": 3, "pathPrefix": "/api/v5/trade"})
        began = time.monotonic()
        response = place(api, cl)
        elapsed = max(elapsed, time.monotonic() - began)
        sim.control("DELETE", "faults")
        assert response.status_code == 201, response.text
        placed.append(cl)
    # A longer 429 window than the client's retries: the order fails cleanly (429, not 500) and is not placed.
    cl_refused = new_cl_ord_id("rlx")
    sim.control("POST", "faults", {"status": 429, "code": "50011", "count": None, "pathPrefix": "/api/v5/trade"})
    refused = place(api, cl_refused)
    time.sleep(1.0 * scale)
    sim.control("DELETE", "faults")
    assert refused.status_code in (429, 503), refused.text
    recovered = time.monotonic()
    after = place(api, new_cl_ord_id("rla"))
    assert after.status_code == 201, after.text
    assert_orders_consistent(stack, placed + [after.json()["order"]["clOrdId"]])
    assert cl_refused not in [o["clOrdId"] for o in sim_orders(sim)]
    return FaultResult(
        "OKX rate limit (429 / 50011)",
        f"order endpoint answers 429 code 50011 3 times ({max(1, int(scale))} orders), then until cleared for {scale:g} s",
        "retried order placed exactly once; beyond the retries a clean 429/503 and no order; next order works",
        "pass",
        round(max(elapsed, time.monotonic() - recovered), 2),
    )


def server_errors(stack: FullStack, scale: float = 1.0) -> FaultResult:
    api, sim = stack.api, stack.sim
    placed = []
    worst = 0.0
    for _ in range(max(1, int(2 * scale))):
        cl = new_cl_ord_id("5x")
        sim.control("POST", "faults", {"status": 503, "count": 3, "pathPrefix": "/api/v5"})
        began = time.monotonic()
        response = place(api, cl)
        worst = max(worst, time.monotonic() - began)
        assert response.status_code == 201, response.text
        placed.append(cl)
        sim.control("DELETE", "faults")
        assert api.get("/api/account/balances").status_code == 200
    assert_orders_consistent(stack, placed)
    return FaultResult(
        "OKX 5xx burst",
        "3 × HTTP 503 on every /api/v5 path before each order",
        "orders retried and placed exactly once (OKX vs records); balances answer after the burst",
        "pass",
        round(worst, 2),
    )


def agent_killed(stack: FullStack, scale: float = 1.0) -> FaultResult:
    api, sim = stack.api, stack.sim
    agent: ServiceProcess = stack.processes["agent"]
    # Slow the agent's market tools down (through the API) so the analysis is still going when it is killed.
    sim.control("POST", "faults", {"latencyMs": 1500, "count": None, "pathPrefix": "/api/v5/market/candles"})
    killed_runs = manual_run(api)
    wait_until(
        lambda: any(r["id"] in killed_runs and r["status"] == "running" for r in runs(api)), 15, 0.05, "run running"
    )
    time.sleep(0.3)
    agent.kill()
    ended = assert_runs_closed(api, killed_runs, timeout=20)
    sim.control("DELETE", "faults")
    assert all(r["status"] == "failed" and r["error"] for r in ended), ended
    # Down: a new manual run fails at once with the reason, never hangs.
    down_runs = manual_run(api)
    assert all(r["status"] == "failed" for r in assert_runs_closed(api, down_runs, timeout=15))
    time.sleep(0.5 * scale)
    began = time.monotonic()
    agent.restart()
    after = manual_run(api)
    done = assert_runs_closed(api, after, timeout=60)
    recovery = time.monotonic() - began
    assert all(r["status"] == "succeeded" for r in done), done
    status = api.get("/api/scheduler/status").json()
    assert status["running"] is False
    return FaultResult(
        "agent killed mid-analysis",
        f"SIGKILL of the agent while a run waits on it; restarted after {0.5 * scale:g} s",
        "killed run ends `failed` with a reason (not stuck running); runs while down fail "
        "at once; after restart a run succeeds; each run recorded once",
        "pass",
        round(recovery, 2),
    )


def _try_start(proc: ServiceProcess) -> bool:
    try:
        proc.start()
        return True
    except RuntimeError:  # exited at once (the port is not free yet)
        return False


def move_api(stack: FullStack, port: int) -> None:
    """Point the API process (and the handles the scenarios use) at another port."""
    proc = stack.processes["api"]
    proc.env = {**proc.env, "API_PORT": str(port)}
    stack.api.port, stack.api.url = port, f"http://127.0.0.1:{port}"
    stack.api.env = {**stack.api.env, "API_PORT": str(port)}
    proc.health_url = stack.api.url + "/api/health"


def api_killed(stack: FullStack, scale: float = 1.0, same_port: bool = False) -> FaultResult:
    api = stack.api
    proc: ServiceProcess = stack.processes["api"]
    placed = [place(api, new_cl_ord_id("ak")).json()["order"]["clOrdId"] for _ in range(2)]
    reason = f"fault campaign {uuid.uuid4().hex[:6]}"
    assert api.post("/api/scheduler/pause", {"reason": reason}).status_code == 200
    run_ids = manual_run(api)
    assert_runs_closed(api, run_ids)
    orders_before = {o["clOrdId"] for o in api_orders(api)}
    runs_before = {r["id"]: r["status"] for r in runs(api)}
    proc.kill()
    time.sleep(0.5 * scale)
    if same_port:
        # What a supervisor (systemd Restart=, compose restart:) does: start again on the same port until it comes up.
        began = time.monotonic()
        wait_until(lambda: _try_start(proc), 120, 1.0, "API restarted on its port")
        recovery = time.monotonic() - began
    else:
        move_api(stack, free_port())
        recovery = proc.restart()
    status = api.get("/api/scheduler/status").json()
    assert status["paused"] is True and status["pausedReason"] == reason, status  # scheduler state continuous
    assert {r["id"]: r["status"] for r in runs(api) if r["id"] in runs_before} == runs_before
    assert orders_before <= {o["clOrdId"] for o in api_orders(api)}
    wait_until(lambda: health(api)["status"] == "ok", 20, what="healthy after restart")
    cl = new_cl_ord_id("ak2")
    assert place(api, cl).status_code == 201
    assert_orders_consistent(stack, placed + [cl])
    assert api.post("/api/scheduler/resume").status_code == 200
    where = "the same port (retried until it binds)" if same_port else "a new port (see the same-port defect)"
    return FaultResult(
        "API process killed",
        f"SIGKILL of the API (granian), restarted on {where}, same database",
        "pause state and reason, runs, orders and fills survive unchanged; no duplicate after the restart's "
        "sync; orders work again",
        "pass",
        round(recovery, 2),
    )


def postgres_outage(
    stack: FullStack, pg: Any, scale: float = 1.0, outage_secs: float = 3.0
) -> tuple[FaultResult, list]:
    """`pg` is the stack's own DedicatedPostgres: stopped, kept down `outage_secs`·scale, started again.

    Also returns what reads answered during the outage: (status or "no answer", seconds) per request."""
    api = stack.api
    placed = [place(api, new_cl_ord_id("pg")).json()["order"]["clOrdId"]]
    run_ids = manual_run(api)
    assert_runs_closed(api, run_ids)
    runs_before = {r["id"]: r["status"] for r in runs(api)}
    pg.stop()
    stopped = time.monotonic()
    during: list[tuple[int | str, float]] = []
    try:
        wait_until(lambda: health(api)["database"]["ok"] is False, 15, 0.2, "health reports the database down")
        while time.monotonic() - stopped < outage_secs * scale:
            began = time.monotonic()
            try:
                response = httpx.get(api.url + "/api/model/strategy-runs", headers=api.headers, timeout=2.5)
                during.append((response.status_code, round(time.monotonic() - began, 2)))
            except httpx.TimeoutException:
                during.append(("no answer", round(time.monotonic() - began, 2)))
            time.sleep(0.3)
    finally:
        pg.start()
    restarted = time.monotonic()
    wait_until(lambda: health(api)["status"] == "ok" and health(api)["database"]["ok"], 60, 0.2, "database back")
    wait_until(lambda: api.get("/api/model/strategy-runs").status_code == 200, 60, 0.2, "runs readable")
    recovery = time.monotonic() - restarted
    assert {r["id"]: r["status"] for r in runs(api) if r["id"] in runs_before} == runs_before
    after = manual_run(api)
    assert_runs_closed(api, after, timeout=60)
    cl = new_cl_ord_id("pg2")
    assert place(api, cl).status_code == 201
    assert_orders_consistent(stack, placed + [cl])
    prompt = all(code == 503 and secs < 2.5 for code, secs in during)
    result = FaultResult(
        "PostgreSQL stopped",
        f"dedicated cluster stopped {outage_secs * scale:g} s, then started",
        "health says database down; API and agent reconnect by themselves; runs and orders before the "
        "outage intact; new run and order recorded once; reads during the outage answer 503 at once",
        "pass" if prompt else f"recovered; but reads during the outage: {during} (defect: no prompt 503)",
        round(recovery, 2),
    )
    return result, during
