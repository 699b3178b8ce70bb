"""Trigger latency: from the OKX simulator pushing a threshold-crossing ticker to the agent receiving `/analysis`.

Real processes on real sockets: the OKX simulator (`python -m okxsim`, random walk paused), the trading API
(`python -m api_server`, volatility trigger on at 80 bps, a fresh PostgreSQL database) and the stand-in agent
(a thread in this process, answering at once). For each trigger the price alternates between two values
about 100 bps apart, so every push crosses the threshold measured from the previous run's trigger price; the
clock starts just before `POST /_sim/price` (which pushes the ticker before it answers) and stops when the
stand-in agent receives the API's `POST /analysis`. The previous run is finished (recorded, bookkeeping done)
before the next push, so each figure is one trigger's path: WebSocket → TickerBook listener → decision →
loop wake-up → state and run written to PostgreSQL → agent call. The previous design polled REST every 5 s.

Goal: p99 ≤ 20 ms over ≥ 200 triggers. Pure decisions per second are `bench/bench_decisions.py`'s figure.

Run: `.venv/bin/python bench/bench_trigger_latency.py [--triggers 200]` with BENCH_DATABASE_URL (or
TEST_DATABASE_URL / DATABASE_URL) pointing at a PostgreSQL server (`make bench` provides one).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402

from tests.api_server.stand_in_agent import StandInAgent  # noqa: E402
from tests.helpers import PYTHON, base_env, free_port, running, scratch_database, wait_until  # noqa: E402

GOAL_P99_MS = 20.0
TOKEN = "bench-trigger-latency-token-0123456789"
SIM_KEY, SIM_SECRET, SIM_PASSPHRASE = "bench-key", "bench-secret", "bench-pass"
INST = "BTC-USDT-SWAP"
LOW, HIGH = "50000", "50500"  # 100 bps up, 99 bps down: both cross 80 bps


def server_url() -> str:
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not url:
        sys.exit(
            "bench_trigger_latency: set BENCH_DATABASE_URL (or TEST_DATABASE_URL / DATABASE_URL); `make bench` does"
        )
    return url


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of already sorted values."""
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 100))))
    return sorted_values[rank - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triggers", type=int, default=200, help="measured triggers (default 200)")
    parser.add_argument("--warmup", type=int, default=10, help="unmeasured triggers first (default 10)")
    args = parser.parse_args()
    if args.triggers < 1:
        parser.error("--triggers must be at least 1")

    logs = Path(tempfile.mkdtemp(prefix="bench_trigger_latency_"))
    sim_port, api_port = free_port(), free_port()
    sim_base, api_base = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{api_port}"
    with scratch_database(server_url()) as database_url, StandInAgent(TOKEN) as agent:
        sim_env = base_env(
            OKXSIM_PORT=str(sim_port),
            OKXSIM_API_KEY=SIM_KEY,
            OKXSIM_API_SECRET=SIM_SECRET,
            OKXSIM_PASSPHRASE=SIM_PASSPHRASE,
            OKXSIM_INST_IDS=INST,
            OKXSIM_TICK_MS="3600000",
            OKXSIM_RATE_LIMITS="false",
            OKXSIM_SEED="1",
        )
        api_env = base_env(
            DATABASE_URL=database_url,
            API_TOKEN=TOKEN,
            API_PORT=str(api_port),
            OKX_BASE_URL=sim_base,
            OKX_WS_PUBLIC_URL=f"ws://127.0.0.1:{sim_port}/ws/v5/public",
            OKX_API_KEY=SIM_KEY,
            OKX_API_SECRET=SIM_SECRET,
            OKX_PASSPHRASE=SIM_PASSPHRASE,
            OKX_INST_IDS=INST,
            AGENT_BASE_URL=agent.base_url,
            STRATEGY_VOL_TRIGGER_ENABLED="true",
            STRATEGY_VOL_THRESHOLD_BPS="80",
        )
        with (
            running([PYTHON, "-m", "okxsim"], sim_env, f"{sim_base}/_sim/state", logs / "okxsim.log"),
            httpx.Client(timeout=5) as sim,
        ):
            sim.post(f"{sim_base}/_sim/pause").raise_for_status()
            sim.post(f"{sim_base}/_sim/price", json={"instId": INST, "price": LOW}).raise_for_status()
            with (
                running([PYTHON, "-m", "api_server"], api_env, f"{api_base}/api/health", logs / "api.log"),
                httpx.Client(base_url=api_base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5) as api,
            ):

                def idle() -> bool:
                    status = api.get("/api/scheduler/status").json()
                    return status["isLeader"] and not status["running"] and status["pending"] == 0

                wait_until(
                    lambda: api.get("/api/scheduler/status").json()["isLeader"],
                    15,
                    "scheduler leadership",
                    interval=0.002,
                )
                agent.wait_for_answers(1, 15)  # the start-up run (no stored baseline)
                wait_until(idle, 10, "start-up run finished", interval=0.002)
                latencies_ms: list[float] = []
                measured: list[tuple[float, object]] = []  # (wall clock at push, stand-in call)
                price = LOW
                for i in range(args.warmup + args.triggers):
                    price = HIGH if price == LOW else LOW
                    expected = len(agent.snapshot()) + 1
                    started_wall = time.time()
                    started = time.perf_counter()
                    sim.post(f"{sim_base}/_sim/price", json={"instId": INST, "price": price}).raise_for_status()
                    call = agent.wait_for_calls(expected, 10)[expected - 1]
                    if call.trigger.get("price") != price or call.source != "volatility":
                        raise RuntimeError(f"unexpected analysis request {call}")
                    if i >= args.warmup:
                        latencies_ms.append((call.received_perf - started) * 1000)
                        measured.append((started_wall, call))
                    agent.wait_for_answers(expected, 10)
                    wait_until(idle, 10, "run finished", interval=0.002)
                runs = api.get("/api/model/strategy-runs", params={"limit": 500}).json()
    failed = [r for r in runs if r["status"] != "succeeded"]
    # Where the time goes (wall clocks of this machine, ms resolution of the run record's triggeredAt).
    triggered = {r["id"]: datetime.fromisoformat(r["triggeredAt"].replace("Z", "+00:00")).timestamp() for r in runs}
    to_decision = sorted((triggered[c.run_id] - t) * 1000 for t, c in measured if c.run_id in triggered)
    to_agent = sorted((c.received_at - triggered[c.run_id]) * 1000 for t, c in measured if c.run_id in triggered)
    ordered = sorted(latencies_ms)
    p50, p90, p99 = (percentile(ordered, q) for q in (50, 90, 99))
    print(
        f"trigger latency, simulator push → agent receives /analysis, {len(ordered)} triggers (after {args.warmup} warm-up):"
    )
    print(
        f"  p50 {p50:.2f} ms   p90 {p90:.2f} ms   p99 {p99:.2f} ms   max {ordered[-1]:.2f} ms   mean {statistics.fmean(ordered):.2f} ms"
    )
    print(
        f"  goal p99 ≤ {GOAL_P99_MS:.0f} ms: {'met' if p99 <= GOAL_P99_MS else 'NOT met'}  (previous design: REST polled every 5000 ms)"
    )
    if to_decision:
        print(
            f"  of which push → trigger decided in the API: p50 {percentile(to_decision, 50):.2f} ms, p99 {percentile(to_decision, 99):.2f} ms;"
            f" decided → agent receives: p50 {percentile(to_agent, 50):.2f} ms, p99 {percentile(to_agent, 99):.2f} ms"
        )
    print(
        f"  runs recorded: {len(runs)}, not succeeded: {len(failed)}; concurrent agent calls seen: {agent.concurrent_violations}"
    )
    if failed or agent.concurrent_violations:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
