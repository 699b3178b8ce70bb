"""The SQL of the account records (snapshots, initial equity, orders, fills, positions); the trade area's own
tables (risk day state, refusals, approvals) are in `api_server.trading.queries`. Plain async functions over the pool; rows are dicts.

Upserts only touch a row when a value really changed (`is distinct from`), so a sync that finds
nothing new writes nothing: `updated_at` stays put and the returned counts are zero.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

Row = dict[str, Any]

# ---- balance snapshots ---------------------------------------------------------------------------


async def insert_snapshot(
    pool: AsyncConnectionPool,
    *,
    taken_at: datetime,
    total_eq: Decimal,
    usdt_eq: Decimal | None,
    usdt_available: Decimal | None,
    usdt_frozen: Decimal | None,
    upl: Decimal | None,
    details: list[dict[str, Any]],
    trading_eq: Decimal | None = None,
) -> Row:
    async with pool.connection() as conn:
        cur = await conn.execute(
            """insert into balance_snapshots (taken_at, total_eq, usdt_eq, usdt_available, usdt_frozen, upl, details,
                                              trading_eq)
               values (%s, %s, %s, %s, %s, %s, %s, %s) returning *""",
            (taken_at, total_eq, usdt_eq, usdt_available, usdt_frozen, upl, Jsonb(details), trading_eq),
        )
        return await cur.fetchone()


async def latest_snapshot(pool: AsyncConnectionPool) -> Row | None:
    async with pool.connection() as conn:
        cur = await conn.execute("select * from balance_snapshots order by id desc limit 1")
        return await cur.fetchone()


async def snapshots_after(pool: AsyncConnectionPool, after_id: int, limit: int) -> list[Row]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select * from balance_snapshots where id > %s order by id limit %s", (after_id, limit)
        )
        return await cur.fetchall()


async def snapshot_before(pool: AsyncConnectionPool, before: datetime) -> Row | None:
    """The newest snapshot taken before `before` (the equity at a UTC midnight)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select * from balance_snapshots where taken_at < %s order by taken_at desc, id desc limit 1", (before,)
        )
        return await cur.fetchone()


async def count_snapshots(pool: AsyncConnectionPool) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute("select count(*) as n from balance_snapshots")
        return (await cur.fetchone())["n"]


# ---- initial equity ------------------------------------------------------------------------------


async def get_initial_equity(pool: AsyncConnectionPool) -> Row | None:
    async with pool.connection() as conn:
        cur = await conn.execute("select amount, set_at, source from initial_equities")
        return await cur.fetchone()


async def set_initial_equity(pool: AsyncConnectionPool, amount: Decimal, source: str) -> Row:
    async with pool.connection() as conn:
        cur = await conn.execute(
            """insert into initial_equities (singleton, amount, set_at, source) values (true, %s, now(), %s)
               on conflict (singleton) do update set amount = excluded.amount, set_at = excluded.set_at, source = excluded.source
               returning amount, set_at, source""",
            (amount, source),
        )
        return await cur.fetchone()


async def init_initial_equity(pool: AsyncConnectionPool, amount: Decimal) -> bool:
    """Write the start-up value only when the table is empty; True when written."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            """insert into initial_equities (singleton, amount, source) values (true, %s, 'env')
               on conflict (singleton) do nothing""",
            (amount,),
        )
        return cur.rowcount == 1


# ---- orders --------------------------------------------------------------------------------------

ORDER_SYNC_COLUMNS = (
    "ord_id",
    "state",
    "side",
    "pos_side",
    "ord_type",
    "td_mode",
    "sz",
    "px",
    "reduce_only",
    "lever",
    "tp_trigger_px",
    "sl_trigger_px",
    "acc_fill_sz",
    "avg_px",
    "fee",
    "pnl",
    "category",
    "okx_source",
    "cancel_source",
    "okx_created_at",
    "okx_updated_at",
)


async def order_by_cl_ord_id(pool: AsyncConnectionPool, cl_ord_id: str) -> Row | None:
    async with pool.connection() as conn:
        cur = await conn.execute("select * from trade_orders where cl_ord_id = %s", (cl_ord_id,))
        return await cur.fetchone()


async def order_by_ord_id(pool: AsyncConnectionPool, ord_id: str) -> Row | None:
    async with pool.connection() as conn:
        cur = await conn.execute("select * from trade_orders where ord_id = %s", (ord_id,))
        return await cur.fetchone()


async def insert_submitting_order(
    pool: AsyncConnectionPool,
    *,
    cl_ord_id: str,
    inst_id: str,
    origin: str,
    run_id: str | None,
    purpose: str,
    side: str,
    pos_side: str,
    ord_type: str,
    td_mode: str,
    sz: Decimal | None,
    px: Decimal | None,
    reduce_only: bool,
    lever: Decimal | None,
    tp: Decimal | None,
    sl: Decimal | None,
    request: dict[str, Any],
    reserved_notional: Decimal | None = None,
) -> Row | None:
    """Record an order before it is sent (with the notional it reserves while its outcome is open). None when the
    clOrdId is already recorded (a retried request)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            """insert into trade_orders (cl_ord_id, inst_id, origin, run_id, purpose, side, pos_side, ord_type, td_mode, sz, px,
                                         reduce_only, lever, tp_trigger_px, sl_trigger_px, state, request, reserved_notional)
               values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'submitting', %s, %s)
               on conflict (cl_ord_id) do nothing returning *""",
            (
                cl_ord_id,
                inst_id,
                origin,
                run_id,
                purpose,
                side,
                pos_side,
                ord_type,
                td_mode,
                sz,
                px,
                reduce_only,
                lever,
                tp,
                sl,
                Jsonb(request),
                reserved_notional,
            ),
        )
        return await cur.fetchone()


