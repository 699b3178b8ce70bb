"""Each strict OKX rule the simulator enforces, over real sockets (the codes and sources: okxsim/README.md)."""

from __future__ import annotations

from decimal import Decimal as D

import aiohttp
import pytest

from tests.okxsim.conftest import QUIET, OkxClient, start_server

BTC = "BTC-USDT-SWAP"
ORDER = "/api/v5/trade/order"


async def price(client: OkxClient, px: str, inst: str = BTC) -> None:
    status, body = await client.control("POST", "/_sim/price", {"instId": inst, "price": px})
    assert status == 200, body


def order(**kw) -> dict:
    return {"instId": BTC, "tdMode": "cross", "side": "buy", "ordType": "market", "sz": "1", **kw}


async def rejected(client: OkxClient, path: str, body: dict) -> dict:
    status, reply = await client.post(path, body)
    assert status == 200 and reply["code"] == "1" and reply["msg"] == "All operations failed", reply
    return reply["data"][0]


async def orders_count(client: OkxClient) -> int:
    _, state = await client.control("GET", "/_sim/state")
    return len(state["orders"]["pending"]) + len(state["orders"]["history"])


@pytest.mark.parametrize(
    ("body", "code", "msg"),
    [
        (order(ordType="limit", px="59000.05"), "51000", "Parameter px error"),
        (order(attachAlgoOrds=[{"tpTriggerPx": "61000.01", "tpOrdPx": "-1"}]), "51000", "Parameter tpTriggerPx error"),
        (order(attachAlgoOrds=[{"slTriggerPx": "58000.05", "slOrdPx": "-1"}]), "51000", "Parameter slTriggerPx error"),
        (order(sz="0.05"), "51020", "Your order should meet or exceed the minimum order amount."),
        (order(sz="1.05"), "51121", "Order quantity must be a multiple of the lot size."),
        (order(sz="12000.1"), "51202", "Market order amount exceeds the maximum amount."),
        (order(ordType="limit", px="59000", sz="100000000.1"), "51000", "Parameter sz error"),
        (
            order(ordType="limit", px="63000.1"),
            "51006",
            "Order price is not within the price limit (max buy price: 63000 , min sell price: 57000 )",
        ),
        (
            order(side="sell", ordType="limit", px="56999.9"),
            "51006",
            "Order price is not within the price limit (max buy price: 63000 , min sell price: 57000 )",
        ),
    ],
)
async def test_order_rules_reject_with_okx_codes_and_place_nothing(client: OkxClient, body, code, msg):
    await price(client, "60000")
    item = await rejected(client, ORDER, body)
    assert (item["sCode"], item["sMsg"]) == (code, msg)
    assert await orders_count(client) == 0


async def test_price_limit_endpoint_matches_the_rule(client: OkxClient):
    await price(client, "60000")
    (limit,) = (await client.get(f"/api/v5/public/price-limit?instId={BTC}"))["data"]
    assert (limit["buyLmt"], limit["sellLmt"], limit["enabled"]) == ("63000", "57000", True)
    _, reply = await client.post(ORDER, order(ordType="limit", px=limit["buyLmt"]))
    assert reply["code"] == "0"  # exactly at the limit is accepted


async def test_leverage_above_the_instrument_max_is_59102(client: OkxClient):
    status, reply = await client.post(
        "/api/v5/account/set-leverage", {"instId": BTC, "lever": "101", "mgnMode": "cross"}
    )
    assert status == 200 and reply["code"] == "59102"
    status, reply = await client.post(
        "/api/v5/account/set-leverage", {"instId": BTC, "lever": "100", "mgnMode": "cross"}
    )
    assert reply["code"] == "0"


async def test_an_instrument_that_is_not_live_takes_no_orders(client: OkxClient):
    status, _ = await client.control("POST", "/_sim/instrument-state", {"instId": BTC, "state": "suspend"})
    assert status == 200
    inst = (await client.get(f"/api/v5/public/instruments?instType=SWAP&instId={BTC}"))["data"][0]
    assert inst["state"] == "suspend"
    assert (await rejected(client, ORDER, order()))["sCode"] == "51022"


