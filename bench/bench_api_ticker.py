"""Benchmark (a) of the foundation: `GET /api/market/ticker` throughput and p99 under granian, and in the same run
a bare hello route of the same app; prints the ratio (goal >= 0.7).

Starts the real OKX simulator and the real API (one granian worker) on free ports; load comes from `wrk` when it is
installed (apt-get install wrk), else from an asyncio aiohttp load generator in this process (noted in the output).
Needs a PostgreSQL: BENCH_DATABASE_URL / DATABASE_URL, as `make bench` provides.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from tests.stack import api_env, api_server, okxsim  # noqa: E402

DURATION = float(os.environ.get("BENCH_SECS", "8"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))


def run_wrk(url: str, token: str) -> tuple[float, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{CONNECTIONS}",
            f"-d{int(DURATION)}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    factor = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return rps, float(p99.group(1)) * factor


async def run_python(url: str, token: str) -> tuple[float, float]:
    latencies: list[float] = []
    stop_at = time.perf_counter() + DURATION
    headers = {"Authorization": f"Bearer {token}"}

    async def worker(session: aiohttp.ClientSession) -> None:
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            async with session.get(url, headers=headers) as resp:
                await resp.read()
                assert resp.status == 200
            latencies.append((time.perf_counter() - t0) * 1000)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONNECTIONS)) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(CONNECTIONS)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return len(latencies) / elapsed, latencies[int(len(latencies) * 0.99) - 1]


def measure(url: str, token: str) -> tuple[float, float]:
    if shutil.which("wrk"):
        return run_wrk(url, token)
    return asyncio.run(run_python(url, token))


def main() -> None:
    db = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not db:
        sys.exit("needs BENCH_DATABASE_URL or DATABASE_URL (make bench starts a local PostgreSQL)")
    tool = "wrk" if shutil.which("wrk") else "python aiohttp load generator (install wrk for better figures)"
    with tempfile.TemporaryDirectory() as tmp, okxsim(Path(tmp)) as sim:
        with api_server(Path(tmp), api_env(sim, db, LOG_LEVEL="WARNING")) as api:
            ticker_url = f"{api.url}/api/market/ticker?instId=BTC-USDT-SWAP"
            hello_url = f"{api.url}/api/hello"
            measure(ticker_url, api.token)  # warm-up: caches, connections
            results = {}
            for name, url in (("hello", hello_url), ("ticker", ticker_url)):
                results[name] = measure(url, api.token)
    (h_rps, h_p99), (t_rps, t_p99) = results["hello"], results["ticker"]
    print(
        f"load: {tool}, {CONNECTIONS} connections, {DURATION:.0f} s per route, one granian worker, {os.cpu_count()} cores shared with the load"
    )
    print(f"GET /api/hello            {h_rps:10.0f} req/s   p99 {h_p99:7.2f} ms")
    print(f"GET /api/market/ticker    {t_rps:10.0f} req/s   p99 {t_p99:7.2f} ms")
    print(f"ticker / hello throughput ratio: {t_rps / h_rps:.2f}  (goal >= 0.7)")


if __name__ == "__main__":
    main()
