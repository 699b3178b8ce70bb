"""Metrics: hand-computed cases, agreement with empyrical (a well-kept library), and invariants (hypothesis)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api_server.lab.metrics import compute_metrics, max_drawdown, period_returns, round_trips, sharpe, sortino

empyrical = pytest.importorskip("empyrical")
np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

BARS_5M = 365 * 288


@dataclass
class F:
    side: str
    sz: float
    realized_pnl: float
    fee: float


def test_hand_computed_drawdown_and_returns():
    equity = [100, 110, 99, 120, 60, 90]
    assert max_drawdown(equity) == pytest.approx(0.5)  # 120 → 60
    assert period_returns([100, 110, 99]) == pytest.approx([0.1, -0.1])
    assert max_drawdown([1, 2, 3]) == 0.0


def test_hand_computed_sharpe_and_sortino():
    r = [0.01, -0.02, 0.03, 0.0]
    mean = 0.005
    std = math.sqrt(sum((x - mean) ** 2 for x in r) / 3)
    assert sharpe(r, 4) == pytest.approx(mean / std * 2)
    downside = math.sqrt(0.02**2 / 4)
    assert sortino(r, 4) == pytest.approx(mean / downside * 2)
    assert sharpe([0.01, 0.01], 4) is None  # no variance: undefined, not infinite


returns_lists = st.lists(st.floats(min_value=-0.2, max_value=0.2, allow_nan=False), min_size=3, max_size=200)


@settings(max_examples=60, deadline=None)
@given(returns_lists)
def test_sharpe_sortino_drawdown_match_empyrical(rs):
    series = pd.Series(rs)
    ours = sharpe(rs, BARS_5M)
    theirs = empyrical.sharpe_ratio(series, annualization=BARS_5M)
    if ours is None:
        assert not np.isfinite(theirs) or abs(theirs) > 1e6 or np.std(rs) < 1e-12
    else:
        assert ours == pytest.approx(theirs, rel=1e-6, abs=1e-9)
    s_ours = sortino(rs, BARS_5M)
    s_theirs = empyrical.sortino_ratio(series, annualization=BARS_5M)
    if s_ours is not None and np.isfinite(s_theirs):
        assert s_ours == pytest.approx(s_theirs, rel=1e-6, abs=1e-9)
    equity = [100.0]
    for r in rs:
        equity.append(equity[-1] * (1 + r))
    assert max_drawdown(equity) == pytest.approx(-empyrical.max_drawdown(series), abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(min_value=1, max_value=1e6, allow_nan=False), min_size=1, max_size=100))
def test_drawdown_is_a_fraction_and_zero_for_a_rising_curve(equity):
    assert 0 <= max_drawdown(equity) < 1
    assert max_drawdown(sorted(equity)) == 0


def test_round_trips_group_fills_from_flat_to_flat_with_fees():
    fills = [
        F("buy", 10, 0, -1),
        F("buy", 5, 0, -0.5),
        F("sell", 15, 30, -1.5),  # one long trip: 30 - 3 = 27
        F("sell", 4, 0, -0.4),
        F("buy", 4, -8, -0.4),
    ]  # one short trip: -8 - 0.8
    assert round_trips(fills) == pytest.approx([27.0, -8.8])


def test_compute_metrics_fractions_win_rate_profit_factor():
    fills = [F("buy", 1, 0, -1), F("sell", 1, 21, -1), F("buy", 1, 0, -1), F("sell", 1, -8, -1)]
    runs = [{"source": "schedule", "triggeredAt": 0}, {"source": "volatility", "triggeredAt": 86_400_000}]
    m = compute_metrics(
        equity=[(300_000, 1010.0), (600_000, 990.0), (900_000, 1009.0)],
        fills=fills,
        runs=runs,
        start_equity=1000,
        end_equity=1009,
        first_price=2,
        last_price=2.2,
        start_ts=0,
        end_ts=172_800_000,
        bar_ms=300_000,
        fees=4,
        funding=-1,
        exposure_ms=43_200_000,
        cost_usd=0.5,
        input_tokens=10,
        output_tokens=2,
    )
    assert m["totalReturn"] == pytest.approx(0.009)
    assert m["buyHoldReturn"] == pytest.approx(0.1)
    assert m["maxDrawdown"] == pytest.approx(20 / 1010)
    assert m["trades"] == 2 and m["winRate"] == 0.5
    assert m["profitFactor"] == pytest.approx(19 / 10)
    assert m["avgTrade"] == pytest.approx(4.5)
    assert m["exposure"] == pytest.approx(0.25)
    assert m["runsBySource"] == {"volatility": 1, "schedule": 1, "manual": 0}
    assert m["runsPerDay"]["schedule"] == pytest.approx(0.5)