async def test_reduce_only_larger_than_the_position_is_rejected_not_trimmed(client: OkxClient):
    await price(client, "60000")
    assert (await client.post(ORDER, order(sz="1")))[1]["code"] == "0"
    item = await rejected(client, ORDER, order(side="sell", sz="1.5", reduceOnly=True))
    assert item["sCode"] == "51112"
    (pos,) = (await client.get("/api/v5/account/positions"))["data"]
    assert pos["pos"] == "1"
    # The same size as the position is fine (and the string form of the boolean is accepted).
    assert (await client.post(ORDER, order(side="sell", sz="1", reduceOnly="true")))[1]["code"] == "0"
    assert (await client.get("/api/v5/account/positions"))["data"] == []


async def test_close_position_with_pending_closing_orders_needs_auto_cxl(client: OkxClient):
    await price(client, "60000")
    await client.post(ORDER, order(sz="1"))
    _, resting = await client.post(ORDER, order(side="sell", ordType="limit", px="61000", sz="1", reduceOnly=True))
    close = {"instId": BTC, "mgnMode": "cross", "autoCxl": ""}  # "" = not given (python-okx sends it so)
    item = await rejected(client, "/api/v5/trade/close-position", close)
    assert item["sCode"] == "51115"
    assert len((await client.get("/api/v5/account/positions"))["data"]) == 1
    _, reply = await client.post("/api/v5/trade/close-position", {**close, "autoCxl": True})
    assert reply["code"] == "0"
    ord_id = resting["data"][0]["ordId"]
    assert (await client.get(f"/api/v5/trade/order?instId={BTC}&ordId={ord_id}"))["data"][0]["state"] == "canceled"


async def test_spot_mode_rejects_swap_orders_and_multi_currency_mode_reports_adj_eq(client: OkxClient):
    await client.control("POST", "/_sim/account", {"acctLv": "1"})
    assert (await client.get("/api/v5/account/config"))["data"][0]["acctLv"] == "1"
    item = await rejected(client, ORDER, order())
    assert item["sCode"] == "51010"
    _, reply = await client.post("/api/v5/account/set-account-level", {"acctLv": "3"})
    assert reply["code"] == "0"
    bal = (await client.get("/api/v5/account/balance"))["data"][0]
    usdt = next(d for d in bal["details"] if d["ccy"] == "USDT")
    assert D(usdt["eq"]) < D(bal["adjEq"]) < D(bal["totalEq"])  # coins count at a discount
    assert {d["ccy"] for d in bal["details"]} == {"USDT", "BTC", "ETH"}
    only_btc = (await client.get("/api/v5/account/balance?ccy=BTC"))["data"][0]["details"]
    assert [d["ccy"] for d in only_btc] == ["BTC"] and only_btc[0]["cashBal"] == "0.5"


async def test_client_order_id_is_free_after_its_order_ends_unless_the_legacy_mode_is_on(client: OkxClient):
    await price(client, "60000")
    first = (await client.post(ORDER, order(clOrdId="same1")))[1]["data"][0]["ordId"]
    second = (await client.post(ORDER, order(side="sell", clOrdId="same1")))[1]["data"][0]["ordId"]
    assert first != second
    latest = (await client.get(f"/api/v5/trade/order?instId={BTC}&clOrdId=same1"))["data"][0]
    assert latest["ordId"] == second
    status, _ = await client.control("POST", "/_sim/mode", {"clOrdIdLiveOnly": False})
    assert status == 200
    assert (await rejected(client, ORDER, order(clOrdId="same1")))["sCode"] == "51016"


