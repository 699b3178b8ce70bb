"""OKX REST client against a stand-in server on a real socket replaying recorded OKX replies."""

from __future__ import annotations

import json
import logging

import msgspec
import pytest

from api_server.okx.errors import (
    OkxAuthError,
    OkxError,
    OkxOrderRejected,
    OkxRateLimited,
    OkxRequestError,
    OkxUnavailable,
)
from api_server.okx.rest import OkxRestClient, build_query
from shared.okx_auth import sign
from tests.api_server.okx.conftest import DOC_TIME
from tests.api_server.okx.stand_in import API_KEY, PASSPHRASE, SECRET, Reply, fixture_lines, fixture_text
from tests.helpers import FIXTURES, free_port

VECTORS = json.loads((FIXTURES / "signature_test_vectors.computed.json").read_text())["vectors"]
OK_EMPTY = (200, '{"code":"0","msg":"","data":[]}')


def raw_items(name: str) -> list[dict]:
    return json.loads(fixture_text(name))["data"]


def assert_same_fields(parsed: msgspec.Struct, raw: dict) -> int:
    """Every field the Struct declares that the raw item has must come through unchanged."""
    checked = 0
    for name in parsed.__struct_fields__:
        if name in raw and name not in ("source", "received_at"):
            value = getattr(parsed, name)
            if isinstance(value, list) and value and isinstance(value[0], msgspec.Struct):
                assert len(value) == len(raw[name]), name
                for sub, raw_sub in zip(value, raw[name]):
                    assert_same_fields(sub, raw_sub)
            else:
                assert value == raw[name], name
            checked += 1
    assert checked >= 3
    return checked


# -- signing -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("vector", VECTORS, ids=[f"{v['method']} {v['requestPath']}" for v in VECTORS])
def test_signature_vectors(vector):
    assert vector["prehash"] == vector["timestamp"] + vector["method"] + vector["requestPath"] + vector["body"]
    assert (
        sign(vector["secret"], vector["timestamp"], vector["method"], vector["requestPath"], vector["body"])
        == vector["sign"]
    )


async def test_signed_get_sends_exactly_what_it_signed(okx, make_client):
    client = make_client(now=lambda: DOC_TIME)
    okx.script("GET", "/api/v5/account/balance", (200, fixture_text("rest_account_balance.docs.json")))
    await client.get_balance(ccy="BTC")
    req = okx.requests[-1]
    vector = VECTORS[0]
    assert req.raw_path == vector["requestPath"] == "/api/v5/account/balance?ccy=BTC"
    assert req.headers["OK-ACCESS-TIMESTAMP"] == vector["timestamp"]
    assert req.headers["OK-ACCESS-SIGN"] == vector["sign"]
    assert req.headers["OK-ACCESS-KEY"] == API_KEY
    assert req.headers["OK-ACCESS-PASSPHRASE"] == PASSPHRASE
    assert req.headers["x-simulated-trading"] == "1"
    assert req.signature_ok is True


async def test_signed_posts_match_the_vectors(okx, make_client):
    client = make_client(now=lambda: DOC_TIME)
    okx.script(
        "POST",
        "/api/v5/account/set-leverage",
        (200, '{"code":"0","msg":"","data":[{"instId":"BTC-USDT","lever":"5","mgnMode":"isolated","posSide":""}]}'),
    )
    okx.script("POST", "/api/v5/trade/cancel-order", (200, fixture_text("rest_trade_cancel_order.docs.json")))
    lev = await client.set_leverage("BTC-USDT", 5, "isolated")
    assert (lev.instId, lev.lever, lev.mgnMode) == ("BTC-USDT", "5", "isolated")
    await client.cancel_order("BTC-USDT-SWAP", ord_id="590908157585625111")
    leverage_req, cancel_req = okx.requests
    by_path = {v["requestPath"]: v for v in VECTORS}
    for req in (leverage_req, cancel_req):
        vector = by_path[req.raw_path]
        assert req.body == vector["body"]
        assert req.headers["OK-ACCESS-SIGN"] == vector["sign"]
        assert req.signature_ok is True


