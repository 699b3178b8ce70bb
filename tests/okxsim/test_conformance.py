"""Every simulator answer has the key set and JSON types of the recorded (or documented) OKX answer."""

from __future__ import annotations

import json

import aiohttp

from tests.okxsim.conftest import OkxClient, SimServer, fixture_json

BTC = "BTC-USDT-SWAP"


def assert_shape(actual, primary, others=(), path="$"):
    """`actual` has every key of `primary`, no key unknown to all references, and the same JSON type per key."""
    refs = [primary, *others]
    assert type(actual) is type(primary), f"{path}: {type(actual).__name__} != {type(primary).__name__}"
    if isinstance(actual, dict):
        missing = set(primary) - set(actual)
        assert not missing, f"{path}: missing keys {sorted(missing)}"
        known = set().union(*(r.keys() for r in refs if isinstance(r, dict)))
        extra = set(actual) - known
        assert not extra, f"{path}: keys no OKX reference has: {sorted(extra)}"
        for key, value in actual.items():
            key_refs = [r[key] for r in refs if isinstance(r, dict) and key in r]
            assert_shape(value, key_refs[0], key_refs[1:], f"{path}.{key}")
    elif isinstance(actual, list):
        item_refs = [r[0] for r in refs if isinstance(r, list) and r]
        if item_refs:
            for i, item in enumerate(actual):
                assert_shape(item, item_refs[0], item_refs[1:], f"{path}[{i}]")


def envelope_check(body: dict, primary_name: str, *other_names: str, min_items: int = 1) -> None:
    primary = fixture_json(primary_name)
    others = [fixture_json(n) for n in other_names]
    assert len(body["data"]) >= min_items, body
    assert_shape(body, primary, others)


async def _setup_trading_state(client: OkxClient) -> dict:
    status, placed = await client.post(
        "/api/v5/trade/order",
        {
            "instId": BTC,
            "tdMode": "cross",
            "side": "buy",
            "ordType": "market",
            "sz": "1",
            "clOrdId": "conf1",
            "tag": "t1",
            "attachAlgoOrds": [{"tpTriggerPx": "90000", "tpOrdPx": "-1", "slTriggerPx": "30000", "slOrdPx": "-1"}],
        },
    )
    assert status == 200 and placed["code"] == "0", placed
    status, resting = await client.post(
        "/api/v5/trade/order",
        {
            "instId": BTC,
            "tdMode": "cross",
            "side": "buy",
            "ordType": "limit",
            "sz": "0.5",
            "px": "1000",
        },
    )
    assert resting["code"] == "0", resting
    return {"placed": placed, "resting": resting}


async def test_public_endpoints_conform(client: OkxClient):
    envelope_check(await client.get("/api/v5/public/time"), "rest_public_time.docs.json")
    instruments = await client.get(f"/api/v5/public/instruments?instType=SWAP&instId={BTC}")
    (item,) = instruments["data"]
    recorded = fixture_json("rest_public_instruments.swap_item.recorded.json")
    assert_shape(item, recorded, [fixture_json("rest_public_instruments.docs.json")["data"][0]])
    for key in ("ctVal", "ctValCcy", "lotSz", "minSz", "tickSz", "lever", "ctType", "settleCcy", "instFamily", "uly"):
        assert item[key] == recorded[key], key
    envelope_check(
        await client.get(f"/api/v5/market/ticker?instId={BTC}"),
        "rest_market_ticker.docs.json",
        "rest_market_ticker.ccxt_recorded.json",
    )
    envelope_check(
        await client.get("/api/v5/market/tickers?instType=SWAP"), "rest_market_ticker.docs.json", min_items=3
    )
    envelope_check(
        await client.get(f"/api/v5/market/candles?instId={BTC}&bar=1m&limit=5"),
        "rest_market_candles.docs.json",
        min_items=5,
    )
    envelope_check(
        await client.get(f"/api/v5/market/history-candles?instId={BTC}&bar=1H&limit=5"),
        "rest_market_history_candles.docs.json",
        min_items=5,
    )
    envelope_check(await client.get(f"/api/v5/market/books?instId={BTC}&sz=5"), "rest_market_books.docs.json")
    await client.control("POST", "/_sim/price", {"instId": BTC, "price": "65001"})
    envelope_check(
        await client.get(f"/api/v5/market/trades?instId={BTC}&limit=3"),
        "rest_market_trades.docs.json",
        "rest_market_trades.ccxt_recorded.json",
    )


async def test_account_and_trade_endpoints_conform(client: OkxClient):
    state = await _setup_trading_state(client)
    assert_shape(
        state["placed"],
        fixture_json("rest_trade_order_post.ccxt_recorded.json"),
        [fixture_json("rest_trade_order_post.docs.json")],
    )
    envelope_check(
        await client.get("/api/v5/account/balance"),
        "rest_account_balance.docs.json",
        "rest_account_balance.ccxt_recorded.trimmed.json",
    )
    positions = await client.get("/api/v5/account/positions")
    envelope_check(positions, "rest_account_positions.swap.ccxt_recorded.json", "rest_account_positions.docs.json")
    assert positions["data"][0]["closeOrderAlgo"], "TP/SL attached to the position"
    envelope_check(await client.get("/api/v5/account/config"), "rest_account_config.docs.json")
    ord_id = state["placed"]["data"][0]["ordId"]
    envelope_check(
        await client.get(f"/api/v5/trade/order?instId={BTC}&ordId={ord_id}"),
        "rest_trade_orders_history.swap_filled.ccxt_recorded.json",
        "rest_trade_order_get.docs.json",
    )
    envelope_check(
        await client.get("/api/v5/trade/orders-pending?instType=SWAP"),
        "rest_trade_orders_pending.swap.ccxt_recorded.json",
        "rest_trade_orders_pending.docs.json",
    )
    envelope_check(
        await client.get("/api/v5/trade/orders-history?instType=SWAP"),
        "rest_trade_orders_history.swap_filled.ccxt_recorded.json",
        "rest_trade_order_get.docs.json",
    )
    envelope_check(
        await client.get("/api/v5/trade/fills?instType=SWAP"),
        "rest_trade_fills.docs.json",
        "rest_trade_fills.spot.ccxt_recorded.json",
    )
    resting_id = state["resting"]["data"][0]["ordId"]
    _, cancelled = await client.post("/api/v5/trade/cancel-order", {"instId": BTC, "ordId": resting_id})
    assert_shape(cancelled, fixture_json("rest_trade_cancel_order.docs.json"))


