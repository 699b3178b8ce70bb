"""The risk guard: pure functions every order path calls (manual orders, agent orders, closes).

Callers gather plain values (an `OrderIntent`, an `AccountView`, the `RiskLimits`, the clock) and
ask `check_order`; it answers a `RiskDecision` and never does I/O. A refusal becomes HTTP 422
with the decision's rule and numbers, and is recorded by the caller.

Rules, checked in this order (the first failing one is reported):

| rule id                  | refuses an opening order when                         | limit / actual (strings)        |
|--------------------------|-------------------------------------------------------|---------------------------------|
| `instrument_not_allowed` | instId not in OKX_INST_IDS                            | allowed ids (comma list) / instId |
| `max_leverage`           | leverage > RISK_MAX_LEVERAGE                          | leverage / leverage             |
| `stop_loss_required`     | RISK_REQUIRE_STOP_LOSS and an agent order has no SL   | "stop-loss" / "none"            |
| `daily_loss_limit`       | latch set, or day loss >= RISK_DAILY_LOSS_LIMIT_PCT   | max loss USDT / day loss USDT   |
|                          | of the day-start equity                               |                                 |
| `max_order_pct`          | order notional > RISK_MAX_ORDER_PCT % of equity       | max notional USDT / notional    |
| `max_exposure_pct`       | open notional + order notional >                      | max total USDT / total USDT     |
|                          | RISK_MAX_EXPOSURE_PCT % of equity                     |                                 |

Boundaries: a value exactly AT a maximum is allowed (leverage 10 of 10, notional exactly 25 %,
exposure exactly 100 %); the daily loss limit is "reached" at equality (loss exactly 5 % refuses),
as the issue states it ("once the day's loss >= limit").

Closing orders (`closing=True`: reduce-only orders and close-position) are ALWAYS allowed: a
position must stay closable even after a loss, with the exposure above a (lowered) limit, or when
its instrument was taken off OKX_INST_IDS. Only the approval mode still applies to them: in
`TRADE_APPROVAL_MODE=manual` every agent order, closes included, waits for a person (the user
asked to see every AI action).

All comparisons are exact (Decimal products widened to hold every digit; no float anywhere).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from api_server.trading.sizing import (
    exact_product,
    exact_sum,
    notional_for_contracts,
    plain_decimal,
    shift_decimal_point,
)
from shared.envfile import SettingsError, get_bool, get_decimal, get_inst_ids

Origin = Literal["manual", "agent", "exchange"]
ApprovalMode = Literal["auto", "manual"]

RULE_OK = "ok"
RULE_INSTRUMENT = "instrument_not_allowed"
RULE_LEVERAGE = "max_leverage"
RULE_STOP_LOSS = "stop_loss_required"
RULE_DAILY_LOSS = "daily_loss_limit"
RULE_ORDER_PCT = "max_order_pct"
RULE_EXPOSURE_PCT = "max_exposure_pct"
REFUSAL_RULES: tuple[str, ...] = (
    RULE_INSTRUMENT,
    RULE_LEVERAGE,
    RULE_STOP_LOSS,
    RULE_DAILY_LOSS,
    RULE_ORDER_PCT,
    RULE_EXPOSURE_PCT,
)

DEFAULT_MAX_LEVERAGE = Decimal("10")
DEFAULT_MAX_ORDER_PCT = Decimal("25")
# 100 % of equity in total open notional = at most 1x effective account leverage, whatever the
# per-position leverage: a cautious default for an automated trader; raise it deliberately.
DEFAULT_MAX_EXPOSURE_PCT = Decimal("100")
DEFAULT_DAILY_LOSS_LIMIT_PCT = Decimal("5")
OKX_MAX_LEVERAGE = Decimal("125")  # highest leverage OKX offers on any swap

HUNDRED = Decimal(100)


class InvalidRiskInput(ValueError):
    """An OrderIntent / AccountView / RiskLimits value is malformed; `field` names it.

    Callers validate request bodies first (400), so this signals a programming error upstream.
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def _check_decimal(field: str, value: object, *, positive: bool = False, non_negative: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidRiskInput(field, f"must be a finite Decimal, got {value!r}")
    if positive and value <= 0:
        raise InvalidRiskInput(field, f"must be > 0, got {value}")
    if non_negative and value < 0:
        raise InvalidRiskInput(field, f"must be >= 0, got {value}")


def _check_aware(field: str, value: datetime | None) -> None:
    if value is not None and (not isinstance(value, datetime) or value.utcoffset() is None):
        raise InvalidRiskInput(field, f"must be a timezone-aware datetime, got {value!r}")


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """One order as the guard sees it, whoever sends it.

    `sz` is in contracts; `price` is the price the notional is measured at (limit px, or the last
    price for a market order); `leverage` is the leverage the position will have (the requested
    one, or the account's current setting when the order does not change it).
    `closing` is True for reduce-only orders and close-position (see `order_reduces_position`).
    """

    inst_id: str
    side: Literal["buy", "sell"]
    pos_side: Literal["net", "long", "short"]
    sz: Decimal
    price: Decimal
    ct_val: Decimal
    leverage: Decimal
    closing: bool
    has_stop_loss: bool
    origin: Origin

    def __post_init__(self) -> None:
        if not isinstance(self.inst_id, str) or not self.inst_id:
            raise InvalidRiskInput("inst_id", f"must be a non-empty string, got {self.inst_id!r}")
        if self.side not in ("buy", "sell"):
            raise InvalidRiskInput("side", f"must be buy or sell, got {self.side!r}")
        if self.pos_side not in ("net", "long", "short"):
            raise InvalidRiskInput("pos_side", f"must be net, long or short, got {self.pos_side!r}")
        _check_decimal("sz", self.sz, positive=True)
        _check_decimal("price", self.price, positive=True)
        _check_decimal("ct_val", self.ct_val, positive=True)
        _check_decimal("leverage", self.leverage, positive=True)
        if self.origin not in ("manual", "agent", "exchange"):
            raise InvalidRiskInput("origin", f"must be manual, agent or exchange, got {self.origin!r}")

    @property
    def notional(self) -> Decimal:
        """USDT notional: sz x ctVal x price (linear swap), exact."""
        return notional_for_contracts(self.sz, self.price, self.ct_val)


@dataclass(frozen=True, slots=True)
class AccountView:
    """What the guard needs to know about the account right now.

    `open_exposure_by_inst`: absolute open notional in USDT per instrument (positions; add live
    opening orders if they should count). `day_start_equity`: the baseline the day's loss is
    measured from (equity at 00:00 UTC, or at the last manual reset; the current equity when
    nothing better is known). The day's loss = day_start_equity - equity, so it includes
    realized and unrealized PnL (and, by construction, any transfer made during the day).
    `daily_loss_latched`: the latch from `daily_loss_state(...).latched`.
    """

    equity: Decimal
    open_exposure_by_inst: Mapping[str, Decimal]
    day_start_equity: Decimal
    daily_loss_latched: bool

    def __post_init__(self) -> None:
        _check_decimal("equity", self.equity)
        _check_decimal("day_start_equity", self.day_start_equity)
        for inst_id, notional in self.open_exposure_by_inst.items():
            _check_decimal(f"open_exposure_by_inst[{inst_id}]", notional, non_negative=True)

    @property
    def open_exposure(self) -> Decimal:
        return exact_sum(*self.open_exposure_by_inst.values())


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """The configured limits (see `from_env` for the variables). Percentages are of equity."""

    allowed_inst_ids: frozenset[str]
    max_leverage: Decimal = DEFAULT_MAX_LEVERAGE
    max_order_pct: Decimal = DEFAULT_MAX_ORDER_PCT
    max_exposure_pct: Decimal = DEFAULT_MAX_EXPOSURE_PCT
    daily_loss_limit_pct: Decimal = DEFAULT_DAILY_LOSS_LIMIT_PCT
    require_stop_loss: bool = False
    approval_mode: ApprovalMode = "auto"

    def __post_init__(self) -> None:
        if not self.allowed_inst_ids:
            raise InvalidRiskInput("allowed_inst_ids", "at least one instrument is required")
        for name in ("max_leverage", "max_order_pct", "max_exposure_pct", "daily_loss_limit_pct"):
            _check_decimal(name, getattr(self, name), positive=True)
        if self.approval_mode not in ("auto", "manual"):
            raise InvalidRiskInput("approval_mode", f"must be auto or manual, got {self.approval_mode!r}")

    @classmethod
    def from_env(cls, env: dict[str, str]) -> RiskLimits:
        """Read the limits from an environment mapping (as `shared.envfile.load_environment` returns).

        Variables: OKX_INST_IDS (default BTC-USDT-SWAP), RISK_MAX_LEVERAGE (10, in (0, 125]),
        RISK_MAX_ORDER_PCT (25, in (0, 10000]), RISK_MAX_EXPOSURE_PCT (100, in (0, 100000]),
        RISK_DAILY_LOSS_LIMIT_PCT (5, in (0, 100]), RISK_REQUIRE_STOP_LOSS (false),
        TRADE_APPROVAL_MODE (auto | manual). A bad value raises SettingsError naming the variable.
        """
        mode = env.get("TRADE_APPROVAL_MODE", "auto").strip().lower()
        if mode not in ("auto", "manual"):
            raise SettingsError("TRADE_APPROVAL_MODE", f"expected auto or manual, got {env['TRADE_APPROVAL_MODE']!r}")
        return cls(
            allowed_inst_ids=frozenset(get_inst_ids(env)),
            max_leverage=_get_decimal(env, "RISK_MAX_LEVERAGE", DEFAULT_MAX_LEVERAGE, OKX_MAX_LEVERAGE),
            max_order_pct=_get_decimal(env, "RISK_MAX_ORDER_PCT", DEFAULT_MAX_ORDER_PCT, Decimal(10_000)),
            max_exposure_pct=_get_decimal(env, "RISK_MAX_EXPOSURE_PCT", DEFAULT_MAX_EXPOSURE_PCT, Decimal(100_000)),
            daily_loss_limit_pct=_get_decimal(env, "RISK_DAILY_LOSS_LIMIT_PCT", DEFAULT_DAILY_LOSS_LIMIT_PCT, HUNDRED),
            require_stop_loss=get_bool(env, "RISK_REQUIRE_STOP_LOSS", False),
            approval_mode=mode,  # type: ignore[arg-type]
        )


RISK_ENV_VARIABLES: tuple[str, ...] = (
    "OKX_INST_IDS",
    "RISK_MAX_LEVERAGE",
    "RISK_MAX_ORDER_PCT",
    "RISK_MAX_EXPOSURE_PCT",
    "RISK_DAILY_LOSS_LIMIT_PCT",
    "RISK_REQUIRE_STOP_LOSS",
    "TRADE_APPROVAL_MODE",
)


def _get_decimal(env: dict[str, str], name: str, default: Decimal, maximum: Decimal) -> Decimal:
    """A positive decimal in (0, maximum]."""
    value = get_decimal(env, name, default, maximum=maximum, positive=True)
    assert value is not None
    return value


@dataclass(frozen=True, slots=True)
class RiskDecision:
    """The guard's answer. A refusal always carries a rule id from REFUSAL_RULES, a message with
    the numbers, and `limit` / `actual` as strings (units per rule: see the module table)."""

    allowed: bool
    rule: str
    message: str
    limit: str | None = None
    actual: str | None = None
    needs_approval: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "allowed": self.allowed,
            "rule": self.rule,
            "message": self.message,
            "limit": self.limit,
            "actual": self.actual,
            "needsApproval": self.needs_approval,
        }


