"""Trigger replay over the real candle files in `data/candles/`, through the same decision code."""

from __future__ import annotations

import functools
import json
import subprocess
from decimal import Decimal as D

import pytest

from api_server.scheduler.decisions import TriggerConfig
from api_server.scheduler.replay import (
    Candle,
    CandleFileError,
    ReplayResult,
    candle_ticks,
    load_candles,
    replay,
)
from tests.helpers import PYTHON, REPO_ROOT

CANDLES = REPO_ROOT / "data" / "candles"
XRP = CANDLES / "freqtrade_XRP_USDT_USDT-5m-futures.json"
BTC = CANDLES / "freqtrade_UNITTEST_BTC-1m.json"
FILES = pytest.mark.parametrize("candle_file", [XRP, BTC], ids=["xrp-5m", "btc-1m"])


@functools.cache
def ticks_of(path, kind="ohlc"):
    return candle_ticks(load_candles(path), kind)


def run(path, analysis_secs=30.0, kind="ohlc", **cfg) -> ReplayResult:
    return replay({path.stem: ticks_of(path, kind)}, TriggerConfig(**cfg), analysis_secs)


def full_days(result: ReplayResult) -> list[dict[str, int]]:
    days = list(result.per_day().values())
    return days[1:-1]


@FILES
def test_higher_threshold_never_means_more_volatility_runs(candle_file):
    counts = [
        run(candle_file, vol_enabled=True, threshold_bps=D(t), schedule_enabled=True, interval_secs=900).totals()
        for t in (40, 80, 150, 300)
    ]
    vol = [c["volatility"] for c in counts]
    assert vol == sorted(vol, reverse=True)
    assert vol[0] > vol[-1] >= 1  # the thresholds matter on real data; the start-up run always happens
    # fewer market-driven runs leave more room for the backstop timer
    schedule = [c["schedule"] for c in counts]
    assert schedule == sorted(schedule)


def test_higher_threshold_never_more_runs_with_the_timer_off_and_close_only():
    vol = [run(XRP, kind="close", vol_enabled=True, threshold_bps=D(t)).totals()["volatility"] for t in (20, 80, 300)]
    assert vol == sorted(vol, reverse=True) and vol[0] > vol[-1]


@FILES
@pytest.mark.parametrize("interval", [900.0, 3600.0])
def test_schedule_only_runs_86400_over_interval_per_full_day(candle_file, interval):
    result = run(candle_file, analysis_secs=0.0, schedule_enabled=True, interval_secs=interval)
    days = full_days(result)
    assert days and all(day == {"volatility": 0, "schedule": 86400 / interval, "manual": 0} for day in days)


@FILES
def test_schedule_only_with_slow_analyses_counts_from_the_end_of_each_run(candle_file):
    result = run(candle_file, analysis_secs=30.0, schedule_enabled=True, interval_secs=900)
    per_run = 900 + 30
    for day in full_days(result):
        assert 86400 // per_run <= day["schedule"] <= 86400 // per_run + 1


@FILES
def test_runs_that_start_at_once_deviate_at_least_the_threshold(candle_file):
    threshold = D(80)
    result = run(candle_file, vol_enabled=True, threshold_bps=threshold, schedule_enabled=True, interval_secs=900)
    vol_runs = [r for r in result.runs if r.source == "volatility"]
    assert vol_runs[0].baseline_price is None and vol_runs[0].started_at == result.start  # start-up run
    immediate = [r for r in vol_runs[1:] if r.started_at == r.triggered_at]
    assert immediate and all(r.deviation_bps >= threshold for r in immediate)
    # every run's baseline is the trigger price of the previous run of the instrument
    for previous, current in zip(result.runs, result.runs[1:]):
        assert current.baseline_price == previous.trigger_price


@FILES
def test_window_spaces_volatility_runs(candle_file):
    window, analysis = 600.0, 30.0
    free = run(candle_file, analysis, vol_enabled=True, threshold_bps=D(40))
    spaced = run(candle_file, analysis, vol_enabled=True, threshold_bps=D(40), window_secs=window)
    assert spaced.totals()["volatility"] < free.totals()["volatility"]
    starts = [r.started_at for r in spaced.runs if r.source == "volatility"]
    assert all(b - a >= analysis + window for a, b in zip(starts, starts[1:]))


