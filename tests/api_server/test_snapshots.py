"""The balance-snapshot rule: skip only when BOTH |delta| < min_abs AND |delta|/|previous| < min_rel."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api_server.account.snapshots import (
    DEFAULT_MIN_ABS_CHANGE,
    DEFAULT_MIN_RELATIVE_CHANGE,
    linear_swap_equity,
    pnl_against_initial,
    should_write_snapshot,
)
from bench.bench_snapshots import replay_snapshot_rule

D = Decimal
ABS = DEFAULT_MIN_ABS_CHANGE
REL = DEFAULT_MIN_RELATIVE_CHANGE


def money(min_value: str = "-1000000", max_value: str = "1000000", places: int = 8) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=D(min_value), max_value=D(max_value), places=places, allow_nan=False, allow_infinity=False
    )


thresholds_abs = money("0", "100", 6)
thresholds_rel = money("0", "0.1", 8)


def oracle(previous: Decimal, current: Decimal, min_abs: Decimal, min_rel: Decimal) -> bool:
    """The rule as the user wrote it, in a 200-digit context (exact for the generated values)."""
    with localcontext() as ctx:
        ctx.prec = 200
        delta = abs(current - previous)
        abs_small = delta < min_abs
        if previous == 0:
            rel_small = delta == 0
        else:
            rel_small = delta / abs(previous) < min_rel
        return not (abs_small and rel_small)


# --- the user's examples, with the default thresholds 1 USDT / 0.0001 ---


def test_first_reading_is_always_written() -> None:
    assert should_write_snapshot(None, D("10000"), ABS, REL)
    assert should_write_snapshot(None, D("0"), ABS, REL)


def test_small_change_below_both_thresholds_is_skipped_up_and_down() -> None:
    # 10000 -> +-0.5: abs 0.5 < 1, rel 0.00005 < 0.0001
    assert not should_write_snapshot(D("10000"), D("10000.5"), ABS, REL)
    assert not should_write_snapshot(D("10000"), D("9999.5"), ABS, REL)
    assert not should_write_snapshot(D("10000"), D("10000"), ABS, REL)


def test_absolute_threshold_alone_writes_up_and_down() -> None:
    # 1,000,000 equity: 1 USDT is only 0.000001 relative, but abs reached -> write.
    assert should_write_snapshot(D("1000000"), D("1000001"), ABS, REL)
    assert should_write_snapshot(D("1000000"), D("999999"), ABS, REL)
    assert not should_write_snapshot(D("1000000"), D("1000000.99"), ABS, REL)
    assert not should_write_snapshot(D("1000000"), D("999999.01"), ABS, REL)


def test_relative_threshold_alone_writes_up_and_down() -> None:
    # 100 USDT equity: 0.01 is far below 1 USDT, but 0.01/100 = 0.0001 reached -> write.
    assert should_write_snapshot(D("100"), D("100.01"), ABS, REL)
    assert should_write_snapshot(D("100"), D("99.99"), ABS, REL)
    assert not should_write_snapshot(D("100"), D("100.0099"), ABS, REL)
    assert not should_write_snapshot(D("100"), D("99.9901"), ABS, REL)


def test_boundary_equality_writes() -> None:
    assert should_write_snapshot(D("50000"), D("50001"), ABS, REL)  # delta == min_abs exactly
    assert should_write_snapshot(D("50"), D("50.005"), ABS, REL)  # delta / previous == min_rel exactly
    assert should_write_snapshot(D("-50"), D("-50.005"), ABS, REL)  # negative equity: |previous| is used


def test_previous_zero_counts_any_change_as_infinite_relative_change() -> None:
    assert should_write_snapshot(D("0"), D("0.00000001"), ABS, REL)
    assert should_write_snapshot(D("0"), D("-0.00000001"), ABS, REL)
    assert not should_write_snapshot(D("0"), D("0"), ABS, REL)


def test_zero_thresholds_write_every_reading() -> None:
    assert should_write_snapshot(D("10"), D("10"), D("0"), REL)
    assert should_write_snapshot(D("10"), D("10"), ABS, D("0"))


def test_exact_where_a_28_digit_context_would_round() -> None:
    # previous = 1e29 + 1 (30 digits), delta = 1e25: delta / previous = 0.0000999999...(29 nines)...,
    # which a 28-digit division rounds UP to exactly 0.0001. The exact answer is below -> skip.
    previous = D("100000000000000000000000000001")
    current = D("100010000000000000000000000001")
    with localcontext() as ctx:
        assert ctx.prec == 28 and abs(current - previous) / previous == REL  # the trap being avoided
    assert not should_write_snapshot(previous, current, D("1E+40"), REL)
    assert should_write_snapshot(previous, D("100010000000000000000000000002"), D("1E+40"), REL)


@pytest.mark.parametrize(
    "args",
    [
        (D("1"), D("NaN"), ABS, REL),
        (D("Infinity"), D("1"), ABS, REL),
        (D("1"), D("2"), D("-1"), REL),
        (D("1"), D("2"), ABS, D("-0.1")),
        (D("1"), 2.0, ABS, REL),
    ],
)
def test_bad_inputs_raise_value_error(args: tuple) -> None:
    with pytest.raises(ValueError):
        should_write_snapshot(*args)


# --- properties ---

# Moves mostly near the thresholds, so that both skips and writes are generated.
moves = st.one_of(money("-0.01", "0.01", 8), money("-2", "2", 8), money("-200", "200", 6), money())


@given(previous=money(), move=moves, min_abs=thresholds_abs, min_rel=thresholds_rel)
def test_matches_the_users_rule(previous: Decimal, move: Decimal, min_abs: Decimal, min_rel: Decimal) -> None:
    current = previous + move
    assert should_write_snapshot(previous, current, min_abs, min_rel) == oracle(previous, current, min_abs, min_rel)


@given(previous=money(), delta=money("0", "1000", 8), min_abs=thresholds_abs, min_rel=thresholds_rel)
def test_up_and_down_moves_are_treated_alike(
    previous: Decimal, delta: Decimal, min_abs: Decimal, min_rel: Decimal
) -> None:
    up = should_write_snapshot(previous, previous + delta, min_abs, min_rel)
    down = should_write_snapshot(previous, previous - delta, min_abs, min_rel)
    assert up == down


@given(
    previous=money(),
    small=money("0", "1000", 8),
    extra=money("0", "1000", 8),
    min_abs=thresholds_abs,
    min_rel=thresholds_rel,
)
def test_a_larger_move_writes_whenever_a_smaller_one_does(
    previous: Decimal, small: Decimal, extra: Decimal, min_abs: Decimal, min_rel: Decimal
) -> None:
    if should_write_snapshot(previous, previous + small, min_abs, min_rel):
        assert should_write_snapshot(previous, previous + small + extra, min_abs, min_rel)
        assert should_write_snapshot(previous, previous - small - extra, min_abs, min_rel)


@given(
    previous=money(),
    move=moves,
    min_abs=thresholds_abs,
    min_rel=thresholds_rel,
    more_abs=money("0", "100", 6),
    more_rel=money("0", "0.1", 8),
)
def test_raising_thresholds_never_adds_writes(
    previous: Decimal, move: Decimal, min_abs: Decimal, min_rel: Decimal, more_abs: Decimal, more_rel: Decimal
) -> None:
    current = previous + move
    if should_write_snapshot(previous, current, min_abs + more_abs, min_rel + more_rel):
        assert should_write_snapshot(previous, current, min_abs, min_rel)


@given(previous=money(), move=moves, min_abs=thresholds_abs, min_rel=thresholds_rel)
def test_a_skip_means_both_changes_are_below_their_thresholds(
    previous: Decimal, move: Decimal, min_abs: Decimal, min_rel: Decimal
) -> None:
    current = previous + move
    if not should_write_snapshot(previous, current, min_abs, min_rel):
        with localcontext() as ctx:
            ctx.prec = 200
            delta = abs(current - previous)
            assert delta < min_abs
            assert delta < min_rel * abs(previous) or delta == 0


@given(
    start=money("1", "1000000", 4),
    steps=st.lists(money("-50", "50", 4), min_size=1, max_size=200),
    min_abs=money("0.01", "10", 4),
    min_rel=money("0.000001", "0.01", 8),
)
def test_stored_curve_stays_within_the_thresholds_of_the_true_equity(
    start: Decimal, steps: list[Decimal], min_abs: Decimal, min_rel: Decimal
) -> None:
    equities = [start]
    for step in steps:
        equities.append(equities[-1] + step)
    result = replay_snapshot_rule(equities, min_abs, min_rel)
    assert result.ticks == len(equities)
    assert 1 <= result.rows_written <= len(equities)
    assert result.violations == 0
    assert result.max_gap_abs < min_abs


def test_replay_counts_rows_and_largest_gap() -> None:
    # 10000 written; 10000.4 and 10000.9 skipped (gaps 0.4, 0.9); 10001.5 written; 10001.7 skipped.
    series = [D("10000"), D("10000.4"), D("10000.9"), D("10001.5"), D("10001.7")]
    result = replay_snapshot_rule(series, ABS, REL)
    assert (result.ticks, result.rows_written) == (5, 2)
    assert result.max_gap_abs == D("0.9") and result.max_gap_abs_tick == 2
    assert result.reduction_pct == D("60.00")
    assert result.violations == 0


# --- equity helpers ---


def test_linear_swap_equity_long_and_short() -> None:
    # long 84 contracts x ctVal 100 from 1.1893 to 1.2: uPnL = 0.0107 x 8400 = 89.88
    assert linear_swap_equity(D("10000"), D("84"), D("1.1893"), D("1.2"), D("100")) == D("10089.88")
    assert linear_swap_equity(D("10000"), D("-84"), D("1.1893"), D("1.2"), D("100")) == D("9910.12")
    assert linear_swap_equity(D("10000"), D("0"), D("1.1893"), D("5"), D("100")) == D("10000")


@given(
    cash=money("0", "1000000", 2),
    contracts=money("-1000", "1000", 1),
    entry=money("0.01", "100000", 4),
    move=money("-0.01", "0.01", 4),
    ct_val=st.sampled_from([D("0.01"), D("1"), D("100")]),
)
def test_equity_changes_by_contracts_times_ctval_times_price_move(
    cash: Decimal, contracts: Decimal, entry: Decimal, move: Decimal, ct_val: Decimal
) -> None:
    with localcontext() as ctx:
        ctx.prec = 100
        assert linear_swap_equity(cash, contracts, entry, entry + move, ct_val) - cash == contracts * ct_val * move


def test_pnl_against_initial() -> None:
    assert pnl_against_initial(D("10500"), D("10000")) == (D("500"), D("5.0000"))
    assert pnl_against_initial(D("9000"), D("10000")) == (D("-1000"), D("-10.0000"))
    assert pnl_against_initial(D("1"), D("3")) == (D("-2"), D("-66.6667"))
    assert pnl_against_initial(D("10"), None) == (None, None)
    assert pnl_against_initial(D("10"), D("0")) == (D("10"), None)


def test_pnl_percent_against_a_tiny_baseline_does_not_overflow():
    from api_server.account.snapshots import pnl_against_initial

    pnl, pct = pnl_against_initial(Decimal("1000000000000"), Decimal("1e-30"))
    assert pnl == Decimal("999999999999.999999999999999999999999999999")  # exact, not rounded to 28 digits
    assert pct > Decimal("1e40")
