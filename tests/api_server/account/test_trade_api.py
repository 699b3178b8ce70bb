"""/api/trade against the real API process and the real simulator: validation, sizing, idempotent
retries, sync idempotency, the risk guard's rules at their boundaries, the daily-loss latch and
reset, approval mode, and the close reasons of positions."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import httpx

from api_server.trading.sizing import contracts_for_notional
from tests.api_server.account.conftest import INST, wait_until

LIMIT_PX = "50000"  # far below the simulator's 65000: limit buys rest, so the equity stays exactly 10000


def order(s, **fields):
    """An order; a `runId` is sent as the agent sends it: with its origin header `agent:run:<runId>`."""
    body = {"instId": INST, "side": "buy", "ordType": "market", **fields}
    headers = {"X-AiTrader-Origin": f"agent:run:{fields['runId']}"} if "runId" in fields else {}
    return s.post("/api/trade/order", body, headers=headers)


def sim_orders(s, cl_ord_id: str | None = None) -> list[dict]:
    state = s.sim_state()["orders"]
    rows = state["pending"] + state["history"]
    return [o for o in rows if cl_ord_id is None or o["clOrdId"] == cl_ord_id]


def test_bad_order_input_is_a_400_naming_the_field(launch):
    s = launch()
    cases = [
        ({"instId": INST, "ordType": "market", "sz": "1"}, "side"),
        ({"instId": INST, "side": "hold", "ordType": "market", "sz": "1"}, "side"),
        ({"instId": INST, "side": "buy", "ordType": "stop", "sz": "1"}, "ordType"),
        ({"instId": "btc", "side": "buy", "ordType": "market", "sz": "1"}, "instId"),
        ({"instId": INST, "side": "buy", "ordType": "market"}, "sz"),
        ({"instId": INST, "side": "buy", "ordType": "market", "sz": "abc"}, "sz"),
        ({"instId": INST, "side": "buy", "ordType": "market", "sz": "-1"}, "sz"),
        ({"instId": INST, "side": "buy", "ordType": "market", "sz": "0.15"}, "sz"),  # not a lotSz multiple
        ({"instId": INST, "side": "buy", "ordType": "market", "sz": "1", "notionalUsdt": "100"}, "sz"),
        ({"instId": INST, "side": "buy", "ordType": "market", "notionalUsdt": "5"}, "notionalUsdt"),  # < minSz
        ({"instId": INST, "side": "buy", "ordType": "limit", "sz": "1"}, "px"),
        ({"instId": INST, "side": "buy", "ordType": "market", "sz": "1", "px": "1"}, "px"),
        ({"instId": INST, "side": "buy", "ordType": "market", "sz": "1", "leverage": "ten"}, "leverage"),
        ({"instId": INST, "side": "buy", "ordType": "market", "sz": "1", "leverage": 0}, "leverage"),
        ({"instId": INST, "side": "buy", "ordType": "market", "sz": "1", "tdMode": "cash"}, "tdMode"),
        ({"instId": INST, "side": "buy", "ordType": "market", "sz": "1", "posSide": "long"}, "posSide"),  # net mode
        ({"instId": INST, "side": "buy", "ordType": "market", "sz": "1", "clOrdId": "has-dash"}, "clOrdId"),
        ({"instId": INST, "side": "buy", "ordType": "market", "sz": "1", "slTriggerPx": "70000"}, "slTriggerPx"),
        ({"instId": INST, "side": "buy", "ordType": "market", "sz": "1", "tpTriggerPx": "60000"}, "tpTriggerPx"),
        ({"instId": INST, "side": "buy", "ordType": "market", "sz": "1", "size": "1"}, "size"),
        ({"instId": INST, "side": "buy", "ordType": "market", "sz": "1", "reduceOnly": "yes"}, "reduceOnly"),
    ]
    for body, field in cases:
        resp = s.post("/api/trade/order", body)
        assert resp.status_code == 400, (body, resp.text)
        assert resp.json()["field"] == field, (body, resp.text)
    for raw in (b"", b"{", b"[]"):
        resp = s.post("/api/trade/order", content=raw, headers={"Content-Type": "application/json"})
        assert resp.status_code == 400 and resp.json()["field"] == "body", raw
    assert s.post("/api/trade/cancel", {"instId": INST}).json()["field"] == "ordId"
    assert s.post("/api/trade/close-position", {"instId": INST, "posSide": "up"}).json()["field"] == "posSide"
    resp = s.post("/api/trade/close-position", {"instId": INST})
    assert resp.status_code == 404 and resp.json()["field"] == "instId"  # no open position
    assert s.get("/api/trade/approvals?status=maybe").json()["field"] == "status"
    assert sim_orders(s) == []  # nothing reached the exchange


def test_notional_is_converted_to_contracts_with_the_instrument_specs(launch):
    s = launch()
    resp = order(s, ordType="limit", px=LIMIT_PX, notionalUsdt="1234.5")
    assert resp.status_code == 201, resp.text
    expected = contracts_for_notional(
        Decimal("1234.5"), Decimal(LIMIT_PX), Decimal("0.01"), Decimal("0.1"), Decimal("0.1")
    )
    got = resp.json()["order"]
    assert Decimal(got["sz"]) == expected
    assert Decimal(sim_orders(s, got["clOrdId"])[0]["sz"]) == expected
    assert got["state"] == "live" and got["origin"] == "manual"


def test_a_retried_order_request_makes_one_order(launch):
    # The sync loop sleeps: the injected fault below must meet the order POST, not a background read.
    s = launch(api_env={"ACCOUNT_SYNC_INTERVAL_SECS": "3600"})
    body = {"instId": INST, "side": "buy", "ordType": "limit", "px": LIMIT_PX, "sz": "1", "clOrdId": "retry42"}
    first = s.post("/api/trade/order", body)
    again = s.post("/api/trade/order", body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["duplicate"] is True and again.json()["order"]["ordId"] == first.json()["order"]["ordId"]
    assert len(sim_orders(s, "retry42")) == 1
    posts = [r for r in s.sim_requests() if r["method"] == "POST" and r["target"] == "/api/v5/trade/order"]
    assert len(posts) == 1 and "retry42" in posts[0]["body"]
    assert len(s.sql("select * from trade_orders where cl_ord_id = 'retry42'")) == 1

    # The exchange answers 503 to the first attempt: the client retries with the SAME generated clOrdId.
    fault = {"status": 503, "count": 1, "pathPrefix": "/api/v5/trade/order"}
    assert httpx.post(s.sim + "/_sim/faults", json=fault).status_code == 200
    resp = order(s, ordType="limit", px=LIMIT_PX, sz="2")
    assert resp.status_code == 201, resp.text
    cl = resp.json()["order"]["clOrdId"]
    attempts = [
        r
        for r in s.sim_requests()
        if r["method"] == "POST" and r["target"] == "/api/v5/trade/order" and cl in r["body"]
    ]
    assert len(attempts) == 2 and attempts[0]["status"] == 503  # refused once, retried with the same clOrdId
    assert len(sim_orders(s, cl)) == 1
    assert len([o for o in sim_orders(s) if o["sz"] == "2"]) == 1


def test_sync_twice_changes_nothing(launch):
    s = launch()
    assert order(s, sz="1", slTriggerPx="60000").status_code == 201
    assert order(s, ordType="limit", px=LIMIT_PX, sz="1").status_code == 201
    live = order(s, ordType="limit", px=LIMIT_PX, sz="0.5").json()["order"]
    assert s.post("/api/trade/cancel", {"instId": INST, "ordId": live["ordId"]}).status_code == 200
    # An order placed elsewhere (the OKX app): recorded with origin exchange.
    s.sim_call(
        "POST",
        "/api/v5/trade/order",
        {"instId": INST, "tdMode": "cross", "side": "buy", "ordType": "limit", "px": "51000", "sz": "0.3"},
    )
    first = s.post("/api/account/sync").json()
    dump = lambda: (
        s.sql("select * from trade_orders order by id"),
        s.sql("select * from trade_fills order by id"),  # noqa: E731
        s.sql("select * from trade_positions order by id"),
    )
    before = dump()
    second = s.post("/api/account/sync").json()
    assert second["changes"] == 0, (first, second)
    assert dump() == before
    orders, fills, positions = before
    assert len(fills) == len(s.sim_state()["fills"]) == 1
    assert {o["origin"] for o in orders} == {"manual", "exchange"}
    assert [o["state"] for o in orders if o["ord_id"] == live["ordId"]] == ["canceled"]
    assert len(positions) == 1 and positions[0]["sl_trigger_px"] == Decimal("60000")
    listed = s.get("/api/account/orders?state=open").json()["orders"]
    assert {o["state"] for o in listed} == {"live"} and len(listed) == 2
    assert len(s.get("/api/account/orders?state=all").json()["orders"]) == len(orders)
    open_positions = s.get("/api/account/positions").json()["positions"]
    assert open_positions[0]["slTriggerPx"] == "60000" and open_positions[0]["pos"] == "1"


def _refused(resp, rule: str) -> dict:
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert (
        body["rule"] == rule and body["status_code"] == 422 and body["limit"] is not None and body["actual"] is not None
    )
    return body


def test_risk_rules_refuse_past_and_allow_at_their_boundary(launch):
    s = launch()
    assert s.sim_equity() == Decimal("10000")
    # Instrument allow-list (OKX_INST_IDS=BTC-USDT-SWAP; the simulator also lists ETH).
    _refused(
        s.post("/api/trade/order", {"instId": "ETH-USDT-SWAP", "side": "buy", "ordType": "market", "sz": "1"}),
        "instrument_not_allowed",
    )
    # Leverage: 10 is the maximum (allowed), 11 is refused.
    body = _refused(order(s, ordType="limit", px=LIMIT_PX, sz="0.1", leverage=11), "max_leverage")
    assert (body["limit"], body["actual"]) == ("10", "11")
    assert order(s, ordType="limit", px=LIMIT_PX, sz="0.1", leverage=10).status_code == 201  # 50 USDT open
    # Order size: 25 % of 10000 = 2500 USDT; 5 contracts x 0.01 x 50000 = 2500 exactly is allowed, 5.1 is not.
    body = _refused(order(s, ordType="limit", px=LIMIT_PX, sz="5.1"), "max_order_pct")
    assert Decimal(body["limit"]) == Decimal("2500") and Decimal(body["actual"]) == Decimal("2550")
    assert order(s, ordType="limit", px=LIMIT_PX, sz="5").status_code == 201  # 2550 open
    # Exposure: 100 % of equity in total; fill it up to exactly 10000 USDT, then one lot more is refused.
    assert order(s, ordType="limit", px=LIMIT_PX, sz="5").status_code == 201  # 5050
    assert order(s, ordType="limit", px=LIMIT_PX, sz="5").status_code == 201  # 7550
    assert order(s, ordType="limit", px=LIMIT_PX, sz="4.9").status_code == 201  # 10000
    body = _refused(order(s, ordType="limit", px=LIMIT_PX, sz="0.1"), "max_exposure_pct")
    assert (Decimal(body["limit"]), Decimal(body["actual"])) == (Decimal("10000"), Decimal("10050"))
    risk = s.get("/api/trade/risk").json()
    assert Decimal(risk["state"]["openExposure"]) == Decimal("10000")
    # Every refusal is recorded, none reached the exchange.
    rules = [r["rule"] for r in s.get("/api/trade/risk/refusals").json()["refusals"]]
    assert sorted(rules) == sorted(["instrument_not_allowed", "max_leverage", "max_order_pct", "max_exposure_pct"])
    assert len(sim_orders(s)) == 5


def test_daily_loss_latch_refuses_new_exposure_allows_closing_and_resets(launch):
    s = launch(api_env={"RISK_DAILY_LOSS_LIMIT_PCT": "1"})  # 100 USDT of the 10000 day-start equity
    assert order(s, sz="3").status_code == 201  # 0.03 BTC long at 65000
    s.set_price("62000")  # loss 90 USDT + fees: below the limit
    wait_until(lambda: Decimal(s.get("/api/trade/risk").json()["state"]["dayLoss"]) > 90, what="loss visible")
    assert not s.get("/api/trade/risk").json()["state"]["dailyLossLatched"]
    assert order(s, ordType="limit", px=LIMIT_PX, sz="0.1").status_code == 201
    s.set_price("61000")  # loss 120 USDT: the latch is set
    body = _refused(order(s, ordType="limit", px=LIMIT_PX, sz="0.1"), "daily_loss_limit")
    assert Decimal(body["limit"]) == Decimal("100") and Decimal(body["actual"]) > 100
    s.set_price("65000")  # equity recovers: the latch stays for the rest of the UTC day
    _refused(order(s, ordType="limit", px=LIMIT_PX, sz="0.1"), "daily_loss_limit")
    state = s.get("/api/trade/risk").json()["state"]
    next_midnight = f"{date.fromisoformat(state['day']) + timedelta(days=1)}T00:00:00+00:00"
    assert state["dailyLossLatched"] and state["reopensAt"] == next_midnight
    # Closing is always allowed.
    closed = s.post("/api/trade/close-position", {"instId": INST})
    assert closed.status_code == 201, closed.text
    # A manual reset makes the equity now the day's baseline: new exposure is allowed again.
    reset = s.post("/api/trade/risk/reset").json()["state"]
    assert not reset["dailyLossLatched"] and reset["dayStartEquity"] == str(s.sim_equity()) and reset["resetAt"]
    assert order(s, ordType="limit", px=LIMIT_PX, sz="0.1").status_code == 201


def test_approval_mode_holds_agent_orders_until_a_person_decides(launch):
    s = launch(api_env={"TRADE_APPROVAL_MODE": "manual", "RISK_REQUIRE_STOP_LOSS": "true"})
    # The stop-loss requirement applies to agent orders, before any approval.
    _refused(order(s, sz="1", runId="run-1"), "stop_loss_required")
    pending = order(s, sz="1", slTriggerPx="60000", runId="run-1")
    assert pending.status_code == 202, pending.text
    approval_id = pending.json()["approvalId"]
    assert sim_orders(s) == []
    listed = s.get("/api/trade/approvals").json()["approvals"]
    assert [a["id"] for a in listed] == [approval_id] and listed[0]["runId"] == "run-1"
    # The same request again (same clOrdId) does not create a second approval.
    again = s.post("/api/trade/order", {**listed[0]["request"]})
    assert again.status_code == 202 and again.json()["approvalId"] == approval_id

    approved = s.post(f"/api/trade/approvals/{approval_id}/approve")
    assert approved.status_code == 201, approved.text
    placed = approved.json()["order"]
    assert (placed["origin"], placed["runId"], placed["state"]) == ("agent:run:run-1", "run-1", "filled")
    assert approved.json()["approval"]["status"] == "approved"
    assert len(sim_orders(s, placed["clOrdId"])) == 1
    assert s.post(f"/api/trade/approvals/{approval_id}/approve").status_code == 409
    assert s.post("/api/trade/approvals/999999/approve").status_code == 404

    second = order(s, ordType="limit", px=LIMIT_PX, sz="1", slTriggerPx="45000", runId="run-2").json()["approvalId"]
    rejected = s.post(f"/api/trade/approvals/{second}/reject")
    assert rejected.status_code == 200 and rejected.json()["approval"]["status"] == "rejected"
    assert len(sim_orders(s)) == 1
    # An agent close also waits; a person's order does not (and needs no stop-loss).
    assert (
        s.post(
            "/api/trade/close-position",
            {"instId": INST, "runId": "run-3"},
            headers={"X-AiTrader-Origin": "agent:run:run-3"},
        ).status_code
        == 202
    )
    assert order(s, ordType="limit", px=LIMIT_PX, sz="0.1").status_code == 201
    statuses = {a["id"]: a["status"] for a in s.get("/api/trade/approvals?status=all").json()["approvals"]}
    assert statuses[approval_id] == "approved" and statuses[second] == "rejected"
    assert list(statuses.values()).count("pending") == 1

    # Approving re-checks the risk guard: exposure filled up meanwhile, so the approval is refused.
    # (Equity is just under 10000 after the first fill's fee, so 4.9 contracts = 2450 USDT stay under 25 %.)
    third = order(s, ordType="limit", px=LIMIT_PX, sz="4.9", slTriggerPx="45000", runId="run-4").json()["approvalId"]
    for _ in range(3):
        assert order(s, ordType="limit", px=LIMIT_PX, sz="4.9").status_code == 201  # +2450 USDT each, about 8050 open
    _refused(s.post(f"/api/trade/approvals/{third}/approve"), "max_exposure_pct")
    refused = s.get("/api/trade/approvals?status=refused").json()["approvals"]
    assert [a["id"] for a in refused] == [third] and "RISK_MAX_EXPOSURE_PCT" in refused[0]["detail"]
    assert not sim_orders(s, refused[0]["clOrdId"])


def test_closed_positions_record_the_reason(launch):
    s = launch()
    history = lambda: s.get("/api/account/positions/history").json()["positions"]  # noqa: E731
    # 1. Closed by us (close-position).
    assert order(s, sz="1").status_code == 201
    assert s.post("/api/trade/close-position", {"instId": INST}).status_code == 201
    first = wait_until(lambda: history(), what="closed position")[0]
    assert (first["closeReason"], first["closeOrigin"]) == ("closed_by_us", "manual")
    # 2. Closed by the stop-loss the simulator triggers on the last price.
    assert order(s, sz="1", slTriggerPx="64000", tpTriggerPx="70000").status_code == 201
    assert s.get("/api/account/positions").json()["positions"][0]["slTriggerPx"] == "64000"
    s.set_price("63900")
    stop = wait_until(lambda: len(history()) == 2 and history()[0], what="stop close")
    assert stop["closeReason"] == "stop" and "stop-loss" in stop["closeDetail"]
    assert s.sql("select origin from trade_orders where ord_id = %s", stop["closeOrdId"])[0]["origin"] == "exchange"
    # 3. Closed by an order this system did not place (made straight at the exchange).
    assert order(s, sz="1", runId="run-9").status_code == 201
    reply = s.sim_call(
        "POST",
        "/api/v5/trade/order",
        {"instId": INST, "tdMode": "cross", "side": "sell", "ordType": "market", "sz": "1"},
    )
    assert reply["code"] == "0", reply
    outside = wait_until(lambda: len(history()) == 3 and history()[0], what="outside close")
    assert outside["closeReason"] == "exchange"
    assert s.get("/api/account/positions").json()["positions"] == []
