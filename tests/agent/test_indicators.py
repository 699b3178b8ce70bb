"""Indicators: hand-computed values and properties over arbitrary price series."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.indicators import ema, indicator_summary, macd, rsi

prices = st.lists(st.floats(min_value=1, max_value=1e6, allow_nan=False, allow_infinity=False), min_size=0, max_size=80)


def test_ema_seeded_with_simple_average_then_smoothed() -> None:
    # period 3: alpha 0.5; seed mean(1,2,3)=2; then 0.5*4+0.5*2=3; 0.5*5+0.5*3=4
    assert ema([1, 2, 3, 4, 5], 3) == [None, None, 2.0, 3.0, 4.0]


def test_rsi_hand_computed_wilder() -> None:
    # period 2 on 10, 12, 11, 13: changes +2, -1, +2.
    # seed: gain 1.0, loss 0.5 -> RSI 66.67; next: gain (1*1+2)/2=1.5, loss (0.5*1+0)/2=0.25 -> RSI 85.71
    values = rsi([10, 12, 11, 13], 2)
    assert values[:2] == [None, None]
    assert values[2] == pytest.approx(100 - 100 / (1 + 1.0 / 0.5))
    assert values[3] == pytest.approx(100 - 100 / (1 + 1.5 / 0.25))


def test_rsi_extremes_and_flat() -> None:
    assert rsi(list(range(1, 30)), 14)[-1] == 100.0
    assert rsi(list(range(30, 1, -1)), 14)[-1] == 0.0
    assert rsi([5.0] * 20, 14)[-1] == 50.0


def test_macd_of_constant_series_is_zero_and_starts_at_slow_period() -> None:
    result = macd([100.0] * 40)
    assert result.line[24] is None and result.line[25] == pytest.approx(0.0)
    assert result.signal[25 + 7] is None and result.signal[25 + 8] == pytest.approx(0.0)
    assert result.histogram[-1] == pytest.approx(0.0)


def test_summary_trend_follows_emas() -> None:
    rising = [100 + i for i in range(60)]
    summary = indicator_summary(rising)
    assert summary["emaTrend"] == "up" and summary["ema12"] > summary["ema26"]
    assert summary["macd"] > 0 and summary["rsi14"] == 100.0
    assert indicator_summary([200 - i for i in range(60)])["emaTrend"] == "down"


@settings(max_examples=150, deadline=None)
@given(prices, st.integers(min_value=1, max_value=30))
def test_ema_stays_within_the_range_of_its_inputs(values: list[float], period: int) -> None:
    out = ema(values, period)
    assert len(out) == len(values)
    for i, v in enumerate(out):
        if i < period - 1:
            assert v is None
        else:
            window = values[: i + 1]
            assert min(window) - 1e-6 <= v <= max(window) + 1e-6


@settings(max_examples=150, deadline=None)
@given(prices, st.integers(min_value=1, max_value=20))
def test_rsi_bounded(values: list[float], period: int) -> None:
    out = rsi(values, period)
    assert len(out) == len(values)
    assert all(v is None for v in out[:period])
    assert all(0.0 <= v <= 100.0 for v in out[period:] if v is not None)


@settings(max_examples=100, deadline=None)
@given(prices)
def test_macd_histogram_is_line_minus_signal(values: list[float]) -> None:
    result = macd(values)
    for line, signal, hist in zip(result.line, result.signal, result.histogram):
        if hist is not None:
            assert math.isclose(hist, line - signal, rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=50, deadline=None)
@given(prices.filter(lambda v: len(v) >= 30), st.floats(min_value=0.01, max_value=100))
def test_indicators_scale_with_price(values: list[float], factor: float) -> None:
    scaled = [v * factor for v in values]
    assert rsi(scaled, 14)[-1] == pytest.approx(rsi(values, 14)[-1], abs=1e-6)
    assert ema(scaled, 26)[-1] == pytest.approx(ema(values, 26)[-1] * factor, rel=1e-9)
    assert macd(scaled).line[-1] == pytest.approx(macd(values).line[-1] * factor, rel=1e-6, abs=1e-9)


def test_atr_wilder_and_volume_summary() -> None:
    from agent.indicators import atr, volatility_summary

    highs = [10.0 + (i % 3) for i in range(30)]
    lows = [h - 2.0 for h in highs]
    closes = [h - 1.0 for h in highs]
    series = atr(highs, lows, closes, 14)
    assert series[:14] == [None] * 14 and series[14] is not None
    # True range: max(h-l, |h-prev c|, |l-prev c|); with these rows it is 2 or 3, so ATR stays between them.
    assert all(2.0 <= v <= 3.0 for v in series[14:] if v is not None)
    flat = atr([5.0] * 20, [5.0] * 20, [5.0] * 20, 14)
    assert flat[-1] == 0.0
    summary = volatility_summary(highs, lows, closes, [1.0] * 29 + [3.0])
    assert summary["volumeRatio"] == round(3.0 / ((19 * 1.0 + 3.0) / 20), 3) and summary["atr14Pct"] > 0
    assert volatility_summary([1.0], [1.0], [1.0], [None])["atr14"] is None
