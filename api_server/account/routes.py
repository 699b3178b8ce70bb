"""/api/account: balances (live), the equity curve (snapshots), initial equity, and the recorded orders,
fills and positions."""

from __future__ import annotations

import msgspec
from litestar import Controller, get, post
from litestar.params import Parameter
from psycopg_pool import AsyncConnectionPool

from api_server.account import queries as q
from api_server.account.balances import BalanceService
from api_server.account.positions import PositionReader
from api_server.account.schemas import (
    AccountSyncReport,
    Balance,
    BalanceSnapshot,
    FillList,
    InitialEquity,
    InitialEquityRequest,
    OrderList,
    PositionHistory,
    PositionList,
    SnapshotPage,
    decode_initial_equity_body,
    fill_out,
    initial_equity_out,
    order_out,
    position_out,
)
from api_server.account.sync import AccountSync
from api_server.bodies import json_body
from api_server.errors import BadRequest
from api_server.fields import parse_int, require_inst_id

MAX_PAGE = 1000


class AccountController(Controller):
    path = "/api/account"
    tags = ["account"]

    @get(
        "/balances",
        summary="Account equity (USD) and USDT available / frozen, live from OKX, with PnL vs the initial equity",
    )
    async def balances(self, balances: BalanceService) -> Balance:
        return await balances.balances()

    @get(
        "/balances/snapshots",
        summary="Stored balance snapshots (the equity curve), oldest first; cursor `after` = last id seen",
    )
    async def snapshots(
        self, balances: BalanceService, limit: str | None = None, after: str | None = None
    ) -> SnapshotPage:
        n = parse_int(limit, "limit", 100, 1, MAX_PAGE)
        cursor = parse_int(after, "after", 0, 0, 2**62)
        snapshots, next_after, initial = await balances.snapshot_page(cursor, n)
        return SnapshotPage(snapshots=snapshots, nextAfter=next_after, initialEquity=initial_equity_out(initial))

    @get("/balances/latest", summary="The newest stored balance snapshot")
    async def latest(self, balances: BalanceService) -> BalanceSnapshot:
        return await balances.latest_snapshot()

    @get("/initial-equity", summary="The initial equity PnL is measured against")
    async def get_initial_equity(self, pool: AsyncConnectionPool) -> InitialEquity:
        return initial_equity_out(await q.get_initial_equity(pool))

    @post(
        "/initial-equity",
        status_code=200,
        dto=json_body(InitialEquityRequest, decode_initial_equity_body),
        return_dto=None,
        summary='Set (overwrite) the initial equity: body {"amount": number}, >= 0',
    )
    async def set_initial_equity(
        self, pool: AsyncConnectionPool, data: InitialEquityRequest | None = None
    ) -> InitialEquity:
        # an empty body is the same 400 as a body without amount
        body = data if data is not None else decode_initial_equity_body(b"")
        row = await q.set_initial_equity(pool, body.amount, "api")
        return initial_equity_out(row)

    @get("/orders", summary="Orders as recorded (newest first); state=open|all")
    async def orders(
        self,
        pool: AsyncConnectionPool,
        instId: str | None = None,
        limit: str | None = None,
        wanted: str | None = Parameter(query="state", default=None, description="open or all"),
    ) -> OrderList:
        if wanted not in (None, "", "open", "all"):
            raise BadRequest(f"state must be open or all, got {wanted!r}", field="state")
        inst_id = require_inst_id(instId) if instId else None
        n = parse_int(limit, "limit", 100, 1, MAX_PAGE)
        rows = await q.list_orders(pool, inst_id=inst_id, open_only=wanted == "open", limit=n)
        return OrderList(orders=[order_out(r) for r in rows])

    @get("/fills", summary="Fills as recorded (newest first)")
    async def fills(self, pool: AsyncConnectionPool, instId: str | None = None, limit: str | None = None) -> FillList:
        inst_id = require_inst_id(instId) if instId else None
        rows = await q.list_fills(pool, inst_id=inst_id, limit=parse_int(limit, "limit", 100, 1, MAX_PAGE))
        return FillList(fills=[fill_out(r) for r in rows])

    @get("/positions", summary="Open positions, live from OKX, with TP/SL and the record's id and opening time")
    async def positions(self, positions: PositionReader, instId: str | None = None) -> PositionList:
        return PositionList(positions=await positions.open_positions(require_inst_id(instId) if instId else None))

    @get("/positions/history", summary="Closed positions with the close reason (closed_by_us, stop, exchange)")
    async def positions_history(
        self, pool: AsyncConnectionPool, instId: str | None = None, limit: str | None = None
    ) -> PositionHistory:
        inst_id = require_inst_id(instId) if instId else None
        rows = await q.closed_positions(pool, inst_id=inst_id, limit=parse_int(limit, "limit", 100, 1, MAX_PAGE))
        return PositionHistory(positions=[position_out(r) for r in rows])

    @post("/sync", status_code=200, summary="Sync orders, fills and positions from OKX now; answers what changed")
    async def sync_now(self, sync: AccountSync) -> AccountSyncReport:
        report = await sync.sync()
        return msgspec.convert(report.as_dict(), AccountSyncReport)
