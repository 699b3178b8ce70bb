"""Faults of the exchange itself (issue 11), injected through the simulator's own controls into the running
system: a reply lost after OKX executed the order, and OKX's clock moved away from this machine's.

What the checks hold the client to (`api_server/okx/trading.py`): a POST that changes money is sent once; when
its reply is lost it is looked up by its clOrdId, never resent while its outcome is unknown. The client before
issue 11 resent the order with the same clOrdId and relied on OKX answering 51016; OKX (and the simulator, by
default) frees a clOrdId once its order is filled, so that resend became a second order: the checks below
(one POST per clOrdId at the simulator, one order at OKX) fail on it.
"""

from __future__ import annotations

import time

from tests.faults.campaign import (
    INST,
    ORDER_PATH,
    FaultResult,
    api_orders,
    assert_orders_consistent,
    new_cl_ord_id,
    order_posts,
    place,
    sim_orders,
    sim_requests,
)
from tests.faults.processes import FullStack, wait_until
from tests.stack import Sim


def _fault_hit_our_post(stack: FullStack, cl_ord_id: str) -> bool:
    """Did the injected fault hit our POST? It matches by path prefix, so the account sync's GET
    /trade/orders-pending can take it first. Either the API logged that this write's reply was lost ("for
    <clOrdId>: outcome unknown"), or the request log (cleared just before the fault was added) shows our POST as
    the first request on the fault's path: then nothing else can have taken it (a client that does not log
    that line, such as the one before issue 11, is still judged by the checks)."""
    if f"for {cl_ord_id}: outcome unknown" in stack.processes["api"].log_text():
        return True
    first = next((e for e in sim_requests(stack.sim) if e["target"].split("?")[0].startswith(ORDER_PATH)), None)
    return first is not None and first["method"] == "POST" and cl_ord_id in first["body"]


def _placed_through(stack: FullStack, faults: list[dict], tag: str, tries: int = 5):
    """Inject `faults`, place one market order; returns (clOrdId, response, seconds, orders placed). Tried again
    (a new order) when the account sync took the fault instead of our POST; an order placed on such a try
    still counts in the integrity checks."""
    api, sim = stack.api, stack.sim
    placed: list[str] = []
    for _ in range(tries):
        cl = new_cl_ord_id(tag)
        sim.control("DELETE", "requests")
        for fault in faults:
            sim.control("POST", "faults", fault)
        began = time.monotonic()
        response = place(api, cl)
        elapsed = time.monotonic() - began
        if response.status_code != 202:  # a 202 waits for the caller to clear the faults
            sim.control("DELETE", "faults")
        if _fault_hit_our_post(stack, cl):
            placed.append(cl)
            return cl, response, elapsed, placed
        sim.control("DELETE", "faults")
        if response.status_code == 201:
            placed.append(cl)
    raise AssertionError(f"the fault never hit our order in {tries} tries (taken by other requests each time)")


def _one_at_okx(sim: Sim, cl: str) -> dict:
    mine = [o for o in sim_orders(sim) if o["clOrdId"] == cl]
    assert len(mine) == 1, f"{cl}: {len(mine)} orders at OKX"
    assert order_posts(sim, cl) == 1, f"{cl} POSTed {order_posts(sim, cl)} times (resent)"
    return mine[0]


def latency_spikes(stack: FullStack, scale: float = 1.0) -> FaultResult:
    api, sim = stack.api, stack.sim
    timeout = float(api.env["OKX_TIMEOUT_SECS"])
    # Slower than the client's timeout: the order reaches the engine only after the client gave up waiting. The
    # client does not resend it (the old client did, relying on 51016, which OKX does not give for a filled
    # order): it looks the order up by clOrdId until it appears, within the send window, and answers 201.
    cl, response, elapsed, placed = _placed_through(
        stack, [{"latencyMs": int((timeout + 0.5) * 1000), "count": 1, "pathPrefix": ORDER_PATH}], "lat"
    )
    assert response.status_code == 201, response.text
    posts = order_posts(sim, cl)
    assert posts == 1, f"{cl} POSTed {posts} times: resent while its outcome was unknown"
    # A spike under the timeout only slows answers down.
    sim.control("POST", "faults", {"latencyMs": 800, "count": max(3, int(5 * scale)), "pathPrefix": "/api/v5/market"})
    for _ in range(3):
        assert api.get("/api/market/candles", instId=INST, bar="1m", limit=5).status_code == 200
    sim.control("DELETE", "faults")
    assert_orders_consistent(stack, placed)
    return FaultResult(
        "OKX latency spike",
        f"order request held {timeout + 0.5:g} s before it executes (> OKX_TIMEOUT_SECS "
        f"{timeout:g}); market answers +0.8 s",
        "the timed-out order is looked up by clOrdId, never resent "
        "(one POST at the simulator) → 201, one order at OKX and one record; slow market reads still answer",
        "pass",
        round(elapsed, 2),
    )


