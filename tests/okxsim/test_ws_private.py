"""/ws/v5/private and the account channels over a real socket: OKX's login rules and codes, then the
`orders`, `positions`, `balance_and_position` and (on /business) `orders-algo` pushes."""

from __future__ import annotations

import json
import time

import aiohttp
import pytest

from okxsim.engine import OrderRequest
from shared.okx_auth import sign
from tests.okxsim.conftest import SimServer, fixture_json

BTC = "BTC-USDT-SWAP"


async def recv(ws, timeout: float = 5.0) -> dict:
    msg = await ws.receive(timeout=timeout)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


async def recv_until(ws, predicate, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        message = await recv(ws, max(0.05, deadline - time.monotonic()))
        if predicate(message):
            return message


def login_op(
    server: SimServer,
    *,
    secret: str | None = None,
    ts: str | None = None,
    passphrase: str | None = None,
    key: str | None = None,
) -> str:
    cfg = server.config
    ts = ts or str(int(time.time()))
    return json.dumps(
        {
            "op": "login",
            "args": [
                {
                    "apiKey": key or cfg.api_key,
                    "passphrase": passphrase or cfg.passphrase,
                    "timestamp": ts,
                    "sign": sign(secret or cfg.api_secret, ts, "GET", "/users/self/verify"),
                }
            ],
        }
    )


def url(server: SimServer, path: str = "/ws/v5/private") -> str:
    return server.base.replace("http://", "ws://") + path


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as s:
        yield s


async def logged_in(session, server: SimServer, path: str = "/ws/v5/private"):
    ws = await session.ws_connect(url(server, path))
    await ws.send_str(login_op(server))
    ack = await recv(ws)
    assert ack["event"] == "login" and ack["code"] == "0", ack
    return ws


async def test_login_ack_has_okx_shape(server: SimServer, session):
    async with session.ws_connect(url(server)) as ws:
        await ws.send_str(login_op(server))
        ack = await recv(ws)
        assert (
            set(ack) == set(fixture_json("ws_login_ack.docs.json")) and ack["code"] == "0" and len(ack["connId"]) == 8
        )


@pytest.mark.parametrize(
    "change, code, msg",
    [
        ({"secret": "wrong-secret"}, "60007", "Invalid sign"),
        ({"key": "someone-else"}, "60005", "Invalid apiKey"),
        ({"passphrase": "wrong"}, "60024", "Wrong passphrase"),
        ({"ts": str(int(time.time()) - 120)}, "60006", "Timestamp request expired"),
        ({"ts": "yesterday"}, "60004", "Invalid timestamp"),
    ],
)
async def test_bad_login_answers_the_okx_code_and_closes_with_4001(server: SimServer, session, change, code, msg):
    async with session.ws_connect(url(server)) as ws:
        await ws.send_str(login_op(server, **change))
        error = await recv(ws)
        assert error["event"] == "error" and error["code"] == code and error["msg"] == msg
        closed = await ws.receive(timeout=5)
        assert closed.type == aiohttp.WSMsgType.CLOSE and closed.data == 4001


async def test_private_channels_need_login_and_the_right_url(server: SimServer, session):
    async with session.ws_connect(url(server)) as ws:
        await ws.send_str(json.dumps({"op": "subscribe", "args": [{"channel": "orders", "instType": "SWAP"}]}))
        assert (await recv(ws))["code"] == "60011"
    ws = await logged_in(session, server)
    try:
        await ws.send_str(
            json.dumps(
                {
                    "id": "7",
                    "op": "subscribe",
                    "args": [
                        {"channel": "orders-algo", "instType": "SWAP"},
                        {"channel": "tickers", "instId": BTC},
                        {"channel": "orders"},
                    ],
                }
            )
        )
        assert [(m := await recv(ws))["code"] for _ in range(3)] == ["60018", "60018", "60012"] and m["id"] == "7"
        await ws.send_str("ping")
        assert (await ws.receive(timeout=5)).data == "pong"
    finally:
        await ws.close()


async def test_orders_push_each_fill_once_with_the_trade_of_that_update(server: SimServer, client, session):
    ws = await logged_in(session, server)
    try:
        await ws.send_str(json.dumps({"op": "subscribe", "args": [{"channel": "orders", "instType": "SWAP"}]}))
        ack = await recv(ws)
        assert ack == {"event": "subscribe", "arg": {"channel": "orders", "instType": "SWAP"}, "connId": ack["connId"]}
        count = await recv(ws)
        assert count["event"] == "channel-conn-count" and count["channel"] == "orders" and count["connCount"] == "1"
        status, body = await client.post(
            "/api/v5/trade/order",
            {"instId": BTC, "tdMode": "cross", "side": "buy", "ordType": "market", "sz": "2", "clOrdId": "wsfill1"},
        )
        assert status == 200 and body["code"] == "0"
        push = await recv(ws)
        assert push["arg"] == {"channel": "orders", "uid": "100000000000000001", "instType": "SWAP"}
        item = push["data"][0]
        assert item["clOrdId"] == "wsfill1" and item["state"] == "filled" and item["fillSz"] == "2" and item["tradeId"]
        assert (
            item["accFillSz"] == "2"
            and item["fillFee"].startswith("-")
            and item["execType"] == "T"
            and item["code"] == "0"
        )
        # A resting limit order: `live` on placing, `canceled` on cancel, no trade fields.
        px = str(int(float(server.sim.market.tracks[BTC].quote.bid) * 0.9))
        status, body = await client.post(
            "/api/v5/trade/order",
            {"instId": BTC, "tdMode": "cross", "side": "buy", "ordType": "limit", "sz": "1", "px": px},
        )
        ord_id = body["data"][0]["ordId"]
        live = (await recv(ws))["data"][0]
        assert live["ordId"] == ord_id and live["state"] == "live" and live["tradeId"] == "" and live["fillSz"] == "0"
        await client.post("/api/v5/trade/cancel-order", {"instId": BTC, "ordId": ord_id})
        canceled = (await recv(ws))["data"][0]
        assert canceled["ordId"] == ord_id and canceled["state"] == "canceled"
    finally:
        await ws.close()


async def test_two_fills_between_two_looks_are_two_pushes(server: SimServer, session):
    sim = server.sim
    ws = await logged_in(session, server)
    try:
        await ws.send_str(json.dumps({"op": "subscribe", "args": [{"channel": "orders", "instType": "ANY"}]}))
        await recv_until(ws, lambda m: m.get("event") == "channel-conn-count")
        px = sim.market.tracks[BTC].quote.bid - 100
        order = sim.engine.place_order(
            OrderRequest(inst_id=BTC, td_mode="cross", side="buy", ord_type="limit", sz="3", px=str(px)),
            sim.quotes(),
            sim.now_ms(),
        )
        sim.engine._fill(order, px, order.sz - 2, "M", sim.now_ms())  # two trades within one look
        sim.engine._fill(order, px, order.sz - order.acc_fill_sz, "M", sim.now_ms())
        items = []
        while len(items) < 2:
            items += [i for i in (await recv(ws))["data"] if i["tradeId"]]
        assert [i["fillSz"] for i in items] == ["1", "2"] and [i["accFillSz"] for i in items] == ["1", "3"]
        assert [i["state"] for i in items] == ["partially_filled", "filled"] and len({i["tradeId"] for i in items}) == 2
    finally:
        await ws.close()


async def test_positions_snapshot_then_event_updates_and_a_close_with_pos_zero(server: SimServer, client, session):
    await client.post(
        "/api/v5/trade/order", {"instId": BTC, "tdMode": "cross", "side": "buy", "ordType": "market", "sz": "1"}
    )
    ws = await logged_in(session, server)
    try:
        await ws.send_str(
            json.dumps(
                {
                    "op": "subscribe",
                    "args": [
                        {"channel": "positions", "instType": "SWAP", "extraParams": '{"updateInterval": "0"}'},
                        {"channel": "balance_and_position"},
                    ],
                }
            )
        )
        snap = await recv_until(ws, lambda m: "data" in m and m["arg"]["channel"] == "positions")
        assert snap["eventType"] == "snapshot" and snap["curPage"] == 1 and snap["lastPage"] is True
        assert [p["pos"] for p in snap["data"]] == ["1"]
        bal = await recv_until(ws, lambda m: "data" in m and m["arg"]["channel"] == "balance_and_position")
        assert bal["data"][0]["eventType"] == "snapshot" and bal["data"][0]["balData"][0]["ccy"] == "USDT"
        await client.post("/api/v5/trade/close-position", {"instId": BTC, "mgnMode": "cross"})
        update = await recv_until(ws, lambda m: m.get("eventType") == "event_update")
        assert update["data"][0]["pos"] == "0" and update["data"][0]["instId"] == BTC
        filled = await recv_until(ws, lambda m: "data" in m and m["arg"]["channel"] == "balance_and_position")
        event = filled["data"][0]
        assert (
            event["eventType"] == "filled" and event["trades"][0]["instId"] == BTC and event["posData"][0]["pos"] == "0"
        )
    finally:
        await ws.close()


async def test_attached_tp_sl_appear_on_orders_algo_and_turn_effective_when_triggered(
    server: SimServer, client, session
):
    ws = await logged_in(session, server, "/ws/v5/business")
    try:
        await ws.send_str(json.dumps({"op": "subscribe", "args": [{"channel": "orders-algo", "instType": "SWAP"}]}))
        assert (await recv(ws))["event"] == "subscribe"
        last = float(server.sim.market.tracks[BTC].quote.last)
        tp = str(int(last * 1.01))
        await client.post(
            "/api/v5/trade/order",
            {
                "instId": BTC,
                "tdMode": "cross",
                "side": "buy",
                "ordType": "market",
                "sz": "1",
                "attachAlgoOrds": [{"tpTriggerPx": tp, "tpOrdPx": "-1"}],
            },
        )
        live = (await recv(ws))["data"][0]
        assert live["state"] == "live" and live["ordType"] == "conditional" and live["tpTriggerPx"] == tp
        async with session.post(
            server.base + "/_sim/price", json={"instId": BTC, "price": str(int(last * 1.02))}
        ) as resp:
            assert resp.status == 200
        done = (await recv(ws))["data"][0]
        assert done["algoId"] == live["algoId"] and done["state"] == "effective" and done["ordId"]
    finally:
        await ws.close()


async def test_history_endpoints_page_newest_first_with_after_and_before(server: SimServer, client):
    sim = server.sim
    for i in range(5):
        sim.engine.place_order(
            OrderRequest(inst_id=BTC, td_mode="cross", side="buy" if i % 2 == 0 else "sell", ord_type="market", sz="1"),
            sim.quotes(),
            sim.now_ms(),
        )
    first = (await client.get("/api/v5/trade/fills-history?instType=SWAP&limit=2"))["data"]
    bills = [int(f["billId"]) for f in first]
    assert len(first) == 2 and bills == sorted(bills, reverse=True)
    older = (await client.get(f"/api/v5/trade/fills-history?instType=SWAP&after={bills[-1]}"))["data"]
    assert len(older) == 3 and all(int(f["billId"]) < bills[-1] for f in older)
    newer = (await client.get(f"/api/v5/trade/fills-history?instType=SWAP&before={older[0]['billId']}"))["data"]
    assert [f["billId"] for f in newer] == [f["billId"] for f in first]
    status, body = await client.call("GET", "/api/v5/trade/fills-history")
    assert status == 400 and body["code"] == "51000" and body["msg"] == "Parameter instType can not be empty"
    orders = (await client.get("/api/v5/trade/orders-history-archive?instType=SWAP&limit=3"))["data"]
    assert len(orders) == 3 and int(orders[0]["ordId"]) > int(orders[-1]["ordId"])
    positions = (await client.get("/api/v5/account/positions-history?instType=SWAP"))["data"]
    assert (
        positions
        and positions[0]["type"] == "2"
        and positions[0]["closeTotalPos"] == "1"
        and positions[0]["realizedPnl"]
    )


async def test_a_logged_in_private_socket_without_subscription_closes_with_4004(session):
    import dataclasses

    from tests.okxsim.conftest import QUIET, start_server

    srv = await start_server(dataclasses.replace(QUIET, ws_idle_secs=0.5))
    try:
        ws = await logged_in(session, srv)
        msg = await ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 4004
        await ws.close()
    finally:
        await srv.runner.cleanup()
