"""Agent overhead benchmark: one analysis with an instant scripted model making 5 tool calls.

Starts everything itself as real processes on free ports: the OKX simulator (`python -m okxsim`), the trading
API (`python -m api_server`) and the agent (`python -m agent`), all on a fresh PostgreSQL database; the
scripted OpenAI-compatible model runs in this process and answers at once: first 5 parallel tool calls
(ticker, candles, account balance, positions, risk limits: two of them read the account live from the
simulator through the API), then a final answer. Each analysis goes agent -> FastMCP tools -> API -> simulator.

Prints p50/p99 of the agent's own overhead per analysis (its `durationMs` minus `modelMs`: the context it
builds from the API, memory in PostgreSQL, the 5 tool calls, usage records) and of the same 5 calls made
directly to the API, one after another, as one client would. Goal: agent overhead p50 <= 2x direct.

    BENCH_DATABASE_URL=postgresql://... .venv/bin/python bench/bench_agent.py [iterations]
(`make bench` sets BENCH_DATABASE_URL; TEST_DATABASE_URL or DATABASE_URL are used when it is unset.)
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.agent.scripted_llm import ScriptedModel, final_reply, tool_calls_reply  # noqa: E402
from tests.helpers import scratch_database  # noqa: E402
from tests.stack import agent_env, agent_server, api_env, api_server, okxsim  # noqa: E402

INST = "BTC-USDT-SWAP"
# (tool, its arguments, the API path the tool calls, that call's query)
CALLS = [
    ("get_ticker", {"instId": INST}, "/api/market/ticker", {"instId": INST}),
    ("get_candles", {"instId": INST, "limit": 100}, "/api/market/candles", {"instId": INST, "bar": "3m", "limit": 100}),
    ("get_account_balance", {}, "/api/account/balances", {}),
    ("get_positions", {"instId": INST}, "/api/account/positions", {"instId": INST}),
    ("get_risk_limits", {}, "/api/trade/risk", {}),
]
WARM_UP = 3
# The API keeps to OKX's rate limits (account balance and positions: 10 requests / 2 s). One iteration reads
# the balance 5 times (the agent's context, two tools, the direct calls) and so do positions; iterations are
# paced so the limiter never has to wait: the figures are the services' latency, not the exchange's quota.
PACE_SECS = 1.2


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def analysis_body(run_id: str) -> dict:
    return {
        "runId": run_id,
        "instId": INST,
        "source": "manual",
        "trigger": {"price": None, "baseline": None, "deviationBps": None},
    }


async def measure(iterations: int, database_url: str, api, logs: Path) -> tuple[list[float], list[float], list[float]]:
    def five_calls(body: dict) -> object:
        return tool_calls_reply([(f"b{i}", name, json.dumps(args)) for i, (name, args, _, _) in enumerate(CALLS)])

    model = await ScriptedModel(steps=[]).start()
    model.steps = [five_calls, lambda body: final_reply("Hold.\nConfidence: 50")] * (iterations + WARM_UP)
    env = agent_env(
        api.url,
        database_url,
        LLM_PROVIDER="deepseek",
        DEEPSEEK_API_KEY="sk-bench",
        DEEPSEEK_BASE_URL=model.base_url,
        LOG_LEVEL="WARNING",
    )
    overhead: list[float] = []
    model_ms: list[float] = []
    direct: list[float] = []
    try:
        with agent_server(logs, env) as agent:
            async with (
                httpx.AsyncClient(base_url=agent.url, headers=agent.headers, timeout=60) as to_agent,
                httpx.AsyncClient(base_url=api.url, headers=api.headers, timeout=15) as to_api,
            ):
                for i in range(iterations + WARM_UP):
                    next_at = time.monotonic() + PACE_SECS
                    answer = (
                        await to_agent.post("/analysis", json=analysis_body(f"bench-{uuid.uuid4().hex[:8]}-{i}"))
                    ).json()
                    assert answer["type"] == "analysis_result", answer
                    assert [c["name"] for c in answer["toolCalls"]] == [c[0] for c in CALLS], answer["toolCalls"]
                    assert all(c["ok"] for c in answer["toolCalls"]), answer["toolCalls"]
                    started = time.perf_counter()
                    for _, _, path, params in CALLS:
                        (await to_api.get(path, params=params)).raise_for_status()
                    elapsed = (time.perf_counter() - started) * 1000
                    if i >= WARM_UP:
                        overhead.append(answer["durationMs"] - answer["modelMs"])
                        model_ms.append(answer["modelMs"])
                        direct.append(elapsed)
                    await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    finally:
        await model.stop()
    return overhead, model_ms, direct


def main() -> None:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 25
    server = (
        os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    )
    if not server:
        sys.exit("set BENCH_DATABASE_URL (a PostgreSQL server URL; `make bench` sets it)")
    with scratch_database(server, "bench_agent") as database_url, tempfile.TemporaryDirectory() as tmp:
        logs = Path(tmp)
        with okxsim(logs, OKXSIM_INST_IDS=INST, OKXSIM_RATE_LIMITS="false") as sim:
            with api_server(logs, api_env(sim, database_url, OKX_INST_IDS=INST, LOG_LEVEL="WARNING")) as api:
                overhead, model_ms, direct = asyncio.run(measure(iterations, database_url, api, logs))
    ratio = statistics.median(overhead) / statistics.median(direct)
    print(f"agent analysis, 5 tool calls ({', '.join(c[0] for c in CALLS)}), n={len(overhead)}")
    print(
        f"  agent overhead (total - model), ms:        p50 {statistics.median(overhead):7.1f}  p99 {pct(overhead, 0.99):7.1f}"
    )
    print(
        f"  model time (scripted, instant), ms:        p50 {statistics.median(model_ms):7.1f}  p99 {pct(model_ms, 0.99):7.1f}"
    )
    print(
        f"  same 5 calls direct to the API, ms:        p50 {statistics.median(direct):7.1f}  p99 {pct(direct, 0.99):7.1f}"
    )
    print(f"  ratio p50 overhead / direct: {ratio:.2f}x (goal <= 2x) {'OK' if ratio <= 2 else 'ABOVE GOAL'}")


if __name__ == "__main__":
    main()
