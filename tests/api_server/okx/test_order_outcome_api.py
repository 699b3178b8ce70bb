"""Issue 11 through the trading API (real API process, real simulator, real PostgreSQL):
a lost reply after a fill is exactly one order at OKX and in our records; an outcome that stays unknown is a 202
{"clOrdId", "state": "unknown"} that the account sync settles; exchange rules are applied before OKX.

The lost reply comes from `LostReplyProxy` (a process in front of the real simulator that forwards a request,
lets the simulator execute it, then resets the connection): a stand-in for the simulator's own
execute-then-drop fault, which the sim-rest engineer is adding.
"""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

from tests.api_server.account.conftest import INST, SIM_KEY, SIM_PASSPHRASE, SIM_SECRET, launch  # noqa: F401 - fixture
from tests.helpers import PYTHON, base_env, free_port, running, wait_until


@pytest.fixture
def lossy_stack(launch, tmp_path):  # noqa: F811 - the imported fixture
    """The simulator, the proxy in front of it, and the API talking REST through the proxy."""
    sim_port, proxy_port = free_port(), free_port()
    sim = f"http://127.0.0.1:{sim_port}"
    env = base_env(
        OKXSIM_PORT=str(sim_port),
        OKXSIM_API_KEY=SIM_KEY,
        OKXSIM_API_SECRET=SIM_SECRET,
        OKXSIM_PASSPHRASE=SIM_PASSPHRASE,
        OKXSIM_TICK_MS="3600000",
        OKXSIM_SEED="5",
        OKXSIM_RATE_LIMITS="false",
        OKXSIM_INST_IDS="BTC-USDT-SWAP,ETH-USDT-SWAP",
    )
    proxy = f"http://127.0.0.1:{proxy_port}"
    with (
        running([PYTHON, "-m", "okxsim"], env, f"{sim}/_sim/state", tmp_path / "sim.log", timeout=60),
        running(
            [PYTHON, "-m", "tests.api_server.okx.lost_reply_proxy", sim, str(proxy_port)],
            base_env(),
            f"{proxy}/_proxy/dropped",
            tmp_path / "proxy.log",
            timeout=30,
        ),
    ):
        stack = launch(sim=proxy, api_env={"OKX_WS_PUBLIC_URL": f"ws://127.0.0.1:{sim_port}/ws/v5/public"})
        yield stack, proxy, sim


def lose(proxy: str, method: str, path: str, count: int = 1) -> None:
    assert httpx.post(f"{proxy}/_proxy/lose", json={"method": method, "path": path, "count": count}).status_code == 200


def sim_orders(sim: str, cl_ord_id: str) -> list[dict]:
    state = httpx.get(f"{sim}/_sim/state", timeout=10).json()
    return [o for o in [*state["orders"]["pending"], *state["orders"]["history"]] if o["clOrdId"] == cl_ord_id]


def test_a_lost_reply_after_a_fill_is_one_order_at_okx_and_one_in_our_records(lossy_stack):
    stack, proxy, sim = lossy_stack
    lose(proxy, "POST", "/api/v5/trade/order")
    resp = stack.post(
        "/api/trade/order",
        {"instId": INST, "side": "buy", "ordType": "market", "sz": "1", "clOrdId": "apilost1", "slTriggerPx": "1000"},
    )
    assert resp.status_code == 201, resp.text
    seen = httpx.get(f"{proxy}/_proxy/dropped").json()
    assert seen["dropped"] == [["POST", "/api/v5/trade/order", 200]]  # the simulator executed it; the reply was lost
    assert [f for f in seen["forwarded"] if f == ["POST", "/api/v5/trade/order"]] == [["POST", "/api/v5/trade/order"]]
    at_okx = sim_orders(sim, "apilost1")
    assert len(at_okx) == 1 and at_okx[0]["state"] == "filled"
    rows = wait_until(
        lambda: [
            r
            for r in stack.sql("select * from trade_orders where cl_ord_id = %s", "apilost1")
            if r["state"] == "filled"
        ],
        what="the order recorded as filled",
    )
    assert len(rows) == 1 and rows[0]["ord_id"] == at_okx[0]["ordId"]
    assert len(stack.sql("select * from trade_orders where cl_ord_id = %s", "apilost1")) == 1
    fills = stack.sql("select * from trade_fills where ord_id = %s", rows[0]["ord_id"])
    assert sum(Decimal(f["fill_sz"]) for f in fills) == Decimal("1")


