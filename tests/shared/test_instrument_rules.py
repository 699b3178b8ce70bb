"""Exchange rules before OKX: pure rules, property-tested."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from shared.instrument_rules import (
    InstrumentRules,
    RuleViolation,
    check_leverage,
    check_reduce_only,
    check_size,
    check_tradable,
    closing_orders_pending,
    limit_price,
    round_to_tick,
    trigger_price,
)
from tests.helpers import FIXTURES

TICKS = st.sampled_from(
    [Decimal("0.1"), Decimal("0.01"), Decimal("0.5"), Decimal("1"), Decimal("0.0001"), Decimal("5")]
)
PRICES = st.decimals(
    min_value=Decimal("0.0001"), max_value=Decimal("1000000"), places=6, allow_nan=False, allow_infinity=False
)
RECORDED = InstrumentRules.from_okx(
    json.loads((FIXTURES / "rest_public_instruments.swap_item.recorded.json").read_text())
)


def rules(tick=Decimal("0.1"), lot=Decimal("0.1"), minimum=Decimal("0.1"), **kw) -> InstrumentRules:
    return InstrumentRules("BTC-USDT-SWAP", tick, lot, minimum, **kw)


def on_tick(value: Decimal, tick: Decimal) -> bool:
    return Fraction(value) % Fraction(tick) == 0


def test_the_recorded_btc_swap_row_gives_its_rules():
    assert (RECORDED.tick_sz, RECORDED.lot_sz, RECORDED.min_sz) == (Decimal("0.1"), Decimal("0.1"), Decimal("0.1"))
    assert (RECORDED.max_mkt_sz, RECORDED.max_lmt_sz, RECORDED.max_lever) == (
        Decimal("12000"),
        Decimal("100000000"),
        Decimal("100"),
    )
    assert RECORDED.state == "live" and RECORDED.ct_type == "linear"


@given(PRICES, TICKS, st.sampled_from(["down", "up"]))
def test_rounding_lands_on_the_tick_within_one_step_in_its_direction(value, tick, direction):
    rounded = round_to_tick(value, tick, direction)
    assert on_tick(rounded, tick)
    assert abs(rounded - value) < tick
    assert (rounded <= value) if direction == "down" else (rounded >= value)
    assert round_to_tick(rounded, tick, direction) == rounded  # idempotent: on-tick prices pass unchanged


@given(PRICES, TICKS)
def test_a_buy_never_pays_more_and_a_sell_never_receives_less(px, tick):
    assume(px >= tick)
    r = rules(tick=tick)
    assert limit_price(px, "buy", r) <= px
    assert limit_price(px, "sell", r) >= px


@given(PRICES, TICKS, st.booleans())
def test_triggers_round_toward_the_market(px, tick, long):
    assume(px >= tick)
    r = rules(tick=tick)
    sl, tp = trigger_price("slTriggerPx", px, long, r), trigger_price("tpTriggerPx", px, long, r)
    assert on_tick(sl, tick) and on_tick(tp, tick)
    if long:  # the market is above a long's stop and below its target
        assert sl >= px and tp <= px
    else:
        assert sl <= px and tp >= px


def test_a_price_below_one_tick_that_rounds_to_zero_is_refused():
    with pytest.raises(RuleViolation) as err:
        limit_price(Decimal("0.04"), "buy", rules(tick=Decimal("0.1")))
    assert err.value.field == "px" and "tickSz 0.1" in err.value.message
    with pytest.raises(RuleViolation) as err:
        trigger_price("tpTriggerPx", Decimal("0.04"), True, rules(tick=Decimal("0.1")))
    assert err.value.field == "tpTriggerPx"


def test_worked_examples_of_the_rounding_rule():
    r = rules(tick=Decimal("0.1"))
    assert limit_price(Decimal("43210.57"), "buy", r) == Decimal("43210.5")
    assert limit_price(Decimal("43210.51"), "sell", r) == Decimal("43210.6")
    assert trigger_price("slTriggerPx", Decimal("41999.95"), True, r) == Decimal("42000.0")
    assert trigger_price("tpTriggerPx", Decimal("45000.05"), True, r) == Decimal("45000.0")
    assert trigger_price("slTriggerPx", Decimal("44000.01"), False, r) == Decimal("44000.0")


@given(
    st.integers(1, 10**6),
    st.sampled_from([Decimal("0.1"), Decimal("1"), Decimal("0.01")]),
    st.integers(1, 20),
    st.sampled_from(["market", "limit"]),
)
def test_sizes_on_the_lot_between_min_and_max_pass_others_are_refused_naming_sz(lots, lot, min_lots, ord_type):
    r = rules(lot=lot, minimum=lot * min_lots, max_mkt_sz=lot * 5000, max_lmt_sz=lot * 100000)
    sz = lot * lots
    maximum = r.max_mkt_sz if ord_type == "market" else r.max_lmt_sz
    if lots >= min_lots and sz <= maximum:
        assert check_size(sz, ord_type, r) == sz
    else:
        with pytest.raises(RuleViolation) as err:
            check_size(sz, ord_type, r)
        assert err.value.field == "sz"
    with pytest.raises(RuleViolation) as err:
        check_size(sz + lot / 2, ord_type, r)  # off the lot, whatever else
    assert err.value.field == "sz"


def test_size_messages_say_which_rule():
    r = rules(lot=Decimal("1"), minimum=Decimal("1"), max_mkt_sz=Decimal("12000"), max_lmt_sz=Decimal("100000"))
    with pytest.raises(RuleViolation, match="maxMktSz 12000"):
        check_size(Decimal("12001"), "market", r)
    assert check_size(Decimal("12001"), "limit", r) == Decimal("12001")
    with pytest.raises(RuleViolation, match="lotSz 1"):
        check_size(Decimal("1.5"), "limit", r)
    with pytest.raises(RuleViolation, match="minSz"):
        check_size(Decimal("0.5"), "limit", r)


@given(
    st.decimals(min_value=Decimal("0.1"), max_value=Decimal("1000"), places=1),
    st.decimals(min_value=Decimal("0"), max_value=Decimal("1000"), places=1),
)
def test_a_reduce_only_order_never_exceeds_the_position(sz, closable):
    if closable == 0:
        with pytest.raises(RuleViolation) as err:
            check_reduce_only(sz, closable)
        assert err.value.field == "reduceOnly"
    elif sz > closable:
        with pytest.raises(RuleViolation) as err:
            check_reduce_only(sz, closable)
        assert err.value.field == "sz"
    else:
        assert check_reduce_only(sz, closable) == sz <= closable


def test_leverage_state_and_contract_type():
    r = rules(max_lever=Decimal("50"))
    assert check_leverage(Decimal("50"), r) == 50
    with pytest.raises(RuleViolation) as err:
        check_leverage(Decimal("51"), r)
    assert err.value.field == "leverage" and "maximum leverage 50" in err.value.message
    check_tradable(r)
    for state in ("suspend", "preopen", "settling", "test"):
        with pytest.raises(RuleViolation, match=state):
            check_tradable(rules(state=state))
    with pytest.raises(RuleViolation, match="inverse"):
        check_tradable(rules(ct_type="inverse"))


def test_closing_orders_pending():
    net_close = {"instId": "BTC-USDT-SWAP", "side": "sell", "posSide": "net", "reduceOnly": "true"}
    net_open = {"instId": "BTC-USDT-SWAP", "side": "sell", "posSide": "net", "reduceOnly": "false"}
    hedge_close = {"instId": "BTC-USDT-SWAP", "side": "sell", "posSide": "long", "reduceOnly": "false"}
    assert closing_orders_pending([net_close], "BTC-USDT-SWAP", "net", True)
    assert not closing_orders_pending([net_open], "BTC-USDT-SWAP", "net", True)  # an opening sell does not block
    assert not closing_orders_pending([net_close], "BTC-USDT-SWAP", "net", False)  # a short closes with buys
    assert not closing_orders_pending([net_close], "ETH-USDT-SWAP", "net", True)
    assert closing_orders_pending([hedge_close], "BTC-USDT-SWAP", "long", True)
    assert not closing_orders_pending([hedge_close], "BTC-USDT-SWAP", "short", False)


def test_stop_sides():
    from shared.instrument_rules import check_stop_sides

    check_stop_sides(True, Decimal("100"), Decimal("110"), Decimal("90"))
    check_stop_sides(False, Decimal("100"), Decimal("90"), Decimal("110"))
    for long, tp, sl, field in [
        (True, Decimal("95"), None, "tpTriggerPx"),
        (True, None, Decimal("100"), "slTriggerPx"),
        (False, Decimal("105"), None, "tpTriggerPx"),
        (False, None, Decimal("99"), "slTriggerPx"),
    ]:
        with pytest.raises(RuleViolation) as err:
            check_stop_sides(long, Decimal("100"), tp, sl)
        assert err.value.field == field
