"""The risk guard: each rule refusing and allowing exactly at its boundary, the daily-loss latch,
the approval flag, the settings, and properties (closing orders always pass; refusals name a rule
and numbers; a smaller order is never refused where a larger one passes)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api_server.trading.risk import (
    REFUSAL_RULES,
    RISK_ENV_VARIABLES,
    AccountView,
    InvalidRiskInput,
    OrderIntent,
    RiskLimits,
    check_order,
    daily_loss_state,
    order_reduces_position,
)
from shared.envfile import SettingsError

D = Decimal
UTC = UTC
NOW = datetime(2024, 3, 5, 15, 30, tzinfo=UTC)
BTC = "BTC-USDT-SWAP"
ETH = "ETH-USDT-SWAP"


def make_intent(**changes: object) -> OrderIntent:
    # 25 contracts x ctVal 1 x 100 = 2500 USDT notional: exactly 25 % of the default equity.
    base = OrderIntent(
        inst_id=BTC,
        side="buy",
        pos_side="net",
        sz=D("25"),
        price=D("100"),
        ct_val=D("1"),
        leverage=D("10"),
        closing=False,
        has_stop_loss=False,
        origin="manual",
    )
    return replace(base, **changes)


def make_account(**changes: object) -> AccountView:
    base = AccountView(
        equity=D("10000"), open_exposure_by_inst={}, day_start_equity=D("10000"), daily_loss_latched=False
    )
    return replace(base, **changes)


def make_limits(**changes: object) -> RiskLimits:
    return replace(RiskLimits(allowed_inst_ids=frozenset({BTC, ETH})), **changes)


def check(intent: OrderIntent | None = None, account: AccountView | None = None, limits: RiskLimits | None = None):
    return check_order(intent or make_intent(), account or make_account(), limits or make_limits(), NOW)


def assert_refused(decision, rule: str, limit: str, actual: str) -> None:
    assert not decision.allowed
    assert decision.rule == rule
    assert (decision.limit, decision.actual) == (limit, actual)
    assert limit in decision.message and actual in decision.message
    assert not decision.needs_approval


# --- each rule at its boundary ---


def test_instrument_allow_list() -> None:
    assert check(make_intent(inst_id=ETH)).allowed
    decision = check(make_intent(inst_id="DOGE-USDT-SWAP"))
    assert_refused(decision, "instrument_not_allowed", f"{BTC},{ETH}", "DOGE-USDT-SWAP")


def test_max_leverage_boundary() -> None:
    assert check(make_intent(leverage=D("10"))).allowed
    assert_refused(check(make_intent(leverage=D("11"))), "max_leverage", "10", "11")
    assert_refused(check(make_intent(leverage=D("10.01"))), "max_leverage", "10", "10.01")


def test_max_order_pct_boundary() -> None:
    # 2500 USDT of 10000 equity is exactly 25 %: allowed; one more lot is refused.
    assert check(make_intent(sz=D("25"))).allowed
    decision = check(make_intent(sz=D("25.01")))
    assert_refused(decision, "max_order_pct", "2500", "2501")
    assert "25.01%" in decision.message


def test_max_order_pct_with_the_recorded_btc_swap_spec() -> None:
    # ctVal 0.01 BTC at 50000: one contract = 500 USDT; 5 contracts = 2500 = 25 % of 10000.
    btc = dict(price=D("50000"), ct_val=D("0.01"))
    assert check(make_intent(sz=D("5"), **btc)).allowed
    assert_refused(check(make_intent(sz=D("5.1"), **btc)), "max_order_pct", "2500", "2550")


def test_max_exposure_pct_boundary_sums_every_instrument() -> None:
    limits = make_limits(max_order_pct=D("100"))
    open_positions = {BTC: D("5000"), ETH: D("2500")}
    account = make_account(open_exposure_by_inst=open_positions)
    # 7500 open + 2500 order = 10000 = 100 % of equity: allowed.
    assert check(make_intent(sz=D("25")), account, limits).allowed
    decision = check(make_intent(sz=D("25.001")), account, limits)
    assert_refused(decision, "max_exposure_pct", "10000", "10000.1")
    assert "7500" in decision.message


def test_daily_loss_limit_boundary() -> None:
    # Loss exactly 5 % of the day-start equity reaches the limit: refused; a cent less: allowed.
    assert_refused(check(account=make_account(equity=D("9500"))), "daily_loss_limit", "500", "500")
    # 2500 is 26.3 % of 9500.01 equity: use a smaller order so only the loss rule is in play.
    assert check(make_intent(sz=D("1")), make_account(equity=D("9500.01"))).allowed


def test_daily_loss_latch_refuses_even_after_recovery_but_closing_passes() -> None:
    latched = make_account(equity=D("10100"), daily_loss_latched=True)
    decision = check(account=latched)
    assert_refused(decision, "daily_loss_limit", "500", "-100")
    assert "2024-03-06 00:00 UTC" in decision.message
    assert check(make_intent(closing=True, side="sell"), latched).allowed


def test_stop_loss_requirement_applies_to_agent_orders_only() -> None:
    required = make_limits(require_stop_loss=True)
    assert_refused(check(make_intent(origin="agent"), limits=required), "stop_loss_required", "stop-loss", "none")
    assert check(make_intent(origin="agent", has_stop_loss=True), limits=required).allowed
    assert check(make_intent(origin="manual"), limits=required).allowed
    assert check(make_intent(origin="agent"), limits=make_limits(require_stop_loss=False)).allowed


def test_approval_mode_flags_agent_orders_only() -> None:
    manual = make_limits(approval_mode="manual")
    agent = check(make_intent(origin="agent"), limits=manual)
    assert agent.allowed and agent.needs_approval
    assert not check(make_intent(origin="manual"), limits=manual).needs_approval
    assert not check(make_intent(origin="agent")).needs_approval  # auto mode
    # A refusal never waits for approval; an agent close still does in manual mode.
    assert not check(make_intent(origin="agent", leverage=D("20")), limits=manual).needs_approval
    assert check(make_intent(origin="agent", closing=True), limits=manual).needs_approval


def test_no_equity_means_no_new_exposure() -> None:
    decision = check(make_intent(sz=D("1")), make_account(equity=D("0"), day_start_equity=D("0")))
    assert_refused(decision, "max_order_pct", "0", "100")


def test_rules_are_checked_in_the_documented_order() -> None:
    everything_wrong = make_intent(inst_id="XRP-USDT-SWAP", leverage=D("50"), sz=D("1000"), origin="agent")
    limits = make_limits(require_stop_loss=True)
    account = make_account(equity=D("9000"), open_exposure_by_inst={BTC: D("50000")})
    assert check(everything_wrong, account, limits).rule == "instrument_not_allowed"
    assert check(replace(everything_wrong, inst_id=BTC), account, limits).rule == "max_leverage"
    assert check(replace(everything_wrong, inst_id=BTC, leverage=D("5")), account, limits).rule == "stop_loss_required"
    step = replace(everything_wrong, inst_id=BTC, leverage=D("5"), has_stop_loss=True)
    assert check(step, account, limits).rule == "daily_loss_limit"
    account = replace(account, day_start_equity=D("9000"))
    assert check(step, account, limits).rule == "max_order_pct"
    assert check(replace(step, sz=D("1")), account, limits).rule == "max_exposure_pct"


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("sz", {"sz": D("0")}),
        ("price", {"price": D("-1")}),
        ("ct_val", {"ct_val": D("NaN")}),
        ("leverage", {"leverage": D("0")}),
        ("side", {"side": "hold"}),
        ("pos_side", {"pos_side": "both"}),
        ("origin", {"origin": "robot"}),
        ("inst_id", {"inst_id": ""}),
        ("sz", {"sz": 1.5}),
    ],
)
def test_malformed_intent_names_the_field(field: str, changes: dict) -> None:
    with pytest.raises(InvalidRiskInput) as caught:
        make_intent(**changes)
    assert caught.value.field == field


def test_naive_clock_is_refused() -> None:
    with pytest.raises(InvalidRiskInput):
        check_order(make_intent(), make_account(), make_limits(), datetime(2024, 1, 1))


def test_negative_exposure_is_refused() -> None:
    with pytest.raises(InvalidRiskInput):
        make_account(open_exposure_by_inst={BTC: D("-1")})


def test_decision_as_dict_carries_the_rule_and_numbers() -> None:
    body = check(make_intent(leverage=D("11"))).as_dict()
    assert body == {
        "allowed": False,
        "rule": "max_leverage",
        "message": body["message"],
        "limit": "10",
        "actual": "11",
        "needsApproval": False,
    }


# --- closing detection ---


@pytest.mark.parametrize(
    ("side", "pos_side", "sz", "position", "expected"),
    [
        ("sell", "net", "1", "2", True),
        ("sell", "net", "2", "2", True),
        ("sell", "net", "3", "2", False),  # would flip to short
        ("buy", "net", "1", "2", False),  # adds to the long
        ("buy", "net", "2", "-2", True),
        ("sell", "net", "1", "-2", False),
        ("sell", "net", "1", "0", False),
        ("sell", "long", "1", "2", True),
        ("buy", "long", "1", "2", False),
        ("buy", "short", "2", "2", True),
        ("buy", "short", "3", "2", False),
    ],
)
def test_order_reduces_position(side: str, pos_side: str, sz: str, position: str, expected: bool) -> None:
    assert order_reduces_position(side, pos_side, D(sz), D(position)) is expected


# --- daily-loss latch ---


def test_latch_sets_at_the_limit_and_not_before() -> None:
    below = daily_loss_state(D("10000"), D("9500.01"), D("5"), None, None, NOW)
    assert not below.latched and below.latched_at is None and below.loss == D("499.99")
    at = daily_loss_state(D("10000"), D("9500"), D("5"), None, None, NOW)
    assert at.latched and at.newly_latched and at.latched_at == NOW
    assert at.max_loss == D("500") and at.reopens_at == datetime(2024, 3, 6, tzinfo=UTC)


def test_latch_holds_for_the_rest_of_the_utc_day_even_after_recovery() -> None:
    latched_at = NOW - timedelta(hours=3)
    state = daily_loss_state(D("10000"), D("10200"), D("5"), latched_at, None, NOW)
    assert state.latched and not state.newly_latched and state.latched_at == latched_at


def test_latch_expires_at_utc_midnight() -> None:
    latched_at = datetime(2024, 3, 4, 23, 59, 59, tzinfo=UTC)
    just_before = daily_loss_state(
        D("10000"), D("10000"), D("5"), latched_at, None, datetime(2024, 3, 4, 23, 59, 59, 999999, tzinfo=UTC)
    )
    assert just_before.latched
    midnight = daily_loss_state(D("10000"), D("10000"), D("5"), latched_at, None, datetime(2024, 3, 5, tzinfo=UTC))
    assert not midnight.latched and midnight.day.isoformat() == "2024-03-05"


def test_utc_day_is_used_whatever_the_clock_zone() -> None:
    # 07:30 on the 6th in UTC+8 is still the 5th in UTC: a latch from the 5th (UTC) holds.
    shanghai = timezone(timedelta(hours=8))
    state = daily_loss_state(
        D("10000"),
        D("10000"),
        D("5"),
        datetime(2024, 3, 5, 1, tzinfo=UTC),
        None,
        datetime(2024, 3, 6, 7, 30, tzinfo=shanghai),
    )
    assert state.latched


def test_manual_reset_clears_the_latch_and_an_older_reset_does_not() -> None:
    latched_at = NOW - timedelta(hours=2)
    after = daily_loss_state(D("9400"), D("9400"), D("5"), latched_at, latched_at + timedelta(minutes=5), NOW)
    assert not after.latched and after.latched_at is None
    before = daily_loss_state(D("9400"), D("9400"), D("5"), latched_at, latched_at - timedelta(minutes=5), NOW)
    assert before.latched


def test_reset_without_a_new_baseline_latches_again() -> None:
    latched_at = NOW - timedelta(hours=2)
    state = daily_loss_state(D("10000"), D("9000"), D("5"), latched_at, NOW - timedelta(hours=1), NOW)
    assert state.latched and state.newly_latched and state.latched_at == NOW


def test_no_positive_baseline_never_latches() -> None:
    assert not daily_loss_state(D("0"), D("-50"), D("5"), None, None, NOW).latched


# --- settings ---


def test_limits_from_env_defaults() -> None:
    limits = RiskLimits.from_env({})
    assert limits == RiskLimits(
        allowed_inst_ids=frozenset({BTC}),
        max_leverage=D("10"),
        max_order_pct=D("25"),
        max_exposure_pct=D("100"),
        daily_loss_limit_pct=D("5"),
        require_stop_loss=False,
        approval_mode="auto",
    )


def test_limits_from_env_values() -> None:
    env = {
        "OKX_INST_IDS": "btc-usdt-swap, ETH-USDT-SWAP",
        "RISK_MAX_LEVERAGE": "3",
        "RISK_MAX_ORDER_PCT": "12.5",
        "RISK_MAX_EXPOSURE_PCT": "250",
        "RISK_DAILY_LOSS_LIMIT_PCT": "2.5",
        "RISK_REQUIRE_STOP_LOSS": "true",
        "TRADE_APPROVAL_MODE": "Manual",
    }
    assert set(env) == set(RISK_ENV_VARIABLES)
    limits = RiskLimits.from_env(env)
    assert limits.allowed_inst_ids == frozenset({BTC, ETH})
    assert (limits.max_leverage, limits.max_order_pct, limits.max_exposure_pct, limits.daily_loss_limit_pct) == (
        D("3"),
        D("12.5"),
        D("250"),
        D("2.5"),
    )
    assert limits.require_stop_loss and limits.approval_mode == "manual"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RISK_MAX_LEVERAGE", "ten"),
        ("RISK_MAX_LEVERAGE", "0"),
        ("RISK_MAX_LEVERAGE", "126"),
        ("RISK_MAX_ORDER_PCT", "-1"),
        ("RISK_MAX_ORDER_PCT", "Infinity"),
        ("RISK_MAX_EXPOSURE_PCT", "abc"),
        ("RISK_DAILY_LOSS_LIMIT_PCT", "101"),
        ("RISK_DAILY_LOSS_LIMIT_PCT", "0"),
        ("RISK_REQUIRE_STOP_LOSS", "maybe"),
        ("TRADE_APPROVAL_MODE", "sometimes"),
        ("OKX_INST_IDS", "btc usdt"),
        ("OKX_INST_IDS", " , "),
    ],
)
def test_bad_setting_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        RiskLimits.from_env({variable: value})
    assert caught.value.variable == variable
    assert variable in str(caught.value)


# --- properties ---

amounts = st.decimals(min_value=D("0"), max_value=D("10000000"), places=4, allow_nan=False, allow_infinity=False)
positive = st.decimals(min_value=D("0.0001"), max_value=D("1000000"), places=4, allow_nan=False, allow_infinity=False)
signed = st.decimals(min_value=D("-10000000"), max_value=D("10000000"), places=4, allow_nan=False, allow_infinity=False)
pcts = st.decimals(min_value=D("0.01"), max_value=D("500"), places=2, allow_nan=False, allow_infinity=False)

intents = st.builds(
    OrderIntent,
    inst_id=st.sampled_from([BTC, ETH, "DOGE-USDT-SWAP"]),
    side=st.sampled_from(["buy", "sell"]),
    pos_side=st.sampled_from(["net", "long", "short"]),
    sz=positive,
    price=positive,
    ct_val=st.sampled_from([D("0.01"), D("0.1"), D("1"), D("100")]),
    leverage=st.decimals(min_value=D("0.01"), max_value=D("125"), places=2),
    closing=st.booleans(),
    has_stop_loss=st.booleans(),
    origin=st.sampled_from(["manual", "agent", "exchange"]),
)
accounts = st.builds(
    AccountView,
    equity=signed,
    open_exposure_by_inst=st.dictionaries(st.sampled_from([BTC, ETH]), amounts, max_size=2),
    day_start_equity=signed,
    daily_loss_latched=st.booleans(),
)
limit_sets = st.builds(
    RiskLimits,
    allowed_inst_ids=st.just(frozenset({BTC, ETH})),
    max_leverage=st.decimals(min_value=D("1"), max_value=D("125"), places=0),
    max_order_pct=pcts,
    max_exposure_pct=pcts,
    daily_loss_limit_pct=st.decimals(min_value=D("0.01"), max_value=D("100"), places=2),
    require_stop_loss=st.booleans(),
    approval_mode=st.sampled_from(["auto", "manual"]),
)


@given(intent=intents, account=accounts, limits=limit_sets)
def test_closing_orders_are_never_refused(intent: OrderIntent, account: AccountView, limits: RiskLimits) -> None:
    decision = check_order(replace(intent, closing=True), account, limits, NOW)
    assert decision.allowed
    assert decision.needs_approval == (intent.origin == "agent" and limits.approval_mode == "manual")


@given(intent=intents, account=accounts, limits=limit_sets)
def test_a_refusal_always_names_a_rule_and_its_numbers(
    intent: OrderIntent, account: AccountView, limits: RiskLimits
) -> None:
    decision = check_order(intent, account, limits, NOW)
    if decision.allowed:
        assert decision.rule == "ok"
        return
    assert decision.rule in REFUSAL_RULES
    assert decision.limit and decision.actual
    assert decision.limit in decision.message and decision.actual in decision.message
    assert not decision.needs_approval


@given(
    intent=intents,
    account=accounts,
    limits=limit_sets,
    fraction=st.decimals(min_value=D("0.01"), max_value=D("1"), places=2),
)
def test_a_smaller_order_passes_wherever_a_larger_one_does(
    intent: OrderIntent, account: AccountView, limits: RiskLimits, fraction: Decimal
) -> None:
    if check_order(intent, account, limits, NOW).allowed:
        smaller = replace(intent, sz=(intent.sz * fraction).quantize(D("0.000001")) or D("0.000001"))
        assert check_order(smaller, account, limits, NOW).allowed


@given(sz=positive, price=positive, equity=signed, pct=pcts)
def test_order_pct_rule_is_exact(sz: Decimal, price: Decimal, equity: Decimal, pct: Decimal) -> None:
    limits = make_limits(max_order_pct=pct, max_exposure_pct=D("100000"))
    account = make_account(equity=equity, day_start_equity=equity)
    decision = check_order(make_intent(sz=sz, price=price), account, limits, NOW)
    with localcontext() as ctx:
        ctx.prec = 200
        within = sz * price * 100 <= pct * equity
    assert decision.allowed == within
    assert decision.rule == ("ok" if within else "max_order_pct")


@given(
    day_start=positive,
    equity=signed,
    pct=st.decimals(min_value=D("0.01"), max_value=D("100"), places=2),
    hours_ago=st.integers(0, 15),
)
def test_a_latch_set_today_holds_whatever_the_equity(
    day_start: Decimal, equity: Decimal, pct: Decimal, hours_ago: int
) -> None:
    state = daily_loss_state(day_start, equity, pct, NOW - timedelta(hours=hours_ago), None, NOW)
    assert state.latched and not state.newly_latched


@given(day_start=positive, equity=signed, pct=st.decimals(min_value=D("0.01"), max_value=D("100"), places=2))
def test_latch_is_set_exactly_when_the_loss_reaches_the_limit(
    day_start: Decimal, equity: Decimal, pct: Decimal
) -> None:
    state = daily_loss_state(day_start, equity, pct, None, None, NOW)
    with localcontext() as ctx:
        ctx.prec = 200
        reached = (day_start - equity) * 100 >= pct * day_start
    assert state.latched == reached == state.newly_latched
