"""Pure scheduler decisions per second: `on_tick` over a realistic price stream, one core.

The stream is the XRP/USDT perp week in `data/candles/` (5-minute candles, each expanded into
open → low/high → close ticks) repeated with price noise of ±1 bp per tick, fed to one
instrument with the volatility trigger on (80 bps) and the timer on (900 s). Triggers are served
at once (run started and finished within the same tick) so the stream keeps crossing the
threshold now and then, as in the service. Goal: ≥ 200,000 decisions/s.

Run: `.venv/bin/python bench/bench_decisions.py [--ticks 400000]`
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from api_server.scheduler.decisions import (  # noqa: E402
    SymbolState,
    TriggerConfig,
    on_run_finished,
    on_run_started,
    on_tick,
)
from api_server.scheduler.replay import candle_ticks, load_candles  # noqa: E402

CANDLES = REPO_ROOT / "data" / "candles" / "freqtrade_XRP_USDT_USDT-5m-futures.json"
GOAL_PER_SEC = 200_000


def price_stream(count: int, seed: int = 7) -> list[tuple[float, Decimal]]:
    """`count` (time, price) ticks: the candle path, with small noise, quoted to the tick size."""
    rng = random.Random(seed)
    base = [(t, p) for t, p in candle_ticks(load_candles(CANDLES), path="ohlc")]
    out: list[tuple[float, Decimal]] = []
    span = base[-1][0] - base[0][0] + 300
    lap = 0
    while len(out) < count:
        for t, p in base:
            noisy = p * (1 + Decimal(rng.randint(-100, 100)) / Decimal(1_000_000))
            out.append((t + lap * span, noisy.quantize(Decimal("0.0001"))))
            if len(out) == count:
                break
        lap += 1
    return out


def run(ticks: list[tuple[float, Decimal]], cfg: TriggerConfig) -> tuple[float, int]:
    state = SymbolState()
    triggers = 0
    started = time.perf_counter()
    for now, price in ticks:
        state, decision = on_tick(state, price, now, cfg)
        if decision is not None:
            triggers += 1
            state, _ = on_run_started(state, now, price)
            state = on_run_finished(state, now, True, cfg)
    return time.perf_counter() - started, triggers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=400_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N timed passes")
    args = parser.parse_args(argv)
    cfg = TriggerConfig(vol_enabled=True, threshold_bps=Decimal(80), schedule_enabled=True, interval_secs=900)
    ticks = price_stream(args.ticks)
    best, triggers = min(run(ticks, cfg) for _ in range(max(1, args.repeat)))
    rate = len(ticks) / best
    print(
        f"on_tick: {len(ticks):,} ticks in {best:.3f} s = {rate:,.0f} decisions/s on one core "
        f"({best / len(ticks) * 1e9:.0f} ns each; {triggers} triggers; goal >= {GOAL_PER_SEC:,}/s: "
        f"{'met' if rate >= GOAL_PER_SEC else 'NOT met'})"
    )
    return 0 if rate >= GOAL_PER_SEC else 1


if __name__ == "__main__":
    raise SystemExit(main())