async def test_query_is_sent_verbatim_and_signature_covers_it(okx, client):
    okx.script("GET", "/api/v5/account/balance", (200, fixture_text("rest_account_balance.docs.json")))
    okx.script("GET", "/api/v5/market/candles", (200, fixture_text("rest_market_candles.docs.json")))
    await client.get_balance(ccy="BTC,ETH")
    await client.get_candles("BTC-USDT-SWAP", "1m", limit=2, after=1597026383085, before=None)
    balance_req, candles_req = okx.requests
    assert balance_req.raw_path == "/api/v5/account/balance?ccy=BTC,ETH"
    assert balance_req.signature_ok is True
    assert candles_req.raw_path == "/api/v5/market/candles?instId=BTC-USDT-SWAP&bar=1m&after=1597026383085&limit=2"
    assert candles_req.signature_ok is None  # public: no auth headers at all
    assert not any(h.startswith("OK-ACCESS") for h in candles_req.headers)
    assert candles_req.headers["x-simulated-trading"] == "1"


def test_build_query_encodes_values_and_drops_empties():
    assert build_query({"a": "x y", "b": None, "c": "", "d": "A,B", "e": True, "f": 3}) == "a=x%20y&d=A,B&e=true&f=3"
    assert build_query(None) == ""


async def test_live_mode_sends_no_simulated_header(okx, make_client):
    client = make_client(simulated=False)
    okx.script("GET", "/api/v5/public/time", (200, fixture_text("rest_public_time.docs.json")))
    assert await client.get_server_time() == int(raw_items("rest_public_time.docs.json")[0]["ts"])
    assert "x-simulated-trading" not in okx.requests[0].headers


async def test_private_call_without_credentials_fails_before_sending(okx, make_client):
    client = make_client(api_key="", api_secret="", passphrase="")
    with pytest.raises(OkxAuthError) as err:
        await client.get_positions()
    assert "not configured" in str(err.value)
    assert okx.requests == []
    assert "credentials=False" in repr(client)


# -- fixture replay: parsed results ------------------------------------------------------------------
SINGLE_ITEM_REPLAYS = [
    ("GET", "/api/v5/market/ticker", "rest_market_ticker.ccxt_recorded.json", lambda c: c.get_ticker("BTC-USDT")),
    ("GET", "/api/v5/market/ticker", "rest_market_ticker.docs.json", lambda c: c.get_ticker("BTC-USD-SWAP")),
    ("GET", "/api/v5/market/books", "rest_market_books.docs.json", lambda c: c.get_books("BTC-USDT", 1)),
    ("GET", "/api/v5/account/balance", "rest_account_balance.docs.json", lambda c: c.get_balance()),
    ("GET", "/api/v5/account/balance", "rest_account_balance.ccxt_recorded.trimmed.json", lambda c: c.get_balance()),
    ("GET", "/api/v5/account/config", "rest_account_config.docs.json", lambda c: c.get_account_config()),
    (
        "GET",
        "/api/v5/trade/order",
        "rest_trade_order_get.docs.json",
        lambda c: c.get_order("BTC-USDT", ord_id="680800019749904384"),
    ),
    (
        "GET",
        "/api/v5/trade/order",
        "rest_trade_order_get.spot.ccxt_recorded.json",
        lambda c: c.get_order("LTC-USDT", cl_ord_id="e847386590ce4dBC6f7ae74854f6a617"),
    ),
    (
        "POST",
        "/api/v5/trade/order",
        "rest_trade_order_post.ccxt_recorded.json",
        lambda c: c.place_order(
            inst_id="LTC-USDT-SWAP",
            td_mode="cross",
            side="buy",
            ord_type="market",
            sz="1",
            cl_ord_id="6b9ad766b55dBCDE63969a1144bfb943",
        ),
    ),
    (
        "POST",
        "/api/v5/trade/order",
        "rest_trade_order_post.docs.json",
        lambda c: c.place_order(
            inst_id="BTC-USDT", td_mode="cash", side="buy", ord_type="limit", px="2.15", sz="2", cl_ord_id="oktswap6"
        ),
    ),
    (
        "POST",
        "/api/v5/trade/cancel-order",
        "rest_trade_cancel_order.docs.json",
        lambda c: c.cancel_order("BTC-USDT", cl_ord_id="oktswap6"),
    ),
]