_fmt = plain_decimal


def _pct_text(part: Decimal, whole: Decimal) -> str:
    """part / whole in %, rounded UP to 4 decimals so a refused value never displays as the limit."""
    if whole <= 0:
        return "n/a"
    ten_thousandths = math.ceil(Fraction(part) * 100 * 10_000 / Fraction(whole))
    return _fmt(shift_decimal_point(Decimal(ten_thousandths), -4))


def _share_of(pct: Decimal, amount: Decimal) -> Decimal:
    """pct % of amount, exact (never below 0: no equity means no room)."""
    return max(shift_decimal_point(exact_product(pct, amount), -2), Decimal(0))


def _refuse(rule: str, message: str, limit: str, actual: str) -> RiskDecision:
    return RiskDecision(allowed=False, rule=rule, message=message, limit=limit, actual=actual)


def next_utc_midnight(now: datetime) -> datetime:
    return utc_day_start(now) + timedelta(days=1)


def utc_day_start(now: datetime) -> datetime:
    _check_aware("now", now)
    return datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)


def check_order(intent: OrderIntent, account: AccountView, limits: RiskLimits, now: datetime) -> RiskDecision:
    """Decide whether `intent` may be sent to OKX now. Pure: same inputs, same answer."""
    _check_aware("now", now)
    needs_approval = intent.origin == "agent" and limits.approval_mode == "manual"
    if intent.closing:
        return RiskDecision(
            allowed=True,
            rule=RULE_OK,
            needs_approval=needs_approval,
            message="closing / reduce-only order: always allowed" + (" (awaits approval)" if needs_approval else ""),
        )

    if intent.inst_id not in limits.allowed_inst_ids:
        allowed = ",".join(sorted(limits.allowed_inst_ids))
        return _refuse(
            RULE_INSTRUMENT,
            f"instrument {intent.inst_id} is not in the allowed list OKX_INST_IDS ({allowed})",
            allowed,
            intent.inst_id,
        )

    if intent.leverage > limits.max_leverage:
        return _refuse(
            RULE_LEVERAGE,
            f"leverage {_fmt(intent.leverage)}x exceeds the maximum {_fmt(limits.max_leverage)}x (RISK_MAX_LEVERAGE)",
            _fmt(limits.max_leverage),
            _fmt(intent.leverage),
        )

    if limits.require_stop_loss and intent.origin == "agent" and not intent.has_stop_loss:
        return _refuse(
            RULE_STOP_LOSS,
            "agent orders must carry a stop-loss (RISK_REQUIRE_STOP_LOSS=true); this order has none",
            "stop-loss",
            "none",
        )

    day_loss = exact_sum(account.day_start_equity, account.equity.copy_negate())
    max_day_loss = _share_of(limits.daily_loss_limit_pct, account.day_start_equity)
    loss_reached = account.day_start_equity > 0 and day_loss >= max_day_loss
    if account.daily_loss_latched or loss_reached:
        reopen = next_utc_midnight(now).strftime("%Y-%m-%d %H:%M UTC")
        why = "the daily loss latch is set" if account.daily_loss_latched else "the daily loss limit is reached"
        return _refuse(
            RULE_DAILY_LOSS,
            f"{why}: today's loss {_fmt(day_loss)} USDT ({_pct_text(day_loss, account.day_start_equity)}% of the "
            f"day-start equity {_fmt(account.day_start_equity)} USDT); limit {_fmt(limits.daily_loss_limit_pct)}% "
            f"({_fmt(max_day_loss)} USDT, RISK_DAILY_LOSS_LIMIT_PCT). New exposure is refused until {reopen} or a "
            "manual reset; closing orders are still allowed",
            _fmt(max_day_loss),
            _fmt(day_loss),
        )

    notional = intent.notional
    max_notional = _share_of(limits.max_order_pct, account.equity)
    if notional > max_notional:
        return _refuse(
            RULE_ORDER_PCT,
            f"order notional {_fmt(notional)} USDT ({_fmt(intent.sz)} contracts x ctVal {_fmt(intent.ct_val)} x price "
            f"{_fmt(intent.price)}) is {_pct_text(notional, account.equity)}% of equity {_fmt(account.equity)} USDT; "
            f"the maximum per order is {_fmt(limits.max_order_pct)}% ({_fmt(max_notional)} USDT, RISK_MAX_ORDER_PCT)",
            _fmt(max_notional),
            _fmt(notional),
        )

    open_exposure = account.open_exposure
    total = exact_sum(open_exposure, notional)
    max_total = _share_of(limits.max_exposure_pct, account.equity)
    if total > max_total:
        return _refuse(
            RULE_EXPOSURE_PCT,
            f"open exposure {_fmt(open_exposure)} USDT + this order {_fmt(notional)} USDT = {_fmt(total)} USDT is "
            f"{_pct_text(total, account.equity)}% of equity {_fmt(account.equity)} USDT; the maximum total exposure is "
            f"{_fmt(limits.max_exposure_pct)}% ({_fmt(max_total)} USDT, RISK_MAX_EXPOSURE_PCT)",
            _fmt(max_total),
            _fmt(total),
        )

    return RiskDecision(
        allowed=True,
        rule=RULE_OK,
        needs_approval=needs_approval,
        message="order within the risk limits"
        + (" (agent order awaits approval: TRADE_APPROVAL_MODE=manual)" if needs_approval else ""),
    )


