"""OK-ACCESS-* verification: the computed signature vectors, every failure code, over a real socket."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from okxsim.auth import check_request, check_ws_login
from shared.okx_auth import sign
from tests.okxsim.conftest import OkxClient, fixture_json

VECTORS = fixture_json("signature_test_vectors.computed.json")["vectors"]
REST_VECTORS = [v for v in VECTORS if v["requestPath"].startswith("/api/")]
PASS = "pass1"


@pytest.mark.parametrize("vector", REST_VECTORS, ids=lambda v: v["method"] + " " + v["requestPath"])
def test_fixture_vectors_verify_and_any_change_breaks_them(vector):
    headers = {
        "OK-ACCESS-KEY": "k",
        "OK-ACCESS-SIGN": vector["sign"],
        "OK-ACCESS-TIMESTAMP": vector["timestamp"],
        "OK-ACCESS-PASSPHRASE": PASS,
        "x-simulated-trading": "1",
    }
    sent = datetime.strptime(vector["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
    common = dict(api_key="k", secret=vector["secret"], passphrase=PASS, now_s=sent + 1, max_skew_s=30)
    assert check_request(headers, vector["method"], vector["requestPath"], vector["body"], **common) is None
    assert check_request(headers, vector["method"], vector["requestPath"] + "&x=1", vector["body"], **common) == "50113"
    assert check_request(headers, vector["method"], vector["requestPath"], vector["body"] + " ", **common) == "50113"
    assert (
        check_request(
            headers, vector["method"], vector["requestPath"], vector["body"], **(common | {"now_s": sent + 31})
        )
        == "50102"
    )


def test_ws_login_vector():
    (vector,) = [v for v in VECTORS if v["requestPath"] == "/users/self/verify"]
    args = {"apiKey": "k", "passphrase": PASS, "timestamp": vector["timestamp"], "sign": vector["sign"]}
    common = dict(api_key="k", secret=vector["secret"], passphrase=PASS, max_skew_s=30)
    assert check_ws_login(args, now_s=float(vector["timestamp"]) + 2, **common) is None
    assert (
        check_ws_login(
            args | {"sign": sign("other", vector["timestamp"], "GET", "/users/self/verify")},
            now_s=float(vector["timestamp"]),
            **common,
        )
        == "60007"
    )


@pytest.mark.parametrize(
    ("override", "code"),
    [
        ({"OK-ACCESS-KEY": None}, "50103"),
        ({"OK-ACCESS-PASSPHRASE": None}, "50104"),
        ({"OK-ACCESS-SIGN": None}, "50106"),
        ({"OK-ACCESS-TIMESTAMP": None}, "50107"),
        ({"OK-ACCESS-PASSPHRASE": "wrong"}, "50105"),
        ({"OK-ACCESS-KEY": "someone-else"}, "50111"),
        ({"OK-ACCESS-TIMESTAMP": "yesterday"}, "50112"),
        ({"OK-ACCESS-TIMESTAMP": "2020-12-08T09:08:57.715Z"}, "50102"),
        ({"x-simulated-trading": None}, "50101"),
        ({"x-simulated-trading": "0"}, "50101"),
        ({"OK-ACCESS-SIGN": "bm90IHRoZSBzaWduYXR1cmU="}, "50113"),
    ],
)
async def test_each_auth_failure_is_http_401_with_its_code(client: OkxClient, override, code):
    target = "/api/v5/account/balance?ccy=USDT"
    headers = client.headers("GET", target)
    for name, value in override.items():
        if value is None:
            headers.pop(name)
        else:
            headers[name] = value
    status, body = await client.call("GET", target, headers=headers)
    assert status == 401
    assert body["code"] == code and body["msg"]
    assert set(body) == {"msg", "code"}


async def test_signature_covers_the_raw_query_exactly_as_sent(client: OkxClient):
    # Unencoded comma, as python-okx sends it: the simulator must sign over the raw bytes, not a re-encoded URL.
    target = "/api/v5/account/positions?instId=BTC-USDT-SWAP,ETH-USDT-SWAP&instType=SWAP"
    status, body = await client.call("GET", target)
    assert status == 200 and body["code"] == "0"
    headers = client.headers("GET", target.replace(",", "%2C"))
    status, body = await client.call("GET", target, headers=headers)
    assert status == 401 and body["code"] == "50113"


async def test_post_signature_covers_raw_body(client: OkxClient):
    raw = '{"instId": "BTC-USDT-SWAP", "lever": "5", "mgnMode": "cross"}'  # python-okx style separators
    status, body = await client.call("POST", "/api/v5/account/set-leverage", raw_body=raw)
    assert status == 200 and body["data"][0]["lever"] == "5"
    headers = client.headers("POST", "/api/v5/account/set-leverage", raw.replace(" ", ""))
    status, body = await client.call("POST", "/api/v5/account/set-leverage", raw_body=raw, headers=headers)
    assert status == 401 and body == {"msg": "Invalid Sign", "code": "50113"}


async def test_public_endpoints_need_no_auth(client: OkxClient):
    async with client.session.get(client.server.base + "/api/v5/public/time") as resp:
        assert resp.status == 200 and (await resp.json())["code"] == "0"
