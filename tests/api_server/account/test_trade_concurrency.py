"""The order path under concurrency and with callers' origins, against real API processes, the real
simulator and one PostgreSQL database:

* concurrent market orders sent to TWO API processes on one database never exceed RISK_MAX_EXPOSURE_PCT,
  and exactly as many are accepted as when the same orders arrive one after the other;
* the origin comes from the `X-AiTrader-Origin` header (validated; no header = manual), approval mode holds
  every non-manual origin, and orders, approvals and refusals record the full origin;
* a closing (reduce-only) order never changes the position's leverage.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx

from tests.api_server.account.conftest import INST

# Slow loops: the fast test loops would fill the balance endpoint's rate limit and space the orders out.
CAP_ENV = {
    "RISK_MAX_ORDER_PCT": "50",
    "RISK_MAX_EXPOSURE_PCT": "100",
    "BALANCE_SNAPSHOT_INTERVAL_SECS": "30",
    "ACCOUNT_SYNC_INTERVAL_SECS": "30",
}
ORDERS = 8
ORDER_SZ = "4.6"  # 4.6 contracts x 0.01 BTC x 65000 = 2990 USDT: 3 fit under 10000 USDT, the 4th does not
FITTING = 3


def market_buy(s, cl_ord_id: str):
    return s.post(
        "/api/trade/order", {"instId": INST, "side": "buy", "ordType": "market", "sz": ORDER_SZ, "clOrdId": cl_ord_id}
    )


def slow_exchange(s) -> None:
    """OKX takes 300 ms to accept an order (as it may under load): the window in which a check that does not
    reserve lets a second order see the exposure without the first."""
    fault = {"latencyMs": 300, "pathPrefix": "/api/v5/trade/order"}
    assert httpx.post(s.sim + "/_sim/faults", json=fault, timeout=10).status_code == 200


def open_notional(s) -> Decimal:
    """The simulator's own view: notional of every open position at the mark price."""
    total = Decimal(0)
    for p in s.sim_state()["positions"]:
        total += abs(Decimal(p["pos"])) * Decimal("0.01") * Decimal(p.get("markPx") or p["avgPx"])
    return total


def test_concurrent_orders_from_two_api_processes_never_exceed_the_exposure_cap(launch):
    sequential = launch(api_env=CAP_ENV)
    slow_exchange(sequential)
    accepted_one_by_one = [market_buy(sequential, f"seq{i}").status_code for i in range(ORDERS)]
    assert accepted_one_by_one.count(201) == FITTING, accepted_one_by_one
    assert set(accepted_one_by_one) == {201, 422}

    first = launch(api_env=CAP_ENV)
    second = launch(api_env=CAP_ENV, database_url=first.database_url, sim=first.sim)
    apis = [first, second]
    slow_exchange(first)
    for api in apis:  # warm both processes up (specs, position mode, connections): the burst then truly overlaps
        warm = api.post(
            "/api/trade/order", {"instId": INST, "side": "buy", "ordType": "market", "sz": ORDER_SZ, "leverage": 11}
        )
        assert warm.status_code == 422 and warm.json()["rule"] == "max_leverage"
    start = threading.Barrier(ORDERS)

    def send(i: int):
        start.wait()  # all at once
        return market_buy(apis[i % 2], f"par{i}")

    with ThreadPoolExecutor(ORDERS) as pool:
        answers = list(pool.map(send, range(ORDERS)))
    codes = [a.status_code for a in answers]
    assert set(codes) == {201, 422}, [a.text for a in answers]
    assert codes.count(201) == accepted_one_by_one.count(201)
    equity = first.sim_equity()
    assert open_notional(first) <= equity, (open_notional(first), equity)
    refused = [a.json() for a in answers if a.status_code == 422]
    assert all(r["rule"] == "max_exposure_pct" for r in refused), refused
    # Both processes placed orders (the lock is shared through the database, not per process).
    placed_by = {i % 2 for i, a in enumerate(answers) if a.status_code == 201}
    assert placed_by == {0, 1}
    rows = first.sql("select state, reserved_notional from trade_orders where cl_ord_id like 'par%%'")
    assert len(rows) == FITTING and all(
        r["state"] == "filled" and r["reserved_notional"] == Decimal("2990") for r in rows
    )


