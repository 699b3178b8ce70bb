"""POST /api/trade/position-tpsl (COMMON.md interface 2) through the real API and the real simulator.

The round trip: the TP/SL placed as one OKX algo order (the simulator models algo orders), shown with the
position, replaced, removed; refusals name the field.
"""

from __future__ import annotations

from decimal import Decimal

from tests.api_server.account.conftest import INST, launch  # noqa: F401 - fixture


def open_long(stack) -> dict:
    resp = stack.post(
        "/api/trade/order", {"instId": INST, "side": "buy", "ordType": "market", "sz": "1", "slTriggerPx": "1000"}
    )
    assert resp.status_code == 201, resp.text
    (position,) = [p for p in stack.get(f"/api/account/positions?instId={INST}").json()["positions"]]
    return position


def test_refusals_name_the_field(launch):  # noqa: F811
    stack = launch()
    none = stack.post("/api/trade/position-tpsl", {"instId": INST, "slTriggerPx": "1000"})
    assert none.status_code == 404 and none.json()["field"] == "instId"
    position = open_long(stack)
    mark = Decimal(position["markPx"] or position["avgPx"])
    wrong_side = stack.post("/api/trade/position-tpsl", {"instId": INST, "slTriggerPx": str(mark * 2)})
    assert wrong_side.status_code == 400 and wrong_side.json()["field"] == "slTriggerPx"
    tp_below = stack.post(
        "/api/trade/position-tpsl", {"instId": INST, "tpTriggerPx": str(mark / 2), "slTriggerPx": "1000"}
    )
    assert tp_below.status_code == 400 and tp_below.json()["field"] == "tpTriggerPx"
    bad = stack.post("/api/trade/position-tpsl", {"instId": INST, "slTriggerPx": "-5"})
    assert bad.status_code == 400 and bad.json()["field"] == "slTriggerPx"
    unknown = stack.post("/api/trade/position-tpsl", {"instId": INST, "stop": "1"})
    assert unknown.status_code == 400


def test_round_trip_needs_the_simulators_algo_orders(launch):  # noqa: F811
    stack = launch()
    position = open_long(stack)
    mark = Decimal(position["markPx"] or position["avgPx"])
    tp, sl = (mark * Decimal("1.1")).quantize(Decimal("0.1")), (mark * Decimal("0.9")).quantize(Decimal("0.1"))
    resp = stack.post(
        "/api/trade/position-tpsl",
        {"instId": INST, "tpTriggerPx": str(tp + Decimal("0.03")), "slTriggerPx": str(sl + Decimal("0.03"))},
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["instId"] == INST and len(body["algoIds"]) == 1
    assert Decimal(body["tpTriggerPx"]) == tp and Decimal(body["slTriggerPx"]) == sl + Decimal(
        "0.1"
    )  # toward the market
    shown = stack.get(f"/api/account/positions?instId={INST}").json()["positions"][0]
    assert Decimal(shown["tpTriggerPx"]) == tp and Decimal(shown["slTriggerPx"]) == sl + Decimal("0.1")
    removed = stack.post("/api/trade/position-tpsl", {"instId": INST, "slTriggerPx": str(sl)})
    assert removed.status_code == 200 and removed.json()["tpTriggerPx"] is None