def test_an_outcome_that_stays_unknown_is_202_and_the_sync_settles_it(lossy_stack):
    stack, proxy, sim = lossy_stack
    lose(proxy, "POST", "/api/v5/trade/order")
    lose(proxy, "GET", "/api/v5/trade/order", 10_000)  # and every look-up by clOrdId fails too
    resp = stack.post(
        "/api/trade/order",
        {
            "instId": INST,
            "side": "buy",
            "ordType": "market",
            "sz": "1",
            "clOrdId": "apiunknown1",
            "slTriggerPx": "1000",
        },
    )
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert body["clOrdId"] == "apiunknown1" and body["state"] == "unknown"
    assert len(sim_orders(sim, "apiunknown1")) == 1  # it did land, once
    assert len(stack.sql("select * from trade_orders where cl_ord_id = %s", "apiunknown1")) == 1
    httpx.delete(f"{proxy}/_proxy/lose")  # OKX reachable again: the account sync looks it up
    rows = wait_until(
        lambda: [
            r
            for r in stack.sql("select * from trade_orders where cl_ord_id = %s", "apiunknown1")
            if r["state"] == "filled"
        ],
        timeout=30,
        what="the sync settling the unknown order",
    )
    assert len(rows) == 1
    # the same clOrdId again answers the recorded order: still one order at OKX
    again = stack.post(
        "/api/trade/order",
        {
            "instId": INST,
            "side": "buy",
            "ordType": "market",
            "sz": "1",
            "clOrdId": "apiunknown1",
            "slTriggerPx": "1000",
        },
    )
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert len(sim_orders(sim, "apiunknown1")) == 1


def test_off_tick_prices_never_reach_okx_unrounded_and_bad_sizes_are_refused(lossy_stack):
    stack, proxy, sim = lossy_stack
    (spec,) = stack.get(f"/api/market/instruments?instId={INST}").json()
    tick = Decimal(spec["tickSz"])
    last = Decimal(stack.get(f"/api/market/ticker?instId={INST}").json()["last"])
    below = (last * Decimal("0.9")).quantize(tick) + tick / 3  # off the tick
    resp = stack.post(
        "/api/trade/order",
        {
            "instId": INST,
            "side": "buy",
            "ordType": "limit",
            "px": str(below),
            "sz": "1",
            "slTriggerPx": str((last * Decimal("0.8")).quantize(tick) + tick / 3),
            "tpTriggerPx": str((last * Decimal("1.2")).quantize(tick) + tick / 3),
            "clOrdId": "offtick1",
        },
    )
    assert resp.status_code in (200, 201), resp.text
    sent = [
        json.loads(r["body"])
        for r in stack.sim_requests()
        if r["target"] == "/api/v5/trade/order" and r["method"] == "POST" and "offtick1" in (r.get("body") or "")
    ]
    assert sent, "the order reached the simulator"
    body = sent[-1]
    px = Decimal(body["px"])
    assert px % tick == 0 and px < below  # a buy rounds down
    (algo,) = body["attachAlgoOrds"]
    assert Decimal(algo["slTriggerPx"]) % tick == 0 and Decimal(algo["tpTriggerPx"]) % tick == 0
    too_big = stack.post(
        "/api/trade/order", {"instId": INST, "side": "buy", "ordType": "market", "sz": "12001", "slTriggerPx": "1000"}
    )
    assert too_big.status_code == 400 and too_big.json()["field"] == "sz" and "maxMktSz" in too_big.json()["detail"]
    off_lot = stack.post(
        "/api/trade/order",
        {
            "instId": INST,
            "side": "buy",
            "ordType": "market",
            "sz": str(Decimal(spec["lotSz"]) * Decimal("1.5")),
            "slTriggerPx": "1000",
        },
    )
    assert off_lot.status_code == 400 and off_lot.json()["field"] == "sz"
    lever = stack.post(
        "/api/trade/order",
        {
            "instId": INST,
            "side": "buy",
            "ordType": "market",
            "sz": "1",
            "leverage": int(spec["lever"]) + 1,
            "slTriggerPx": "1000",
        },
    )
    assert lever.status_code == 400 and lever.json()["field"] == "leverage"
    reduce = stack.post(
        "/api/trade/order", {"instId": INST, "side": "sell", "ordType": "market", "sz": "1000", "reduceOnly": True}
    )
    assert reduce.status_code == 400 and reduce.json()["field"] in ("sz", "reduceOnly")


