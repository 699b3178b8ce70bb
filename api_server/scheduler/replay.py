"""Trigger replay: how many analyses would each trigger source have started per day?

Replays candle files (`data/candles/*.json`, rows `[ts_ms, open, high, low, close, volume]`,
oldest first) through the very decision functions the service uses (`decisions.py`), with a
simulated clock, one analysis at a time, each analysis taking `--analysis-secs`. It prints the
runs per UTC day and source and the totals: the numbers a user needs to pick a threshold that
fits an LLM budget.

    python -m api_server.scheduler.replay data/candles/freqtrade_XRP_USDT_USDT-5m-futures.json \
        --threshold-bps 80 --interval-secs 900 --analysis-secs 30

Each candle becomes ticks at its own time: with `--path ohlc` (default) open at the candle's start,
then low and high (low first on a rising candle, high first on a falling one) at one and two
thirds of the bar, close at the bar's end; with `--path close` only the close, at the bar's end.
Several files are several instruments sharing the one analysis permit (`--align` shifts them to
start together). The feed is taken as ready at start-up (the first price of each file is known).
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from api_server.scheduler.decisions import (
    SOURCES,
    Source,
    SymbolState,
    TriggerConfig,
    next_to_run,
    next_wakeup,
    on_deadline,
    on_run_finished,
    on_run_started,
    on_startup,
    on_tick,
)

Tick = tuple[float, Decimal]
PATHS = ("ohlc", "close")


class CandleFileError(ValueError):
    """The candle file cannot be replayed (message names the file and the row)."""


@dataclass(frozen=True)
class Candle:
    ts: float  # seconds since the epoch, candle start
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


@dataclass(frozen=True)
class ReplayRun:
    inst_id: str
    source: Source
    triggered_at: float
    started_at: float
    trigger_price: Decimal | None
    baseline_price: Decimal | None
    deviation_bps: Decimal | None


@dataclass
class ReplayResult:
    start: float
    end: float
    runs: list[ReplayRun] = field(default_factory=list)

    @property
    def days(self) -> float:
        """Length of the replayed period in days."""
        return max(self.end - self.start, 0.0) / 86400

    def totals(self) -> dict[str, int]:
        counts = Counter(run.source for run in self.runs)
        return {source: counts.get(source, 0) for source in SOURCES}

    def per_day(self) -> dict[str, dict[str, int]]:
        """UTC day (YYYY-MM-DD) → source → runs started that day; every day of the period listed."""
        table: dict[str, dict[str, int]] = {}
        day = _day_start(self.start)
        while day <= self.end:
            table[_day_name(day)] = {source: 0 for source in SOURCES}
            day += 86400
        for run in self.runs:
            table.setdefault(_day_name(run.started_at), {source: 0 for source in SOURCES})[run.source] += 1
        return table

    def max_wait_secs(self) -> float:
        return max((run.started_at - run.triggered_at for run in self.runs), default=0.0)


def _day_start(ts: float) -> float:
    return math.floor(ts / 86400) * 86400


def _day_name(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def _price(value: object, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise CandleFileError(f"{where}: expected a number, got {value!r}")
    try:
        price = Decimal(value)
    except InvalidOperation:
        raise CandleFileError(f"{where}: expected a number, got {value!r}") from None
    if not price.is_finite() or price <= 0:
        raise CandleFileError(f"{where}: expected a positive price, got {value!r}")
    return price


def load_candles(path: Path | str) -> list[Candle]:
    """Read a candle file; prices become exact Decimals (no float rounding)."""
    path = Path(path)
    try:
        rows = json.loads(path.read_text(), parse_float=Decimal)
    except OSError as exc:
        raise CandleFileError(f"{path}: cannot read ({exc.strerror})") from None
    except ValueError as exc:
        raise CandleFileError(f"{path}: not JSON ({exc})") from None
    if not isinstance(rows, list) or not rows:
        raise CandleFileError(f"{path}: expected a non-empty JSON array of [ts, o, h, l, c, v] rows")
    candles: list[Candle] = []
    previous_ts: float | None = None
    for index, row in enumerate(rows):
        where = f"{path} row {index}"
        if not isinstance(row, list) or len(row) < 5:
            raise CandleFileError(f"{where}: expected [ts, open, high, low, close, volume]")
        ts_raw = row[0]
        if isinstance(ts_raw, bool) or not isinstance(ts_raw, (int, Decimal, str)):
            raise CandleFileError(f"{where}: timestamp must be milliseconds, got {ts_raw!r}")
        try:
            ts = float(Decimal(ts_raw)) / 1000
        except InvalidOperation:
            raise CandleFileError(f"{where}: timestamp must be milliseconds, got {ts_raw!r}") from None
        if previous_ts is not None and ts <= previous_ts:
            raise CandleFileError(f"{where}: rows must be oldest first with increasing timestamps")
        previous_ts = ts
        o, h, lo, c = (_price(v, where) for v in row[1:5])
        candles.append(Candle(ts=ts, open=o, high=h, low=lo, close=c))
    return candles


def bar_secs(candles: Sequence[Candle]) -> float:
    """The bar length: the most common gap between consecutive candles (gaps in data are ignored)."""
    if len(candles) < 2:
        return 60.0
    gaps = Counter(b.ts - a.ts for a, b in zip(candles, candles[1:]))
    return gaps.most_common(1)[0][0]


def candle_ticks(candles: Sequence[Candle], path: str = "ohlc", scale: Decimal = Decimal(1)) -> list[Tick]:
    """Turn candles into (time, price) ticks; see the module docstring for the path."""
    if path not in PATHS:
        raise ValueError(f"path must be one of {', '.join(PATHS)}, got {path!r}")
    bar = bar_secs(candles)
    ticks: list[Tick] = []
    for candle in candles:
        if path == "close":
            ticks.append((candle.ts + bar, candle.close * scale))
            continue
        first, second = (candle.low, candle.high) if candle.close >= candle.open else (candle.high, candle.low)
        ticks.append((candle.ts, candle.open * scale))
        ticks.append((candle.ts + bar / 3, first * scale))
        ticks.append((candle.ts + 2 * bar / 3, second * scale))
        ticks.append((candle.ts + bar, candle.close * scale))
    return ticks


def replay(streams: Mapping[str, Sequence[Tick]], cfg: TriggerConfig, analysis_secs: float = 30.0) -> ReplayResult:
    """Run tick streams (instId → time-ordered ticks) through the decisions with a simulated clock.

    Mirrors the service loop: start-up, then ticks, deadlines and run ends in time order; one
    analysis at a time across all instruments; every analysis takes `analysis_secs` and succeeds.
    Counts the runs started before the last tick.
    """
    if analysis_secs < 0:
        raise ValueError("analysis_secs must not be negative")
    streams = {inst: list(ticks) for inst, ticks in streams.items() if ticks}
    if not streams:
        raise ValueError("nothing to replay: no ticks")
    start = min(ticks[0][0] for ticks in streams.values())
    end = max(ticks[-1][0] for ticks in streams.values())
    result = ReplayResult(start=start, end=end)
    latest: dict[str, Decimal] = {inst: ticks[0][1] for inst, ticks in streams.items()}
    states: dict[str, SymbolState] = {}
    for inst in streams:
        states[inst], _ = on_startup(SymbolState(), start, cfg)

    running_inst: str | None = None
    finish_at = math.inf

    def start_next(now: float) -> None:
        nonlocal running_inst, finish_at
        if running_inst is not None:
            return
        inst = next_to_run(states, cfg)
        if inst is None:
            return
        states[inst], run = on_run_started(states[inst], now, latest.get(inst))
        result.runs.append(
            ReplayRun(
                inst_id=inst,
                source=run.source,
                triggered_at=run.triggered_at,
                started_at=now,
                trigger_price=run.trigger_price,
                baseline_price=run.baseline_price,
                deviation_bps=run.deviation_bps,
            )
        )
        running_inst, finish_at = inst, now + analysis_secs

    def advance(until: float, now: float) -> float:
        """Handle run ends and deadlines up to and including `until`; returns the clock."""
        nonlocal running_inst, finish_at
        while True:
            wake = next_wakeup(states, now, cfg)
            wake_at = math.inf if wake is None else max(wake, now)
            event_at = min(finish_at, wake_at)
            if event_at > until:
                return now
            now = event_at
            if finish_at <= wake_at:
                assert running_inst is not None
                states[running_inst] = on_run_finished(states[running_inst], now, True, cfg)
                running_inst, finish_at = None, math.inf
            else:
                raised = False
                for inst in states:
                    states[inst], decision = on_deadline(states[inst], now, cfg, latest.get(inst))
                    raised = raised or decision is not None
                if not raised:  # next_wakeup promised a due deadline: a broken rule, not a data issue
                    raise RuntimeError(f"next_wakeup returned {wake} but no deadline was due at {now}")
            start_next(now)

    now = start
    start_next(now)
    merged = heapq.merge(*(((t, inst, p) for t, p in ticks) for inst, ticks in streams.items()), key=lambda e: e[0])
    for t, inst, price in merged:
        now = advance(t, now)
        now = max(now, t)
        latest[inst] = price
        states[inst], decision = on_tick(states[inst], price, now, cfg)
        if decision is not None:
            start_next(now)
    advance(end, now)
    return result


# --------------------------------------------------------------------------- CLI


def format_report(result: ReplayResult, cfg: TriggerConfig, analysis_secs: float, title: str) -> str:
    lines = [
        title,
        f"period {_stamp(result.start)} → {_stamp(result.end)} ({result.days:.2f} days); "
        f"volatility {'on, threshold ' + str(cfg.threshold_bps) + ' bps' if cfg.vol_enabled else 'off'}"
        f"{', window ' + _secs(cfg.window_secs) + ' s' if cfg.vol_enabled and cfg.window_secs is not None else ''}; "
        f"schedule {'every ' + _secs(cfg.interval_secs) + ' s' if cfg.schedule_enabled else 'off'}; "
        f"analysis {_secs(analysis_secs)} s each, one at a time",
        "",
        f"{'day (UTC)':<12}{'volatility':>12}{'schedule':>10}{'manual':>8}{'total':>8}",
    ]
    table = result.per_day()
    names = list(table)
    for index, (day, counts) in enumerate(table.items()):
        partial = " *" if index in (0, len(names) - 1) and len(names) > 1 else ""
        lines.append(
            f"{day:<12}{counts['volatility']:>12}{counts['schedule']:>10}{counts['manual']:>8}"
            f"{sum(counts.values()):>8}{partial}"
        )
    totals = result.totals()
    total = sum(totals.values())
    lines.append(f"{'total':<12}{totals['volatility']:>12}{totals['schedule']:>10}{totals['manual']:>8}{total:>8}")
    if result.days > 0:
        per_day = {source: count / result.days for source, count in totals.items()}
        lines.append(
            f"{'per day':<12}{per_day['volatility']:>12.1f}{per_day['schedule']:>10.1f}{per_day['manual']:>8.1f}"
            f"{total / result.days:>8.1f}"
        )
    lines.append("")
    if len(names) > 1:
        lines.append("* partial day (the data starts or ends during it)")
    lines.append(f"longest wait for the analysis permit: {result.max_wait_secs():.0f} s")
    return "\n".join(lines)


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")


def _positive_decimal(raw: str) -> Decimal:
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"expected a number, got {raw!r}") from None
    if not value.is_finite() or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {raw!r}")
    return value


def _non_negative_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a number ≥ 0, got {raw!r}")
    return value


def _positive_float(raw: str) -> float:
    value = _non_negative_float(raw)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {raw!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m api_server.scheduler.replay",
        description="Replay candle files through the strategy trigger rules and count runs per day and source.",
    )
    parser.add_argument("files", metavar="FILE", nargs="+", type=Path, help="candle file(s); each one is an instrument")
    parser.add_argument(
        "--threshold-bps", type=_positive_decimal, default=Decimal(80), help="volatility threshold in bps (80)"
    )
    parser.add_argument("--interval-secs", type=_positive_float, default=900.0, help="deadline timer period (900)")
    parser.add_argument("--window-secs", type=_non_negative_float, default=None, help="volatility window/cooldown")
    parser.add_argument("--analysis-secs", type=_non_negative_float, default=30.0, help="duration of one analysis (30)")
    parser.add_argument("--scale", type=_positive_decimal, default=Decimal(1), help="multiply every price (1)")
    parser.add_argument("--path", choices=PATHS, default="ohlc", help="ticks per candle: ohlc (4) or close (1)")
    parser.add_argument("--no-vol", action="store_true", help="volatility trigger off (timer only)")
    parser.add_argument("--no-schedule", action="store_true", help="deadline timer off (volatility only)")
    parser.add_argument("--align", action="store_true", help="shift every file to start when the first one starts")
    parser.add_argument("--json", action="store_true", help="print a JSON summary instead of the table")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    cfg = TriggerConfig(
        vol_enabled=not args.no_vol,
        threshold_bps=args.threshold_bps,
        schedule_enabled=not args.no_schedule,
        interval_secs=args.interval_secs,
        window_secs=args.window_secs,
    )
    streams: dict[str, list[Tick]] = {}
    origin: float | None = None
    for path in args.files:
        try:
            ticks = candle_ticks(load_candles(path), args.path, args.scale)
        except CandleFileError as exc:
            parser.error(str(exc))
        if args.align:
            origin = ticks[0][0] if origin is None else origin
            shift = origin - ticks[0][0]
            ticks = [(t + shift, p) for t, p in ticks]
        name = path.stem
        while name in streams:
            name += "'"
        streams[name] = ticks
    result = replay(streams, cfg, args.analysis_secs)
    if args.json:
        print(
            json.dumps(
                {
                    "days": result.days,
                    "totals": result.totals(),
                    "perDay": result.per_day(),
                    "maxWaitSecs": result.max_wait_secs(),
                }
            )
        )
    else:
        print(format_report(result, cfg, args.analysis_secs, "trigger replay: " + ", ".join(map(str, args.files))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