@pytest.mark.parametrize("method,path,fixture,call", SINGLE_ITEM_REPLAYS, ids=[r[2] for r in SINGLE_ITEM_REPLAYS])
async def test_single_item_replies_parse(okx, client, method, path, fixture, call):
    okx.script(method, path, (200, fixture_text(fixture)))
    parsed = await call(client)
    raw = raw_items(fixture)[0]
    assert_same_fields(parsed, raw)
    assert okx.count(method, path) == 1
    assert all(r.signature_ok in (None, True) for r in okx.requests)


LIST_REPLAYS = [
    ("GET", "/api/v5/market/trades", "rest_market_trades.docs.json", lambda c: c.get_trades("BTC-USDT", 2)),
    ("GET", "/api/v5/market/trades", "rest_market_trades.ccxt_recorded.json", lambda c: c.get_trades("BTC-USDT", 1)),
    ("GET", "/api/v5/public/instruments", "rest_public_instruments.docs.json", lambda c: c.get_instruments("SPOT")),
    ("GET", "/api/v5/account/positions", "rest_account_positions.docs.json", lambda c: c.get_positions("MARGIN")),
    (
        "GET",
        "/api/v5/account/positions",
        "rest_account_positions.swap.ccxt_recorded.json",
        lambda c: c.get_positions("SWAP"),
    ),
    (
        "GET",
        "/api/v5/trade/orders-pending",
        "rest_trade_orders_pending.docs.json",
        lambda c: c.get_orders_pending(None),
    ),
    (
        "GET",
        "/api/v5/trade/orders-pending",
        "rest_trade_orders_pending.swap.ccxt_recorded.json",
        lambda c: c.get_orders_pending(),
    ),
    (
        "GET",
        "/api/v5/trade/orders-history",
        "rest_trade_orders_history.swap_filled.ccxt_recorded.json",
        lambda c: c.get_orders_history(),
    ),
    ("GET", "/api/v5/trade/fills", "rest_trade_fills.docs.json", lambda c: c.get_fills()),
    ("GET", "/api/v5/trade/fills", "rest_trade_fills.spot.ccxt_recorded.json", lambda c: c.get_fills(inst_type="SPOT")),
]


@pytest.mark.parametrize("method,path,fixture,call", LIST_REPLAYS, ids=[r[2] for r in LIST_REPLAYS])
async def test_list_replies_parse(okx, client, method, path, fixture, call):
    okx.script(method, path, (200, fixture_text(fixture)))
    parsed = await call(client)
    raw = raw_items(fixture)
    assert len(parsed) == len(raw)
    for item, raw_item in zip(parsed, raw):
        assert_same_fields(item, raw_item)


