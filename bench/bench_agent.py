"""Agent overhead benchmark: one analysis with an instant scripted model making 5 tool calls.

Runs the OKX simulator and the real trading API as processes, the agent in-process on a real port,
and a scripted OpenAI-compatible server that answers at once. The 5 calls are market tools (ticker,
candles, instrument, order book, funding rate) until the account/trade endpoints exist.
Prints p50/p99 of the agent's own overhead (analysis total minus model time) and of the same 5 calls
made directly to the API (sequentially, as one client would). Goal: agent overhead p50 <= 2x direct.

    TEST_DATABASE_URL=postgresql://... .venv/bin/python bench/bench_agent.py [iterations]
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
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.agent.conftest import agent_settings, analysis_body, serve_agent  # noqa: E402
from tests.agent.scripted_llm import ScriptedModel, text_reply, tool_calls_reply  # noqa: E402
from tests.stack import API_TOKEN, api_env, api_server, okxsim  # noqa: E402

CALLS = [
    ("get_ticker", "/api/market/ticker", {"instId": "BTC-USDT-SWAP"}),
    ("get_candles", "/api/market/candles", {"instId": "BTC-USDT-SWAP", "bar": "3m", "limit": 100}),
    ("get_instrument", "/api/market/instruments", {"instId": "BTC-USDT-SWAP"}),
    ("get_order_book", "/api/market/books", {"instId": "BTC-USDT-SWAP", "sz": 5}),
    ("get_funding_rate", "/api/market/funding-rate", {"instId": "BTC-USDT-SWAP"}),
]
TOOL_ARGS = {"get_order_book": {"instId": "BTC-USDT-SWAP", "depth": 5}, "get_candles": {"instId": "BTC-USDT-SWAP", "limit": 100}}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def run(iterations: int, database_url: str, api_url: str) -> None:
    def five_calls(body: dict) -> object:
        calls = [(f"b{i}", name, json.dumps(TOOL_ARGS.get(name, params))) for i, (name, _, params) in enumerate(CALLS)]
        return tool_calls_reply(calls)

    model = await ScriptedModel(steps=[]).start()
    model.steps = [five_calls, lambda body: text_reply("Hold.\nConfidence: 50")] * (iterations + 5)
    settings = agent_settings(database_url, api_url, llm_base_url=model.base_url, api_token=API_TOKEN)
    overhead: list[float] = []
    direct: list[float] = []
    try:
        async with serve_agent(settings) as agent, httpx.AsyncClient(
            base_url=api_url, headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=15
        ) as api:
            agent.headers["Authorization"] = f"Bearer {API_TOKEN}"
            for i in range(iterations + 2):
                answer = (await agent.post("/analysis", json=analysis_body(f"bench-{i}"))).json()
                assert answer["type"] == "analysis_result" and all(c["ok"] for c in answer["toolCalls"]), answer
                if i >= 2:  # warm-up
                    overhead.append(answer["durationMs"] - answer["modelMs"])
                started = time.perf_counter()
                for _, path, params in CALLS:
                    (await api.get(path, params=params)).raise_for_status()
                if i >= 2:
                    direct.append((time.perf_counter() - started) * 1000)
    finally:
        await model.stop()
    print(f"agent overhead per analysis (5 tool calls + context + memory), ms: p50 {statistics.median(overhead):.1f} "
          f"p99 {pct(overhead, 0.99):.1f}  (n={len(overhead)})")
    print(f"same 5 calls made directly to the API, ms:                       p50 {statistics.median(direct):.1f} "
          f"p99 {pct(direct, 0.99):.1f}")
    print(f"ratio p50: {statistics.median(overhead) / statistics.median(direct):.2f}x (goal <= 2x)")


def main() -> None:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    server = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not server:
        sys.exit("set TEST_DATABASE_URL (a PostgreSQL server URL)")
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    database_url = server.rsplit("/", 1)[0] + "/" + name
    try:
        with tempfile.TemporaryDirectory() as logs:
            with okxsim(Path(logs), OKXSIM_INST_IDS="BTC-USDT-SWAP") as sim:
                with api_server(Path(logs), api_env(sim, database_url, OKX_INST_IDS="BTC-USDT-SWAP")) as api:
                    asyncio.run(run(iterations, database_url, api.url))
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


if __name__ == "__main__":
    main()
