"""REST over a real socket: trading flows in both position modes, parameter errors, candles, books, trades."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import aiohttp

from tests.okxsim.conftest import QUIET, OkxClient, start_server

BTC = "BTC-USDT-SWAP"
D = Decimal


async def set_price(client: OkxClient, inst: str, price: str) -> None:
    status, body = await client.control("POST", "/_sim/price", {"instId": inst, "price": price})
    assert status == 200, body


async def place(client: OkxClient, **fields) -> dict:
    body = {"instId": BTC, "tdMode": "cross", "ordType": "market"} | fields
    status, reply = await client.post("/api/v5/trade/order", body)
    assert status == 200, reply
    assert "inTime" in reply and "outTime" in reply and len(reply["inTime"]) == 16
    assert int(reply["outTime"]) >= int(reply["inTime"])
    return reply


async def balance(client: OkxClient) -> dict:
    return (await client.get("/api/v5/account/balance"))["data"][0]


async def test_open_and_close_a_long_in_net_mode(client: OkxClient):
    await set_price(client, BTC, "60000")
    start = await balance(client)
    usdt = start["details"][0]
    assert usdt["ccy"] == "USDT" and usdt["eq"] == "10000"
    coins = {d["ccy"]: d for d in start["details"][1:]}
    assert set(coins) == {"BTC", "ETH"} and coins["BTC"]["eq"] == "0.5"
    assert D(start["totalEq"]) == D(usdt["eq"]) + sum(D(d["eqUsd"]) for d in coins.values())
    assert start["adjEq"] == ""  # Futures mode (acctLv 2): OKX gives adjEq only in multi-currency/portfolio margin
    opened = await place(client, side="buy", sz="1", clOrdId="open1")
    assert opened["code"] == "0" and opened["data"][0]["sMsg"] == "Order placed"
    (pos,) = (await client.get("/api/v5/account/positions?instType=SWAP"))["data"]
    assert pos["pos"] == "1" and pos["avgPx"] == "60000" and pos["lever"] == "10" and pos["mgnMode"] == "cross"
    await set_price(client, BTC, "61000")
    (pos,) = (await client.get(f"/api/v5/account/positions?instId={BTC}"))["data"]
    assert D(pos["upl"]) == D("10") and pos["markPx"] == "61000"
    bal = await balance(client)
    detail = bal["details"][0]
    assert D(detail["eq"]) == D(detail["cashBal"]) + D(detail["upl"])
    assert D(detail["frozenBal"]) == D(pos["imr"]) == D("61")
    status, closed = await client.post("/api/v5/trade/close-position", {"instId": BTC, "mgnMode": "cross"})
    assert status == 200 and closed["code"] == "0" and closed["data"][0]["posSide"] == "net"
    assert (await client.get("/api/v5/account/positions"))["data"] == []
    after = await balance(client)
    fees = D("60000") * D("0.01") * D("0.0005") + D("60999.9") * D("0.01") * D("0.0005")
    assert D(after["details"][0]["eq"]) == D("10000") + (D("60999.9") - D("60000")) * D("0.01") - fees
    fills = (await client.get("/api/v5/trade/fills?instType=SWAP"))["data"]
    assert len(fills) == 2 and len({f["tradeId"] for f in fills}) == 2 and len({f["billId"] for f in fills}) == 2
    assert all(D(f["fee"]) < 0 for f in fills)
    history = (await client.get("/api/v5/trade/orders-history?instType=SWAP"))["data"]
    assert [o["state"] for o in history] == ["filled", "filled"]
    order = (await client.get(f"/api/v5/trade/order?instId={BTC}&clOrdId=open1"))["data"][0]
    assert order["ordId"] == opened["data"][0]["ordId"] and order["accFillSz"] == "1" and order["avgPx"] == "60000"


async def test_long_short_mode_over_rest(client: OkxClient):
    status, body = await client.post("/api/v5/account/set-position-mode", {"posMode": "long_short_mode"})
    assert status == 200 and body["data"] == [{"posMode": "long_short_mode"}]
    assert (await client.get("/api/v5/account/config"))["data"][0]["posMode"] == "long_short_mode"
    missing = await place(client, side="buy", sz="1")
    assert missing["code"] == "1" and missing["data"][0]["sCode"] == "51000"
    await place(client, side="buy", sz="1", posSide="long")
    await place(client, side="sell", sz="2", posSide="short")
    positions = (await client.get("/api/v5/account/positions"))["data"]
    assert sorted((p["posSide"], p["pos"]) for p in positions) == [("long", "1"), ("short", "2")]
    status, refused = await client.post("/api/v5/account/set-position-mode", {"posMode": "net_mode"})
    assert refused["code"] == "59000"
    status, closed = await client.post(
        "/api/v5/trade/close-position", {"instId": BTC, "mgnMode": "cross", "posSide": "short"}
    )
    assert closed["code"] == "0"
    assert [p["posSide"] for p in (await client.get("/api/v5/account/positions"))["data"]] == ["long"]


async def test_limit_order_rests_fills_on_cross_and_shows_in_history(client: OkxClient):
    await set_price(client, BTC, "60000")
    reply = await place(client, side="buy", ordType="limit", px="59000", sz="0.5")
    ord_id = reply["data"][0]["ordId"]
    pending = (await client.get("/api/v5/trade/orders-pending?instType=SWAP"))["data"]
    assert [o["ordId"] for o in pending] == [ord_id] and pending[0]["state"] == "live"
    assert D((await balance(client))["details"][0]["ordFrozen"]) > 0
    await set_price(client, BTC, "58999.9")
    order = (await client.get(f"/api/v5/trade/order?instId={BTC}&ordId={ord_id}"))["data"][0]
    assert order["state"] == "filled" and order["avgPx"] == "59000"
    fill = (await client.get(f"/api/v5/trade/fills?ordId={ord_id}"))["data"][0]
    assert fill["execType"] == "M" and D(fill["fee"]) == -D("59000") * D("0.5") * D("0.01") * D("0.0002")
    assert (await client.get("/api/v5/trade/orders-pending"))["data"] == []
    status, cancel = await client.post("/api/v5/trade/cancel-order", {"instId": BTC, "ordId": ord_id})
    assert cancel["code"] == "1" and cancel["data"][0]["sCode"] == "51400"


async def test_cancel_live_order_and_lookup_unknown(client: OkxClient):
    reply = await place(client, side="sell", ordType="limit", px="99000", sz="1", clOrdId="c1")
    status, cancelled = await client.post("/api/v5/trade/cancel-order", {"instId": BTC, "clOrdId": "c1"})
    assert cancelled["code"] == "0" and cancelled["data"][0]["ordId"] == reply["data"][0]["ordId"]
    history = (await client.get("/api/v5/trade/orders-history?instType=SWAP&state=canceled"))["data"]
    assert history[0]["state"] == "canceled"
    status, body = await client.call("GET", f"/api/v5/trade/order?instId={BTC}&ordId=999")
    assert status == 200 and body == {"code": "51603", "data": [], "msg": "Order does not exist."}
    await place(client, side="sell", ordType="limit", px="99000", sz="1", clOrdId="c2")
    duplicate = await place(client, side="buy", sz="1", clOrdId="c2")
    assert duplicate["code"] == "1" and duplicate["data"][0]["sCode"] == "51016"
    assert duplicate["data"][0]["sMsg"] == "Client order ID already exists."


async def test_take_profit_closes_the_position_and_is_marked_tp_sl(client: OkxClient):
    await set_price(client, BTC, "60000")
    await place(
        client,
        side="buy",
        sz="1",
        attachAlgoOrds=[{"tpTriggerPx": "62000", "tpOrdPx": "-1", "slTriggerPx": "58000", "slOrdPx": "-1"}],
    )
    (pos,) = (await client.get("/api/v5/account/positions"))["data"]
    assert pos["closeOrderAlgo"][0]["tpTriggerPx"] == "62000"
    await set_price(client, BTC, "62000")
    assert (await client.get("/api/v5/account/positions"))["data"] == []
    history = (await client.get("/api/v5/trade/orders-history?instType=SWAP"))["data"]
    tp_order = history[0]
    assert (
        tp_order["source"] == "7"
        and tp_order["algoId"] == pos["closeOrderAlgo"][0]["algoId"]
        and tp_order["side"] == "sell"
    )
    assert D(tp_order["pnl"]) > 0


async def test_order_rejections_over_rest(client: OkxClient):
    cases = [
        ({"instId": "DOGE-USDT-SWAP", "side": "buy", "sz": "1"}, "51001"),
        ({"side": "buy", "sz": "0.05"}, "51020"),
        ({"side": "buy", "sz": "1.05"}, "51121"),
        ({"side": "buy", "sz": "5000"}, "51008"),
    ]
    for fields, code in cases:
        reply = await place(client, **fields)
        assert reply["code"] == "1" and reply["msg"] == "All operations failed" and reply["data"][0]["sCode"] == code, (
            fields,
            reply,
        )
        assert reply["data"][0]["ordId"] == ""


async def test_bad_parameters_are_http_400_naming_the_field(client: OkxClient):
    cases = [
        ({"instId": BTC, "tdMode": "cross", "side": "buy", "ordType": "market", "sz": 1}, "Parameter sz error"),
        ({"instId": BTC, "tdMode": "cross", "side": "hold", "ordType": "market", "sz": "1"}, "Parameter side error"),
        (
            {"instId": BTC, "tdMode": "cross", "side": "buy", "ordType": "limit", "sz": "1"},
            "Parameter px can not be empty",
        ),
        (
            {"instId": BTC, "tdMode": "cross", "side": "buy", "ordType": "market", "sz": "1", "reduceOnly": "yes"},
            "Parameter reduceOnly error",
        ),
        (
            {
                "instId": BTC,
                "tdMode": "cross",
                "side": "buy",
                "ordType": "market",
                "sz": "1",
                "attachAlgoOrds": [{"tpTriggerPx": 5}],
            },
            "Parameter tpTriggerPx error",
        ),
    ]
    for body, msg in cases:
        status, reply = await client.post("/api/v5/trade/order", body)
        assert status == 400 and reply == {"code": "51000", "data": [], "msg": msg}, (body, reply)
    status, reply = await client.post(
        "/api/v5/account/set-leverage", {"instId": BTC, "lever": "125", "mgnMode": "cross"}
    )
    assert status == 200 and reply == {
        "code": "59102",
        "data": [],
        "msg": "Leverage exceeds the maximum leverage. Please adjust the leverage",
    }
    status, reply = await client.post("/api/v5/account/set-leverage", {"instId": BTC, "lever": "x", "mgnMode": "cross"})
    assert status == 400 and reply["msg"] == "Parameter lever error"
    for target in (
        f"/api/v5/market/candles?instId={BTC}&bar=7m",
        f"/api/v5/market/candles?instId={BTC}&limit=x",
        f"/api/v5/market/books?instId={BTC}&sz=-1",
        "/api/v5/market/ticker",
    ):
        status, reply = await client.call("GET", target)
        assert status == 400 and reply["code"] == "51000", (target, reply)
    status, reply = await client.call("GET", "/api/v5/market/ticker?instId=NOPE-USDT-SWAP")
    assert status == 200 and reply["code"] == "51001"


async def test_post_needs_json_content_type_and_valid_json(client: OkxClient):
    target = "/api/v5/trade/order"
    raw = '{"instId": "BTC-USDT-SWAP"'
    status, body = await client.call("POST", target, raw_body=raw)
    assert status == 400 and body["code"] == "50002"
    good = '{"instId":"BTC-USDT-SWAP","tdMode":"cross","side":"buy","ordType":"market","sz":"1"}'
    headers = client.headers("POST", target, good, Content_Type="text/plain")
    status, body = await client.call("POST", target, raw_body=good, headers=headers)
    assert status == 400 and body["code"] == "50006"
    status, body = await client.call("POST", target, raw_body="[1]")
    assert status == 400 and body["code"] == "51000"


async def test_candles_newest_first_with_paging_and_open_bar(client: OkxClient):
    base = f"/api/v5/market/candles?instId={BTC}&bar=5m"
    rows = (await client.get(base + "&limit=10"))["data"]
    assert len(rows) == 10 and all(len(r) == 9 and all(isinstance(x, str) for x in r) for r in rows)
    ts = [int(r[0]) for r in rows]
    assert ts == sorted(ts, reverse=True) and all(a - b == 300_000 for a, b in zip(ts, ts[1:]))
    assert rows[0][8] == "0" and {r[8] for r in rows[1:]} == {"1"}
    for r in rows:
        o, h, low, c = map(D, r[1:5])
        assert low <= min(o, c) and h >= max(o, c)
    older = (await client.get(base + f"&limit=3&after={ts[4]}"))["data"]
    assert [int(r[0]) for r in older] == ts[5:8] and older == rows[5:8]
    newer = (await client.get(base + f"&before={ts[3]}"))["data"]
    assert [int(r[0]) for r in newer] == ts[:3]
    assert len((await client.get(base + "&limit=1000"))["data"]) == 300
    assert len((await client.get(base))["data"]) == 100
    deep = (await client.get(f"/api/v5/market/history-candles?instId={BTC}&bar=1D&limit=300"))["data"]
    assert len(deep) == 300 and int(deep[0][0]) % 86_400_000 == 16 * 3_600_000  # 1D opens at UTC+8 midnight
    utc = (await client.get(f"/api/v5/market/candles?instId={BTC}&bar=1Dutc&limit=2"))["data"]
    assert int(utc[0][0]) % 86_400_000 == 0
    for bar in (
        "1m",
        "3m",
        "15m",
        "30m",
        "1H",
        "2H",
        "4H",
        "6H",
        "12H",
        "2D",
        "3D",
        "1W",
        "1M",
        "3M",
        "6Hutc",
        "1Wutc",
        "3Mutc",
    ):
        assert len((await client.get(f"/api/v5/market/candles?instId={BTC}&bar={bar}&limit=3"))["data"]) == 3, bar


async def test_candle_history_is_the_same_when_asked_again_and_follows_the_price(client: OkxClient):
    first = (await client.get(f"/api/v5/market/history-candles?instId={BTC}&bar=1H&limit=300"))["data"]
    second = (await client.get(f"/api/v5/market/history-candles?instId={BTC}&bar=1H&limit=300"))["data"]
    assert first[1:] == second[1:]
    await set_price(client, BTC, "77777")
    now_bar = (await client.get(f"/api/v5/market/candles?instId={BTC}&bar=1m&limit=1"))["data"][0]
    assert now_bar[4] == "77777" and D(now_bar[2]) >= D("77777")
    ticker = (await client.get(f"/api/v5/market/ticker?instId={BTC}"))["data"][0]
    assert ticker["last"] == "77777" and D(ticker["high24h"]) >= D("77777")
    # Consecutive bars chain: each closed bar's close is the next bar's open on the synthesised part.
    old = first[-50:]
    assert all(old[i][1] == old[i + 1][4] for i in range(len(old) - 1))


async def test_same_seed_gives_the_same_history():
    one = await start_server(QUIET)
    two = await start_server(dataclasses.replace(QUIET, seed=QUIET.seed))
    other = await start_server(dataclasses.replace(QUIET, seed=99))
    try:
        async with aiohttp.ClientSession() as session:

            async def closes(srv) -> list:
                async with session.get(
                    srv.base + f"/api/v5/market/history-candles?instId={BTC}&bar=4H&limit=50"
                ) as resp:
                    return [r[4] for r in (await resp.json())["data"][1:]]

            assert await closes(one) == await closes(two)
            assert await closes(one) != await closes(other)
    finally:
        for srv in (one, two, other):
            await srv.runner.cleanup()


async def test_books_trades_tickers_funding(client: OkxClient):
    await set_price(client, BTC, "60000")
    book = (await client.get(f"/api/v5/market/books?instId={BTC}&sz=5"))["data"][0]
    asks = [D(a[0]) for a in book["asks"]]
    bids = [D(b[0]) for b in book["bids"]]
    assert (
        len(asks) == len(bids) == 5
        and asks == sorted(asks)
        and bids == sorted(bids, reverse=True)
        and bids[0] < asks[0]
    )
    assert all(level[2] == "0" for level in book["asks"] + book["bids"]) and isinstance(book["seqId"], int)
    assert len((await client.get(f"/api/v5/market/books?instId={BTC}"))["data"][0]["asks"]) == 1
    await set_price(client, BTC, "60010")
    trades = (await client.get(f"/api/v5/market/trades?instId={BTC}&limit=2"))["data"]
    assert trades[0]["px"] == "60010" and int(trades[0]["tradeId"]) > int(trades[1]["tradeId"])
    tickers = (await client.get("/api/v5/market/tickers?instType=SWAP"))["data"]
    assert {t["instId"] for t in tickers} == set(QUIET.inst_ids)
    funding = (await client.get(f"/api/v5/public/funding-rate?instId={BTC}"))["data"][0]
    assert funding["instId"] == BTC and int(funding["nextFundingTime"]) > int(funding["fundingTime"])
    instruments = {i["instId"]: i for i in (await client.get("/api/v5/public/instruments?instType=SWAP"))["data"]}
    assert (instruments["ETH-USDT-SWAP"]["ctVal"], instruments["ETH-USDT-SWAP"]["tickSz"]) == ("0.1", "0.01")
    assert (instruments["SOL-USDT-SWAP"]["ctVal"], instruments["SOL-USDT-SWAP"]["lotSz"]) == ("1", "0.01")
    assert (instruments["XRP-USDT-SWAP"]["ctVal"], instruments["XRP-USDT-SWAP"]["tickSz"]) == ("100", "0.0001")
    leverage = (await client.get(f"/api/v5/account/leverage-info?instId={BTC}&mgnMode=cross"))["data"][0]
    assert leverage["lever"] == "10"


async def test_non_utf8_body_is_a_4xx_not_a_500(client: OkxClient):
    raw = b'{"instId":"\xff"}'
    url = client.server.base + "/api/v5/trade/order"
    text = raw.decode("utf-8", "replace")
    headers = client.headers("POST", "/api/v5/trade/order", text)
    async with client.session.post(url, data=raw, headers=headers) as resp:
        assert resp.status in (200, 400) and (await resp.json())["code"] != "0"
    async with client.session.post(url, data=raw, headers=client.headers("POST", "/api/v5/trade/order", "x")) as resp:
        assert resp.status == 401
