"""A position's TP/SL as one OKX algo order: replace, amend in place, cancel orphans (stand-in on a real socket)."""

from __future__ import annotations

import json
from decimal import Decimal

from api_server.okx.tpsl import cancel_position_stops, read_position_stops, replace_position_stops

PENDING = "/api/v5/trade/orders-algo-pending"


def algos(*items: dict) -> tuple[int, str]:
    return 200, json.dumps({"code": "0", "msg": "", "data": list(items)})


def algo(
    algo_id: str, ord_type: str, tp: str = "", sl: str = "", side: str = "sell", pos_side: str = "net", **kw
) -> dict:
    return {
        "algoId": algo_id,
        "instId": "BTC-USDT-SWAP",
        "ordType": ord_type,
        "state": "live",
        "side": side,
        "posSide": pos_side,
        "tpTriggerPx": tp,
        "slTriggerPx": sl,
        "closeFraction": "1",
        "reduceOnly": "true",
        **kw,
    }


OK_ALGO = (200, '{"code":"0","msg":"","data":[{"algoId":"900","algoClOrdId":"","sCode":"0","sMsg":""}]}')


async def test_both_legs_become_one_oco_full_close_algo(okx, client):
    okx.script("GET", PENDING, algos())
    okx.script("POST", "/api/v5/trade/order-algo", OK_ALGO)
    stops = await replace_position_stops(
        client, inst_id="BTC-USDT-SWAP", td_mode="cross", pos_side="net", position_long=True, tp="70000.0", sl="60000.0"
    )
    assert stops.algo_ids == ["900"] and (stops.tp_trigger_px, stops.sl_trigger_px) == (
        Decimal("70000.0"),
        Decimal("60000.0"),
    )
    body = json.loads(next(r.body for r in okx.requests if r.method == "POST"))
    assert (body["ordType"], body["side"], body["closeFraction"], body["reduceOnly"]) == ("oco", "sell", "1", True)
    assert "sz" not in body and body["tpOrdPx"] == body["slOrdPx"] == "-1"


async def test_same_kind_is_amended_in_place_other_kinds_are_replaced(okx, client):
    okx.script("GET", PENDING, algos(algo("500", "oco", tp="70000", sl="60000")))
    okx.script(
        "POST",
        "/api/v5/trade/amend-algos",
        (200, '{"code":"0","msg":"","data":[{"algoId":"500","sCode":"0","sMsg":""}]}'),
    )
    stops = await replace_position_stops(
        client, inst_id="BTC-USDT-SWAP", td_mode="cross", pos_side="net", position_long=True, tp="71000", sl="61000"
    )
    assert stops.algo_ids == ["500"] and okx.count("POST", "/api/v5/trade/cancel-algos") == 0
    amend = json.loads(next(r.body for r in okx.requests if r.path == "/api/v5/trade/amend-algos"))
    assert (amend["newTpTriggerPx"], amend["newSlTriggerPx"]) == ("71000", "61000")
    # dropping the TP leg: the oco cannot become a conditional → cancel, then place a conditional SL
    okx.script(
        "POST",
        "/api/v5/trade/cancel-algos",
        (200, '{"code":"0","msg":"","data":[{"algoId":"500","sCode":"0","sMsg":""}]}'),
    )
    okx.script("POST", "/api/v5/trade/order-algo", OK_ALGO)
    stops = await replace_position_stops(
        client, inst_id="BTC-USDT-SWAP", td_mode="cross", pos_side="net", position_long=True, tp=None, sl="61000"
    )
    assert stops.algo_ids == ["900"] and stops.tp_trigger_px is None
    paths = [r.path for r in okx.requests if r.method == "POST"]
    assert paths.index("/api/v5/trade/cancel-algos") < paths.index(
        "/api/v5/trade/order-algo"
    )  # one full-close TP/SL per position
    placed = json.loads(okx.requests[-1].body)
    assert placed["ordType"] == "conditional" and "tpTriggerPx" not in placed


async def test_reading_and_cancelling_a_positions_stops_ignores_other_algos(okx, client):
    okx.script(
        "GET",
        PENDING,
        algos(
            algo("1", "conditional", sl="60000"),
            algo("2", "oco", tp="1", sl="2", side="buy"),
            algo("3", "conditional", sl="5", reduceOnly="false", closeFraction=""),
        ),
    )
    stops = await read_position_stops(client, "BTC-USDT-SWAP", "net", True)
    assert stops.algo_ids == ["1"] and stops.sl_trigger_px == Decimal("60000")
    okx.script(
        "POST",
        "/api/v5/trade/cancel-algos",
        (200, '{"code":"0","msg":"","data":[{"algoId":"1","sCode":"0","sMsg":""}]}'),
    )
    assert await cancel_position_stops(client, "BTC-USDT-SWAP", "net", True) == ["1"]
    cancel = json.loads(next(r.body for r in okx.requests if r.path == "/api/v5/trade/cancel-algos"))
    assert cancel == [{"instId": "BTC-USDT-SWAP", "algoId": "1"}]


async def test_removing_both_legs_cancels_and_places_nothing(okx, client):
    okx.script("GET", PENDING, algos(algo("7", "oco", tp="70000", sl="60000", pos_side="long")))
    okx.script(
        "POST",
        "/api/v5/trade/cancel-algos",
        (200, '{"code":"0","msg":"","data":[{"algoId":"7","sCode":"0","sMsg":""}]}'),
    )
    stops = await replace_position_stops(
        client, inst_id="BTC-USDT-SWAP", td_mode="cross", pos_side="long", position_long=True, tp=None, sl=None
    )
    assert stops.algo_ids == [] and okx.count("POST", "/api/v5/trade/order-algo") == 0
    assert okx.count("POST", "/api/v5/trade/cancel-algos") == 1
