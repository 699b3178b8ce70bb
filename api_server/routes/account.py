"""/api/account: balances (live), the equity curve (snapshots), initial equity, and the recorded orders,
fills and positions."""

from __future__ import annotations

import msgspec
from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.params import Parameter

from api_server.account import queries as q
from api_server.account.service import AccountService, InitialEquityRequest, decode_initial_equity_body, snapshot_with_pnl
from api_server.account.sync import dec
from api_server.account.views import (
    AccountSyncReport,
    Balance,
    BalanceSnapshot,
    FillList,
    InitialEquity,
    OrderList,
    Position,
    PositionHistory,
    PositionList,
    SnapshotPage,
    fill_out,
    initial_equity_out,
    num,
    order_out,
    position_out,
)
from api_server.errors import BadRequest
from api_server.routes.bodies import json_body
from api_server.routes.market import require_inst_id

MAX_PAGE = 1000


def parse_int(value: str | None, name: str, default: int, lo: int, hi: int) -> int:
    """A query integer in [lo, hi]; anything else is a 400 naming the parameter."""
    if value is None or value == "":
        return default
    text = value.strip()
    if not text.lstrip("-").isdigit():
        raise BadRequest(f"{name} must be an integer, got {value!r}", field=name)
    number = int(text)
    if not lo <= number <= hi:
        raise BadRequest(f"{name} must be between {lo} and {hi}, got {number}", field=name)
    return number


def service(state: State) -> AccountService:
    return state.account


def _initial_equity_body(raw: bytes) -> InitialEquityRequest:
    return decode_initial_equity_body(raw)


class AccountController(Controller):
    path = "/api/account"
    tags = ["account"]

    @get("/balances", summary="Account equity (USD) and USDT available / frozen, live from OKX, with PnL vs the initial equity")
    async def balances(self, state: State) -> Balance:
        return await service(state).balances()

    @get("/balances/snapshots", summary="Stored balance snapshots (the equity curve), oldest first; cursor `after` = last id seen")
    async def snapshots(self, state: State, limit: str | None = None, after: str | None = None) -> SnapshotPage:
        n = parse_int(limit, "limit", 100, 1, MAX_PAGE)
        cursor = parse_int(after, "after", 0, 0, 2**62)
        rows = await q.snapshots_after(state.pool, cursor, n)
        initial = await q.get_initial_equity(state.pool)
        return SnapshotPage(snapshots=[snapshot_with_pnl(r, initial) for r in rows],
                            nextAfter=rows[-1]["id"] if len(rows) == n else None,
                            initialEquity=initial_equity_out(initial))

    @get("/balances/latest", summary="The newest stored balance snapshot")
    async def latest(self, state: State) -> BalanceSnapshot:
        return await service(state).latest_snapshot()

    @get("/initial-equity", summary="The initial equity PnL is measured against")
    async def get_initial_equity(self, state: State) -> InitialEquity:
        return initial_equity_out(await q.get_initial_equity(state.pool))

    @post("/initial-equity", status_code=200, dto=json_body(InitialEquityRequest, _initial_equity_body), return_dto=None,
          summary="Set (overwrite) the initial equity: body {\"amount\": number}, >= 0")
    async def set_initial_equity(self, state: State, data: InitialEquityRequest | None = None) -> InitialEquity:
        # an empty body is the same 400 as a body without amount
        body = data if data is not None else decode_initial_equity_body(b"")
        row = await q.set_initial_equity(state.pool, body.amount, "api")
        return initial_equity_out(row)

    @get("/orders", summary="Orders as recorded (newest first); state=open|all")
    async def orders(self, state: State, instId: str | None = None, limit: str | None = None,
                     wanted: str | None = Parameter(query="state", default=None, description="open or all")) -> OrderList:
        if wanted not in (None, "", "open", "all"):
            raise BadRequest(f"state must be open or all, got {wanted!r}", field="state")
        inst_id = require_inst_id(instId) if instId else None
        n = parse_int(limit, "limit", 100, 1, MAX_PAGE)
        rows = await q.list_orders(state.pool, inst_id=inst_id, open_only=wanted == "open", limit=n)
        return OrderList(orders=[order_out(r) for r in rows])

    @get("/fills", summary="Fills as recorded (newest first)")
    async def fills(self, state: State, instId: str | None = None, limit: str | None = None) -> FillList:
        inst_id = require_inst_id(instId) if instId else None
        rows = await q.list_fills(state.pool, inst_id=inst_id, limit=parse_int(limit, "limit", 100, 1, MAX_PAGE))
        return FillList(fills=[fill_out(r) for r in rows])

    @get("/positions", summary="Open positions, live from OKX, with TP/SL and the record's id and opening time")
    async def positions(self, state: State, instId: str | None = None) -> PositionList:
        inst_id = require_inst_id(instId) if instId else None
        live = await state.okx.get_positions(inst_type="SWAP", inst_id=inst_id)
        records = {(r["inst_id"], r["mgn_mode"], r["pos_side"]): r for r in await q.open_positions(state.pool, inst_id)}
        out = []
        for p in live:
            if not dec(p.pos):
                continue
            record = records.get((p.instId, p.mgnMode, p.posSide or "net"))
            algo = next(iter(getattr(p, "closeOrderAlgo", None) or []), None) or {}
            out.append(Position(
                instId=p.instId, mgnMode=p.mgnMode, posSide=p.posSide or "net", posId=p.posId, pos=p.pos,
                avgPx=p.avgPx, markPx=p.markPx, upl=p.upl, uplRatio=p.uplRatio, lever=p.lever,
                liqPx=p.liqPx, notionalUsd=p.notionalUsd, realizedPnl=p.realizedPnl,
                tpTriggerPx=(algo.get("tpTriggerPx") if isinstance(algo, dict) else None) or
                            (num(record["tp_trigger_px"]) if record else None),
                slTriggerPx=(algo.get("slTriggerPx") if isinstance(algo, dict) else None) or
                            (num(record["sl_trigger_px"]) if record else None),
                recordId=record["id"] if record else None,
                openedAt=record["opened_at"].isoformat() if record else None,
            ))
        return PositionList(positions=out)

    @get("/positions/history", summary="Closed positions with the close reason (closed_by_us, stop, exchange)")
    async def positions_history(self, state: State, instId: str | None = None, limit: str | None = None) -> PositionHistory:
        inst_id = require_inst_id(instId) if instId else None
        rows = await q.closed_positions(state.pool, inst_id=inst_id, limit=parse_int(limit, "limit", 100, 1, MAX_PAGE))
        return PositionHistory(positions=[position_out(r) for r in rows])

    @post("/sync", status_code=200, summary="Sync orders, fills and positions from OKX now; answers what changed")
    async def sync_now(self, state: State) -> AccountSyncReport:
        report = await service(state).sync.sync()
        return msgspec.convert(report.as_dict(), AccountSyncReport)