async def mark_order(
    pool: AsyncConnectionPool, cl_ord_id: str, *, state: str, ord_id: str | None = None, error: str | None = None
) -> Row | None:
    """Set our own order's state after sending (sent / rejected / failed); OKX's later states win."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            """update trade_orders set state = case when state in ('submitting', 'sent') then %s else state end,
                      ord_id = coalesce(ord_id, %s), error = coalesce(%s, error), updated_at = now()
               where cl_ord_id = %s returning *""",
            (state, ord_id, error, cl_ord_id),
        )
        return await cur.fetchone()


async def upsert_okx_order(conn, values: dict[str, Any]) -> str:
    """Insert or update one order from OKX; answers 'inserted', 'updated' or 'unchanged'.

    Matched by clOrdId when it has one (our pre-recorded orders), else by ordId. An order we never
    recorded is attributed to the exchange (TP/SL triggers, liquidations, orders placed elsewhere).
    """
    cols = ORDER_SYNC_COLUMNS
    sets = ", ".join(f"{c} = %({c})s" for c in cols)
    changed = " or ".join(f"{c} is distinct from %({c})s" for c in cols)
    key_col = "cl_ord_id" if values.get("cl_ord_id") else "ord_id"
    cur = await conn.execute(
        f"update trade_orders set {sets}, updated_at = now() where {key_col} = %(key)s and ({changed}) returning id",
        {**values, "key": values[key_col]},
    )
    if cur.rowcount:
        return "updated"
    cur = await conn.execute(f"select id from trade_orders where {key_col} = %(key)s", {"key": values[key_col]})
    if await cur.fetchone():
        return "unchanged"
    insert_cols = ("cl_ord_id", "inst_id", "origin", "purpose", *cols)
    placeholders = ", ".join(f"%({c})s" for c in insert_cols)
    cur = await conn.execute(
        f"insert into trade_orders ({', '.join(insert_cols)}) values ({placeholders}) on conflict do nothing",
        {**values, "origin": "exchange", "purpose": "external"},
    )
    return "inserted" if cur.rowcount else "unchanged"


async def unresolved_orders(pool: AsyncConnectionPool, older_than: datetime) -> list[Row]:
    """Our orders whose send outcome is unknown (recorded, never acknowledged) or still open at OKX."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            """select * from trade_orders
               where (state in ('submitting', 'sent') and created_at < %s) or state in ('live', 'partially_filled')
               order by id limit 200""",
            (older_than,),
        )
        return await cur.fetchall()


async def list_orders(pool: AsyncConnectionPool, *, inst_id: str | None, open_only: bool, limit: int) -> list[Row]:
    where, args = ["true"], []
    if inst_id:
        where.append("inst_id = %s")
        args.append(inst_id)
    if open_only:
        where.append("state in ('submitting', 'sent', 'live', 'partially_filled')")
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"select * from trade_orders where {' and '.join(where)} order by id desc limit %s", (*args, limit)
        )
        return await cur.fetchall()


async def latest_closing_order(conn, inst_id: str, pos_side: str, closing_side: str, since: datetime) -> Row | None:
    """The newest filled order on the position's closing side since it opened (the one that closed it)."""
    cur = await conn.execute(
        """select * from trade_orders where inst_id = %s and (pos_side = %s or pos_side = '') and side = %s
              and acc_fill_sz > 0 and coalesce(okx_updated_at, updated_at) >= %s
           order by coalesce(okx_updated_at, updated_at) desc, id desc limit 1""",
        (inst_id, pos_side, closing_side, since),
    )
    return await cur.fetchone()


