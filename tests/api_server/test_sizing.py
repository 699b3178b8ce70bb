"""Order sizing: USDT notional -> contracts (rounded down to lotSz, >= minSz) and size validation."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from api_server.trading.sizing import (
    BelowMinimumSize,
    InvalidSizingInput,
    NotLotMultiple,
    SizingError,
    contracts_for_notional,
    notional_for_contracts,
    validate_size,
)

D = Decimal


def decimals(min_value: str, max_value: str, places: int) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=D(min_value), max_value=D(max_value), places=places, allow_nan=False, allow_infinity=False
    )


prices = decimals("0.0001", "200000", 4)
ct_vals = st.sampled_from([D("0.01"), D("0.001"), D("0.1"), D("1"), D("10"), D("100")])
lot_sizes = st.sampled_from([D("0.01"), D("0.1"), D("1"), D("0.001")])
notionals = decimals("0.01", "10000000", 2)


# --- examples pinned to OKX's recorded BTC-USDT-SWAP spec (ctVal 0.01, lotSz 0.1, minSz 0.1) ---


def test_btc_swap_notional_rounds_down_to_the_lot() -> None:
    # 1000 USDT at 65000: 1000 / (65000 x 0.01) = 1.538... contracts -> 1.5
    assert contracts_for_notional(D("1000"), D("65000"), D("0.01"), D("0.1"), D("0.1")) == D("1.5")
    assert notional_for_contracts(D("1.5"), D("65000"), D("0.01")) == D("975")


def test_exact_multiple_is_not_rounded_away() -> None:
    # 650 USDT buys exactly 1 contract: floor must not lose it to rounding.
    assert contracts_for_notional(D("650"), D("65000"), D("0.01"), D("0.1"), D("0.1")) == D("1.0")
    # Thirds do not terminate in decimal: 1 / (3 x 1 x 0.1) = 3.333.. lots -> 3 lots.
    assert contracts_for_notional(D("1"), D("3"), D("1"), D("0.1"), D("0.1")) == D("0.3")


def test_notional_below_one_minimum_contract_is_refused_with_the_reason() -> None:
    with pytest.raises(BelowMinimumSize) as caught:
        contracts_for_notional(D("5"), D("65000"), D("0.01"), D("0.1"), D("0.1"))
    assert caught.value.field == "notionalUsdt"
    assert "minSz 0.1" in str(caught.value) and "65 USDT" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_min_size_larger_than_lot_is_enforced() -> None:
    # lotSz 1 but minSz 10: 9 contracts' worth is refused, 10 allowed.
    with pytest.raises(BelowMinimumSize):
        contracts_for_notional(D("9.99"), D("1"), D("1"), D("1"), D("10"))
    assert contracts_for_notional(D("10"), D("1"), D("1"), D("1"), D("10")) == D("10")


@pytest.mark.parametrize(
    ("field", "args"),
    [
        ("notionalUsdt", (D("0"), D("1"), D("1"), D("1"), D("1"))),
        ("notionalUsdt", (D("-5"), D("1"), D("1"), D("1"), D("1"))),
        ("price", (D("10"), D("0"), D("1"), D("1"), D("1"))),
        ("ctVal", (D("10"), D("1"), D("-1"), D("1"), D("1"))),
        ("lotSz", (D("10"), D("1"), D("1"), D("0"), D("1"))),
        ("minSz", (D("10"), D("1"), D("1"), D("1"), D("NaN"))),
        ("price", (D("10"), D("Infinity"), D("1"), D("1"), D("1"))),
        ("price", (D("10"), 1.5, D("1"), D("1"), D("1"))),
        ("notionalUsdt", ("ten", D("1"), D("1"), D("1"), D("1"))),
    ],
)
def test_bad_inputs_name_the_field(field: str, args: tuple) -> None:
    with pytest.raises(InvalidSizingInput) as caught:
        contracts_for_notional(*args)
    assert caught.value.field == field
    assert field in str(caught.value)


def test_strings_and_ints_are_accepted_exactly() -> None:
    assert contracts_for_notional("1000", 65000, "0.01", "0.1", "0.1") == D("1.5")
    assert notional_for_contracts("3", "0.5", 100) == D("150.0")


def test_validate_size() -> None:
    assert validate_size(D("1.5"), D("0.1"), D("0.1")) == D("1.5")
    with pytest.raises(NotLotMultiple) as not_multiple:
        validate_size(D("1.55"), D("0.1"), D("0.1"))
    assert "lotSz 0.1" in str(not_multiple.value)
    with pytest.raises(BelowMinimumSize) as too_small:
        validate_size(D("0.05"), D("0.01"), D("0.1"))
    assert "minSz 0.1" in str(too_small.value)
    with pytest.raises(InvalidSizingInput):
        validate_size(D("0"), D("0.1"), D("0.1"))
    with pytest.raises(SizingError):
        validate_size(D("-1"), D("0.1"), D("0.1"))


def test_notional_for_zero_contracts_is_zero_and_negative_is_refused() -> None:
    assert notional_for_contracts(D("0"), D("100"), D("1")) == 0
    with pytest.raises(InvalidSizingInput):
        notional_for_contracts(D("-1"), D("100"), D("1"))


# --- properties ---


@given(notional=notionals, price=prices, ct_val=ct_vals, lot=lot_sizes, min_lots=st.integers(1, 5))
def test_result_is_a_lot_multiple_at_least_min_and_never_over_the_request(
    notional: Decimal, price: Decimal, ct_val: Decimal, lot: Decimal, min_lots: int
) -> None:
    assume(price > 0 and notional > 0)
    min_sz = lot * min_lots
    try:
        sz = contracts_for_notional(notional, price, ct_val, lot, min_sz)
    except BelowMinimumSize:
        # Refused only when even minSz would cost more than the request.
        assert notional_for_contracts(min_sz, price, ct_val) > notional
        return
    assert Fraction(sz) % Fraction(lot) == 0
    assert sz >= min_sz
    assert notional_for_contracts(sz, price, ct_val) <= notional
    # Maximal: one more lot would exceed the request.
    assert notional_for_contracts(sz + lot, price, ct_val) > notional
    assert validate_size(sz, lot, min_sz) == sz


@given(price=prices, ct_val=ct_vals, lot=lot_sizes, lots=st.integers(1, 100_000))
def test_round_trip_of_an_exact_size(price: Decimal, ct_val: Decimal, lot: Decimal, lots: int) -> None:
    assume(price > 0)
    sz = lot * lots
    notional = notional_for_contracts(sz, price, ct_val)
    assert contracts_for_notional(notional, price, ct_val, lot, lot) == sz


@given(a=notionals, b=notionals, price=prices, ct_val=ct_vals, lot=lot_sizes)
def test_more_notional_never_buys_fewer_contracts(
    a: Decimal, b: Decimal, price: Decimal, ct_val: Decimal, lot: Decimal
) -> None:
    assume(price > 0)
    low, high = sorted((a, b))
    try:
        small = contracts_for_notional(low, price, ct_val, lot, lot)
    except BelowMinimumSize:
        return
    assert contracts_for_notional(high, price, ct_val, lot, lot) >= small
