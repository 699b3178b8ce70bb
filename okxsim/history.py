"""OKX's history endpoints: fills-history (3 months), orders-history-archive (3 months), positions-history.

Paging as documented (docs `trading-trade-get-transaction-details-last-3-months.md`,
`trading-trade-get-order-history-last-3-months.md`, `trading/account/rest-api-get-positions-history.md`):
newest first; `after` = records older than the given id (billId for fills, ordId for orders, uTime for
positions), `before` = newer; `limit` at most 100 (default 100); positions-history returns every record that
shares the last record's uTime in the same page. Only records of the last 90 days are kept.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import web

from okxsim.wire import ParamError, fmt, ok

if TYPE_CHECKING:
    from okxsim.sim_api import SimulatorApi as Simulator

ZERO = Decimal(0)
WINDOW_MS = 90 * 24 * 3600 * 1000  # "the last 3 months"
MAX_LIMIT = 100


def _limit(query: Any) -> int:
    raw = query.get("limit", "")
    if raw == "":
        return MAX_LIMIT
    if not raw.isdigit() or int(raw) < 1:
        raise ParamError("limit")
    return min(int(raw), MAX_LIMIT)


def _id(query: Any, name: str) -> int | None:
    raw = query.get(name, "")
    if raw == "":
        return None
    if not raw.isdigit():
        raise ParamError(name)
    return int(raw)


def _inst_type(query: Any, *, required: bool) -> bool:
    """True when the query selects SWAP (the only type the simulator trades)."""
    value = query.get("instType", "")
    if not value:
        if required:
            raise ParamError("instType", empty=True)
        return True
    if value not in ("SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION", "EVENTS"):
        raise ParamError("instType")
    return value == "SWAP"


def _family_ok(query: Any, inst_id: str) -> bool:
    family = query.get("instFamily", "")
    wanted = query.get("instId", "")
    return (not family or inst_id.removesuffix("-SWAP") == family) and (not wanted or inst_id == wanted)


def _page(rows: list[tuple[int, Any]], after: int | None, before: int | None, limit: int) -> list[Any]:
    """rows: (cursor value, item) newest first."""
    return [item for key, item in rows if (after is None or key < after) and (before is None or key > before)][:limit]


# ---- GET /api/v5/trade/fills-history ------------------------------------------------------------
def fills_history(sim: Simulator, query: Any) -> list[dict]:
    swap = _inst_type(query, required=True)
    after, before = _id(query, "after"), _id(query, "before")
    begin, end = _id(query, "begin"), _id(query, "end")
    limit = _limit(query)
    if not swap:
        return []
    ord_id, sub_type = query.get("ordId", ""), query.get("subType", "")
    oldest = sim.now_ms() - WINDOW_MS
    engine = sim.engine
    rows = []
    for f in reversed(engine.fills):
        if f.ts < oldest or not _family_ok(query, f.order.inst_id) or (ord_id and f.order.ord_id != ord_id):
            continue
        if (
            (sub_type and f.sub_type != sub_type)
            or (begin is not None and f.ts < begin)
            or (end is not None and f.ts > end)
        ):
            continue
        rows.append((int(f.bill_id), f))
    return [engine.fill_view(f) for f in _page(rows, after, before, limit)]


# ---- GET /api/v5/trade/orders-history-archive ---------------------------------------------------
def orders_history_archive(sim: Simulator, query: Any) -> list[dict]:
    swap = _inst_type(query, required=True)
    after, before = _id(query, "after"), _id(query, "before")
    begin, end = _id(query, "begin"), _id(query, "end")
    limit = _limit(query)
    if not swap:
        return []
    ord_types = {t for t in query.get("ordType", "").split(",") if t}
    state, category = query.get("state", ""), query.get("category", "")
    oldest = sim.now_ms() - WINDOW_MS
    engine = sim.engine
    rows = []
    for o in sorted(engine.orders.values(), key=lambda o: int(o.ord_id), reverse=True):
        if o.state not in ("filled", "canceled") or o.u_time < oldest or not _family_ok(query, o.inst_id):
            continue
        if (
            (ord_types and o.ord_type not in ord_types)
            or (state and o.state != state)
            or (category and category != "normal")
        ):
            continue
        if (begin is not None and o.c_time < begin) or (end is not None and o.c_time > end):
            continue
        rows.append((int(o.ord_id), o))
    return [engine.order_view(o) for o in _page(rows, after, before, limit)]


# ---- GET /api/v5/account/positions-history ------------------------------------------------------
def lifetimes(fills: list, inst_id: str, mgn_mode: str, pos_side: str) -> list[dict]:
    """Replay one position key's fills into position lifetimes (open -> back to zero), oldest first."""
    out: list[dict] = []
    cur: dict | None = None
    held = ZERO  # signed
    for f in fills:
        o = f.order
        if o.inst_id != inst_id or o.td_mode != mgn_mode or f.pos_side != pos_side:
            continue
        # net: buy +, sell -; long: buy opens (+); short: sell opens (+). A lifetime's size is its sign's magnitude.
        signed = f.sz if (o.side == "buy") == (pos_side != "short") else -f.sz
        remaining = signed
        if held != 0 and (held > 0) != (signed > 0) and cur is not None:  # closing part
            closing = min(abs(signed), abs(held))
            cur["closed"] += closing
            cur["close_notional"] += f.px * closing
            cur["fee"] += f.fee * closing / f.sz
            cur["last_trade"] = f.trade_id
            held += closing if held < 0 else -closing
            remaining = signed + (closing if signed < 0 else -closing)
            if held == 0:
                out.append(cur)
                cur = None
        if remaining != 0:  # opening part
            if cur is None:
                cur = {
                    "long": remaining > 0,
                    "closed": ZERO,
                    "close_notional": ZERO,
                    "fee": ZERO,
                    "max": ZERO,
                    "last_trade": "",
                }
            held += remaining
            cur["max"] = max(cur["max"], abs(held))
            cur["fee"] += f.fee * abs(remaining) / f.sz
            cur["last_trade"] = f.trade_id
    if cur is not None:
        out.append(cur)
    return out