async def test_a_lost_reply_after_execution_leaves_exactly_one_order(client: OkxClient):
    await price(client, "60000")
    status, _ = await client.control(
        "POST", "/_sim/faults", {"pathPrefix": ORDER, "execute": True, "dropReply": True, "count": 1}
    )
    assert status == 200
    with pytest.raises(aiohttp.ClientError):
        await client.post(ORDER, order(clOrdId="lost1"))
    found = (await client.get(f"/api/v5/trade/order?instId={BTC}&clOrdId=lost1"))["data"][0]
    assert found["state"] == "filled"
    assert await orders_count(client) == 1
    # The 5xx/50013 variant: executed, then answered with an error.
    await client.control("POST", "/_sim/faults", {"pathPrefix": ORDER, "execute": True, "code": "50013", "count": 1})
    status, reply = await client.post(ORDER, order(clOrdId="busy1"))
    assert status == 429 and reply["code"] == "50013"
    assert (await client.get(f"/api/v5/trade/order?instId={BTC}&clOrdId=busy1"))["data"][0]["state"] == "filled"
    await client.control(
        "POST", "/_sim/faults", {"pathPrefix": ORDER, "execute": True, "status": 504, "latencyMs": 50, "count": 1}
    )
    status, reply = await client.post(ORDER, order(clOrdId="late1"))
    assert status == 504 and reply["code"] == "50004"
    assert await orders_count(client) == 3
    status, reply = await client.control("POST", "/_sim/faults", {"dropReply": True})
    assert status == 400 and reply["field"] == "dropReply"


async def test_requests_more_than_30s_from_the_sim_clock_are_50102(client: OkxClient):
    before = int((await client.get("/api/v5/public/time"))["data"][0]["ts"])
    status, _ = await client.control("POST", "/_sim/clock", {"offsetMs": 45_000})
    assert status == 200
    skewed = int((await client.get("/api/v5/public/time"))["data"][0]["ts"])
    assert skewed - before >= 45_000
    status, reply = await client.call("GET", "/api/v5/account/balance")
    assert status == 401 and reply["code"] == "50102"
    await client.control("POST", "/_sim/clock", {"offsetMs": 20_000})
    status, reply = await client.call("GET", "/api/v5/account/balance")
    assert status == 200 and reply["code"] == "0"


async def test_ids_never_repeat_across_restarts():
    seen: dict[str, list[int]] = {"ordId": [], "tradeId": [], "billId": []}
    for _ in range(2):
        server = await start_server(QUIET)
        try:
            async with aiohttp.ClientSession() as session:
                client = OkxClient(session, server)
                await client.post(ORDER, order())
                (fill,) = (await client.get("/api/v5/trade/fills"))["data"]
                for key, ids in seen.items():
                    ids.append(int(fill[key]))
        finally:
            await server.runner.cleanup()
    for key, (old, new) in seen.items():
        assert new > old, key  # a client that kept its database sees only new ids after a restart


async def test_algo_orders_trigger_amend_cancel_and_check_sides(client: OkxClient):
    await price(client, "60000")
    await client.post(ORDER, order(sz="2"))
    algo = "/api/v5/trade/order-algo"
    bad_side = await rejected(
        client,
        algo,
        {
            "instId": BTC,
            "tdMode": "cross",
            "side": "sell",
            "ordType": "conditional",
            "sz": "1",
            "tpTriggerPx": "59000",
            "tpOrdPx": "-1",
            "reduceOnly": True,
        },
    )
    assert bad_side["sCode"] == "51279"
    off_tick = await rejected(
        client,
        algo,
        {
            "instId": BTC,
            "tdMode": "cross",
            "side": "sell",
            "ordType": "conditional",
            "sz": "1",
            "slTriggerPx": "58000.05",
            "slOrdPx": "-1",
        },
    )
    assert off_tick == {**off_tick, "sCode": "51000", "sMsg": "Parameter slTriggerPx error"}
    _, sl = await client.post(
        algo,
        {
            "instId": BTC,
            "tdMode": "cross",
            "side": "sell",
            "ordType": "conditional",
            "closeFraction": "1",
            "slTriggerPx": "58000",
            "slOrdPx": "-1",
        },
    )
    sl_id = sl["data"][0]["algoId"]
    _, amended = await client.post(
        "/api/v5/trade/amend-algos", {"instId": BTC, "algoId": sl_id, "newSlTriggerPx": "58500"}
    )
    assert amended["code"] == "0"
    (pos,) = (await client.get("/api/v5/account/positions"))["data"]
    assert pos["closeOrderAlgo"][0]["algoId"] == sl_id and pos["closeOrderAlgo"][0]["slTriggerPx"] == "58500"
    _, trig = await client.post(
        algo,
        {
            "instId": BTC,
            "tdMode": "cross",
            "side": "buy",
            "ordType": "trigger",
            "sz": "1",
            "triggerPx": "61000",
            "orderPx": "-1",
        },
    )
    _, cancel = await client.post(
        "/api/v5/trade/cancel-algos",
        [{"instId": BTC, "algoId": trig["data"][0]["algoId"]}, {"instId": BTC, "algoId": "1"}],
    )
    assert cancel["code"] == "2" and [i["sCode"] for i in cancel["data"]] == ["0", "51400"]
    _, trig = await client.post(
        algo,
        {
            "instId": BTC,
            "tdMode": "cross",
            "side": "buy",
            "ordType": "trigger",
            "sz": "1",
            "triggerPx": "61000",
            "orderPx": "-1",
        },
    )
    await price(client, "61000")
    (pos,) = (await client.get("/api/v5/account/positions"))["data"]
    assert pos["pos"] == "3"
    await price(client, "58400")
    assert (await client.get("/api/v5/account/positions"))["data"] == []  # closeFraction=1: the whole position
    hist = (await client.get("/api/v5/trade/orders-algo-history?ordType=conditional,trigger&state=effective"))["data"]
    assert {h["algoId"] for h in hist} == {sl_id, trig["data"][0]["algoId"]}
    assert (await client.get("/api/v5/trade/orders-algo-pending?ordType=conditional,oco,trigger"))["data"] == []


