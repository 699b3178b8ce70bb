"""Strategy lab speed: simulated time / wall time of a backtest, where the time goes, and a 4-backtest sweep on
one vs two processes.

Data: 30 days of 5-minute candles made from `data/candles/freqtrade_XRP_USDT_USDT-5m-futures.json` (6.9 days of
real XRP/USDT perp candles) repeated end to end, each repetition scaled to start at the previous one's last close
(8,640 candles). Profile: offline model, volatility trigger 80 bps, schedule timer 900 s, 2 bps slippage.
Goal (issue 13): ≥ 20,000× (30 days in ≤ 130 s) on 2 cores; the sweep on 2 processes ≥ 1.7× faster than on 1.

    .venv/bin/python bench/bench_lab.py [--days 30] [--no-sweep]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api_server.lab.candles import CandleRow, parse_file_text  # noqa: E402
from api_server.lab.engine import BacktestInput, run_backtest  # noqa: E402
from api_server.lab.profiles import ProfileSpec, ScheduleSpec, VolatilitySpec  # noqa: E402
from okxsim.instruments import SPECS  # noqa: E402

SOURCE = ROOT / "data" / "candles" / "freqtrade_XRP_USDT_USDT-5m-futures.json"
BAR_MS = 300_000


def month_of_candles(days: float) -> list[CandleRow]:
    base = parse_file_text(SOURCE.read_text())
    wanted = int(days * 288)
    out: list[CandleRow] = []
    scale = Decimal(1)
    while len(out) < wanted:
        offset = (out[-1].ts + BAR_MS - base[0].ts) if out else 0
        if out:
            scale = out[-1].close / base[0].open
        for r in base:
            q = lambda v, scale=scale: (v * scale).quantize(Decimal("0.0001"))  # XRP tick size
            o, h, lo, c = q(r.open), q(r.high), q(r.low), q(r.close)
            out.append(CandleRow(r.ts + offset, o, max(h, o, c), min(lo, o, c), c, r.volume))
            if len(out) == wanted:
                break
    return out


def write_file(rows: list[CandleRow], path: Path) -> None:
    path.write_text(
        json.dumps([[r.ts, float(r.open), float(r.high), float(r.low), float(r.close), float(r.volume)] for r in rows])
    )


async def one(rows: list[CandleRow]) -> dict:
    spec = ProfileSpec(
        inst_ids=["XRP-USDT-SWAP"],
        bar="5m",
        schedule=ScheduleSpec(enabled=True, interval_secs=900),
        volatility=VolatilitySpec(enabled=True, threshold_bps=80),
    )
    inp = BacktestInput(
        "XRP-USDT-SWAP", "5m", rows, spec, SPECS["XRP-USDT-SWAP"], Decimal(10000), slippage_bps=Decimal(2)
    )
    cpu0 = time.process_time()
    out = await run_backtest(inp)
    cpu = time.process_time() - cpu0  # CPU seconds of this process: what wall time would be on an idle core
    sim = (out.end_ts - out.start_ts) / 1000
    return {
        "candles": len(rows),
        "days": sim / 86400,
        "runs": len(out.runs),
        "fills": len(out.fills),
        "wall": out.wall_secs,
        "speedup": sim / out.wall_secs,
        "cpu": cpu,
        "cpuSpeedup": sim / cpu,
        "timings": out.timings,
        "apiCalls": sum(out.api_calls.values()),
    }


def sweep(path: Path, parallel: int, count: int = 4) -> float:
    """`count` backtests (the CLI, in memory) with `parallel` at a time: wall seconds."""
    env = {
        "STRATEGY_SCHEDULE_INTERVAL_SECS": "900",
        "STRATEGY_VOL_TRIGGER_ENABLED": "true",
        "OKX_INST_IDS": "XRP-USDT-SWAP",
        "AITRADER_ENV_FILE": "/dev/null",
        "PATH": "/usr/bin:/bin",
    }
    cmd = [sys.executable, "-m", "api_server.lab.cli", "--file", str(path), "--inst-id", "XRP-USDT-SWAP"]
    started = time.perf_counter()
    pending = list(range(count))
    running: list[subprocess.Popen] = []
    while pending or running:
        while pending and len(running) < parallel:
            pending.pop()
            running.append(
                subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
        running[0].wait()
        for p in running:
            if p.poll() not in (None, 0):
                raise SystemExit(f"a sweep backtest failed (exit {p.returncode})")
        running = [p for p in running if p.poll() is None]
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--no-sweep", action="store_true")
    parser.add_argument("--sweep-days", type=float, default=7)
    args = parser.parse_args()
    rows = month_of_candles(args.days)
    r = asyncio.run(one(rows))
    t = r["timings"]
    runs = max(r["runs"], 1)
    print(f"lab backtest: {r['days']:.1f} days of 5m candles ({r['candles']}), offline model, 80 bps + 900 s timer")
    print(
        f"  runs {r['runs']}  fills {r['fills']}  wall {r['wall']:.1f} s  simulated/wall {r['speedup']:,.0f}x "
        f"(goal >= 20,000x); CPU {r['cpu']:.1f} s: simulated/CPU {r['cpuSpeedup']:,.0f}x; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    tools = max(t["agent"] - t["agent.context"] - t["agent.model"], 0)  # the tool calls of a step run concurrently
    print(
        f"  per analysis: {t['agent'] / runs * 1000:.2f} ms = context {t['agent.context'] / runs * 1000:.2f} "
        f"+ model {t['agent.model'] / runs * 1000:.2f} + tools and loop {tools / runs * 1000:.2f} ms; "
        f"the in-process API's handlers (inside context and tools) {t['agent.api'] / runs * 1000:.2f} ms "
        f"({r['apiCalls'] / runs:.1f} calls)"
    )
    print(f"  market replay (path, matching, triggers): {t['market']:.2f} s; other {t['other']:.2f} s")
    if not args.no_sweep:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "xrp.json"
            write_file(month_of_candles(args.sweep_days), path)
            one_proc = sweep(path, 1)
            two_proc = sweep(path, 2)
        print(
            f"sweep of 4 backtests ({args.sweep_days:g} days each): 1 process {one_proc:.1f} s, 2 processes "
            f"{two_proc:.1f} s: {one_proc / two_proc:.2f}x (goal >= 1.7x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
