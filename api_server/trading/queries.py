"""The SQL of the trade area's own tables: the risk day state (daily-loss latch), risk refusals and pending
approvals. Plain async functions over the pool; rows are dicts. (Order records: `api_server.account.queries`.)"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

Row = dict[str, Any]

# ---- risk ----------------------------------------------------------------------------------------


async def get_risk_day(pool: AsyncConnectionPool) -> Row | None:
    async with pool.connection() as conn:
        return await (await conn.execute("select * from risk_day_state")).fetchone()


async def start_risk_day(pool: AsyncConnectionPool, day: date, day_start_equity: Decimal) -> Row:
    """Begin a new UTC day (or the first one): a new baseline, the latch and reset cleared."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            """insert into risk_day_state (singleton, day, day_start_equity) values (true, %s, %s)
               on conflict (singleton) do update set day = excluded.day, day_start_equity = excluded.day_start_equity,
                   latched_at = null, reset_at = null, updated_at = now()
               where risk_day_state.day is distinct from excluded.day
               returning *""",
            (day, day_start_equity),
        )
        row = await cur.fetchone()
        if row is None:  # another caller started the same day first
            row = await (await conn.execute("select * from risk_day_state")).fetchone()
        return row


async def latch_risk_day(pool: AsyncConnectionPool, latched_at: datetime) -> None:
    async with pool.connection() as conn:
        await conn.execute("update risk_day_state set latched_at = %s, updated_at = now()", (latched_at,))


async def reset_risk_day(pool: AsyncConnectionPool, day: date, day_start_equity: Decimal, reset_at: datetime) -> Row:
    async with pool.connection() as conn:
        cur = await conn.execute(
            """insert into risk_day_state (singleton, day, day_start_equity, reset_at) values (true, %s, %s, %s)
               on conflict (singleton) do update set day = excluded.day, day_start_equity = excluded.day_start_equity,
                   reset_at = excluded.reset_at, latched_at = null, updated_at = now()
               returning *""",
            (day, day_start_equity, reset_at),
        )
        return await cur.fetchone()


async def insert_refusal(
    pool: AsyncConnectionPool,
    *,
    origin: str,
    run_id: str | None,
    inst_id: str,
    rule: str,
    limit_value: str | None,
    actual_value: str | None,
    message: str,
    request: dict[str, Any],
) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute(
            """insert into risk_refusals (origin, run_id, inst_id, rule, limit_value, actual_value, message, request)
               values (%s, %s, %s, %s, %s, %s, %s, %s) returning id""",
            (origin, run_id, inst_id, rule, limit_value, actual_value, message, Jsonb(request)),
        )
        return (await cur.fetchone())["id"]


async def list_refusals(pool: AsyncConnectionPool, limit: int) -> list[Row]:
    async with pool.connection() as conn:
        return await (await conn.execute("select * from risk_refusals order by id desc limit %s", (limit,))).fetchall()


# ---- approvals -----------------------------------------------------------------------------------


async def insert_approval(
    pool: AsyncConnectionPool,
    *,
    kind: str,
    origin: str,
    run_id: str | None,
    inst_id: str,
    cl_ord_id: str,
    request: dict[str, Any],
) -> tuple[Row, bool]:
    """(row, created). An approval with the same clOrdId already waiting is returned as is."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            """insert into trade_approvals (kind, origin, run_id, inst_id, cl_ord_id, request) values (%s, %s, %s, %s, %s, %s)
               on conflict (cl_ord_id) do nothing returning *""",
            (kind, origin, run_id, inst_id, cl_ord_id, Jsonb(request)),
        )
        row = await cur.fetchone()
        if row is not None:
            return row, True
        cur = await conn.execute("select * from trade_approvals where cl_ord_id = %s", (cl_ord_id,))
        return await cur.fetchone(), False


async def approval_by_cl_ord_id(pool: AsyncConnectionPool, cl_ord_id: str) -> Row | None:
    async with pool.connection() as conn:
        return await (await conn.execute("select * from trade_approvals where cl_ord_id = %s", (cl_ord_id,))).fetchone()


async def get_approval(pool: AsyncConnectionPool, approval_id: int) -> Row | None:
    async with pool.connection() as conn:
        return await (await conn.execute("select * from trade_approvals where id = %s", (approval_id,))).fetchone()


async def claim_approval(pool: AsyncConnectionPool, approval_id: int, new_status: str) -> Row | None:
    """Move a pending approval to `new_status` atomically; None when it is not pending (decided already)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            """update trade_approvals set status = %s, decided_at = now() where id = %s and status = 'pending' returning *""",
            (new_status, approval_id),
        )
        return await cur.fetchone()


async def finish_approval(pool: AsyncConnectionPool, approval_id: int, status: str, detail: str | None) -> Row:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "update trade_approvals set status = %s, detail = %s, decided_at = now() where id = %s returning *",
            (status, detail, approval_id),
        )
        return await cur.fetchone()


async def list_approvals(pool: AsyncConnectionPool, status: str | None, limit: int) -> list[Row]:
    async with pool.connection() as conn:
        if status:
            cur = await conn.execute(
                "select * from trade_approvals where status = %s order by id desc limit %s", (status, limit)
            )
        else:
            cur = await conn.execute("select * from trade_approvals order by id desc limit %s", (limit,))
        return await cur.fetchall()
