"""Writes whose reply is lost are looked up by client id, never resent blindly (stand-in on a real socket)."""

from __future__ import annotations

import json

import pytest

from api_server.okx.errors import OkxOrderRejected, OkxUnavailable, OrderOutcomeUnknown
from tests.api_server.okx.stand_in import Reply, fixture_text

ORDER = "/api/v5/trade/order"
NOT_FOUND = '{"code":"51603","data":[],"msg":"Order does not exist."}'
EMPTY = '{"code":"0","msg":"","data":[]}'


def landed(cl_ord_id: str, state: str = "filled") -> str:
    reply = json.loads(fixture_text("rest_trade_orders_history.swap_filled.ccxt_recorded.json"))
    reply["data"][0]["clOrdId"] = cl_ord_id
    reply["data"][0]["state"] = state
    return json.dumps(reply)


def place(client, **kw):
    args = dict(inst_id="LTC-USDT-SWAP", td_mode="cross", side="buy", ord_type="market", sz="1", cl_ord_id="abc123")
    args.update(kw)
    return client.place_order(**args)


async def test_a_timed_out_order_that_landed_is_found_and_not_resent(okx, make_client):
    client = make_client(timeout_secs=0.3)
    okx.script("POST", ORDER, Reply(200, fixture_text("rest_trade_order_post.docs.json"), delay=1.0))
    okx.script("GET", ORDER, (200, landed("abc123")))
    result = await place(client)
    assert (result.ordId, result.clOrdId, result.sCode, result.recovered) == ("672515387010932736", "abc123", "0", True)
    assert okx.count("POST", ORDER) == 1  # the lost request was never sent again
    assert okx.requests[-1].raw_path == "/api/v5/trade/order?instId=LTC-USDT-SWAP&clOrdId=abc123"
    assert client.stats["recovered_orders"] == 1 and client.stats["resends"] == 0


@pytest.mark.parametrize(
    "status,body",
    [
        (503, "unavailable"),
        (500, "oops"),
        (200, '{"code":"50004","data":[],"msg":"Endpoint request timeout."}'),
        (429, '{"code":"50013","msg":"Systems are busy. Please try again later."}'),
    ],
    ids=["503", "500", "50004", "50013"],
)
async def test_unknown_outcomes_are_looked_up_before_anything_is_sent_again(okx, client, status, body):
    okx.script("POST", ORDER, (status, body), (200, fixture_text("rest_trade_order_post.docs.json")))
    okx.script("GET", ORDER, (200, landed("abc123", state="live")))
    result = await place(client)
    assert result.recovered is True and okx.count("POST", ORDER) == 1


async def test_still_unknown_after_bounded_lookups_raises_order_outcome_unknown(okx, make_client, sleeps):
    client = make_client(lookup_attempts=4)
    okx.script("POST", ORDER, (503, "unavailable"))
    okx.script("GET", ORDER, (503, "unavailable"))  # the look-ups cannot reach OKX either
    with pytest.raises(OrderOutcomeUnknown) as err:
        await place(client)
    assert err.value.cl_ord_id == "abc123" and err.value.temporary is False
    assert err.value.lookups == 4 and "abc123" in str(err.value)
    assert okx.count("POST", ORDER) == 1
    assert client.stats["unknown_outcomes"] == 1
    # between look-ups: the one backoff rule, bounded by its cap
    assert sleeps.delays and max(sleeps.delays) <= client.backoff.cap


async def test_confirmed_absent_after_the_send_window_resends_with_the_same_clordid(okx, make_client):
    client = make_client(send_window_secs=0)
    client.window_margin_ms = 0
    okx.script("POST", ORDER, (503, "unavailable"), (200, fixture_text("rest_trade_order_post.docs.json")))
    okx.script("GET", ORDER, (200, NOT_FOUND))
    okx.script("GET", "/api/v5/trade/orders-pending", (200, EMPTY))
    okx.script("GET", "/api/v5/trade/orders-history", (200, EMPTY))
    result = await place(client)
    posts = [r for r in okx.requests if r.method == "POST"]
    assert len(posts) == 2 and {json.loads(r.body)["clOrdId"] for r in posts} == {"abc123"}
    assert all(int(r.headers["expTime"]) > 0 for r in posts)  # OKX discards a late arrival itself
    assert result.sCode == "0" and result.recovered is False and client.stats["resends"] == 1
    # absence was confirmed in all three places before the resend
    order_of = [(r.method, r.path) for r in okx.requests]
    assert order_of.index(("GET", "/api/v5/trade/orders-history")) < order_of.index(("POST", ORDER), 1)


async def test_absent_inside_the_send_window_is_not_enough_to_resend(okx, make_client):
    client = make_client(send_window_secs=3600, lookup_attempts=3)
    okx.script("POST", ORDER, (503, "unavailable"))
    okx.script("GET", ORDER, (200, NOT_FOUND))
    okx.script("GET", "/api/v5/trade/orders-pending", (200, EMPTY))
    okx.script("GET", "/api/v5/trade/orders-history", (200, EMPTY))
    with pytest.raises(OrderOutcomeUnknown) as err:
        await place(client)
    assert "send window is open" in err.value.last_error
    assert okx.count("POST", ORDER) == 1


async def test_an_order_found_in_history_counts_as_placed(okx, client):
    okx.script("POST", ORDER, (502, "bad gateway"))
    okx.script("GET", ORDER, (200, NOT_FOUND))  # e.g. GET by clOrdId lagging behind
    okx.script("GET", "/api/v5/trade/orders-pending", (200, EMPTY))
    okx.script("GET", "/api/v5/trade/orders-history", (200, landed("abc123")))
    result = await place(client)
    assert result.recovered and result.ordId == "672515387010932736"
    assert okx.count("POST", ORDER) == 1