async def test_nested_and_typed_fields(okx, client):
    okx.script("GET", "/api/v5/account/balance", (200, fixture_text("rest_account_balance.docs.json")))
    okx.script("GET", "/api/v5/market/candles", (200, fixture_text("rest_market_candles.docs.json")))
    okx.script("GET", "/api/v5/market/history-candles", (200, fixture_text("rest_market_history_candles.docs.json")))
    okx.script(
        "GET",
        "/api/v5/public/instruments",
        (
            200,
            json.dumps(
                {
                    "code": "0",
                    "msg": "",
                    "data": [json.loads(fixture_text("rest_public_instruments.swap_item.recorded.json"))],
                }
            ),
        ),
    )
    okx.script(
        "GET",
        "/api/v5/public/funding-rate",
        (
            200,
            '{"code":"0","msg":"","data":[{"instId":"BTC-USDT-SWAP","instType":"SWAP","fundingRate":"0.0001","nextFundingRate":"","fundingTime":"1700000000000","nextFundingTime":"1700028800000","method":"current_period"}]}',
        ),
    )

    balance = await client.get_balance()
    raw_detail = raw_items("rest_account_balance.docs.json")[0]["details"]
    assert [d.ccy for d in balance.details] == [d["ccy"] for d in raw_detail]
    assert_same_fields(balance.details[0], raw_detail[0])

    candles = await client.get_candles("BTC-USDT", "1D", limit=2)
    history = await client.get_candles("BTC-USDT", "1D", limit=2, history=True)
    raw_rows = raw_items("rest_market_candles.docs.json")
    assert [list(msgspec.structs.astuple(c)) for c in candles] == raw_rows
    assert [c.confirm for c in history] == [r[8] for r in raw_items("rest_market_history_candles.docs.json")]
    assert okx.requests[-1].path == "/api/v5/market/history-candles"

    (swap,) = await client.get_instruments("SWAP", "BTC-USDT-SWAP")
    assert (swap.ctVal, swap.lotSz, swap.minSz, swap.tickSz, swap.settleCcy) == ("0.01", "0.1", "0.1", "0.1", "USDT")
    assert okx.requests[-1].raw_path == "/api/v5/public/instruments?instType=SWAP&instId=BTC-USDT-SWAP"

    rate = await client.get_funding_rate("BTC-USDT-SWAP")
    assert (rate.fundingRate, rate.nextFundingTime) == ("0.0001", "1700028800000")


async def test_rest_ticker_is_marked_rest_and_stamped(okx, client):
    okx.script(
        "GET",
        "/api/v5/market/tickers",
        (200, json.dumps({"code": "0", "msg": "", "data": raw_items("rest_market_ticker.docs.json") * 2})),
    )
    tickers = await client.get_tickers("SWAP")
    assert len(tickers) == 2
    assert all(t.source == "rest" and t.received_at > 1e9 for t in tickers)
    assert okx.requests[0].raw_path == "/api/v5/market/tickers?instType=SWAP"


# -- typed errors from recorded failures -------------------------------------------------------------
async def test_http401_50113_is_auth_error_not_retried(okx, client):
    okx.script("GET", "/api/v5/account/positions", (401, fixture_text("rest_error_http401_50113.recorded.json")))
    with pytest.raises(OkxAuthError) as err:
        await client.get_positions()
    e = err.value
    assert (e.code, e.msg, e.http_status, e.temporary, e.path) == (
        "50113",
        "Invalid Sign",
        401,
        False,
        "/api/v5/account/positions",
    )
    assert okx.count("GET", "/api/v5/account/positions") == 1


async def test_http400_51000_is_request_error_not_retried(okx, client):
    okx.script("POST", "/api/v5/trade/order", (400, fixture_text("rest_error_http400_51000.recorded.json")))
    with pytest.raises(OkxRequestError) as err:
        await client.place_order(inst_id="BTC-USDT-SWAP", td_mode="cross", side="buy", ord_type="market", sz="1")
    assert (err.value.code, err.value.msg, err.value.http_status, err.value.temporary) == (
        "51000",
        "Parameter clOrdId error",
        400,
        False,
    )
    assert okx.count("POST", "/api/v5/trade/order") == 1
    assert client.stats["errors"]["51000"] == 1 and client.stats["retries"] == 0


async def test_200_51000_missing_parameter_is_request_error(okx, client):
    okx.script("GET", "/api/v5/public/funding-rate", (200, fixture_text("rest_error_51000_instId_empty.recorded.json")))
    with pytest.raises(OkxRequestError) as err:
        await client.get_funding_rate("")
    assert (err.value.code, err.value.msg) == ("51000", "Parameter instId can not be empty")