def order_reduces_position(side: str, pos_side: str, sz: Decimal, position_contracts: Decimal) -> bool:
    """True when filling the order can only shrink the existing position (so it counts as closing).

    `position_contracts`: OKX `pos` for (instId, posSide): signed in net mode (negative = short),
    positive in long/short mode. A net-mode order larger than the position would flip it: not
    reducing.
    """
    _check_decimal("sz", sz, positive=True)
    _check_decimal("position_contracts", position_contracts)
    if pos_side == "long":
        return side == "sell" and 0 < sz <= position_contracts
    if pos_side == "short":
        return side == "buy" and 0 < sz <= position_contracts
    if pos_side == "net":
        if side == "sell":
            return position_contracts > 0 and sz <= position_contracts
        if side == "buy":
            return position_contracts < 0 and sz <= -position_contracts
        return False
    raise InvalidRiskInput("pos_side", f"must be net, long or short, got {pos_side!r}")


@dataclass(frozen=True, slots=True)
class DailyLossState:
    """The day's loss and the latch, for the UTC day containing `now`.

    `latched_at` is the time the latch was (or is now) set; store it. `newly_latched` tells the
    caller to persist and log the event. `reopens_at` is when new exposure is allowed again
    without a manual reset (next 00:00 UTC).
    """

    day: date
    day_start_equity: Decimal
    loss: Decimal
    max_loss: Decimal
    limit_pct: Decimal
    latched: bool
    latched_at: datetime | None
    newly_latched: bool
    reopens_at: datetime