async def test_a_rate_limited_order_is_an_answer_and_is_retried(okx, client):
    okx.script(
        "POST",
        ORDER,
        (429, fixture_text("rest_error_http429_50011.recorded.json")),
        (200, fixture_text("rest_trade_order_post.docs.json")),
    )
    result = await place(client)
    assert result.ordId == "312269865356374016" and result.recovered is False
    assert okx.count("POST", ORDER) == 2 and okx.count("GET", ORDER) == 0


async def test_51016_is_a_plain_rejection_now(okx, client):
    exists = '{"code":"1","data":[{"clOrdId":"abc123","ordId":"","sCode":"51016","sMsg":"Duplicated client order ID","tag":"","ts":"1"}],"msg":"All operations failed"}'
    okx.script("POST", ORDER, (200, exists))
    with pytest.raises(OkxOrderRejected) as err:
        await place(client)
    assert err.value.s_code == "51016" and okx.count("GET", ORDER) == 0


async def test_lost_cancel_found_canceled_is_done_and_a_first_51400_is_reported(okx, make_client):
    client = make_client(timeout_secs=0.3)
    gone = '{"code":"1","data":[{"clOrdId":"","ordId":"672515387010932736","sCode":"51400","sMsg":"Order cancellation failed as the order has been filled, canceled or does not exist.","ts":"1"}],"msg":"All operations failed"}'
    okx.script(
        "POST",
        "/api/v5/trade/cancel-order",
        Reply(200, fixture_text("rest_trade_cancel_order.docs.json"), delay=1.0),
        (200, gone),
    )
    okx.script("GET", ORDER, (200, landed("abc123", state="canceled")))
    result = await client.cancel_order("LTC-USDT-SWAP", ord_id="672515387010932736")
    assert (result.sCode, result.ordId, result.recovered) == ("0", "672515387010932736", True)
    assert okx.count("POST", "/api/v5/trade/cancel-order") == 1
    with pytest.raises(OkxOrderRejected) as err:
        await client.cancel_order("LTC-USDT-SWAP", ord_id="672515387010932736")
    assert err.value.s_code == "51400"


async def test_lost_cancel_of_a_filled_order_is_a_rejection(okx, client):
    okx.script("POST", "/api/v5/trade/cancel-order", (504, "gateway timeout"))
    okx.script("GET", ORDER, (200, landed("abc123", state="filled")))
    with pytest.raises(OkxOrderRejected) as err:
        await client.cancel_order("LTC-USDT-SWAP", cl_ord_id="abc123")
    assert err.value.s_code == "51400" and "filled" in err.value.s_msg
    assert okx.count("POST", "/api/v5/trade/cancel-order") == 1


async def test_close_position_always_carries_a_clordid_and_is_reconciled(okx, client):
    okx.script("POST", "/api/v5/trade/close-position", (503, "unavailable"))
    okx.script("GET", ORDER, (200, landed("x")))
    result = await client.close_position("LTC-USDT-SWAP", "cross", pos_side="long", auto_cxl=True)
    body = json.loads(okx.requests[0].body)
    assert len(body["clOrdId"]) == 32 and body["autoCxl"] is True
    assert result.recovered and result.clOrdId == body["clOrdId"]
    assert okx.count("POST", "/api/v5/trade/close-position") == 1


async def test_lost_algo_order_is_found_by_algoclordid(okx, client):
    okx.script("POST", "/api/v5/trade/order-algo", (503, "unavailable"))
    okx.script(
        "GET",
        "/api/v5/trade/order-algo",
        (
            200,
            json.dumps(
                {
                    "code": "0",
                    "msg": "",
                    "data": [
                        {
                            "algoId": "1836487817828872192",
                            "algoClOrdId": "tp1",
                            "instId": "BTC-USDT-SWAP",
                            "ordType": "oco",
                            "state": "live",
                        }
                    ],
                }
            ),
        ),
    )
    result = await client.place_algo_order(
        inst_id="BTC-USDT-SWAP",
        td_mode="cross",
        side="sell",
        ord_type="oco",
        close_fraction="1",
        reduce_only=True,
        tp_trigger_px="70000",
        sl_trigger_px="60000",
        algo_cl_ord_id="tp1",
    )
    assert (result.algoId, result.recovered) == ("1836487817828872192", True)
    body = json.loads(okx.requests[0].body)
    assert body == {
        "instId": "BTC-USDT-SWAP",
        "tdMode": "cross",
        "side": "sell",
        "ordType": "oco",
        "algoClOrdId": "tp1",
        "closeFraction": "1",
        "reduceOnly": True,
        "tpTriggerPx": "70000",
        "tpOrdPx": "-1",
        "tpTriggerPxType": "last",
        "slTriggerPx": "60000",
        "slOrdPx": "-1",
        "slTriggerPxType": "last",
    }
    assert okx.count("POST", "/api/v5/trade/order-algo") == 1


async def test_too_many_confirmed_absences_is_a_known_failure(okx, make_client):
    client = make_client(send_window_secs=0, max_retries=1)
    client.window_margin_ms = 0
    okx.script("POST", ORDER, (503, "unavailable"))
    okx.script("GET", ORDER, (200, NOT_FOUND))
    okx.script("GET", "/api/v5/trade/orders-pending", (200, EMPTY))
    okx.script("GET", "/api/v5/trade/orders-history", (200, EMPTY))
    with pytest.raises(OkxUnavailable) as err:
        await place(client)
    assert not isinstance(err.value, OrderOutcomeUnknown) and "not executed" in str(err.value)
    assert okx.count("POST", ORDER) == 2
