"""The trading API as a real process in front of the real OKX simulator: market endpoints, auth, faults."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.helpers import wait_until
from tests.stack import api_env, api_server, okxsim


@pytest.fixture(scope="module")
def stack(tmp_path_factory, request):
    log_dir: Path = tmp_path_factory.mktemp("logs")
    db = request.getfixturevalue("module_database_url")
    with okxsim(log_dir, OKXSIM_INST_IDS="BTC-USDT-SWAP,ETH-USDT-SWAP") as sim:
        env = api_env(sim, db, OKX_INST_IDS="BTC-USDT-SWAP,ETH-USDT-SWAP", OKX_TICKER_BAR="5m")
        with api_server(log_dir, env) as api:
            yield sim, api, log_dir


def test_health_is_public_and_reports_components(stack):
    _, api, _ = stack
    # Liveness for anyone; the components' state with the token (tests/security/test_api_exposure.py).
    assert set(httpx.get(api.url + "/api/health", timeout=5).json()) == {"status"}
    body = api.get("/api/health").json()
    assert body["database"]["ok"] is True
    assert body["okx"]["simulator"] is True and body["okx"]["simulated"] is True
    # No agent runs in this test: the API still starts and says so.
    assert body["agent"]["ok"] is False and "unreachable" in body["agent"]["detail"]


def test_every_other_endpoint_needs_the_token(stack):
    _, api, _ = stack
    for path in (
        "/api/market/ticker?instId=BTC-USDT-SWAP",
        "/api/market/tickers",
        "/api/market/candles?instId=BTC-USDT-SWAP",
        "/api/stream",
    ):
        assert httpx.get(api.url + path, timeout=5).status_code == 401
        assert (
            httpx.get(api.url + path, headers={"Authorization": "Bearer wrong-token-000000000"}, timeout=5).status_code
            == 401
        )
    assert (
        httpx.get(api.url + "/api/market/tickers", headers={"Authorization": api.token}, timeout=5).status_code == 401
    )


def test_ticker_has_live_fields_and_bar_snapshot(stack):
    _, api, _ = stack
    t = wait_until(lambda: (r := api.get("/api/market/ticker", instId="BTC-USDT-SWAP")).status_code == 200 and r.json())
    for key in ("last", "bidPx", "askPx", "open24h", "high24h", "low24h", "vol24h", "volCcy24h", "ts"):
        assert isinstance(t[key], str) and t[key] != ""
    assert t["bar"] == "5m"
    assert t["barCandle"]["c"] and int(t["barCandle"]["ts"]) % 300_000 == 0
    # symbol= is an alias of instId
    assert api.get("/api/market/ticker", symbol="ETH-USDT-SWAP").json()["instId"] == "ETH-USDT-SWAP"


def test_prices_change_over_time(stack):
    _, api, _ = stack
    first = api.get("/api/market/ticker", instId="BTC-USDT-SWAP").json()["last"]
    wait_until(lambda: api.get("/api/market/ticker", instId="BTC-USDT-SWAP").json()["last"] != first, timeout=10)


def test_tickers_cover_every_configured_instrument(stack):
    _, api, _ = stack
    ids = [t["instId"] for t in api.get("/api/market/tickers").json()]
    assert ids == ["BTC-USDT-SWAP", "ETH-USDT-SWAP"]


def test_candles_oldest_first_and_limits(stack):
    _, api, _ = stack
    body = api.get("/api/market/candles", instId="BTC-USDT-SWAP", bar="1m", limit=50).json()
    ts = [int(c["ts"]) for c in body["candles"]]
    assert len(ts) == 50 and ts == sorted(ts) and len(set(ts)) == 50
    assert all(b - a == 60_000 for a, b in zip(ts, ts[1:]))


@pytest.mark.parametrize(
    "path,params,field",
    [
        ("/api/market/ticker", {}, "instId"),
        ("/api/market/ticker", {"instId": "not an id"}, "instId"),
        ("/api/market/ticker", {"instId": "NOPE-USDT-SWAP"}, "instId"),
        ("/api/market/candles", {"instId": "BTC-USDT-SWAP", "bar": "7m"}, "bar"),
        ("/api/market/candles", {"instId": "BTC-USDT-SWAP", "limit": "0"}, "limit"),
        ("/api/market/candles", {"instId": "BTC-USDT-SWAP", "limit": "301"}, "limit"),
        ("/api/market/candles", {"instId": "BTC-USDT-SWAP", "limit": "ten"}, "limit"),
        ("/api/market/books", {"instId": "BTC-USDT-SWAP", "sz": "401"}, "sz"),
        ("/api/market/trades", {"instId": "BTC-USDT-SWAP", "limit": "-1"}, "limit"),
        ("/api/market/instruments", {"instId": "NOPE-USDT-SWAP"}, "instId"),
    ],
)
def test_bad_parameters_are_400_naming_the_field(stack, path, params, field):
    _, api, _ = stack
    r = api.get(path, **params)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["field"] == field and field in body["detail"]


def test_books_trades_instruments_funding(stack):
    _, api, _ = stack
    book = api.get("/api/market/books", instId="BTC-USDT-SWAP", sz=5).json()
    assert len(book["asks"]) == 5 and float(book["asks"][0][0]) > float(book["bids"][0][0])
    trades = api.get("/api/market/trades", instId="BTC-USDT-SWAP", limit=5).json()
    assert 1 <= len(trades) <= 5 and all(t["side"] in ("buy", "sell") for t in trades)
    specs = {i["instId"]: i for i in api.get("/api/market/instruments").json()}
    assert specs["BTC-USDT-SWAP"]["ctVal"] == "0.01" and specs["BTC-USDT-SWAP"]["lotSz"] == "0.1"
    assert api.get("/api/market/funding-rate", instId="BTC-USDT-SWAP").json()["fundingRate"]


def test_stream_delivers_tickers(stack):
    _, api, _ = stack
    events = []
    with httpx.stream("GET", api.url + "/api/stream", headers=api.headers, timeout=10) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        for line in resp.iter_lines():
            if line.startswith("event:"):
                events.append(line.split(":", 1)[1].strip())
            if len(events) >= 3:
                break
    assert events == ["ticker"] * 3


def test_websocket_dropped_prices_keep_flowing_then_reconnects(stack):
    sim, api, _ = stack
    health = lambda: api.get("/api/health").json()["okx"]["feed"]  # noqa: E731
    before = health()["reconnects"]
    sim.control("POST", "pause")  # no random walk: the prices seen are the ones this test sets
    sim.control("POST", "ws/drop", {"refuseSecs": 4.0})
    # While the socket is refused, REST polling keeps the ticker fresh...
    wait_until(lambda: health()["polling"], timeout=5)
    sim.control("POST", "price", {"instId": "BTC-USDT-SWAP", "price": "51234.5"})
    wait_until(lambda: api.get("/api/market/ticker", instId="BTC-USDT-SWAP").json()["last"] == "51234.5", timeout=5)
    # ...and once the socket is back the feed resubscribes and polling stops.
    wait_until(
        lambda: (f := health())["state"] == "connected" and not f["polling"] and f["reconnects"] > before, timeout=20
    )
    sim.control("POST", "price", {"instId": "BTC-USDT-SWAP", "price": "51300.1"})
    t = wait_until(
        lambda: (t := api.get("/api/market/ticker", instId="BTC-USDT-SWAP").json())["last"] == "51300.1" and t
    )
    assert t["source"] == "ws"
    sim.control("POST", "resume")


def test_market_data_served_while_okx_rest_fails(stack):
    sim, api, _ = stack
    sim.control("POST", "faults", {"status": 503, "pathPrefix": "/api/v5/market/ticker"})
    try:
        # The live ticker comes from the WebSocket, so REST failing does not stop it.
        r = api.get("/api/market/ticker", instId="BTC-USDT-SWAP")
        assert r.status_code == 200 and r.json()["source"] == "ws"
    finally:
        httpx.delete(sim.url + "/_sim/faults", timeout=5)


def test_okx_failure_is_a_clear_error_not_a_500(stack):
    sim, api, _ = stack
    sim.control("POST", "faults", {"status": 429, "code": "50011", "pathPrefix": "/api/v5/market/books"})
    try:
        r = api.get("/api/market/books", instId="BTC-USDT-SWAP")
        assert r.status_code == 429
        assert "50011" in r.text
    finally:
        httpx.delete(sim.url + "/_sim/faults", timeout=5)
    sim.control("POST", "faults", {"status": 500, "count": 2, "pathPrefix": "/api/v5/market/trades"})
    # Two 5xx then success: retried within bounds, the caller sees the answer.
    assert api.get("/api/market/trades", instId="BTC-USDT-SWAP", limit=3).status_code == 200


def test_openapi_schema_served(stack):
    _, api, _ = stack
    schema = httpx.get(api.url + "/api/schema/openapi.json", timeout=5).json()
    assert "/api/market/ticker" in schema["paths"]


def test_metrics_need_the_token_and_move_with_traffic(stack):
    _, api, _ = stack
    assert httpx.get(api.url + "/metrics", timeout=5).status_code == 401

    def value(text: str, name: str, **labels: str) -> float:
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items())
        )

    before = api.get("/metrics").text
    for _ in range(3):
        api.get("/api/market/candles", instId="BTC-USDT-SWAP", bar="1m", limit=5)
    api.get("/api/market/candles", instId="BTC-USDT-SWAP", bar="9m")
    after = api.get("/metrics").text
    assert (
        value(after, "aitrader_http_requests_total", route="/api/market/candles", status="200")
        - value(before, "aitrader_http_requests_total", route="/api/market/candles", status="200")
        == 3
    )
    assert value(after, "aitrader_http_requests_total", route="/api/market/candles", status="400") >= 1
    assert value(after, "aitrader_okx_requests_total", endpoint="/api/v5/market/candles", outcome="ok") > value(
        before, "aitrader_okx_requests_total", endpoint="/api/v5/market/candles", outcome="ok"
    )
    assert 'aitrader_ticker_feed_age_seconds{instId="BTC-USDT-SWAP"}' in after
    assert "aitrader_ws_connected 1.0" in after