def test_a_cancel_whose_outcome_stays_unknown_is_503_naming_the_order(lossy_stack):
    stack, proxy, sim = lossy_stack
    last = Decimal(stack.get(f"/api/market/ticker?instId={INST}").json()["last"])
    (spec,) = stack.get(f"/api/market/instruments?instId={INST}").json()
    px = (last * Decimal("0.5")).quantize(Decimal(spec["tickSz"]))
    placed = stack.post(
        "/api/trade/order",
        {
            "instId": INST,
            "side": "buy",
            "ordType": "limit",
            "px": str(px),
            "sz": "1",
            "clOrdId": "cxlunknown1",
            "slTriggerPx": str(px / 2),
        },
    )
    assert placed.status_code == 201, placed.text
    lose(proxy, "POST", "/api/v5/trade/cancel-order")
    lose(proxy, "GET", "/api/v5/trade/order", 10_000)
    resp = stack.post("/api/trade/cancel", {"instId": INST, "clOrdId": "cxlunknown1"})
    assert resp.status_code == 503, resp.text
    body = resp.json()
    assert body["clOrdId"] == "cxlunknown1" and body["state"] == "unknown"
    forwarded = httpx.get(f"{proxy}/_proxy/dropped").json()["forwarded"]
    assert forwarded.count(["POST", "/api/v5/trade/cancel-order"]) == 1  # never resent
    assert [o["state"] for o in sim_orders(sim, "cxlunknown1")] == ["canceled"]  # it did land


def test_close_position_with_closing_orders_pending_sends_autocxl(lossy_stack):
    stack, proxy, sim = lossy_stack
    opened = stack.post(
        "/api/trade/order", {"instId": INST, "side": "buy", "ordType": "market", "sz": "2", "slTriggerPx": "1000"}
    )
    assert opened.status_code == 201, opened.text
    last = Decimal(stack.get(f"/api/market/ticker?instId={INST}").json()["last"])
    (spec,) = stack.get(f"/api/market/instruments?instId={INST}").json()
    far = (last * Decimal("1.5")).quantize(Decimal(spec["tickSz"]))
    closing = stack.post(
        "/api/trade/order",
        {"instId": INST, "side": "sell", "ordType": "limit", "px": str(far), "sz": "1", "reduceOnly": True},
    )
    assert closing.status_code == 201, closing.text
    too_much = stack.post(
        "/api/trade/order", {"instId": INST, "side": "sell", "ordType": "market", "sz": "3", "reduceOnly": True}
    )
    assert too_much.status_code == 400 and too_much.json()["field"] == "sz"  # refused, not trimmed
    resp = stack.post("/api/trade/close-position", {"instId": INST})
    assert resp.status_code == 201, resp.text
    sent = [
        json.loads(r["body"])
        for r in stack.sim_requests()
        if r["method"] == "POST" and r["target"] == "/api/v5/trade/close-position"
    ]
    assert sent and sent[-1]["autoCxl"] is True and len(sent[-1]["clOrdId"]) == 32
