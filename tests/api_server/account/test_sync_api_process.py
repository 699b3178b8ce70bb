"""The real API process with the real simulator process: a trade made straight at OKX (as on the OKX app)
reaches the API's database through the private WebSocket within a second, not at the next REST sync."""

from __future__ import annotations

import time

from tests.api_server.account.conftest import INST
from tests.helpers import wait_until


def test_a_trade_made_on_okx_reaches_the_database_within_a_second(launch):
    # The REST sync runs every 60 s here: only the private WebSocket can deliver within a second.
    stack = launch(api_env={"ACCOUNT_SYNC_INTERVAL_SECS": "60"})
    wait_until(
        lambda: "subscribed: balance_and_position,orders,positions" in stack.api_log.read_text(),
        timeout=30,
        what="the private feed subscribed",
    )
    time.sleep(0.3)  # let the start-up catch-up finish, so it cannot be what records the fill below
    started = time.monotonic()
    body = stack.sim_call(
        "POST",
        "/api/v5/trade/order",
        {"instId": INST, "tdMode": "cross", "side": "buy", "ordType": "market", "sz": "1", "clOrdId": "okxapp1"},
    )
    assert body["code"] == "0", body
    ord_id = body["data"][0]["ordId"]
    rows = wait_until(
        lambda: stack.sql("select trade_id, fill_sz from trade_fills where ord_id = %s", ord_id),
        timeout=5,
        what="the fill in the database",
        interval=0.02,
    )
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, elapsed
    assert len(rows) == 1 and str(rows[0]["fill_sz"]) == "1"
    order = stack.sql("select origin, state from trade_orders where ord_id = %s", ord_id)
    assert order == [{"origin": "exchange", "state": "filled"}]
    assert "okxsim-key" not in stack.api_log.read_text() and "acct-sim-secret" not in stack.api_log.read_text()
