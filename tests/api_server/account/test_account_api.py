"""/api/account against the real API process and the real simulator: auth, initial equity, balances,
the snapshot loop's write rule (both thresholds, both directions) and snapshot pagination."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import httpx
import pytest

from api_server.account.snapshots import pnl_against_initial
from tests.api_server.account.conftest import API_TOKEN, INST, SIM_PASSPHRASE, SIM_SECRET, wait_until


def test_every_account_and_trade_endpoint_needs_the_token(launch):
    s = launch()
    for method, path in [
        ("GET", "/api/account/balances"),
        ("GET", "/api/account/balances/snapshots"),
        ("GET", "/api/account/balances/latest"),
        ("GET", "/api/account/initial-equity"),
        ("POST", "/api/account/initial-equity"),
        ("GET", "/api/account/orders"),
        ("GET", "/api/account/fills"),
        ("GET", "/api/account/positions"),
        ("GET", "/api/account/positions/history"),
        ("POST", "/api/trade/order"),
        ("POST", "/api/trade/cancel"),
        ("POST", "/api/trade/close-position"),
        ("GET", "/api/trade/risk"),
        ("POST", "/api/trade/risk/reset"),
        ("GET", "/api/trade/approvals"),
        ("POST", "/api/trade/approvals/1/approve"),
    ]:
        assert s.call(method, path, token=None).status_code == 401, path
        assert s.call(method, path, token=API_TOKEN[:-1] + "x").status_code == 401, path
    assert s.get("/api/account/balances").status_code == 200
    # Nothing reached OKX for the refused calls: no order on the simulator.
    assert s.sim_state()["orders"]["history"] == [] and s.sim_state()["orders"]["pending"] == []


def test_initial_equity_single_row_start_up_value_and_validation(launch):
    s = launch(api_env={"INITIAL_EQUITY": "10000"})
    got = s.get("/api/account/initial-equity").json()
    assert (got["amount"], got["source"]) == ("10000", "env")

    for body, why in [
        ({"amount": -1}, "negative"),
        ({"amount": "100"}, "string"),
        ({"amount": None}, "null"),
        ({}, "missing"),
        ({"amount": True}, "bool"),
        ([1], "not an object"),
    ]:
        resp = s.post("/api/account/initial-equity", body)
        assert resp.status_code == 400, why
        assert resp.json()["field"] == "amount" and "amount" in resp.json()["detail"], why
    assert s.post("/api/account/initial-equity", content=b"{nope").json()["field"] == "amount"

    resp = s.post("/api/account/initial-equity", content=b'{"amount": 12345.678901234567890123}')
    assert resp.status_code == 200
    assert resp.json()["amount"] == "12345.678901234567890123"  # exact: no float on the way
    assert s.post("/api/account/initial-equity", {"amount": 20000}).status_code == 200
    rows = s.sql("select amount, source from initial_equities")
    assert rows == [{"amount": Decimal("20000"), "source": "api"}]

    # A second API start-up with another INITIAL_EQUITY does not overwrite the stored value.
    again = launch(api_env={"INITIAL_EQUITY": "5"}, database_url=s.database_url, sim=s.sim)
    assert again.get("/api/account/initial-equity").json()["amount"] == "20000"
    assert len(s.sql("select * from initial_equities")) == 1

    # PnL in the balances answer is measured against it.
    balances = s.get("/api/account/balances").json()
    equity = Decimal(balances["tradingEq"])  # PnL is on the trading equity (USDT eq), not totalEq (issue 11)
    assert balances["tradingEqSource"] == "USDT eq" and equity == s.sim_equity()
    pnl, pct = pnl_against_initial(equity, Decimal("20000"))
    assert (balances["pnl"], balances["pnlPct"]) == (str(pnl), str(pct))
    assert balances["initialEquity"]["amount"] == "20000"


def test_balances_are_exact_strings_from_okx(launch):
    # A 1-cent threshold: the order's fee (0.325 USDT) is written to the curve.
    s = launch(api_env={"BALANCE_SNAPSHOT_MIN_ABS_CHANGE": "0.01"})
    resp = s.post("/api/trade/order", {"instId": INST, "side": "buy", "ordType": "market", "sz": "1"})
    assert resp.status_code == 201, resp.text
    balance = s.sim_state()["balance"]
    got = s.get("/api/account/balances").json()
    detail = balance["details"][0]
    assert got["totalEq"] == balance["totalEq"] and got["totalEqCcy"] == "USD"
    assert (got["usdtAvailable"], got["usdtFrozen"]) == (detail["availBal"], detail["frozenBal"])
    assert Decimal(got["usdtFrozen"]) > 0  # the position's margin
    assert got["details"][0]["ccy"] == "USDT"
    # NUMERIC in the database: the stored snapshot keeps every digit OKX sent.
    wait_until(lambda: s.get("/api/account/balances/latest").json()["totalEq"] == balance["totalEq"], what="snapshot")
    stored = s.sql("select total_eq from balance_snapshots order by id desc limit 1")[0]["total_eq"]
    assert stored == Decimal(balance["totalEq"])
    # Every loop reading is published on the event stream as a `balance` event.
    event = None
    with httpx.stream(
        "GET", s.api + "/api/stream", headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=10
    ) as resp:
        for line in resp.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "balance":
                payload = json.loads(line[5:])
                break
    assert payload["totalEq"] == balance["totalEq"] and payload["stored"] is False
    # The schema documents the new routes.
    paths = s.get("/api/schema/openapi.json").json()["paths"]
    assert {"/api/account/balances", "/api/trade/order", "/api/trade/approvals/{approval_id}/approve"} <= set(paths)


def _snapshot_count(s) -> int:
    return s.sql("select count(*) as n from balance_snapshots")[0]["n"]


def _settle(s) -> Decimal:
    """Wait until the loop has stored the current equity (after an order's fee), answer it."""
    equity = s.sim_equity()
    wait_until(
        lambda: s.sql("select trading_eq from balance_snapshots order by id desc limit 1")[0]["trading_eq"] == equity,
        what="snapshot of the current equity",
    )
    return equity


def _quiet_period(s) -> None:
    """Several loop periods (0.1 s each) so a write that should not happen would have happened."""
    time.sleep(0.8)


@pytest.mark.parametrize(
    "abs_change, rel_change, crossing",
    [
        # |Δ| >= 5 USDT writes although the relative change stays below 0.1 % (50 USDT at 10000).
        ("5", "0.001", "abs"),
        # |Δ|/equity >= 0.01 % (about 1 USDT) writes although the absolute change stays below 100 USDT.
        ("100", "0.0001", "rel"),
    ],
)
def test_snapshot_loop_writes_when_either_threshold_is_crossed_up_and_down(launch, abs_change, rel_change, crossing):
    s = launch(
        api_env={"BALANCE_SNAPSHOT_MIN_ABS_CHANGE": abs_change, "BALANCE_SNAPSHOT_MIN_RELATIVE_CHANGE": rel_change}
    )
    # One contract = 0.01 BTC: the equity moves 0.01 USDT per 1 USDT of price.
    assert (
        s.post("/api/trade/order", {"instId": INST, "side": "buy", "ordType": "market", "sz": "1"}).status_code == 201
    )
    # A 10 USDT move crosses both thresholds in both configurations: a known stored starting point.
    price = Decimal(s.sim_state()["prices"][INST]) + 1000
    s.set_price(price)
    stored = _settle(s)
    # The move that must be written: 6 USDT for the abs case, 2 USDT (0.02 %) for the rel case; below: 60 % of the threshold.
    write_move = Decimal("6") if crossing == "abs" else Decimal("2")
    small_move = Decimal("3") if crossing == "abs" else Decimal("0.6")
    for direction in (1, -1):
        count = _snapshot_count(s)
        price += direction * small_move * 100
        s.set_price(price)
        wait_until(lambda: s.sim_equity() != stored, what="equity change")
        assert abs(s.sim_equity() - stored) < Decimal(abs_change)
        _quiet_period(s)
        assert _snapshot_count(s) == count, f"a {small_move} USDT move ({direction:+d}) must not be written"
        # Another step in the same direction: now the change against the LAST STORED value crosses the threshold.
        price += direction * (write_move - small_move) * 100
        s.set_price(price)
        expected = s.sim_equity()
        assert abs(expected - stored) >= (Decimal(abs_change) if crossing == "abs" else Decimal(rel_change) * stored)
        wait_until(lambda: _snapshot_count(s) == count + 1, what=f"snapshot after a {write_move} USDT move")
        latest = s.get("/api/account/balances/latest").json()
        assert Decimal(latest["tradingEq"]) == expected
        stored = expected
        _quiet_period(s)
        assert _snapshot_count(s) == count + 1, "an unchanged equity is not written again"


def test_snapshot_pagination_and_bad_parameters(launch):
    s = launch()
    s.sql(
        "insert into balance_snapshots (taken_at, total_eq) select now() + (g || ' seconds')::interval, 10000 + g "
        "from generate_series(1, 7) g"
    )
    total = _snapshot_count(s)
    seen, after, pages = [], None, 0
    while True:
        query = "?limit=3" + (f"&after={after}" if after is not None else "")
        body = s.get("/api/account/balances/snapshots" + query).json()
        seen += body["snapshots"]
        pages += 1
        after = body["nextAfter"]
        if after is None:
            break
    full_pages = -(-total // 3)
    # The last page is short, or (when the rows divide evenly) one empty page ends the walk.
    assert len(seen) == total and pages == full_pages + (1 if total % 3 == 0 else 0)
    ids = [row["id"] for row in seen]
    assert ids == sorted(ids) and len(set(ids)) == total
    latest = s.get("/api/account/balances/latest").json()
    assert latest["id"] == max(ids) and latest["totalEq"] == "10007"
    assert latest["pnl"] == "7" and latest["pnlPct"] == "0.0700"
    assert len(s.get("/api/account/balances/snapshots?limit=1000").json()["snapshots"]) == total

    for query, field in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=abc", "limit"),
        ("limit=1.5", "limit"),
        ("after=-1", "after"),
        ("after=x", "after"),
    ]:
        resp = s.get("/api/account/balances/snapshots?" + query)
        assert resp.status_code == 400, query
        assert resp.json()["field"] == field, query
    for path, field in [
        ("/api/account/orders?state=closed", "state"),
        ("/api/account/orders?limit=0", "limit"),
        ("/api/account/fills?instId=btc", "instId"),
        ("/api/account/positions/history?limit=x", "limit"),
    ]:
        resp = s.get(path)
        assert resp.status_code == 400 and resp.json()["field"] == field, path


def test_secrets_never_appear_in_answers_or_logs(launch):
    s = launch()
    # Exercise successes and failures: orders, refusals, bad input, an OKX-side rejection.
    s.post("/api/trade/order", {"instId": INST, "side": "buy", "ordType": "market", "sz": "1"})
    s.post("/api/trade/order", {"instId": INST, "side": "buy", "ordType": "market", "sz": "1", "leverage": 50})
    s.post("/api/trade/order", {"instId": INST, "side": "buy", "ordType": "market", "sz": "abc"})
    s.post("/api/trade/cancel", {"instId": INST, "ordId": "123"})
    s.post("/api/trade/close-position", {"instId": INST})
    s.get("/api/account/balances", token=None)
    for path in (
        "/api/account/balances",
        "/api/account/orders",
        "/api/account/fills",
        "/api/account/positions",
        "/api/account/positions/history",
        "/api/trade/risk",
        "/api/health",
        "/api/schema/openapi.json",
    ):
        s.get(path)
    time.sleep(0.3)
    log_text = s.api_log.read_text(encoding="utf-8", errors="replace")
    assert "order placed" in log_text  # the log is the API's and it did record the activity
    for secret in (API_TOKEN, SIM_SECRET, SIM_PASSPHRASE):
        assert secret not in log_text
        for answer in s.answers:
            assert secret not in answer