@pytest.mark.parametrize(
    "body",
    [
        fixture_text("rest_trade_order_post.error_51155.ccxt_comment.json"),
        fixture_lines("rest_trade_order_post.success_and_error_51094.recorded.txt")[0],
    ],
    ids=["51155", "51094"],
)
async def test_order_failures_keep_scode_smsg(okx, client, body):
    okx.script("POST", "/api/v5/trade/order", (200, body))
    raw = json.loads(body)["data"][0]
    with pytest.raises(OkxOrderRejected) as err:
        await client.place_order(inst_id="BTC-USDT-SWAP", td_mode="cross", side="buy", ord_type="limit", px="1", sz="1")
    e = err.value
    assert (e.code, e.msg, e.s_code, e.s_msg, e.http_status) == (
        "1",
        "All operations failed",
        raw["sCode"],
        raw["sMsg"],
        200,
    )
    assert e.temporary is False
    assert e.cl_ord_id == raw["clOrdId"]
    assert raw["sCode"] in str(e) and raw["sMsg"].strip() in str(e)
    assert okx.count("POST", "/api/v5/trade/order") == 1


async def test_success_line_of_the_51094_recording_parses(okx, client):
    body = fixture_lines("rest_trade_order_post.success_and_error_51094.recorded.txt")[1]
    okx.script("POST", "/api/v5/trade/order", (200, body))
    result = await client.place_order(inst_id="BTC-USDT", td_mode="cash", side="buy", ord_type="market", sz="1")
    assert result.ordId == json.loads(body)["data"][0]["ordId"]
    assert result.sCode == "0"
    assert result.clOrdId == json.loads(okx.requests[0].body)["clOrdId"]  # OKX echoed "", we keep ours


async def test_cancel_and_close_position_failures(okx, client):
    okx.script(
        "POST", "/api/v5/trade/cancel-order", (200, fixture_text("rest_trade_cancel_order.error_51000.recorded.json"))
    )
    okx.script(
        "POST",
        "/api/v5/trade/close-position",
        (200, fixture_text("rest_trade_close_position.error_51000.ccxt_comment.json")),
    )
    with pytest.raises(OkxOrderRejected) as err:
        await client.cancel_order("BTC-USDT-SWAP", ord_id="1")
    assert (err.value.s_code, err.value.s_msg, err.value.code) == ("51000", "Parameter ordId error", "1")
    with pytest.raises(OkxOrderRejected) as err:
        await client.close_position("BTC-USDT-SWAP", "cross", pos_side="long")
    assert (err.value.s_code, err.value.s_msg.strip()) == ("51000", "Parameter posSide error")
    assert okx.count("POST", "/api/v5/trade/cancel-order") == okx.count("POST", "/api/v5/trade/close-position") == 1


# -- retries -----------------------------------------------------------------------------------------
async def test_5xx_then_success(okx, client, sleeps):
    okx.script(
        "GET", "/api/v5/market/books", (503, "<html>busy</html>"), (200, fixture_text("rest_market_books.docs.json"))
    )
    book = await client.get_books("BTC-USDT")
    assert book.asks == raw_items("rest_market_books.docs.json")[0]["asks"]
    assert okx.count("GET", "/api/v5/market/books") == 2
    assert client.stats["retries"] == 1 and client.stats["errors"]["http_503"] == 1
    assert sleeps.delays == [0.2]


async def test_429_then_success(okx, client):
    okx.script(
        "GET",
        "/api/v5/market/trades",
        (429, fixture_text("rest_error_http429_50011.recorded.json")),
        (200, fixture_text("rest_market_trades.docs.json")),
    )
    trades = await client.get_trades("BTC-USDT", 2)
    assert len(trades) == 2
    assert okx.count("GET", "/api/v5/market/trades") == 2
    assert client.stats["errors"]["50011"] == 1


async def test_code_50011_on_http200_is_retried_too(okx, client):
    okx.script(
        "GET",
        "/api/v5/public/time",
        (200, '{"code":"50011","data":[],"msg":"Rate limit reached."}'),
        (200, fixture_text("rest_public_time.docs.json")),
    )
    assert await client.get_server_time() == 1597026383085
    assert okx.count("GET", "/api/v5/public/time") == 2


async def test_retries_are_bounded_and_the_last_error_is_clear(okx, client, sleeps):
    okx.script("GET", "/api/v5/market/books", (502, '{"code":"50026","msg":"System error. Try again later"}'))
    with pytest.raises(OkxUnavailable) as err:
        await client.get_books("BTC-USDT")
    assert okx.count("GET", "/api/v5/market/books") == client.max_retries + 1 == 4
    assert err.value.attempts == 4 and err.value.code == "50026"
    assert "gave up after 4 attempts" in str(err.value)
    # full jitter with rng=1.0 gives the cap of each step: base·2^n
    assert sleeps.delays == [0.2, 0.4, 0.8]