async def test_failure_bodies_conform(client: OkxClient, server: SimServer):
    status, failed = await client.post(
        "/api/v5/trade/order", {"instId": BTC, "tdMode": "cross", "side": "buy", "ordType": "market", "sz": "0.15"}
    )
    assert status == 200
    assert_shape(failed, fixture_json("rest_trade_order_post.error_51155.ccxt_comment.json"))
    assert failed["code"] == "1" and failed["msg"] == "All operations failed" and failed["data"][0]["sCode"] == "51121"
    status, failed_cancel = await client.post("/api/v5/trade/cancel-order", {"instId": BTC, "ordId": "12345"})
    assert status == 200
    assert_shape(failed_cancel, fixture_json("rest_trade_cancel_order.error_51000.recorded.json"))
    assert failed_cancel["data"][0]["sCode"] == "51400"
    status, failed_close = await client.post(
        "/api/v5/trade/close-position", {"instId": BTC, "mgnMode": "cross", "posSide": "long"}
    )
    assert_shape(failed_close, fixture_json("rest_trade_close_position.error_51000.ccxt_comment.json"))
    assert failed_close["data"][0]["sMsg"].startswith("Parameter posSide error")
    status, bad = await client.post(
        "/api/v5/trade/order",
        {"instId": BTC, "tdMode": "cross", "side": "buy", "ordType": "market", "sz": "1", "clOrdId": "no-dashes"},
    )
    assert status == 400 and bad == fixture_json("rest_error_http400_51000.recorded.json")
    status, missing = await client.call("GET", "/api/v5/public/funding-rate")
    assert status == 400 and missing == fixture_json("rest_error_51000_instId_empty.recorded.json")
    headers = client.headers("GET", "/api/v5/account/balance")
    headers["OK-ACCESS-SIGN"] = "AAAA" + headers["OK-ACCESS-SIGN"][4:]
    status, unsigned = await client.call("GET", "/api/v5/account/balance", headers=headers)
    assert status == 401 and unsigned == fixture_json("rest_error_http401_50113.recorded.json")


async def test_websocket_messages_conform(server: SimServer):
    async with aiohttp.ClientSession() as session, session.ws_connect(server.ws_url) as ws:
        await ws.send_str(
            json.dumps({"id": "1512", "op": "subscribe", "args": [{"channel": "tickers", "instId": BTC}]})
        )
        ack = json.loads((await ws.receive(timeout=5)).data)
        assert_shape(ack, fixture_json("ws_tickers_subscribe_ack.docs.json"))
        push = json.loads((await ws.receive(timeout=5)).data)
        assert_shape(
            push, fixture_json("ws_tickers_push.swap.recorded.json"), [fixture_json("ws_tickers_push.docs.json")]
        )
        assert list(push["data"][0]) == list(fixture_json("ws_tickers_push.swap.recorded.json")["data"][0])
        await ws.send_str(json.dumps({"op": "subscribe", "args": [{"channel": "tickers", "instId": "NMR-USDT"}]}))
        err = json.loads((await ws.receive(timeout=5)).data)
        recorded = fixture_json("ws_error_60018.recorded.json")
        assert_shape(err, recorded)
        assert err["msg"] == recorded["msg"] and err["code"] == "60018"
        await ws.send_str('{"op": "subscribe", "argss":[{ "channel" : "tickers", "instId" : "LTC-USD-200327"}]}')
        bad = json.loads((await ws.receive(timeout=5)).data)
        assert_shape(bad, {k: v for k, v in fixture_json("ws_tickers_subscribe_error.docs.json").items() if k != "id"})
        assert bad["code"] == "60012"
        await ws.send_str(
            json.dumps(
                fixture_json("ws_unsubscribe_request.docs.json") | {"args": [{"channel": "tickers", "instId": BTC}]}
            )
        )
        assert_shape(json.loads((await ws.receive(timeout=5)).data), fixture_json("ws_unsubscribe_ack.docs.json"))
        async with session.post(server.base + "/_sim/notice") as resp:
            assert (await resp.json())["notified"] == 1
        assert_shape(json.loads((await ws.receive(timeout=5)).data), fixture_json("ws_notice_64008.docs.json"))
    business = server.base.replace("http://", "ws://") + "/ws/v5/business"
    async with aiohttp.ClientSession() as session, session.ws_connect(business) as ws:
        await ws.send_str(
            json.dumps({"id": "1512", "op": "subscribe", "args": [{"channel": "candle1D", "instId": BTC}]})
        )
        assert_shape(json.loads((await ws.receive(timeout=5)).data), fixture_json("ws_candle_subscribe_ack.docs.json"))
        assert_shape(json.loads((await ws.receive(timeout=5)).data), fixture_json("ws_candle_push.docs.json"))
