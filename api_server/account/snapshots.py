"""Balance snapshots (the equity curve): the pure write rule and small equity helpers.

The user's rule (seed doc, "initial equity and snapshot compression"): a reading is skipped ONLY
when BOTH the absolute change < `BALANCE_SNAPSHOT_MIN_ABS_CHANGE` AND the relative change <
`BALANCE_SNAPSHOT_MIN_RELATIVE_CHANGE`, compared with the last STORED snapshot; reaching either
threshold means a write, so a large move is never lost. The first reading is always written.

Consequence used by the benchmark: between two stored rows, every true reading differs from the
stored value by less than min_abs AND by less than min_rel relatively, so the stored step curve
never strays further than the tighter of the two thresholds.

The loop that reads balances and writes rows lives elsewhere; this module only decides.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from fractions import Fraction

DEFAULT_MIN_ABS_CHANGE = Decimal("1")  # USDT
DEFAULT_MIN_RELATIVE_CHANGE = Decimal("0.0001")  # 0.01 %


def _finite(name: str, value: Decimal) -> Fraction:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"{name} must be a finite Decimal, got {value!r}")
    return Fraction(value)


def should_write_snapshot(
    previous_equity: Decimal | None, current_equity: Decimal, min_abs: Decimal, min_rel: Decimal
) -> bool:
    """True when `current_equity` must be stored, given the last stored value `previous_equity`.

    - no previous snapshot (None) -> write;
    - |delta| >= min_abs -> write (equality writes);
    - |delta| / |previous| >= min_rel -> write (equality writes);
    - otherwise (both below) -> skip.
    previous == 0: the relative change is taken as infinite for any delta != 0 (write) and as 0
    when delta == 0 (skip, unless min_abs is 0).
    min_abs == 0 (or min_rel == 0 with previous != 0) therefore means "write every reading".

    The comparisons are exact (Fraction), so no Decimal context rounding can move a boundary.
    Raises ValueError for non-finite inputs or negative thresholds.
    """
    current = _finite("current_equity", current_equity)
    abs_threshold = _finite("min_abs", min_abs)
    rel_threshold = _finite("min_rel", min_rel)
    if abs_threshold < 0:
        raise ValueError(f"min_abs must be >= 0, got {min_abs}")
    if rel_threshold < 0:
        raise ValueError(f"min_rel must be >= 0, got {min_rel}")
    if previous_equity is None:
        return True
    previous = _finite("previous_equity", previous_equity)
    change = abs(current - previous)
    if change >= abs_threshold:
        return True
    if previous == 0:
        return change != 0
    # |delta| / |previous| >= min_rel, multiplied out to stay exact.
    return change >= rel_threshold * abs(previous)


def linear_swap_equity(
    cash_usdt: Decimal, contracts: Decimal, entry_price: Decimal, mark_price: Decimal, ct_val: Decimal
) -> Decimal:
    """Account equity with one linear (USDT-margined) swap position: cash + unrealized PnL.

    `contracts` is signed (negative = short), as OKX reports `pos` in net mode; uPnL =
    (mark - entry) x contracts x ctVal (OKX_FACTS positions). Fees and funding are not modelled.
    """
    for name, value in (
        ("cash_usdt", cash_usdt),
        ("contracts", contracts),
        ("entry_price", entry_price),
        ("mark_price", mark_price),
        ("ct_val", ct_val),
    ):
        _finite(name, value)
    upl = (Fraction(mark_price) - Fraction(entry_price)) * Fraction(contracts) * Fraction(ct_val)
    return _fraction_to_decimal(Fraction(cash_usdt) + upl)


def pnl_against_initial(equity: Decimal, initial_equity: Decimal | None) -> tuple[Decimal | None, Decimal | None]:
    """(PnL in USDT, PnL in % of the initial equity); None parts when there is no usable baseline.

    The percentage is rounded to 4 decimal places (display value); the USDT amount is exact.
    """
    _finite("equity", equity)
    if initial_equity is None:
        return None, None
    _finite("initial_equity", initial_equity)
    pnl = _fraction_to_decimal(Fraction(equity) - Fraction(initial_equity))
    if initial_equity <= 0:
        return pnl, None
    pct = _round_fraction(Fraction(pnl) * 100 / Fraction(initial_equity), Decimal("0.0001"))
    return pnl, pct


def _round_fraction(value: Fraction, quantum: Decimal) -> Decimal:
    """Round a Fraction half-even to `quantum` (a power of ten such as 0.0001)."""
    scale = Fraction(quantum)
    steps = round(value / scale)  # Fraction.__round__ is exact, half-even
    with localcontext() as ctx:
        # Enough digits for any ratio of two amounts the API accepts: quantize must not overflow the context.
        ctx.prec = max(28, len(str(abs(steps))) + 8)
        return (Decimal(steps) * quantum).quantize(quantum)


def _fraction_to_decimal(value: Fraction) -> Decimal:
    """Exact conversion of a Fraction whose denominator is a product of 2s and 5s (any sum or
    product of Decimals)."""
    numerator, denominator = value.numerator, value.denominator
    exponent = 0
    while denominator % 10 == 0:
        denominator //= 10
        exponent += 1
    while denominator % 2 == 0:
        denominator //= 2
        numerator *= 5
        exponent += 1
    while denominator % 5 == 0:
        denominator //= 5
        numerator *= 2
        exponent += 1
    if denominator != 1:
        raise ValueError("not a terminating decimal")
    # Built from a string: the Decimal constructor never rounds.
    return Decimal(f"{numerator}E-{exponent}") if exponent else Decimal(numerator)
