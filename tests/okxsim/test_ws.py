"""Public/business WebSocket over a real socket: subscribe, ping, pushes, throttling, drops, idle close."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time

import aiohttp
import pytest

from shared.okx_auth import sign
from tests.okxsim.conftest import QUIET, SimServer, start_server

BTC = "BTC-USDT-SWAP"
ETH = "ETH-USDT-SWAP"


async def recv_json(ws, timeout: float = 5.0) -> dict:
    msg = await ws.receive(timeout=timeout)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


async def subscribe(ws, *inst_ids: str, req_id: str | None = None) -> list[dict]:
    request: dict = {"op": "subscribe", "args": [{"channel": "tickers", "instId": i} for i in inst_ids]}
    if req_id:
        request["id"] = req_id
    await ws.send_str(json.dumps(request))
    out = []
    while len([m for m in out if m.get("event") == "subscribe"]) < len(inst_ids) or len(
        [m for m in out if "data" in m]
    ) < len(inst_ids):
        out.append(await recv_json(ws))
    return out


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as s:
        yield s


async def test_subscribe_acks_each_arg_with_conn_id_and_echoes_id(server: SimServer, session):
    async with session.ws_connect(server.ws_url) as ws:
        messages = await subscribe(ws, BTC, ETH, req_id="42")
        acks = [m for m in messages if m.get("event") == "subscribe"]
        assert [a["arg"]["instId"] for a in acks] == [BTC, ETH]
        assert all(a["id"] == "42" and len(a["connId"]) == 8 for a in acks)
        assert len({a["connId"] for a in acks}) == 1
        snapshots = {m["arg"]["instId"]: m["data"][0] for m in messages if "data" in m}
        assert set(snapshots) == {BTC, ETH} and snapshots[BTC]["instType"] == "SWAP"


async def test_ping_pong_and_malformed_requests(server: SimServer, session):
    async with session.ws_connect(server.ws_url) as ws:
        await ws.send_str("ping")
        assert (await ws.receive(timeout=5)).data == "pong"
        await ws.send_str("{not json")
        err = await recv_json(ws)
        assert err["event"] == "error" and err["code"] == "60012" and err["msg"] == "Invalid request: {not json"
        await ws.send_str(json.dumps({"op": "dance", "args": []}))
        assert (await recv_json(ws))["code"] == "60019"
        await ws.send_str(json.dumps({"op": "subscribe", "args": [{"channel": "candle1m", "instId": BTC}]}))
        assert (await recv_json(ws))["code"] == "64001"


async def test_price_control_pushes_ticker_at_once_and_unsubscribe_stops_it(server: SimServer, session):
    async with session.ws_connect(server.ws_url) as ws:
        await subscribe(ws, BTC)
        started = time.perf_counter()
        async with session.post(server.base + "/_sim/price", json={"instId": BTC, "price": "70123.4"}) as resp:
            assert resp.status == 200
        push = await recv_json(ws)
        assert push["arg"] == {"channel": "tickers", "instId": BTC} and push["data"][0]["last"] == "70123.4"
        assert time.perf_counter() - started < 0.5
        await ws.send_str(json.dumps({"op": "unsubscribe", "args": [{"channel": "tickers", "instId": BTC}]}))
        ack = await recv_json(ws)
        assert ack["event"] == "unsubscribe" and ack["arg"]["instId"] == BTC
        async with session.post(server.base + "/_sim/price", json={"instId": BTC, "price": "70000"}) as resp:
            assert resp.status == 200
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive(timeout=0.3)


async def test_random_walk_pushes_price_changes(session):
    srv = await start_server(dataclasses.replace(QUIET, tick_ms=100))
    try:
        async with session.ws_connect(srv.ws_url) as ws:
            await subscribe(ws, BTC)
            count = 0
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                msg = await recv_json(ws, timeout=2)
                assert msg["arg"]["instId"] == BTC
                count += 1
            # One step per 100 ms: the walk pushes, never more than once per step (plus slack for the last read).
            assert 3 <= count <= 13
    finally:
        await srv.runner.cleanup()


async def test_ticker_pushes_are_throttled_to_one_per_100ms_and_end_on_the_newest_price(server: SimServer, session):
    sim = server.sim
    track = sim.market.tracks[BTC]
    async with session.ws_connect(server.ws_url) as ws:
        await subscribe(ws, BTC)
        await asyncio.sleep(0.15)
        started = time.monotonic()
        for i in range(30):  # 30 price changes within ~0.3 s, not forced
            now = sim.now_ms()
            track.set_price(track.quantize(60000.0 + i), now)
            await sim.price_changed([BTC], now)
            await asyncio.sleep(0.01)
        elapsed = time.monotonic() - started
        received = []
        while True:
            try:
                received.append(await recv_json(ws, timeout=0.4))
            except TimeoutError:
                break
        assert 2 <= len(received) <= int(elapsed / 0.1) + 2
        assert received[-1]["data"][0]["last"] == "60029"


async def test_drop_closes_sockets_and_refuses_for_a_while(server: SimServer, session):
    async with session.ws_connect(server.ws_url) as ws:
        await subscribe(ws, BTC)
        async with session.post(server.base + "/_sim/ws/drop", json={"refuseSecs": 0.5}) as resp:
            assert (await resp.json())["dropped"] == 1
        msg = await ws.receive(timeout=5)
        assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE)
    with pytest.raises(aiohttp.WSServerHandshakeError) as exc:
        await session.ws_connect(server.ws_url)
    assert exc.value.status == 503
    await asyncio.sleep(0.6)
    async with session.ws_connect(server.ws_url) as ws:
        await ws.send_str("ping")
        assert (await ws.receive(timeout=5)).data == "pong"


async def test_idle_socket_without_subscription_closes_with_4004(session):
    srv = await start_server(dataclasses.replace(QUIET, ws_idle_secs=0.5))
    try:
        async with session.ws_connect(srv.ws_url) as ws:
            started = time.monotonic()
            msg = await ws.receive(timeout=5)
            assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 4004
            assert 0.4 < time.monotonic() - started < 2.5
    finally:
        await srv.runner.cleanup()


async def test_login_and_business_candles(server: SimServer, session):
    business = server.base.replace("http://", "ws://") + "/ws/v5/business"
    async with session.ws_connect(business) as ws:
        ts = str(int(time.time()))
        cfg = server.config
        await ws.send_str(
            json.dumps(
                {
                    "op": "login",
                    "args": [
                        {
                            "apiKey": cfg.api_key,
                            "passphrase": cfg.passphrase,
                            "timestamp": ts,
                            "sign": sign(cfg.api_secret, ts, "GET", "/users/self/verify"),
                        }
                    ],
                }
            )
        )
        assert (await recv_json(ws)) | {"connId": ""} == {"event": "login", "code": "0", "msg": "", "connId": ""}
        await ws.send_str(json.dumps({"op": "subscribe", "args": [{"channel": "candle1m", "instId": BTC}]}))
        assert (await recv_json(ws))["event"] == "subscribe"
        first = await recv_json(ws)
        assert first["arg"]["channel"] == "candle1m" and len(first["data"][0]) == 9 and first["data"][0][8] == "0"
        async with session.post(server.base + "/_sim/price", json={"instId": BTC, "price": "71000"}) as resp:
            assert resp.status == 200
        pushed = await recv_json(ws, timeout=3)
        assert pushed["data"][0][4] == "71000"
        await ws.send_str(json.dumps({"op": "subscribe", "args": [{"channel": "tickers", "instId": BTC}]}))
        assert (await recv_json(ws))["code"] == "60018"