def lost_reply(stack: FullStack, scale: float = 1.0) -> FaultResult:
    api, sim = stack.api, stack.sim
    timeout = float(api.env["OKX_TIMEOUT_SECS"])
    all_placed: list[str] = []
    timings: dict[str, float] = {}
    rounds = max(1, int(scale))

    for _ in range(rounds):
        # 1. Executed, reply dropped (connection closed without an answer): found by clOrdId → 201.
        cl, response, secs, placed = _placed_through(
            stack, [{"execute": True, "dropReply": True, "count": 1, "pathPrefix": ORDER_PATH}], "lrd"
        )
        all_placed += placed
        assert response.status_code == 201, response.text
        assert response.json()["order"]["clOrdId"] == cl
        assert _one_at_okx(sim, cl)["state"] == "filled"
        timings["dropped"] = max(timings.get("dropped", 0.0), secs)

        # 2. Executed, reply delayed past the client's timeout: the client gives up waiting, finds it → 201.
        cl, response, secs, placed = _placed_through(
            stack,
            [{"execute": True, "latencyMs": int((timeout + 1) * 1000), "count": 1, "pathPrefix": ORDER_PATH}],
            "lrl",
        )
        all_placed += placed
        assert response.status_code == 201, response.text
        assert _one_at_okx(sim, cl)["state"] == "filled"
        timings["delayed"] = max(timings.get("delayed", 0.0), secs)

    # 3. Executed, reply dropped, and every look-up fails too (400 on GET /trade/order): the API answers 202
    #    `state: unknown`, keeps the record, never resends; once OKX answers again the sync settles it.
    cl, response, secs, placed = _placed_through(
        stack,
        [
            {"execute": True, "dropReply": True, "count": 1, "pathPrefix": ORDER_PATH},
            {"status": 400, "code": "50014", "count": None, "pathPrefix": ORDER_PATH},
        ],
        "lru",
    )
    all_placed += placed
    try:
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["clOrdId"] == cl and body["state"] == "unknown", body
        assert [o["clOrdId"] for o in api_orders(api)].count(cl) == 1, "the unknown order is not recorded once"
    finally:
        sim.control("DELETE", "faults")
    cleared = time.monotonic()
    settled = wait_until(
        lambda: next((o for o in api_orders(api) if o["clOrdId"] == cl and o["state"] == "filled"), None),
        30,
        0.2,
        f"{cl} settled by the sync",
    )
    settle_secs = time.monotonic() - cleared
    at_okx = _one_at_okx(sim, cl)
    assert settled["ordId"] == at_okx["ordId"], (settled, at_okx)
    timings["unknown"] = secs

    assert_orders_consistent(stack, all_placed)
    return FaultResult(
        "OKX lost reply (order executed)",
        f"simulator fault `execute` + `dropReply` on POST /trade/order ({rounds}×); `execute` + reply delayed "
        f"{timeout + 1:g} s (> OKX_TIMEOUT_SECS {timeout:g}; {rounds}×); a dropped reply with every look-up refused "
        "(400) until cleared",
        "dropped / delayed: 201, found by clOrdId; look-ups failing: 202 `state: unknown`, settled `filled` by the "
        "sync once cleared; each time exactly one POST and one order at OKX, one record, fills identical",
        "pass",
        round(settle_secs, 2),
        {k: round(v, 2) for k, v in timings.items()},
    )


def _signed_statuses(sim: Sim) -> list[int | None]:
    return [
        e["status"]
        for e in sim_requests(sim)
        if "OK-ACCESS-TIMESTAMP" in e["headers"] or "ok-access-timestamp" in e["headers"]
    ]


def clock_skew(stack: FullStack, scale: float = 1.0) -> FaultResult:
    api, sim = stack.api, stack.sim
    offsets = [60_000, 0] if scale <= 1 else [60_000, -60_000, 0]  # 0: moved back (another 60 s jump)
    placed: list[str] = []
    worst = 0.0
    refused_total = 0
    try:
        for offset in offsets:
            sim.control("DELETE", "requests")
            sim.control("POST", "clock", {"offsetMs": offset})
            began = time.monotonic()
            for path in ("/api/account/balances", "/api/account/positions"):
                response = api.get(path)
                assert response.status_code == 200, f"{path} with OKX's clock {offset / 1000:+g} s: {response.text}"
            assert api.get("/api/account/orders", state="all").status_code == 200
            worst = max(worst, time.monotonic() - began)
            cl = new_cl_ord_id("ck")
            response = place(api, cl)
            assert response.status_code == 201, f"order with OKX's clock {offset / 1000:+g} s: {response.text}"
            placed.append(cl)
            _one_at_okx(sim, cl)
            statuses = _signed_statuses(sim)
            refused = statuses.count(401)
            # The fault bit (OKX refused the old offset's signatures with 50102) and the API recovered by itself.
            assert refused >= 1, f"no signed request was refused after moving OKX's clock to {offset}: {statuses}"
            assert statuses and statuses[-1] == 200, statuses
            refused_total += refused
    finally:
        sim.control("POST", "clock", {"offsetMs": 0})
    assert_orders_consistent(stack, placed)
    moves = ", ".join(f"{o / 1000:+g} s" for o in offsets)
    return FaultResult(
        "OKX clock skew",
        f"simulator clock moved to {moves} from this machine's (`/_sim/clock`) while the API runs",
        "OKX refuses the old offset (50102, "
        f"{refused_total} refusals in all); balances, positions and orders answer 200; an order is placed exactly once "
        "(one POST, one order at OKX, one record) at each offset",
        "pass",
        round(worst, 2),
    )