async def test_rate_limited_until_the_end_is_okx_rate_limited(okx, make_client, sleeps):
    client = make_client(max_retries=2)
    okx.script("GET", "/api/v5/market/tickers", (429, fixture_text("rest_error_http429_50011.recorded.json")))
    with pytest.raises(OkxRateLimited) as err:
        await client.get_tickers()
    assert (err.value.code, err.value.http_status, err.value.temporary, err.value.attempts) == ("50011", 429, True, 3)
    assert okx.count("GET", "/api/v5/market/tickers") == 3


async def test_backoff_is_capped_and_jittered(make_client):
    client = make_client(backoff_base=1.0, backoff_max=3.0, rng=lambda: 0.5)
    assert [client.backoff_delay(n) for n in range(5)] == [0.5, 1.0, 1.5, 1.5, 1.5]
    client = make_client(backoff_base=1.0, backoff_max=3.0, rng=lambda: 0.0)
    assert client.backoff_delay(4) == 0.0


async def test_timeout_then_success(okx, make_client):
    client = make_client(timeout_secs=0.2)
    okx.script(
        "GET",
        "/api/v5/account/config",
        Reply(200, fixture_text("rest_account_config.docs.json"), delay=1.0),
        (200, fixture_text("rest_account_config.docs.json")),
    )
    config = await client.get_account_config()
    assert config.posMode == "long_short_mode"
    assert okx.count("GET", "/api/v5/account/config") == 2
    assert client.stats["errors"]["OkxUnavailable"] == 1


async def test_connection_refused_is_unavailable_after_retries(session, sleeps):
    client = OkxRestClient(
        session,
        base_url=f"http://127.0.0.1:{free_port()}",
        simulated=True,
        max_retries=2,
        sleep=sleeps,
        rng=lambda: 0.0,
    )
    with pytest.raises(OkxUnavailable) as err:
        await client.get_server_time()
    assert err.value.attempts == 3 and "connection error" in str(err.value)
    assert client.stats["requests"] == 3


async def test_unreadable_success_reply_is_not_retried(okx, client):
    okx.script("GET", "/api/v5/public/time", (200, "not json"))
    with pytest.raises(OkxError) as err:
        await client.get_server_time()
    assert err.value.temporary is False and err.value.http_status == 200
    assert okx.count("GET", "/api/v5/public/time") == 1


# -- orders: never resent while the outcome is unknown (tests/api_server/okx/test_rest_unknown_outcome.py) --
async def test_bad_client_order_id_is_refused_locally(okx, client):
    with pytest.raises(ValueError, match="clOrdId"):
        await client.place_order(
            inst_id="BTC-USDT-SWAP", td_mode="cross", side="buy", ord_type="market", sz="1", cl_ord_id="has-dash"
        )
    with pytest.raises(ValueError, match="ordId or clOrdId"):
        await client.cancel_order("BTC-USDT-SWAP")
    assert okx.requests == []


# -- secrets -----------------------------------------------------------------------------------------
async def test_errors_and_logs_never_contain_secrets(okx, client, caplog):
    caplog.set_level(logging.DEBUG)
    okx.script(
        "GET", "/api/v5/account/balance", (503, "x"), (401, fixture_text("rest_error_http401_50113.recorded.json"))
    )
    with pytest.raises(OkxAuthError) as err:
        await client.get_balance()
    signature = okx.requests[0].headers["OK-ACCESS-SIGN"]
    texts = [str(err.value), repr(err.value), json.dumps(err.value.to_dict()), repr(client), caplog.text]
    assert "retry" in caplog.text.lower()  # the retry was logged...
    for text in texts:  # ...without any credential
        for secret in (SECRET, PASSPHRASE, API_KEY, signature):
            assert secret not in text