def position_record(sim: Simulator, p: Any, *, closed: bool) -> dict | None:
    """One positions-history record: the position's lifetime replayed from its fills (close size and average, max size)."""
    engine = sim.engine
    ct_val = engine.specs[p.inst_id].ct_val
    runs = lifetimes(engine.fills, p.inst_id, p.mgn_mode, p.pos_side)
    life = next((r for r in runs if r["last_trade"] == p.trade_id), None) if closed else (runs[-1] if runs else None)
    if life is None or life["closed"] == 0:
        return None
    closed_sz, fee, max_held = life["closed"], life["fee"], life["max"]
    pnl = p.pnl
    realized = pnl + fee
    margin = p.avg_px * max_held * ct_val / Decimal(p.lever) if max_held else ZERO
    return {
        "cTime": str(p.c_time),
        "ccy": "USDT",
        "closeAvgPx": fmt(life["close_notional"] / closed_sz),
        "closeTotalPos": fmt(closed_sz),
        "direction": "long" if life["long"] else "short",
        "fee": fmt(fee),
        "fundingFee": "0",
        "instId": p.inst_id,
        "instType": "SWAP",
        "lever": str(p.lever),
        "liqPenalty": "0",
        "mgnMode": p.mgn_mode,
        "nonSettleAvgPx": "",
        "openAvgPx": fmt(p.avg_px),
        "openMaxPos": fmt(max_held),
        "pnl": fmt(pnl),
        "pnlRatio": fmt((realized / margin).quantize(Decimal("1e-12"))) if margin else "0",
        "posId": p.pos_id,
        "posSide": p.pos_side,
        "realizedPnl": fmt(realized),
        "settledPnl": "",
        "triggerPx": "",
        "type": "2" if closed else "1",
        "uTime": str(p.u_time),
        "uly": p.inst_id.removesuffix("-SWAP"),
    }


def positions_history(sim: Simulator, query: Any) -> list[dict]:
    swap = _inst_type(query, required=False)
    after, before = _id(query, "after"), _id(query, "before")
    limit = _limit(query)
    mgn_mode, kind, pos_id = query.get("mgnMode", ""), query.get("type", ""), query.get("posId", "")
    if mgn_mode and mgn_mode not in ("cross", "isolated"):
        raise ParamError("mgnMode")
    if not swap:
        return []
    oldest = sim.now_ms() - WINDOW_MS
    engine = sim.engine
    records = [position_record(sim, p, closed=True) for p in engine.closed_positions if p.u_time >= oldest]
    records += [position_record(sim, p, closed=False) for p in engine.positions.values()]
    rows = []
    for r in sorted((r for r in records if r is not None), key=lambda r: int(r["uTime"]), reverse=True):
        if not _family_ok(query, r["instId"]) or (mgn_mode and r["mgnMode"] != mgn_mode):
            continue
        if (kind and r["type"] != kind) or (pos_id and r["posId"] != pos_id):
            continue
        rows.append((int(r["uTime"]), r))
    page = _page(rows, after, before, limit)
    if len(page) == limit:  # "All records that have the same uTime will be returned at the current request"
        last = int(page[-1]["uTime"])
        page += [r for key, r in rows if key == last and r not in page]
    return page


# ---- routing --------------------------------------------------------------------------------------
def _handler(view: Callable[[Simulator, Any], list[dict]]) -> Callable[[Any], Awaitable[web.Response]]:
    async def handle(ctx: Any) -> web.Response:
        return ok(view(ctx.sim, ctx.query))

    handle.__name__ = view.__name__
    return handle


# (method, path) -> (handler, private), the shape of okxsim.rest.ROUTES
ROUTES = {
    ("GET", "/api/v5/trade/fills-history"): (_handler(fills_history), True),
    ("GET", "/api/v5/trade/orders-history-archive"): (_handler(orders_history_archive), True),
    ("GET", "/api/v5/account/positions-history"): (_handler(positions_history), True),
}
