"""Replay benchmark for the balance-snapshot rule (`api_server.account.snapshots.should_write_snapshot`).

An account holds a cash balance and one fixed linear-swap position opened at the first price;
its equity is driven by a real candle file and sampled once per snapshot-loop tick. Each
reading goes through the snapshot rule; the benchmark reports the rows written against one row
per tick, and the largest gap between the stored curve (step function of the last written
value) and the true equity, checking every gap stays within the thresholds.

    .venv/bin/python bench/bench_snapshots.py                      # XRP 5m futures, 60 s ticks
    .venv/bin/python bench/bench_snapshots.py --tick close         # one tick per candle close
    .venv/bin/python bench/bench_snapshots.py --contracts 0,10,100 --cash 50000 --min-abs 5

The core, `replay_snapshot_rule(equities, min_abs, min_rel)`, takes any equity series, so the
same measurement can be re-run on equity read from the simulator.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from api_server.account.snapshots import (  # noqa: E402
    DEFAULT_MIN_ABS_CHANGE,
    DEFAULT_MIN_RELATIVE_CHANGE,
    linear_swap_equity,
    should_write_snapshot,
)

DEFAULT_CANDLES = REPO_ROOT / "data" / "candles" / "freqtrade_XRP_USDT_USDT-5m-futures.json"
# OKX lists XRP-USDT-SWAP with a face value of 100 XRP per contract; only the product
# contracts x ctVal matters here, so the exact spec does not change the result.
DEFAULT_CT_VAL = Decimal("100")


@dataclass(frozen=True)
class ReplayResult:
    ticks: int
    rows_written: int
    max_gap_abs: Decimal  # USDT, largest |true - stored| over all ticks
    max_gap_abs_tick: int
    max_gap_rel: Decimal  # largest |true - stored| / |stored|
    max_gap_rel_tick: int
    violations: int  # ticks whose gap is NOT within both thresholds (must be 0)

    @property
    def reduction_pct(self) -> Decimal:
        if self.ticks == 0:
            return Decimal(0)
        return (Decimal(100) * (self.ticks - self.rows_written) / self.ticks).quantize(Decimal("0.01"))


def replay_snapshot_rule(equities: Iterable[Decimal], min_abs: Decimal, min_rel: Decimal) -> ReplayResult:
    """Apply the snapshot rule to an equity series (one reading per loop tick) and measure it.

    The stored curve at tick i is the last value written at or before i. A gap is within the
    thresholds when |gap| < min_abs and |gap| / |stored| < min_rel (a zero stored value allows
    no gap), which is exactly what a skip promises.
    """
    stored: Decimal | None = None
    ticks = rows = violations = 0
    max_abs, max_abs_tick = Decimal(0), 0
    max_rel, max_rel_tick = Decimal(0), 0
    for tick, equity in enumerate(equities):
        ticks += 1
        if should_write_snapshot(stored, equity, min_abs, min_rel):
            stored = equity
            rows += 1
            continue
        assert stored is not None
        gap = abs(equity - stored)
        if stored != 0:
            rel = gap / abs(stored)
            within = gap < min_abs and rel < min_rel
        else:
            rel = Decimal(0) if gap == 0 else Decimal("Infinity")
            within = gap == 0
        if not within:
            violations += 1
        if gap > max_abs:
            max_abs, max_abs_tick = gap, tick
        if rel > max_rel:
            max_rel, max_rel_tick = rel, tick
    return ReplayResult(ticks, rows, max_abs, max_abs_tick, max_rel, max_rel_tick, violations)


# --- driving equity from candles ---

Candle = tuple[int, Decimal, Decimal, Decimal, Decimal]  # ts_ms, open, high, low, close


def load_candles(path: Path) -> list[Candle]:
    """Rows `[ts_ms, open, high, low, close, volume]`, oldest first (data/candles/README.md)."""
    rows = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    return [(int(r[0]), Decimal(r[1]), Decimal(r[2]), Decimal(r[3]), Decimal(r[4])) for r in rows]


def price_ticks(candles: Sequence[Candle], tick: str, minutes_per_candle: int, scale: Decimal) -> list[Decimal]:
    """Prices seen by the loop: the first open, then per candle either its close (`close`) or
    one price per minute along the path open -> high -> low -> close, walked at constant speed
    in time (each leg takes a third of the candle), the last sample being the close (`60s`)."""
    if not candles:
        return []
    prices = [candles[0][1] * scale]
    for _, o, h, low, c in candles:
        if tick == "close":
            prices.append(c * scale)
            continue
        legs = ((o, h), (h, low), (low, c))
        for minute in range(1, minutes_per_candle + 1):
            progress = Decimal(3 * minute) / Decimal(minutes_per_candle)  # 0..3 along the three legs
            leg = min(int(progress), 2)
            start, end = legs[leg]
            prices.append((start + (end - start) * (progress - leg)) * scale)
    return prices


def equity_series(prices: Sequence[Decimal], cash: Decimal, contracts: Decimal, ct_val: Decimal) -> list[Decimal]:
    """Cash plus the uPnL of `contracts` (signed) opened at the first price."""
    entry = prices[0]
    return [linear_swap_equity(cash, contracts, entry, price, ct_val) for price in prices]


def _fmt(value: Decimal, places: str) -> str:
    # Rounded down: a gap just under a threshold must not print as the threshold itself.
    return f"{value.quantize(Decimal(places), rounding=ROUND_DOWN):f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_CANDLES, help="candle file (data/candles/*.json)")
    parser.add_argument("--scale", type=Decimal, default=Decimal(1), help="multiply every price by this")
    parser.add_argument("--minutes-per-candle", type=int, default=5, help="candle length in minutes (60s ticks)")
    parser.add_argument("--tick", choices=("60s", "close"), default="60s")
    parser.add_argument("--cash", type=Decimal, default=Decimal("10000"), help="USDT cash balance")
    parser.add_argument("--ct-val", type=Decimal, default=DEFAULT_CT_VAL)
    parser.add_argument(
        "--contracts",
        default="0,1,4,8,21,42,84",
        help="comma list of long position sizes (contracts) to replay, one table row each",
    )
    parser.add_argument("--min-abs", type=Decimal, default=DEFAULT_MIN_ABS_CHANGE)
    parser.add_argument("--min-rel", type=Decimal, default=DEFAULT_MIN_RELATIVE_CHANGE)
    args = parser.parse_args(argv)

    candles = load_candles(args.file)
    prices = price_ticks(candles, args.tick, args.minutes_per_candle, args.scale)
    print(f"file: {args.file.relative_to(REPO_ROOT) if args.file.is_relative_to(REPO_ROOT) else args.file}")
    print(
        f"candles: {len(candles)}, price scale x{args.scale}, ticks: {len(prices)} "
        f"({'one per candle close' if args.tick == 'close' else '60 s, interpolated o->h->l->c'})"
    )
    print(f"price: first {prices[0]}, min {min(prices)}, max {max(prices)}")
    print(
        f"account: cash {args.cash} USDT, long N contracts opened at the first price, ctVal {args.ct_val}; "
        "exposure = notional at entry as % of cash"
    )
    print(f"thresholds: min_abs {args.min_abs} USDT, min_rel {args.min_rel}")
    print()
    header = (
        f"{'contracts':>9} {'exposure':>9} {'rows':>6} {'ticks':>6} {'reduction':>9} "
        f"{'max gap USDT':>12} {'max gap rel':>12} {'violations':>10}"
    )
    print(header)
    print("-" * len(header))
    all_ok = True
    for part in args.contracts.split(","):
        contracts = Decimal(part.strip())
        exposure_pct = contracts * args.ct_val * prices[0] * 100 / args.cash
        equities = equity_series(prices, args.cash, contracts, args.ct_val)
        result = replay_snapshot_rule(equities, args.min_abs, args.min_rel)
        all_ok = all_ok and result.violations == 0
        goal = "goal met" if result.reduction_pct >= 90 else "goal NOT met"
        print(
            f"{str(contracts):>9} {_fmt(exposure_pct, '0.1') + '%':>9} {result.rows_written:>6} {result.ticks:>6} "
            f"{str(result.reduction_pct) + '%':>9} {_fmt(result.max_gap_abs, '0.0001'):>12} "
            f"{_fmt(result.max_gap_rel, '0.000000001'):>12} {result.violations:>10}  {goal}"
        )
    print()
    print("every gap within the thresholds" if all_ok else "GAPS OUTSIDE THE THRESHOLDS: the rule is broken")
    return 0 if all_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
