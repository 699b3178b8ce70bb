"""OKX server-time offset: measurement, lazy sync before signed calls, 50102 → one resync and one resend."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api_server.okx.clock import ServerClock, measured_offset_ms
from api_server.okx.errors import OkxAuthError
from shared.okx_auth import parse_iso_timestamp
from tests.api_server.okx.stand_in import fixture_text

EXPIRED = (401, '{"msg":"Timestamp request expired.","code":"50102"}')


def time_reply(ms: int) -> tuple[int, str]:
    return 200, json.dumps({"code": "0", "msg": "", "data": [{"ts": str(ms)}]})


def sent_ms(request) -> float:
    return parse_iso_timestamp(request.headers["OK-ACCESS-TIMESTAMP"]).timestamp() * 1000


@given(st.floats(0, 1e13), st.integers(0, 10**13), st.floats(0, 5000))
def test_offset_is_taken_at_the_round_trip_midpoint(before, server, rtt):
    assert measured_offset_ms(before, server, before + rtt) == pytest.approx(server - before - rtt / 2)


async def test_first_signed_call_syncs_and_signs_with_okx_time(okx, make_client):
    behind = lambda: datetime.now(UTC) - timedelta(seconds=60)  # noqa: E731 - this machine is a minute slow
    client = make_client(now=behind, server_clock=ServerClock(local_now=behind))
    okx.script("GET", "/api/v5/public/time", time_reply(int(time.time() * 1000)))
    okx.script("GET", "/api/v5/account/balance", (200, fixture_text("rest_account_balance.docs.json")))
    await client.get_balance()
    assert [r.path for r in okx.requests] == ["/api/v5/public/time", "/api/v5/account/balance"]
    assert abs(sent_ms(okx.requests[1]) - time.time() * 1000) < 3000  # OKX's time, not the machine's
    assert okx.requests[1].signature_ok is True
    await client.get_balance()
    assert okx.count("GET", "/api/v5/public/time") == 1  # periodic, not per call


async def test_50102_resyncs_once_and_resends_a_read_once(okx, make_client):
    client = make_client()  # believes it is synced with offset 0
    ahead_ms = int(time.time() * 1000) + 45_000
    okx.script("GET", "/api/v5/public/time", time_reply(ahead_ms))
    okx.script("GET", "/api/v5/account/positions", EXPIRED, (200, '{"code":"0","msg":"","data":[]}'))
    assert await client.get_positions() == []
    assert okx.count("GET", "/api/v5/account/positions") == 2 and okx.count("GET", "/api/v5/public/time") == 1
    assert 40_000 < client.clock.offset_ms < 50_000
    assert abs(sent_ms(okx.requests[-1]) - ahead_ms) < 3000


async def test_a_second_50102_is_raised_not_looped(okx, make_client):
    client = make_client()
    okx.script("GET", "/api/v5/public/time", time_reply(int(time.time() * 1000)))
    okx.script("GET", "/api/v5/account/balance", EXPIRED)
    with pytest.raises(OkxAuthError) as err:
        await client.get_balance()
    assert err.value.code == "50102"
    assert okx.count("GET", "/api/v5/account/balance") == 2


async def test_a_refused_order_50102_is_resent_once_after_the_resync(okx, make_client):
    """50102 is OKX's answer at the gateway: nothing was executed, so the order may go again (same clOrdId)."""
    client = make_client()
    okx.script("GET", "/api/v5/public/time", time_reply(int(time.time() * 1000)))
    okx.script("POST", "/api/v5/trade/order", EXPIRED, (200, fixture_text("rest_trade_order_post.docs.json")))
    result = await client.place_order(
        inst_id="BTC-USDT-SWAP", td_mode="cross", side="buy", ord_type="market", sz="1", cl_ord_id="skew1"
    )
    posts = [json.loads(r.body)["clOrdId"] for r in okx.requests if r.method == "POST"]
    assert posts == ["skew1", "skew1"] and result.sCode == "0"


async def test_a_failed_sync_keeps_the_old_offset(okx, make_client):
    clock = ServerClock(resync_secs=0)
    clock.offset_ms = 1234.0
    client = make_client(server_clock=clock)
    okx.script("GET", "/api/v5/public/time", (503, "down"))
    okx.script("GET", "/api/v5/account/balance", (200, fixture_text("rest_account_balance.docs.json")))
    await client.get_balance()  # the sync failed; the call still went out, signed with the kept offset
    assert clock.offset_ms == 1234.0 and okx.count("GET", "/api/v5/account/balance") == 1
    time_calls = okx.count("GET", "/api/v5/public/time")
    await client.get_balance()  # no new sync attempt right after a failure
    assert okx.count("GET", "/api/v5/public/time") == time_calls
