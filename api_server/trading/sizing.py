"""Order sizes for OKX SWAP contracts: USDT notional <-> contracts, lot and minimum checks.

OKX sizes derivatives in contracts: notional (linear, USDT-margined) = sz x ctVal x price, and a
size must be a multiple of `lotSz` and at least `minSz` (OKX_FACTS "lotSz / minSz / tickSz").

Everything is exact: values are `Decimal`, and the floor / remainder steps go through `Fraction`
so that a 28-digit rounding can never turn 2.999... lots into 3 (which would exceed the notional
the caller asked for).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation, localcontext
from fractions import Fraction

DecimalLike = Decimal | int | str


class SizingError(ValueError):
    """An order size cannot be produced or is invalid; `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class InvalidSizingInput(SizingError):
    """An input is not a finite number in its allowed range (e.g. price <= 0)."""


class BelowMinimumSize(SizingError):
    """The size (or the size a notional converts to) is below the instrument's `minSz`."""


class NotLotMultiple(SizingError):
    """The size is not a whole multiple of the instrument's `lotSz`."""


def to_decimal(field: str, value: DecimalLike) -> Decimal:
    """Accept Decimal, int or a numeric string; refuse floats (inexact) and bools."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        raise InvalidSizingInput(
            field, f"{field} must be a decimal number (Decimal, int or str), got {type(value).__name__}"
        )
    try:
        number = value if isinstance(value, Decimal) else Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise InvalidSizingInput(field, f"{field} must be a number, got {value!r}") from None
    if not number.is_finite():
        raise InvalidSizingInput(field, f"{field} must be a finite number, got {value!r}")
    return number


def plain_decimal(value: Decimal) -> str:
    """Plain notation for messages: no exponent, no trailing zeros (65.000 -> "65", 1E+3 -> "1000")."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def _positive(field: str, value: DecimalLike) -> Decimal:
    number = to_decimal(field, value)
    if number <= 0:
        raise InvalidSizingInput(field, f"{field} must be > 0, got {number}")
    return number


def exact_product(*factors: Decimal) -> Decimal:
    """The product with no rounding (the context is widened to hold every digit)."""
    digits = sum(len(f.as_tuple().digits) for f in factors) + 2
    with localcontext() as ctx:
        ctx.prec = max(digits, 28)
        result = Decimal(1)
        for factor in factors:
            result *= factor
    return result


def exact_sum(*terms: Decimal) -> Decimal:
    """The sum with no rounding (the context is widened to span every digit of every term)."""
    if not terms:
        return Decimal(0)
    high = max(t.adjusted() for t in terms)
    low = min(_exponent(t) for t in terms)
    with localcontext() as ctx:
        ctx.prec = max(high - low + 3, 28)
        total = Decimal(0)
        for term in terms:
            total += term
    return total


def _exponent(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int):  # 'n', 'N', 'F': NaN or infinity never reach sizing
        raise ValueError(f"not a finite decimal: {value}")
    return exponent


def shift_decimal_point(value: Decimal, places: int) -> Decimal:
    """value x 10**places, exact (scaleb would round to the context precision)."""
    sign, digits, _ = value.as_tuple()
    return Decimal((sign, digits, _exponent(value) + places))


def notional_for_contracts(sz: DecimalLike, price: DecimalLike, ct_val: DecimalLike) -> Decimal:
    """USDT notional of `sz` contracts of a linear swap at `price`: sz x ctVal x price, exact."""
    size = to_decimal("sz", sz)
    if size < 0:
        raise InvalidSizingInput("sz", f"sz must be >= 0, got {size}")
    return exact_product(size, _positive("ctVal", ct_val), _positive("price", price))


def validate_size(sz: DecimalLike, lot_sz: DecimalLike, min_sz: DecimalLike) -> Decimal:
    """Return `sz` when OKX would accept it (sz >= minSz and a multiple of lotSz), else raise."""
    size = _positive("sz", sz)
    lot = _positive("lotSz", lot_sz)
    minimum = _positive("minSz", min_sz)
    if size < minimum:
        raise BelowMinimumSize(
            "sz", f"sz {plain_decimal(size)} is below the instrument's minimum size minSz {plain_decimal(minimum)}"
        )
    if Fraction(size) % Fraction(lot) != 0:
        raise NotLotMultiple(
            "sz", f"sz {plain_decimal(size)} is not a multiple of the instrument's lot size lotSz {plain_decimal(lot)}"
        )
    return size


def contracts_for_notional(
    notional_usdt: DecimalLike, price: DecimalLike, ct_val: DecimalLike, lot_sz: DecimalLike, min_sz: DecimalLike
) -> Decimal:
    """Largest multiple of lotSz whose notional does not exceed `notional_usdt` (rounded DOWN).

    Raises `BelowMinimumSize` when that size is below minSz: the request is too small for the
    instrument, and rounding up would spend more than the caller asked for.
    """
    notional = _positive("notionalUsdt", notional_usdt)
    px = _positive("price", price)
    contract_value = _positive("ctVal", ct_val)
    lot = _positive("lotSz", lot_sz)
    minimum = _positive("minSz", min_sz)
    lots = Fraction(notional) // (Fraction(px) * Fraction(contract_value) * Fraction(lot))
    size = exact_product(Decimal(lots), lot)
    if size < minimum:
        one_min = notional_for_contracts(minimum, px, contract_value)
        raise BelowMinimumSize(
            "notionalUsdt",
            f"notionalUsdt {plain_decimal(notional)} buys {plain_decimal(size)} contracts at price {plain_decimal(px)} "
            f"(ctVal {plain_decimal(contract_value)}, lotSz {plain_decimal(lot)}), below the instrument's minimum size "
            f"minSz {plain_decimal(minimum)} (= {plain_decimal(one_min)} USDT)",
        )
    return size