def test_two_instruments_share_one_analysis_at_a_time():
    analysis = 120.0
    xrp, btc = ticks_of(XRP), ticks_of(BTC)
    shift = xrp[0][0] - btc[0][0]
    streams = {"XRP": xrp, "BTC": [(t + shift, p) for t, p in btc]}
    cfg = TriggerConfig(vol_enabled=True, threshold_bps=D(80), schedule_enabled=True, interval_secs=600)
    result = replay(streams, cfg, analysis)
    starts = [r.started_at for r in result.runs]
    assert starts == sorted(starts)
    assert all(b - a >= analysis for a, b in zip(starts, starts[1:]))
    assert {r.inst_id for r in result.runs} == {"XRP", "BTC"}
    assert result.max_wait_secs() > 0  # triggers waited for the permit instead of being skipped
    assert all(r.started_at >= r.triggered_at for r in result.runs)


def test_candle_path_orders_the_extremes_like_the_market_most_likely_moved():
    rows = [[0, 10, 12, 9, 11, 1], [60_000, 11, 12, 8, 9, 1]]  # a rising candle, then a falling one
    candles = [Candle(ts=r[0] / 1000, open=D(r[1]), high=D(r[2]), low=D(r[3]), close=D(r[4])) for r in rows]
    ticks = candle_ticks(candles, "ohlc", D(2))
    assert [p for _, p in ticks] == [D(20), D(18), D(24), D(22), D(22), D(24), D(16), D(18)]
    assert [t for t, _ in ticks] == [0, 20, 40, 60, 60, 80, 100, 120]
    assert candle_ticks(candles, "close") == [(60.0, D(11)), (120.0, D(9))]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[]", "non-empty"),
        ("{", "not JSON"),
        ("[[2000, 1, 1, 1, 1, 1], [1000, 1, 1, 1, 1, 1]]", "row 1"),
        ('[[1000, 1, 1, "x", 1, 1]]', "row 0"),
        ("[[1000, 1, 1, -1, 1, 1]]", "positive"),
        ("[[1000, 1, 1]]", "row 0"),
    ],
)
def test_bad_candle_files_are_refused_with_the_row(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(CandleFileError, match=message):
        load_candles(path)


def test_cli_prints_the_same_counts_as_the_library():
    args = ["--threshold-bps", "120", "--interval-secs", "1800", "--window-secs", "300", "--analysis-secs", "45"]
    done = subprocess.run(
        [PYTHON, "-m", "api_server.scheduler.replay", str(XRP), *args, "--json"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    expected = run(
        XRP, 45.0, vol_enabled=True, threshold_bps=D(120), schedule_enabled=True, interval_secs=1800, window_secs=300
    )
    assert printed["totals"] == expected.totals()
    assert printed["perDay"] == expected.per_day()

    table = subprocess.run(
        [PYTHON, "-m", "api_server.scheduler.replay", str(XRP), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert table.returncode == 0, table.stderr
    totals = expected.totals()
    total_line = next(line for line in table.stdout.splitlines() if line.startswith("total"))
    assert total_line.split() == [
        "total",
        str(totals["volatility"]),
        str(totals["schedule"]),
        "0",
        str(sum(totals.values())),
    ]
    assert "threshold 120 bps" in table.stdout and "2021-11-18" in table.stdout


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--threshold-bps", "abc"], "--threshold-bps"),
        (["--threshold-bps", "0"], "--threshold-bps"),
        (["--interval-secs", "-5"], "--interval-secs"),
        (["--analysis-secs", "nan"], "--analysis-secs"),
        (["--path", "hl"], "--path"),
    ],
)
def test_cli_bad_arguments_name_the_option(args, named):
    done = subprocess.run(
        [PYTHON, "-m", "api_server.scheduler.replay", str(XRP), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and named in done.stderr


def test_cli_bad_file_names_it(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("[[2000, 1, 1, 1, 1, 1], [1000, 1, 1, 1, 1, 1]]")
    done = subprocess.run(
        [PYTHON, "-m", "api_server.scheduler.replay", str(path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "broken.json row 1" in done.stderr
