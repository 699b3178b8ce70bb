"""The /_sim control API: faults, request log (secrets redacted), pause/resume, reset, state; and rate limits."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import aiohttp
import pytest

from tests.okxsim.conftest import QUIET, OkxClient, SimServer, start_server

BTC = "BTC-USDT-SWAP"


async def test_fault_answers_count_times_then_clears(client: OkxClient):
    status, body = await client.control("POST", "/_sim/faults", {"status": 429, "code": "50011", "count": 2})
    assert status == 200 and body["faults"][0]["count"] == 2
    for _ in range(2):
        status, reply = await client.call("GET", "/api/v5/public/time")
        assert status == 429 and reply == {"msg": "Too Many Requests", "code": "50011"}
    status, reply = await client.call("GET", "/api/v5/public/time")
    assert status == 200 and reply["code"] == "0"


async def test_fault_5xx_with_path_prefix_until_cleared(client: OkxClient):
    await client.control("POST", "/_sim/faults", {"status": 503, "pathPrefix": "/api/v5/account"})
    status, reply = await client.call("GET", "/api/v5/account/balance")
    assert status == 503 and reply["code"] == "50001"
    status, _ = await client.call("GET", "/api/v5/public/time")
    assert status == 200
    status, reply = await client.call("GET", "/api/v5/account/balance")
    assert status == 503
    await client.control("DELETE", "/_sim/faults")
    status, reply = await client.call("GET", "/api/v5/account/balance")
    assert status == 200 and reply["code"] == "0"


async def test_fault_latency_delays_answers(client: OkxClient):
    await client.control("POST", "/_sim/faults", {"latencyMs": 300, "count": 1})
    started = time.perf_counter()
    status, _ = await client.call("GET", "/api/v5/public/time")
    assert status == 200 and time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    await client.call("GET", "/api/v5/public/time")
    assert time.perf_counter() - started < 0.3


async def test_bad_control_input_is_400_naming_the_field(client: OkxClient):
    cases = [
        ("/_sim/faults", {"status": 9000}, "status"),
        ("/_sim/faults", {"count": "two", "status": 500}, "count"),
        ("/_sim/price", {"instId": "NOPE-USDT-SWAP", "price": "1"}, "instId"),
        ("/_sim/price", {"instId": BTC, "price": "-5"}, "price"),
        ("/_sim/price", {"instId": BTC}, "price"),
        ("/_sim/ws/drop", {"refuseSecs": -1}, "refuseSecs"),
    ]
    for path, body, field in cases:
        status, reply = await client.control("POST", path, body)
        assert status == 400 and reply["field"] == field, (path, body, reply)


async def test_request_log_redacts_secrets(client: OkxClient):
    await client.control("DELETE", "/_sim/requests")
    await client.post("/api/v5/account/set-leverage", {"instId": BTC, "lever": "3", "mgnMode": "cross"})
    await client.get("/api/v5/account/balance?ccy=USDT")
    status, body = await client.control("GET", "/_sim/requests?limit=5")
    entries = body["requests"]
    assert [e["target"] for e in entries] == ["/api/v5/account/set-leverage", "/api/v5/account/balance?ccy=USDT"]
    assert entries[0]["method"] == "POST" and '"lever":"3"' in entries[0]["body"] and entries[0]["status"] == 200
    text = str(entries)
    for entry in entries:
        assert entry["headers"]["OK-ACCESS-SIGN"] == "***" and entry["headers"]["OK-ACCESS-PASSPHRASE"] == "***"
        assert entry["headers"]["OK-ACCESS-KEY"] == client.key
    assert client.passphrase not in text and client.secret not in text
    status, body = await client.control("GET", "/_sim/requests?limit=1")
    assert len(body["requests"]) == 1


async def test_pause_resume_reset_and_state(session_server):
    srv, client = session_server
    status, _ = await client.control("POST", "/_sim/pause")
    assert status == 200
    first = (await client.get(f"/api/v5/market/ticker?instId={BTC}"))["data"][0]["last"]
    await asyncio.sleep(0.35)
    assert (await client.get(f"/api/v5/market/ticker?instId={BTC}"))["data"][0]["last"] == first
    await client.control("POST", "/_sim/resume")
    moved = False
    for _ in range(30):
        await asyncio.sleep(0.1)
        if (await client.get(f"/api/v5/market/ticker?instId={BTC}"))["data"][0]["last"] != first:
            moved = True
            break
    assert moved
    await client.post(
        "/api/v5/trade/order", {"instId": BTC, "tdMode": "cross", "side": "buy", "ordType": "market", "sz": "1"}
    )
    status, state = await client.control("GET", "/_sim/state")
    assert state["positions"][0]["pos"] == "1" and state["orders"]["history"][0]["state"] == "filled"
    assert set(state["prices"]) == set(srv.config.inst_ids) and state["balance"]["details"][0]["ccy"] == "USDT"
    await client.control("POST", "/_sim/reset")
    status, state = await client.control("GET", "/_sim/state")
    assert state["positions"] == [] and state["orders"] == {"pending": [], "history": []}
    usdt = next(d for d in state["balance"]["details"] if d["ccy"] == "USDT")
    assert usdt["eq"] == "10000"
    # A multi-currency account (BTC and ETH held too): the account value is more than the USDT equity.
    assert float(state["balance"]["totalEq"]) > 10000


async def test_rate_limit_answers_429_past_okx_limit(session_server):
    srv, client = session_server
    statuses = [(await client.call("GET", "/api/v5/public/time"))[0] for _ in range(12)]
    assert statuses[:10] == [200] * 10 and statuses[10:] == [429, 429]
    status, body = await client.call("GET", "/api/v5/public/time")
    assert body == {"msg": "Too Many Requests", "code": "50011"}
    # Counted per endpoint: another endpoint still answers.
    status, _ = await client.call("GET", f"/api/v5/market/ticker?instId={BTC}")
    assert status == 200
    # Per user + instrument for orders: 60 per 2 s on BTC leaves ETH free.
    order = {"instId": BTC, "tdMode": "cross", "side": "buy", "ordType": "limit", "px": "1000", "sz": "0.1"}
    results = [(await client.post("/api/v5/trade/order", order))[0] for _ in range(61)]
    assert results.count(429) == 1 and results[-1] == 429
    status, body = await client.post("/api/v5/trade/order", order | {"instId": "ETH-USDT-SWAP", "px": "100"})
    assert status == 200 and body["code"] == "0"


@pytest.fixture
async def session_server():
    srv: SimServer = await start_server(dataclasses.replace(QUIET, tick_ms=100, rate_limits=True))
    try:
        async with aiohttp.ClientSession() as session:
            yield srv, OkxClient(session, srv)
    finally:
        await srv.runner.cleanup()