async def latest_order_with_stops(conn, inst_id: str, pos_side: str) -> Row | None:
    cur = await conn.execute(
        """select tp_trigger_px, sl_trigger_px from trade_orders
           where inst_id = %s and pos_side = %s and acc_fill_sz > 0 and not reduce_only
             and (tp_trigger_px is not null or sl_trigger_px is not null)
           order by id desc limit 1""",
        (inst_id, pos_side),
    )
    return await cur.fetchone()


# ---- fills ---------------------------------------------------------------------------------------


async def insert_fill(conn, values: dict[str, Any]) -> bool:
    cols = (
        "inst_id",
        "trade_id",
        "ord_id",
        "cl_ord_id",
        "bill_id",
        "side",
        "pos_side",
        "fill_px",
        "fill_sz",
        "fill_pnl",
        "fee",
        "fee_ccy",
        "exec_type",
        "filled_at",
    )
    cur = await conn.execute(
        f"insert into trade_fills ({', '.join(cols)}) values ({', '.join(f'%({c})s' for c in cols)}) "
        "on conflict (inst_id, trade_id) do nothing",
        values,
    )
    return cur.rowcount == 1


async def list_fills(pool: AsyncConnectionPool, *, inst_id: str | None, limit: int) -> list[Row]:
    where, args = "true", []
    if inst_id:
        where, args = "f.inst_id = %s", [inst_id]
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"""select f.*, o.origin, o.run_id from trade_fills f left join trade_orders o on o.ord_id = f.ord_id
                where {where} order by f.filled_at desc, f.id desc limit %s""",
            (*args, limit),
        )
        return await cur.fetchall()


# ---- positions -----------------------------------------------------------------------------------

POSITION_SYNC_COLUMNS = ("pos_id", "pos", "avg_px", "lever", "tp_trigger_px", "sl_trigger_px", "realized_pnl")


async def open_positions(conn_or_pool, inst_id: str | None = None) -> list[Row]:
    sql = (
        "select * from trade_positions where state = 'open'" + (" and inst_id = %s" if inst_id else "") + " order by id"
    )
    args = (inst_id,) if inst_id else ()
    if isinstance(conn_or_pool, AsyncConnectionPool):
        async with conn_or_pool.connection() as conn:
            return await (await conn.execute(sql, args)).fetchall()
    return await (await conn_or_pool.execute(sql, args)).fetchall()


async def insert_position(conn, values: dict[str, Any]) -> None:
    cols = ("inst_id", "mgn_mode", "pos_side", "opened_at", *POSITION_SYNC_COLUMNS)
    await conn.execute(
        f"insert into trade_positions (state, {', '.join(cols)}) values ('open', {', '.join(f'%({c})s' for c in cols)})",
        values,
    )


async def update_position(conn, row_id: int, values: dict[str, Any]) -> bool:
    cols = POSITION_SYNC_COLUMNS
    cur = await conn.execute(
        f"""update trade_positions set {", ".join(f"{c} = %({c})s" for c in cols)}, updated_at = now()
            where id = %(id)s and ({" or ".join(f"{c} is distinct from %({c})s" for c in cols)})""",
        {**values, "id": row_id},
    )
    return cur.rowcount == 1


async def close_position_record(
    conn,
    row_id: int,
    *,
    closed_at: datetime,
    reason: str,
    detail: str,
    close_ord_id: str | None,
    close_origin: str | None,
    close_run_id: str | None,
) -> None:
    await conn.execute(
        """update trade_positions set state = 'closed', closed_at = %s, close_reason = %s, close_detail = %s,
                  close_ord_id = %s, close_origin = %s, close_run_id = %s, updated_at = now()
           where id = %s and state = 'open'""",
        (closed_at, reason, detail, close_ord_id, close_origin, close_run_id, row_id),
    )


async def closed_positions(pool: AsyncConnectionPool, *, inst_id: str | None, limit: int) -> list[Row]:
    where, args = "state = 'closed'", []
    if inst_id:
        where += " and inst_id = %s"
        args.append(inst_id)
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"select * from trade_positions where {where} order by closed_at desc, id desc limit %s", (*args, limit)
        )
        return await cur.fetchall()