async def test_account_helpers_answer_in_okx_shapes(client: OkxClient):
    await price(client, "60000")
    await client.post(ORDER, order(sz="1"))
    (size,) = (await client.get(f"/api/v5/account/max-size?instId={BTC}&tdMode=cross"))["data"]
    assert D(size["maxBuy"]) > 0 and D(size["maxBuy"]) % D("0.1") == 0
    (avail,) = (await client.get(f"/api/v5/account/max-avail-size?instId={BTC}&tdMode=cross"))["data"]
    assert D(avail["availBuy"]) > 0
    (fee,) = (await client.get("/api/v5/account/trade-fee?instType=SWAP"))["data"]
    assert (fee["maker"], fee["taker"]) == ("-0.0002", "-0.0005")
    (mark,) = (await client.get(f"/api/v5/public/mark-price?instType=SWAP&instId={BTC}"))["data"]
    assert mark["markPx"] == "60000"
    (bill,) = (await client.get("/api/v5/account/bills?instType=SWAP"))["data"]
    (fill,) = (await client.get("/api/v5/trade/fills"))["data"]
    assert bill["billId"] == fill["billId"] and bill["subType"] == "3" and D(bill["balChg"]) == D(fill["fee"])
    status, reply = await client.call("GET", "/api/v5/account/max-size?instId=BTC-USDT-SWAP")
    assert status == 400 and reply["msg"] == "Parameter tdMode can not be empty"


async def test_amend_order_and_batch_amend(client: OkxClient):
    await price(client, "60000")
    _, placed = await client.post(ORDER, order(ordType="limit", px="59000", clOrdId="am1"))
    ord_id = placed["data"][0]["ordId"]
    _, reply = await client.post(
        "/api/v5/trade/amend-order", {"instId": BTC, "clOrdId": "am1", "newSz": "2", "reqId": "r1"}
    )
    assert reply["code"] == "0" and reply["data"][0]["reqId"] == "r1"
    _, reply = await client.post(
        "/api/v5/trade/amend-batch-orders",
        [{"instId": BTC, "ordId": ord_id, "newPx": "60500"}, {"instId": BTC, "ordId": "1", "newPx": "60500"}],
    )
    assert reply["code"] == "2" and [i["sCode"] for i in reply["data"]] == ["0", "51503"]
    got = (await client.get(f"/api/v5/trade/order?instId={BTC}&ordId={ord_id}"))["data"][0]
    assert got["state"] == "filled" and got["sz"] == "2"  # a new price that crosses fills at once