def test_the_origin_comes_from_the_header_and_is_recorded_everywhere(launch):
    s = launch(api_env={"TRADE_APPROVAL_MODE": "manual"})
    limit = {"instId": INST, "side": "buy", "ordType": "limit", "px": "50000", "sz": "0.1"}
    # Malformed origins are a 400 naming the header.
    for bad in ("agent", "agent:run:", "root:x", "mcp:" + "x" * 65, "mcp:a b"):
        resp = s.post("/api/trade/order", limit, headers={"X-AiTrader-Origin": bad})
        assert resp.status_code == 400 and resp.json()["field"] == "X-AiTrader-Origin", (bad, resp.text)
    # No header: a person; a runId in the body no longer makes it an agent order (placed at once).
    manual = s.post("/api/trade/order", {**limit, "runId": "run-7"})
    assert manual.status_code == 201, manual.text
    assert (manual.json()["order"]["origin"], manual.json()["order"]["runId"]) == ("manual", "run-7")
    # Every non-manual origin waits for approval, and the approval keeps the origin through to the order.
    for origin in ("agent:run:r1", "agent:chat:s1", "mcp:desk"):
        held = s.post("/api/trade/order", limit, headers={"X-AiTrader-Origin": origin})
        assert held.status_code == 202, held.text
        assert held.json()["approval"]["origin"] == origin
        approved = s.post(f"/api/trade/approvals/{held.json()['approvalId']}/approve")
        assert approved.status_code == 201, approved.text
        placed = approved.json()["order"]
        assert placed["origin"] == origin
        assert placed["runId"] == ("r1" if origin == "agent:run:r1" else None)
    # A refusal records the full origin.
    refused = s.post("/api/trade/order", {**limit, "leverage": 11}, headers={"X-AiTrader-Origin": "mcp:desk"})
    assert refused.status_code == 422 and refused.json()["rule"] == "max_leverage"
    newest = s.get("/api/trade/risk/refusals").json()["refusals"][0]
    assert newest["origin"] == "mcp:desk"
    orders = {o["clOrdId"]: o["origin"] for o in s.get("/api/account/orders?state=all").json()["orders"]}
    assert sorted(orders.values()) == sorted(["manual", "agent:run:r1", "agent:chat:s1", "mcp:desk"])


def test_a_closing_order_never_changes_the_leverage(launch):
    s = launch()
    opened = s.post("/api/trade/order", {"instId": INST, "side": "buy", "ordType": "market", "sz": "1", "leverage": 5})
    assert opened.status_code == 201, opened.text
    # reduceOnly with leverage 100 (limit 10): the order closes part of the position and the lever stays 5.
    closing = s.post(
        "/api/trade/order",
        {"instId": INST, "side": "sell", "ordType": "market", "sz": "0.1", "reduceOnly": True, "leverage": 100},
    )
    assert closing.status_code == 201, closing.text
    assert Decimal(closing.json()["order"]["lever"]) == 5
    levers = [r["body"] for r in s.sim_requests() if r["target"] == "/api/v5/account/set-leverage"]
    assert len(levers) == 1 and '"lever":"5"' in levers[0].replace(" ", ""), levers
    (position,) = s.sim_state()["positions"]
    assert Decimal(position["lever"]) == 5 and Decimal(position["pos"]) == Decimal("0.9")
    # The same for an order that only reduces without the flag (sell less than the long held).
    plain_close = s.post(
        "/api/trade/order", {"instId": INST, "side": "sell", "ordType": "market", "sz": "0.1", "leverage": 50}
    )
    assert plain_close.status_code == 201, plain_close.text
    assert len([r for r in s.sim_requests() if r["target"] == "/api/v5/account/set-leverage"]) == 1
    # An instrument outside the allow-list: with no position there a reduce-only order reduces nothing, so it
    # is checked like any opening order (refused, nothing sent, no leverage set).
    eth = s.post(
        "/api/trade/order",
        {
            "instId": "ETH-USDT-SWAP",
            "side": "sell",
            "ordType": "market",
            "sz": "1",
            "reduceOnly": True,
            "leverage": 100,
        },
    )
    # (The exchange rules answer first: a reduce-only order with no position to reduce is a 400 naming reduceOnly.)
    assert eth.status_code == 400 and eth.json()["field"] == "reduceOnly", eth.text
    assert not [
        o
        for o in s.sim_state()["orders"]["history"] + s.sim_state()["orders"]["pending"]
        if o["instId"] == "ETH-USDT-SWAP"
    ]
    assert len([r for r in s.sim_requests() if r["target"] == "/api/v5/account/set-leverage"]) == 1
    # Opening past the allow-list is still refused.
    opening = s.post("/api/trade/order", {"instId": "ETH-USDT-SWAP", "side": "buy", "ordType": "market", "sz": "1"})
    assert opening.status_code == 422 and opening.json()["rule"] == "instrument_not_allowed"
