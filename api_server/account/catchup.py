"""The REST reconciler's catch-up: page OKX's history back to what is already recorded, so nothing is lost.

After start-up, a reconnect of the private WebSocket, or any downtime, fills and finished orders are read
newest first with `after=<the oldest id of the previous page>` until a page reaches the stream's cursor
(the newest id a previous catch-up completed), or OKX has no older records. Everything read is written
oldest first and idempotently (fills once per (instId, tradeId), orders upserted by clOrdId/ordId); the
cursor moves only after the whole walk succeeded, so a failure half-way re-reads instead of skipping.

- fills: `fills-history` (3 months, paged by billId). Walking back with `after` works whatever `before`
  returns, because the walk never relies on OKX's answer order within `before`.
- orders: `orders-history` (7 days, paged by ordId); when the cursor is missing or older than 7 days the
  walk continues into `orders-history-archive` (3 months) from the oldest ordId seen.
Orders still open at OKX are not in these histories; the regular sync reads them (orders-pending, then
one by one for our own open records).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from api_server.account import queries as q
from api_server.okx import history

log = logging.getLogger("aitrader.api.account.catchup")

T = TypeVar("T")
ORDERS_HISTORY_SPAN = timedelta(days=7)
MAX_PAGES = 5000  # 500,000 records: three months of a busy account; a runaway loop stops here


@dataclass
class CatchUpReport:
    fills_read: int = 0
    fills_inserted: int = 0
    orders_read: int = 0
    orders_inserted: int = 0
    orders_updated: int = 0
    pages: int = 0


async def page_back(
    fetch: Callable[[str | None], Awaitable[list[T]]],
    id_of: Callable[[T], int],
    known: int | None,
    *,
    page_limit: int = history.PAGE_LIMIT,
    max_pages: int = MAX_PAGES,
) -> tuple[list[T], bool, int]:
    """Newest-first records newer than `known` -> (records newest first, reached `known`, pages read).

    `fetch(after)` returns one page older than `after` (None: the newest page). The walk stops at the first
    record at or below `known`, at a short page (OKX has nothing older), or after `max_pages`.
    """
    records: list[T] = []
    seen: set[int] = set()
    after: str | None = None
    for pages in range(1, max_pages + 1):
        page = await fetch(after)
        for item in page:
            ident = id_of(item)
            if known is not None and ident <= known:
                return records, True, pages
            if ident not in seen:  # a record on two pages (equal cursors) is taken once
                seen.add(ident)
                records.append(item)
        if len(page) < page_limit:
            return records, False, pages
        oldest = min(id_of(item) for item in page)
        if after is not None and oldest >= int(after):
            return records, False, pages  # a page that does not move back: stop instead of looping
        after = str(oldest)
    log.warning("catch-up stopped after %d pages without reaching the recorded history", max_pages)
    return records, False, max_pages


def _int_id(value: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


async def catch_up(
    pool: Any,
    okx: Any,
    *,
    now: datetime,
    order_values: Callable[[Any], dict[str, Any]],
    fill_values: Callable[[Any], dict[str, Any]],
) -> CatchUpReport:
    report = CatchUpReport()
    await _catch_up_fills(pool, okx, report, fill_values)
    await _catch_up_orders(pool, okx, report, now, order_values)
    return report


async def _catch_up_fills(
    pool: Any, okx: Any, report: CatchUpReport, fill_values: Callable[[Any], dict[str, Any]]
) -> None:
    cursor = await get_cursor(pool, "fills")
    # No cursor yet (first start, or an upgrade): the whole 3 months are read once. Fills recorded by the
    # one-page sync or the WebSocket do not make a cursor: a gap may lie below them.
    known = int(cursor["last_id"]) if cursor else None

    async def fetch(after: str | None) -> list[Any]:
        return await history.fills_history(okx, after=after)

    fills, _, pages = await page_back(fetch, lambda f: _int_id(f.billId), known)
    report.pages += pages
    report.fills_read = len(fills)
    async with pool.connection() as conn, conn.transaction():
        for fill in reversed(fills):  # oldest first
            if fill.tradeId and await q.insert_fill(conn, fill_values(fill)):
                report.fills_inserted += 1
        await set_cursor(conn, "fills", max([_int_id(f.billId) for f in fills] + [known or 0]))


async def _catch_up_orders(
    pool: Any, okx: Any, report: CatchUpReport, now: datetime, order_values: Callable[[Any], dict[str, Any]]
) -> None:
    cursor = await get_cursor(pool, "orders")
    known = int(cursor["last_id"]) if cursor else None
    stale = cursor is None or cursor["updated_at"] < now - ORDERS_HISTORY_SPAN

    async def recent(after: str | None) -> list[Any]:
        return await history.orders_history(okx, archive=False, after=after)

    orders, reached, pages = await page_back(recent, lambda o: _int_id(o.ordId), known)
    report.pages += pages
    if not reached and stale:
        start = min((_int_id(o.ordId) for o in orders), default=None)

        async def archive(after: str | None) -> list[Any]:
            return await history.orders_history(
                okx, archive=True, after=after if after is not None else (str(start) if start is not None else None)
            )

        older, _, pages = await page_back(archive, lambda o: _int_id(o.ordId), known)
        report.pages += pages
        seen = {o.ordId for o in orders}
        orders += [o for o in older if o.ordId not in seen]
    report.orders_read = len(orders)
    async with pool.connection() as conn, conn.transaction():
        for order in sorted(orders, key=lambda o: _int_id(o.ordId)):
            outcome = await q.upsert_okx_order(conn, order_values(order))
            if outcome == "inserted":
                report.orders_inserted += 1
            elif outcome == "updated":
                report.orders_updated += 1
        await set_cursor(conn, "orders", max([_int_id(o.ordId) for o in orders] + [known or 0]))


# ---- the cursors (migrations/0030_okx_sync_cursors.sql) ----------------------------------------------


async def get_cursor(pool: Any, stream: str) -> dict[str, Any] | None:
    async with pool.connection() as conn:
        cur = await conn.execute("select last_id, updated_at from okx_sync_cursors where stream = %s", (stream,))
        return await cur.fetchone()


async def set_cursor(conn: Any, stream: str, last_id: int) -> None:
    """Only ever forward: a slower concurrent catch-up cannot move a cursor back."""
    await conn.execute(
        """insert into okx_sync_cursors (stream, last_id) values (%s, %s)
           on conflict (stream) do update set last_id = greatest(okx_sync_cursors.last_id, excluded.last_id), updated_at = now()""",
        (stream, Decimal(last_id)),
    )


# ---- close reasons from positions-history ------------------------------------------------------------

CLOSE_TYPES = {"1": "partly closed", "2": "closed", "3": "liquidated", "4": "partly liquidated", "5": "ADL", "6": "ADL"}
EXCHANGE_CLOSES = ("3", "4", "5", "6")


async def refine_closes(pool: Any, okx: Any, closed: list[dict[str, Any]]) -> int:
    """Complete the records just closed with OKX's own account of them: a liquidation or ADL (types 3-6) is
    the exchange's doing whatever order we found; the realised PnL is OKX's. Returns records updated."""
    wanted = {c["posId"]: c for c in closed if c.get("posId")}
    if not wanted:
        return 0
    rows = await history.positions_history(okx)
    updated = 0
    async with pool.connection() as conn:
        for row in rows:
            record = wanted.pop(row.posId, None)
            if record is None:
                continue
            kind = CLOSE_TYPES.get(row.type, f"type {row.type}")
            detail = f"{record['detail']}; OKX positions-history: {kind}, close avg {row.closeAvgPx}, realised PnL {row.realizedPnl}"
            reason = "exchange" if row.type in EXCHANGE_CLOSES else record["reason"]
            if row.type in EXCHANGE_CLOSES:
                detail = f"{kind} by OKX (positions-history type {row.type}, trigger {row.triggerPx or '-'}, realised PnL {row.realizedPnl})"
            cur = await conn.execute(
                """update trade_positions set close_reason = %s, close_detail = %s, realized_pnl = coalesce(%s, realized_pnl),
                          updated_at = now() where id = %s and state = 'closed'""",
                (reason, detail, _dec(row.realizedPnl), record["recordId"]),
            )
            updated += cur.rowcount
            record["reason"], record["detail"] = reason, detail
    return updated


def _dec(value: str) -> Decimal | None:
    try:
        return Decimal(value) if value else None
    except ArithmeticError:
        return None