def daily_loss_state(
    day_start_equity: Decimal,
    equity: Decimal,
    limit_pct: Decimal,
    latched_at: datetime | None,
    reset_at: datetime | None,
    now: datetime,
) -> DailyLossState:
    """Evaluate the daily-loss latch.

    - A latch set on an earlier UTC day has expired (the day rolled over at 00:00 UTC).
    - A manual reset after the latch was set clears it. The caller must then measure the loss
      from a new baseline (pass the equity at the reset as `day_start_equity` for the rest of
      the day), otherwise a loss still over the limit latches again at once.
    - Otherwise: loss = day_start_equity - equity; loss >= limit_pct % of day_start_equity sets
      the latch (now), and it stays set even if equity recovers, until the next UTC day or reset.
    - day_start_equity <= 0: no loss can be measured; only an existing latch counts.
    """
    _check_decimal("day_start_equity", day_start_equity)
    _check_decimal("equity", equity)
    _check_decimal("limit_pct", limit_pct, positive=True)
    _check_aware("latched_at", latched_at)
    _check_aware("reset_at", reset_at)
    _check_aware("now", now)
    day_start = utc_day_start(now)
    still_latched = latched_at is not None and latched_at >= day_start and (reset_at is None or reset_at < latched_at)
    loss = exact_sum(day_start_equity, equity.copy_negate())
    max_loss = _share_of(limit_pct, day_start_equity)
    newly = not still_latched and day_start_equity > 0 and loss >= max_loss
    return DailyLossState(
        day=day_start.date(),
        day_start_equity=day_start_equity,
        loss=loss,
        max_loss=max_loss,
        limit_pct=limit_pct,
        latched=still_latched or newly,
        latched_at=latched_at if still_latched else (now if newly else None),
        newly_latched=newly,
        reopens_at=day_start + timedelta(days=1),
    )
