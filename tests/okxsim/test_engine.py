"""The pure trading engine: money identities, PnL, modes, limits, TP/SL, rejections (clock and quotes passed in)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from okxsim.engine import MAKER_RATE, TAKER_RATE, Engine, OrderRejected, OrderRequest, RequestRejected
from okxsim.instruments import SPECS
from okxsim.prices import Quote
from okxsim.wire import ParamError

D = Decimal
BTC = "BTC-USDT-SWAP"
ETH = "ETH-USDT-SWAP"
T0 = 1_700_000_000_000


def engine(mode: str = "net_mode", usdt: str = "10000") -> Engine:
    return Engine({k: SPECS[k] for k in (BTC, ETH)}, initial_usdt=D(usdt), pos_mode=mode, id_base=T0 * 1_000_000)


def quotes(btc: str, eth: str = "3000") -> dict[str, Quote]:
    def q(px: str, tick: str) -> Quote:
        last = D(px)
        return Quote(last, last - D(tick), last)

    return {BTC: q(btc, "0.1"), ETH: q(eth, "0.01")}


def market(side: str, sz: str, inst: str = BTC, **kw) -> OrderRequest:
    return OrderRequest(inst_id=inst, td_mode=kw.pop("td_mode", "cross"), side=side, ord_type="market", sz=sz, **kw)


def identity_holds(e: Engine, q: dict[str, Quote]) -> None:
    view = e.balance_view(q, T0)
    d = view["details"][0]
    eq, avail, frozen, upl, cash = (D(d[k]) for k in ("eq", "availBal", "frozenBal", "upl", "cashBal"))
    assert eq == cash + upl
    assert eq == avail + frozen + upl
    assert D(view["totalEq"]) == eq


def test_market_buy_fills_at_ask_and_charges_taker_fee():
    e = engine()
    q = quotes("60000")
    order = e.place_order(market("buy", "1"), q, T0)
    assert order.state == "filled" and order.avg_px == q[BTC].ask
    notional = D("60000") * D("0.01")
    assert order.fee == -(notional * TAKER_RATE)
    pos = e.positions_view(q)[0]
    assert pos["pos"] == "1" and pos["posSide"] == "net" and pos["avgPx"] == "60000"
    assert D(pos["imr"]) == notional / 10
    identity_holds(e, q)


@settings(max_examples=60, deadline=None)
@given(
    entry=st.integers(min_value=10_000, max_value=100_000),
    exit_=st.integers(min_value=10_000, max_value=100_000),
    lots=st.integers(min_value=1, max_value=30),
    side=st.sampled_from(["buy", "sell"]),
)
def test_open_then_close_returns_margin_and_pnl_has_the_right_sign(entry, exit_, lots, side):
    e = engine(usdt="1000000")
    sz = str(D(lots) / 10)
    e.place_order(market(side, sz), quotes(str(entry)), T0)
    opened = e.balance_view(quotes(str(entry)), T0)
    assert D(opened["details"][0]["frozenBal"]) > 0
    q_exit = quotes(str(exit_))
    close_side = "sell" if side == "buy" else "buy"
    e.place_order(market(close_side, sz), q_exit, T0 + 1)
    assert e.positions == {}
    view = e.balance_view(q_exit, T0 + 1)["details"][0]
    assert D(view["frozenBal"]) == 0 and D(view["upl"]) == 0
    fills = e.fills
    entry_px, exit_px = fills[0].px, fills[1].px
    direction = 1 if side == "buy" else -1
    gross = (exit_px - entry_px) * D(sz) * D("0.01") * direction
    fees = fills[0].fee + fills[1].fee
    assert D(view["cashBal"]) == D("1000000") + gross + fees
    assert (fills[1].pnl > 0) == (gross > 0) and (fills[1].pnl < 0) == (gross < 0)
    assert len({f.trade_id for f in fills}) == 2 and len({f.bill_id for f in fills}) == 2


@settings(max_examples=40, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["buy", "sell"]), st.integers(1, 20), st.integers(20_000, 90_000)),
        min_size=1,
        max_size=12,
    )
)
def test_balance_identity_holds_through_any_order_sequence(steps):
    e = engine(usdt="1000000")
    for i, (side, lots, px) in enumerate(steps):
        q = quotes(str(px))
        try:
            e.place_order(market(side, str(D(lots) / 10)), q, T0 + i)
        except OrderRejected as exc:
            assert exc.s_code == "51008"
        identity_holds(e, q)
        e.on_quote(BTC, q, T0 + i)
        identity_holds(e, q)


def test_net_mode_flips_side_when_selling_more_than_held():
    e = engine()
    q = quotes("50000")
    e.place_order(market("buy", "1"), q, T0)
    e.place_order(market("sell", "3"), q, T0 + 1)
    (pos,) = e.positions_view(q)
    assert pos["pos"] == "-2" and pos["posSide"] == "net"
    assert D(pos["avgPx"]) == q[BTC].bid


def test_long_short_mode_holds_both_sides_and_requires_pos_side():
    e = engine("long_short_mode")
    q = quotes("50000")
    with pytest.raises(OrderRejected) as exc:
        e.place_order(market("buy", "1"), q, T0)
    assert exc.value.s_code == "51000" and "posSide" in exc.value.s_msg
    e.place_order(market("buy", "1", pos_side="long"), q, T0)
    e.place_order(market("sell", "2", pos_side="short"), q, T0)
    sides = {p["posSide"]: p["pos"] for p in e.positions_view(q)}
    assert sides == {"long": "1", "short": "2"}
    with pytest.raises(OrderRejected) as exc:
        e.place_order(market("sell", "5", pos_side="long"), q, T0)  # closing more than held
    assert exc.value.s_code == "51169"
    e.place_order(market("sell", "1", pos_side="long"), q, T0 + 1)
    assert {p["posSide"] for p in e.positions_view(q)} == {"short"}


def test_limit_order_rests_then_fills_as_maker_when_last_crosses():
    e = engine()
    q = quotes("50000")
    order = e.place_order(OrderRequest(BTC, "cross", "buy", "limit", "2", px="49000"), q, T0)
    assert order.state == "live" and order.frozen == D("49000") * 2 * D("0.01") / 10
    assert D(e.balance_view(q, T0)["details"][0]["ordFrozen"]) == order.frozen
    e.on_quote(BTC, quotes("49500"), T0 + 1)
    assert order.state == "live"
    e.on_quote(BTC, quotes("48999.9"), T0 + 2)
    assert order.state == "filled" and order.avg_px == D("49000")
    assert order.fee == -(D("49000") * 2 * D("0.01") * MAKER_RATE)
    assert e.fills[-1].exec_type == "M"
    assert order.frozen == 0


def test_marketable_limit_fills_at_once_at_the_ask():
    e = engine()
    q = quotes("50000")
    order = e.place_order(OrderRequest(BTC, "cross", "buy", "limit", "1", px="50100"), q, T0)
    assert order.state == "filled" and order.avg_px == D("50000")


def test_attached_take_profit_closes_position_with_tp_sl_source():
    e = engine()
    q = quotes("50000")
    algos = [{"tpTriggerPx": "51000", "tpOrdPx": "-1", "slTriggerPx": "49000", "slOrdPx": "-1"}]
    opening = e.place_order(OrderRequest(BTC, "cross", "buy", "market", "1", attach_algo_ords=algos), q, T0)
    (pos,) = e.positions_view(q)
    assert pos["closeOrderAlgo"][0]["tpTriggerPx"] == "51000" and pos["closeOrderAlgo"][0]["slTriggerPx"] == "49000"
    assert e.order_view(opening)["attachAlgoOrds"][0]["tpOrdPx"] == "-1"
    e.on_quote(BTC, quotes("50500"), T0 + 1)
    assert e.positions
    touched = e.on_quote(BTC, quotes("51000"), T0 + 2)
    assert e.positions == {}
    (closing,) = touched
    view = e.order_view(closing)
    assert view["source"] == "7" and view["algoId"] == pos["closeOrderAlgo"][0]["algoId"]
    assert view["state"] == "filled" and view["side"] == "sell" and closing.pnl > 0


def test_stop_loss_on_short_triggers_when_price_rises():
    e = engine()
    q = quotes("50000")
    e.place_order(
        OrderRequest(BTC, "cross", "sell", "market", "1", attach_algo_ords=[{"slTriggerPx": "50500", "slOrdPx": "-1"}]),
        q,
        T0,
    )
    e.on_quote(BTC, quotes("50600"), T0 + 1)
    assert e.positions == {}
    assert e.fills[-1].order.source == "7" and e.fills[-1].pnl < 0


@pytest.mark.parametrize(
    ("req", "code"),
    [
        (OrderRequest("NOPE-USDT-SWAP", "cross", "buy", "market", "1"), "51001"),
        (OrderRequest(BTC, "cross", "buy", "market", "0.05"), "51020"),
        (OrderRequest(BTC, "cross", "buy", "market", "0.15"), "51121"),
        (OrderRequest(BTC, "cross", "buy", "market", "10000"), "51008"),
        (OrderRequest(BTC, "cross", "buy", "market", "12000.1"), "51202"),  # above maxMktSz
        (OrderRequest(BTC, "cross", "buy", "limit", "1", px="50000.05"), "51000"),  # px off tickSz
        (OrderRequest(BTC, "cross", "buy", "limit", "1", px="52600"), "51006"),  # above buyLmt (last + 5 %)
        (OrderRequest(BTC, "cross", "sell", "limit", "1", px="47400"), "51006"),  # below sellLmt
        (OrderRequest(BTC, "cross", "buy", "market", "1", pos_side="long"), "51000"),
        (OrderRequest(BTC, "cross", "sell", "market", "1", reduce_only=True), "51169"),
    ],
)
def test_per_order_rejections(req, code):
    e = engine()
    with pytest.raises(OrderRejected) as exc:
        e.place_order(req, quotes("50000"), T0)
    assert exc.value.s_code == code
    assert e.orders == {} and e.positions == {}


@pytest.mark.parametrize(
    ("req", "field"),
    [
        (OrderRequest(BTC, "cross", "buy", "market", "abc"), "sz"),
        (OrderRequest(BTC, "cross", "up", "market", "1"), "side"),
        (OrderRequest(BTC, "cash", "buy", "market", "1"), "tdMode"),
        (OrderRequest(BTC, "cross", "buy", "limit", "1"), "px"),
        (OrderRequest(BTC, "cross", "buy", "market", "1", cl_ord_id="bad-id!"), "clOrdId"),
        (OrderRequest("", "cross", "buy", "market", "1"), "instId"),
    ],
)
def test_bad_parameters_name_the_field(req, field):
    with pytest.raises(ParamError) as exc:
        engine().place_order(req, quotes("50000"), T0)
    assert exc.value.name == field


def test_duplicate_client_order_id_of_a_live_order_is_refused_without_a_second_order():
    e = engine()
    q = quotes("50000")
    e.place_order(OrderRequest(BTC, "cross", "buy", "limit", "1", px="49000", cl_ord_id="abc123"), q, T0)
    with pytest.raises(OrderRejected) as exc:
        e.place_order(market("buy", "1", cl_ord_id="abc123"), q, T0)
    assert exc.value.s_code == "51016" and exc.value.s_msg == "Client order ID already exists."
    assert len(e.orders) == 1


def test_a_terminal_orders_client_order_id_is_free_again_and_lookup_returns_the_latest():
    # OKX_FACTS §3.7: clOrdId unique among *live* orders; §3.8: duplicate clOrdId -> the latest order.
    e = engine()
    q = quotes("50000")
    first = e.place_order(market("buy", "1", cl_ord_id="abc123"), q, T0)
    second = e.place_order(market("buy", "1", cl_ord_id="abc123"), q, T0 + 1)
    assert first.state == second.state == "filled" and first.ord_id != second.ord_id
    assert e.get_order(BTC, "", "abc123").ord_id == second.ord_id
    assert e.get_order(BTC, first.ord_id, "").ord_id == first.ord_id


def test_legacy_mode_keeps_every_client_order_id_taken():
    e = Engine(
        {BTC: SPECS[BTC]},
        initial_usdt=D("10000"),
        pos_mode="net_mode",
        id_base=T0 * 1_000_000,
        cl_ord_id_live_only=False,
    )
    q = {BTC: quotes("50000")[BTC]}
    e.place_order(market("buy", "1", cl_ord_id="abc123"), q, T0)
    with pytest.raises(OrderRejected) as exc:
        e.place_order(market("buy", "1", cl_ord_id="abc123"), q, T0)
    assert exc.value.s_code == "51016"


def test_cancel_and_lookup_errors():
    e = engine()
    q = quotes("50000")
    filled = e.place_order(market("buy", "1"), q, T0)
    with pytest.raises(OrderRejected) as exc:
        e.cancel_order(BTC, filled.ord_id, "", T0)
    assert exc.value.s_code == "51400"
    resting = e.place_order(OrderRequest(BTC, "cross", "sell", "limit", "1", px="60000", cl_ord_id="rest1"), q, T0)
    assert e.cancel_order(BTC, "", "rest1", T0 + 1).state == "canceled"
    assert resting.ord_id not in e.live
    with pytest.raises(RequestRejected) as exc2:
        e.get_order(BTC, "123", "")
    assert exc2.value.code == "51603"


def test_leverage_is_capped_per_instrument_and_changes_margin():
    e = engine()
    assert e.set_leverage(BTC, "100", "cross") == 100
    with pytest.raises(RequestRejected) as exc:
        e.set_leverage(BTC, "101", "cross")
    assert exc.value.code == "59102"
    with pytest.raises(ParamError) as bad:
        e.set_leverage(BTC, "2.5", "cross")
    assert bad.value.name == "lever"
    q = quotes("50000")
    e.place_order(market("buy", "1"), q, T0)
    assert D(e.positions_view(q)[0]["imr"]) == D("5")
    e.set_leverage(BTC, "5", "cross")
    assert D(e.positions_view(q)[0]["imr"]) == D("100")


def test_position_mode_change_refused_with_open_positions():
    e = engine()
    e.place_order(market("buy", "1"), quotes("50000"), T0)
    with pytest.raises(RequestRejected) as exc:
        e.set_position_mode("long_short_mode")
    assert exc.value.code == "59000"


def test_close_position_closes_at_market_and_reset_restores_start():
    e = engine()
    e.place_order(market("buy", "2"), quotes("50000"), T0)
    e.close_position(BTC, "cross", "", quotes("50500"), T0 + 1)
    assert e.positions == {}
    assert e.fills[-1].order.side == "sell" and e.fills[-1].pnl > 0
    e.reset()
    assert e.cash == D("10000") and e.orders == {} and e.fills == []


@settings(max_examples=60, deadline=None)
@given(held=st.integers(1, 50), extra=st.integers(-49, 50))
def test_reduce_only_is_rejected_above_the_position_and_never_flips_it(held, extra):
    e = engine(usdt="1000000")
    q = quotes("50000")
    e.place_order(market("buy", str(D(held) / 10)), q, T0)
    sz = D(held + extra) / 10
    if sz <= 0:
        return
    before = e.positions_view(q)[0]["pos"]
    if extra > 0:
        with pytest.raises(OrderRejected) as exc:
            e.place_order(market("sell", str(sz), reduce_only=True), q, T0)
        assert exc.value.s_code == "51112" and e.positions_view(q)[0]["pos"] == before
    else:
        e.place_order(market("sell", str(sz), reduce_only=True), q, T0)
        rows = e.positions_view(q)
        assert (rows == []) if extra == 0 else (D(rows[0]["pos"]) == D(-extra) / 10 > 0)


@settings(max_examples=60, deadline=None)
@given(last=st.decimals(min_value=D("1000"), max_value=D("200000"), places=1))
def test_price_limit_is_on_the_tick_and_brackets_the_last_price(last):
    e = engine()
    q = quotes(str(last))
    buy, sell = e.price_limit(BTC, q)
    assert sell <= last <= buy and buy % D("0.1") == 0 and sell % D("0.1") == 0
    e.place_order(OrderRequest(BTC, "cross", "buy", "limit", "0.1", px=str(buy)), q, T0)  # at the limit: accepted
    with pytest.raises(OrderRejected) as exc:
        e.place_order(OrderRequest(BTC, "cross", "buy", "limit", "0.1", px=str(buy + D("0.1"))), q, T0)
    assert exc.value.s_code == "51006"


def test_ids_of_a_later_start_are_all_larger():
    first, later = (
        engine(),
        Engine({BTC: SPECS[BTC]}, initial_usdt=D("10000"), pos_mode="net_mode", id_base=(T0 + 1) * 1_000_000),
    )
    q = quotes("50000")
    for _ in range(1000):
        first.place_order(market("buy", "0.1"), q, T0)
    a, b = first.fills[-1], later.place_order(market("buy", "0.1"), {BTC: q[BTC]}, T0 + 1)
    assert int(later.fills[-1].trade_id) > int(a.trade_id) and int(b.ord_id) > int(a.order.ord_id)
    assert int(later.fills[-1].bill_id) > int(a.bill_id)
