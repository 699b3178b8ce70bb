"""OKX's official SDK (python-okx 0.4.4) and ccxt 4.5 (okx), unchanged, drive the simulator through a whole
trading cycle over real sockets: instruments, leverage, market and limit orders, lookups by ordId and clOrdId,
amend, positions, fills, TP/SL algo orders that fire on the price path, close, history, bills.

python-okx is synchronous (httpx): its calls run in a worker thread while the simulator serves on the loop.
"""

from __future__ import annotations

import asyncio
import warnings
from decimal import Decimal as D

import ccxt.async_support as ccxt_async
import pytest
from okx import Account, PublicData, Trade

from tests.okxsim.conftest import OkxClient

BTC = "BTC-USDT-SWAP"
ETH = "ETH-USDT-SWAP"


def okx_apis(client: OkxClient):
    cfg = client.server.config
    kw = {
        "api_key": cfg.api_key,
        "api_secret_key": cfg.api_secret,
        "passphrase": cfg.passphrase,
        "flag": "1",
        "domain": client.server.base,
        "debug": False,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return (
            Trade.TradeAPI(**kw),
            Account.AccountAPI(**kw),
            PublicData.PublicAPI(flag="1", domain=client.server.base, debug=False),
        )


async def set_price(client: OkxClient, inst_id: str, price: str) -> None:
    status, body = await client.control("POST", "/_sim/price", {"instId": inst_id, "price": price})
    assert status == 200, body


def ok(reply: dict) -> list:
    assert reply["code"] == "0", reply
    return reply["data"]


async def test_python_okx_drives_a_whole_trading_cycle(client: OkxClient):
    trade, account, public = okx_apis(client)
    call = asyncio.to_thread
    await set_price(client, BTC, "60000")

    instruments = ok(await call(public.get_instruments, instType="SWAP"))
    btc = next(i for i in instruments if i["instId"] == BTC)
    assert btc["tickSz"] == "0.1" and btc["lotSz"] == "0.1" and btc["state"] == "live"
    assert ok(await call(account.set_leverage, lever="5", mgnMode="cross", instId=BTC))[0]["lever"] == "5"
    config = ok(await call(account.get_account_config))[0]
    assert config["acctLv"] == "2" and config["posMode"] == "net_mode"

    # python-okx sends every optional field, empty ones as "" (reduceOnly, tgtCcy, px...) and attachAlgoOrds null.
    placed = ok(
        await call(
            trade.place_order, instId=BTC, tdMode="cross", side="buy", ordType="market", sz="1", clOrdId="pyokx1"
        )
    )
    ord_id = placed[0]["ordId"]
    assert placed[0]["sCode"] == "0" and ord_id
    by_cl = ok(await call(trade.get_order, instId=BTC, clOrdId="pyokx1"))[0]
    by_id = ok(await call(trade.get_order, instId=BTC, ordId=ord_id))[0]
    assert by_cl["ordId"] == by_id["ordId"] == ord_id and by_cl["state"] == "filled" and by_cl["lever"] == "5"

    (pos,) = ok(await call(account.get_positions, instType="SWAP"))
    assert pos["pos"] == "1" and pos["instId"] == BTC and pos["lever"] == "5"

    # A resting limit order, amended, then canceled (string boolean form of reduceOnly).
    limit = ok(
        await call(
            trade.place_order,
            instId=BTC,
            tdMode="cross",
            side="sell",
            ordType="limit",
            sz="0.5",
            px="61000",
            clOrdId="pyokx2",
            reduceOnly="true",
        )
    )[0]
    assert ok(await call(trade.get_order_list, instType="SWAP"))[0]["ordId"] == limit["ordId"]
    amended = ok(await call(trade.amend_order, instId=BTC, ordId=limit["ordId"], newPx="61500"))[0]
    assert amended["sCode"] == "0"
    assert ok(await call(trade.get_order, instId=BTC, ordId=limit["ordId"]))[0]["px"] == "61500"
    assert ok(await call(trade.cancel_order, instId=BTC, clOrdId="pyokx2"))[0]["sCode"] == "0"

    # A TP/SL (oco) algo order for the position fires on the price path and closes it reduce-only.
    algo = ok(
        await call(
            trade.place_algo_order,
            instId=BTC,
            tdMode="cross",
            side="sell",
            ordType="oco",
            sz="1",
            tpTriggerPx="62000",
            tpOrdPx="-1",
            slTriggerPx="58000",
            slOrdPx="-1",
            reduceOnly="true",
        )
    )[0]
    pending = ok(await call(trade.order_algos_list, ordType="oco"))
    assert [a["algoId"] for a in pending] == [algo["algoId"]] and pending[0]["tpTriggerPx"] == "62000"
    await set_price(client, BTC, "62100")
    assert ok(await call(account.get_positions, instType="SWAP")) == []
    (fired,) = ok(await call(trade.order_algos_history, ordType="oco", state="effective"))
    assert fired["algoId"] == algo["algoId"] and fired["actualSide"] == "tp" and fired["ordId"]
    tp_order = ok(await call(trade.get_order, instId=BTC, ordId=fired["ordId"]))[0]
    assert tp_order["state"] == "filled" and tp_order["reduceOnly"] == "true" and tp_order["source"] == "7"

    # Open again and close with close-position (autoCxl sent as "" = not given).
    ok(
        await call(
            trade.place_order, instId=BTC, tdMode="cross", side="sell", ordType="market", sz="2", clOrdId="pyokx1"
        )
    )
    assert ok(await call(trade.close_positions, instId=BTC, mgnMode="cross"))[0]["instId"] == BTC
    assert ok(await call(account.get_positions, instType="SWAP")) == []
    # clOrdId "pyokx1" was reused once the first order was terminal; a lookup gives the latest one.
    latest = ok(await call(trade.get_order, instId=BTC, clOrdId="pyokx1"))[0]
    assert latest["side"] == "sell" and latest["ordId"] != ord_id

    fills = ok(await call(trade.get_fills, instType="SWAP"))
    assert len(fills) == 4 and len({f["tradeId"] for f in fills}) == 4
    history = ok(await call(trade.get_orders_history, instType="SWAP"))
    assert {o["state"] for o in history} == {"filled", "canceled"} and len(history) == 5
    # History (3 months) endpoints, served by okxsim/history.py.
    assert [f["tradeId"] for f in ok(await call(trade.get_fills_history, instType="SWAP"))] == [
        f["tradeId"] for f in fills
    ]
    assert len(ok(await call(trade.get_orders_history_archive, instType="SWAP"))) == 5
    closed = ok(await call(account.get_positions_history, instType="SWAP"))
    assert len(closed) == 2 and all(p["instId"] == BTC for p in closed)
    bills = ok(await call(account.get_account_bills, instType="SWAP"))
    assert [b["billId"] for b in bills] == [f["billId"] for f in fills]
    balance = ok(await call(account.get_account_balance))[0]
    usdt = next(d for d in balance["details"] if d["ccy"] == "USDT")
    assert D(balance["totalEq"]) > D(usdt["eq"])  # BTC and ETH held too


async def test_python_okx_batch_and_rejections(client: OkxClient):
    trade, account, _ = okx_apis(client)
    call = asyncio.to_thread
    await set_price(client, BTC, "60000")
    orders = [
        {
            "instId": BTC,
            "tdMode": "cross",
            "side": "buy",
            "ordType": "limit",
            "px": "59000",
            "sz": "1",
            "clOrdId": "b1",
        },
        {
            "instId": BTC,
            "tdMode": "cross",
            "side": "buy",
            "ordType": "limit",
            "px": "59000.05",
            "sz": "1",
            "clOrdId": "b2",
        },
    ]
    partial = await call(trade.place_multiple_orders, orders)
    assert partial["code"] == "2" and partial["msg"] == "Bulk operation partially succeeded."
    assert [i["sCode"] for i in partial["data"]] == ["0", "51000"] and partial["data"][1][
        "sMsg"
    ] == "Parameter px error"
    failed = await call(trade.place_multiple_orders, [orders[1]])
    assert failed["code"] == "1" and failed["data"][0]["sCode"] == "51000"
    cancels = await call(
        trade.cancel_multiple_orders, [{"instId": BTC, "clOrdId": "b1"}, {"instId": BTC, "clOrdId": "nope"}]
    )
    assert cancels["code"] == "2" and [i["sCode"] for i in cancels["data"]] == ["0", "51400"]
    too_high = await call(account.set_leverage, lever="101", mgnMode="cross", instId=BTC)
    assert too_high["code"] == "59102"


@pytest.fixture
async def ccxt_okx(client: OkxClient):
    cfg = client.server.config
    exchange = ccxt_async.okx(
        {
            "apiKey": cfg.api_key,
            "secret": cfg.api_secret,
            "password": cfg.passphrase,
            "options": {"fetchMarkets": {"types": ["swap"]}, "defaultType": "swap"},
        }
    )
    exchange.set_sandbox_mode(True)
    exchange.urls["api"] = {"rest": client.server.base}
    try:
        yield exchange
    finally:
        await exchange.close()


async def test_ccxt_drives_a_whole_trading_cycle(client: OkxClient, ccxt_okx):
    ex = ccxt_okx
    symbol = "BTC/USDT:USDT"
    await set_price(client, BTC, "60000")
    markets = await ex.load_markets()
    assert markets[symbol]["id"] == BTC and markets[symbol]["contractSize"] == 0.01
    await ex.set_leverage(3, symbol, {"mgnMode": "cross"})
    # ccxt places single orders through POST /trade/batch-orders.
    order = await ex.create_order(symbol, "market", "buy", 1, None, {"tdMode": "cross", "clOrdId": "ccxt1"})
    fetched = await ex.fetch_order(order["id"], symbol)
    assert fetched["status"] == "closed" and fetched["filled"] == 1 and fetched["clientOrderId"] == "ccxt1"
    (position,) = await ex.fetch_positions([symbol])
    assert position["contracts"] == 1 and position["side"] == "long" and position["leverage"] == 3

    limit = await ex.create_order(symbol, "limit", "buy", 1, 55000, {"tdMode": "cross"})
    assert [o["id"] for o in await ex.fetch_open_orders(symbol)] == [limit["id"]]
    edited = await ex.edit_order(limit["id"], symbol, "limit", "buy", 1, 56000)
    assert edited["id"] == limit["id"]
    assert (await ex.fetch_order(limit["id"], symbol))["price"] == 56000
    await ex.cancel_order(limit["id"], symbol)  # cancel-batch-orders
    assert (await ex.fetch_order(limit["id"], symbol))["status"] == "canceled"

    # TP/SL attached to an order become algo orders once it fills, and fire on the price path.
    await ex.create_order(
        symbol,
        "market",
        "buy",
        1,
        None,
        {"tdMode": "cross", "takeProfit": {"triggerPrice": 63000}, "stopLoss": {"triggerPrice": 57000}},
    )
    status, body = await client.call("GET", "/api/v5/trade/orders-algo-pending?ordType=oco,conditional")
    assert status == 200 and len(body["data"]) == 1 and body["data"][0]["tpTriggerPx"] == "63000"
    await set_price(client, BTC, "56900")
    (position,) = await ex.fetch_positions([symbol])
    assert position["contracts"] == 1  # the SL closed the size it was attached to (1 of 2)
    await ex.close_position(symbol, None, {"mgnMode": "cross"})
    assert await ex.fetch_positions([symbol]) == []

    trades = await ex.fetch_my_trades(symbol)  # GET /trade/fills-history
    assert len(trades) == 4 and len({t["id"] for t in trades}) == 4
    status, body = await client.call("GET", "/api/v5/trade/fills?instType=SWAP")
    assert len(body["data"]) == 4 and len({f["tradeId"] for f in body["data"]}) == 4
    closed = await ex.fetch_closed_orders(symbol)
    assert len(closed) >= 4
    balance = await ex.fetch_balance()
    assert balance["USDT"]["total"] > 0 and balance["BTC"]["total"] == 0.5


async def test_ccxt_sees_okx_rejections_as_its_exceptions(client: OkxClient, ccxt_okx):
    ex = ccxt_okx
    await set_price(client, BTC, "60000")
    await ex.load_markets()
    with pytest.raises(ccxt_async.InvalidOrder):  # 51006: buy price above the price limit
        await ex.create_order("BTC/USDT:USDT", "limit", "buy", 1, 70000, {"tdMode": "cross"})
    with pytest.raises(ccxt_async.OrderNotFound):
        await ex.fetch_order("123", "BTC/USDT:USDT")
    status, _ = await client.control("POST", "/_sim/clock", {"offsetMs": 60_000})
    assert status == 200
    with pytest.raises(ccxt_async.InvalidNonce):  # 50102: timestamp more than 30 s from the (skewed) server clock
        await ex.fetch_balance()
