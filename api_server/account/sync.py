"""Orders, fills and positions from OKX into PostgreSQL, idempotently.

`AccountSync.sync()` runs on a timer (ACCOUNT_SYNC_INTERVAL_SECS) and right after every order the
system places. One sync at a time (a lock), all writes of one sync in one transaction.

- Orders: pending + recent history, matched to our pre-recorded orders by clOrdId, else by ordId;
  unknown ones are recorded with origin `exchange`. Our orders whose outcome is unknown (recorded
  but never acknowledged) or still open are looked up one by one.
- Fills: inserted once per (instId, tradeId).
- Positions: a record per position lifetime; when OKX stops reporting a position the record is
  closed with the reason taken from the order that closed it (see `close_reason`), then refined from
  OKX's `positions-history` (liquidation / ADL close types, realised PnL).
- Catch-up (catchup.py): at start-up, on every (re)connect of the private WebSocket and every
  CATCH_UP_EVERY_SECS, fills and finished orders are paged back to the recorded history.
- Pushes (api_server/okx/ws_private.py): `apply_orders` / `apply_positions` write what the private
  WebSocket delivers with the same upserts, within a second of the event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from api_server.account import queries as q
from api_server.account.catchup import CatchUpReport, catch_up, refine_closes
from api_server.okx.errors import ORDER_DOES_NOT_EXIST, OkxError, OkxRequestError
from shared.backoff import Backoff

log = logging.getLogger("aitrader.api.account.sync")

# OKX `source` values of a normal order created by a trigger / TP-SL / algo / trailing-stop order.
STOP_SOURCES = frozenset({"6", "7", "13", "25"})
LIQUIDATION_CATEGORIES = frozenset({"full_liquidation", "partial_liquidation", "adl", "ddh"})
OPEN_STATES = ("live", "partially_filled")
# A recorded order never acknowledged for this long is looked up at OKX by its clOrdId.
UNACKNOWLEDGED_AFTER = timedelta(seconds=5)
CATCH_UP_EVERY_SECS = 300.0  # a safety net besides start-up and WebSocket reconnects
CATCH_UP_BACKOFF = Backoff(base=0.5, cap=30.0, jitter="equal")


def dec(value: Any) -> Decimal | None:
    """OKX string number -> Decimal; '' / None / junk -> None."""
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def ms_time(value: Any) -> datetime | None:
    try:
        ms = int(value)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms > 0 else None


def _attached_stop(order: Any, name: str) -> Decimal | None:
    direct = dec(getattr(order, name, ""))
    if direct is not None:
        return direct
    for algo in getattr(order, "attachAlgoOrds", None) or []:
        if isinstance(algo, dict) and dec(algo.get(name)) is not None:
            return dec(algo.get(name))
    return None


def order_values(order: Any) -> dict[str, Any]:
    """One OKX order -> the trade_orders columns the sync maintains."""
    return {
        "cl_ord_id": order.clOrdId or None,
        "ord_id": order.ordId,
        "inst_id": order.instId,
        "state": order.state or "unknown",
        "side": order.side,
        "pos_side": order.posSide,
        "ord_type": order.ordType,
        "td_mode": order.tdMode,
        "sz": dec(order.sz),
        "px": dec(order.px),
        "reduce_only": str(order.reduceOnly).lower() == "true",
        "lever": dec(order.lever),
        "tp_trigger_px": _attached_stop(order, "tpTriggerPx"),
        "sl_trigger_px": _attached_stop(order, "slTriggerPx"),
        "acc_fill_sz": dec(order.accFillSz),
        "avg_px": dec(order.avgPx),
        "fee": dec(order.fee),
        "pnl": dec(order.pnl),
        "category": order.category or "",
        "okx_source": order.source or "",
        "cancel_source": order.cancelSource or "",
        "okx_created_at": ms_time(order.cTime),
        "okx_updated_at": ms_time(order.uTime),
    }


def fill_values(fill: Any) -> dict[str, Any]:
    """A REST fill, or an `orders` push carrying a trade (`fillFee`/`fillFeeCcy`, no billId)."""
    if hasattr(fill, "fillFee"):
        return {
            "inst_id": fill.instId,
            "trade_id": fill.tradeId,
            "ord_id": fill.ordId,
            "cl_ord_id": fill.clOrdId or "",
            "bill_id": "",
            "side": fill.side,
            "pos_side": fill.posSide or "",
            "fill_px": dec(fill.fillPx),
            "fill_sz": dec(fill.fillSz),
            "fill_pnl": dec(fill.fillPnl),
            "fee": dec(fill.fillFee),
            "fee_ccy": fill.fillFeeCcy or "",
            "exec_type": fill.execType or "",
            "filled_at": ms_time(fill.fillTime) or datetime.now(UTC),
        }
    return {
        "inst_id": fill.instId,
        "trade_id": fill.tradeId,
        "ord_id": fill.ordId,
        "cl_ord_id": fill.clOrdId or "",
        "bill_id": fill.billId or "",
        "side": fill.side,
        "pos_side": fill.posSide or "",
        "fill_px": dec(fill.fillPx),
        "fill_sz": dec(fill.fillSz),
        "fill_pnl": dec(fill.fillPnl),
        "fee": dec(fill.fee),
        "fee_ccy": fill.feeCcy or "",
        "exec_type": fill.execType or "",
        "filled_at": ms_time(fill.fillTime or fill.ts) or datetime.now(UTC),
    }


def position_stops(position: Any) -> tuple[Decimal | None, Decimal | None]:
    """TP/SL trigger prices OKX reports on the position (`closeOrderAlgo`), when the model carries them."""
    for algo in getattr(position, "closeOrderAlgo", None) or []:
        algo = algo if isinstance(algo, dict) else {}
        tp, sl = dec(algo.get("tpTriggerPx")), dec(algo.get("slTriggerPx"))
        if tp is not None or sl is not None:
            return tp, sl
    return None, None


def close_reason(order: dict[str, Any] | None) -> tuple[str, str]:
    """(reason, detail) for a position OKX no longer reports, from the order that closed it (None: none found)."""
    if order is None:
        return (
            "exchange",
            "OKX no longer reports the position and no closing order was found (liquidation, ADL or closed elsewhere)",
        )
    if order.get("category") in LIQUIDATION_CATEGORIES:
        return "exchange", f"{order['category']} by OKX (ordId {order.get('ord_id')})"
    if order.get("okx_source") in STOP_SOURCES:
        pnl = order.get("pnl")
        kind = "take-profit" if pnl is not None and pnl > 0 else "stop-loss"
        return "stop", f"{kind} triggered (ordId {order.get('ord_id')})"
    if order.get("origin") in ("manual", "agent"):
        how = "close-position" if order.get("purpose") == "close" else "order"
        who = order["origin"] + (f" run {order['run_id']}" if order.get("run_id") else "")
        return "closed_by_us", f"{how} by {who} (ordId {order.get('ord_id')}, clOrdId {order.get('cl_ord_id')})"
    return "exchange", f"closed by an order placed outside this system (ordId {order.get('ord_id')})"


@dataclass
class SyncReport:
    orders_inserted: int = 0
    orders_updated: int = 0
    orders_resolved: int = 0
    fills_inserted: int = 0
    positions_opened: int = 0
    positions_updated: int = 0
    positions_closed: int = 0
    closed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def changes(self) -> int:
        return (
            self.orders_inserted
            + self.orders_updated
            + self.orders_resolved
            + self.fills_inserted
            + self.positions_opened
            + self.positions_updated
            + self.positions_closed
        )

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["changes"] = self.changes
        return {_camel(k): v for k, v in data.items()}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


class AccountSync:
    def __init__(
        self,
        pool: Any,
        okx: Any,
        *,
        on_change: Callable[[SyncReport], None] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.pool = pool
        self.okx = okx
        self._lock = asyncio.Lock()  # one writer of position records at a time (REST sync or WebSocket push)
        self._catch_up_lock = asyncio.Lock()  # catch-ups may take long: they never hold up the order path's sync
        self._on_change = on_change
        self._now = now
        self.last_report: SyncReport | None = None
        self.last_synced_at: datetime | None = None
        self.last_error: str | None = None
        self.last_catch_up: CatchUpReport | None = None
        self.last_caught_up_at: datetime | None = None
        self.catch_up_requested = asyncio.Event()
        self._background: set[asyncio.Task] = set()
        self.catch_up_requested.set()  # start-up is the first catch-up

    # -- catch-up and pushes ---------------------------------------------------------------------------
    def request_catch_up(self) -> None:
        """Called when the private WebSocket is (re)subscribed: whatever happened while it was down is paged in."""
        self.catch_up_requested.set()

    async def catch_up(self) -> CatchUpReport:
        async with self._catch_up_lock:
            self.catch_up_requested.clear()
            report = await catch_up(
                self.pool, self.okx, now=self._now(), order_values=order_values, fill_values=fill_values
            )
            self.last_catch_up = report
            self.last_caught_up_at = self._now()
        if (report.fills_inserted or report.orders_inserted or report.orders_updated) and self._on_change is not None:
            self._on_change(
                SyncReport(
                    orders_inserted=report.orders_inserted,
                    orders_updated=report.orders_updated,
                    fills_inserted=report.fills_inserted,
                )
            )
        if report.fills_read or report.orders_read:
            log.info("catch-up: %s", report)
        return report

    async def apply_orders(self, orders: list[Any]) -> SyncReport:
        """`orders` pushes: each order upserted, and its trade (a push with a tradeId) recorded once."""
        report = SyncReport()
        async with self.pool.connection() as conn, conn.transaction():
            for order in orders:
                if not order.ordId:
                    continue
                outcome = await q.upsert_okx_order(conn, order_values(order))
                report.orders_inserted += outcome == "inserted"
                report.orders_updated += outcome == "updated"
                if order.tradeId and dec(order.fillSz) and await q.insert_fill(conn, fill_values(order)):
                    report.fills_inserted += 1
        self._changed(report)
        return report

    async def apply_positions(self, positions: list[Any]) -> SyncReport:
        """Every open position OKX holds (from the `positions` channel): records opened, updated, closed."""
        live = {(p.instId, p.mgnMode, p.posSide or "net") for p in positions if dec(p.pos)}
        async with self.pool.connection() as conn:
            records = {(r["inst_id"], r["mgn_mode"], r["pos_side"]) for r in await q.open_positions(conn)}
        if records - live:
            # A position is gone: its close reason comes from the order that closed it, and that order's push
            # may not have arrived yet (the positions channel can be first). The REST pass reads orders before
            # positions, so the closing order is recorded when the reason is decided.
            return await self.sync()
        report = SyncReport()
        async with self._lock, self.pool.connection() as conn, conn.transaction():
            await self._sync_positions(conn, positions, report)
        await self._refine(report)
        self._changed(report)
        return report

    @staticmethod
    def no_changes() -> dict[str, Any]:
        """The `account` event's shape with nothing changed (pushes that carry other news keep the same keys)."""
        return SyncReport().as_dict()

    def _changed(self, report: SyncReport) -> None:
        if report.changes and self._on_change is not None:
            self._on_change(report)

    async def _refine(self, report: SyncReport) -> None:
        """Closed records get OKX's own close type and realised PnL (positions-history, 1 request per 10 s): in
        the background, so an order's immediate sync never waits for that rate limit."""
        if not report.closed:
            return
        task = asyncio.create_task(self._refine_now(list(report.closed)), name="account-close-refine")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _refine_now(self, closed: list[dict[str, Any]]) -> None:
        try:
            await refine_closes(self.pool, self.okx, closed)
        except Exception as exc:  # noqa: BLE001 - best effort: the order-based reason stays
            log.warning("positions-history for the close reason failed (the order-based reason stays): %s", exc)

    async def sync(self) -> SyncReport:
        async with self._lock:
            # Read everything from OKX first: a failed read leaves the records untouched.
            pending = await self.okx.get_orders_pending(inst_type="SWAP", limit=100)
            history = await self.okx.get_orders_history(inst_type="SWAP", limit=100)
            fills = await self.okx.get_fills(inst_type="SWAP", limit=100)
            positions = await self.okx.get_positions(inst_type="SWAP")
            seen = {o.ordId: o for o in [*history, *pending] if o.ordId}  # pending wins: newer state
            extra = await self._lookup_unresolved(seen)
            report = SyncReport()
            async with self.pool.connection() as conn, conn.transaction():
                for order in [*seen.values(), *extra]:
                    outcome = await q.upsert_okx_order(conn, order_values(order))
                    if outcome == "inserted":
                        report.orders_inserted += 1
                    elif outcome == "updated":
                        report.orders_updated += 1
                for fill in fills:
                    if fill.tradeId and await q.insert_fill(conn, fill_values(fill)):
                        report.fills_inserted += 1
                await self._sync_positions(conn, positions, report)
            report.orders_resolved += await self._fail_lost_orders(seen, extra)
            self.last_report = report
            self.last_synced_at = self._now()
            self.last_error = None
        await self._refine(report)
        self._changed(report)
        return report

    async def _lookup_unresolved(self, seen: dict[str, Any]) -> list[Any]:
        """Our orders that the pages above did not cover: look each up (by ordId, else clOrdId)."""
        found: list[Any] = []
        self._missing: list[dict[str, Any]] = []
        for row in await q.unresolved_orders(self.pool, self._now() - UNACKNOWLEDGED_AFTER):
            if row["ord_id"] and row["ord_id"] in seen:
                continue
            try:
                found.append(
                    await self.okx.get_order(
                        row["inst_id"],
                        ord_id=row["ord_id"] or None,
                        cl_ord_id=None if row["ord_id"] else row["cl_ord_id"],
                    )
                )
            except OkxRequestError as exc:
                if (exc.code or exc.s_code) == ORDER_DOES_NOT_EXIST:
                    self._missing.append(row)
                else:
                    log.warning("sync: looking up order %s failed: %s", row["cl_ord_id"] or row["ord_id"], exc)
            except OkxError as exc:
                log.warning("sync: looking up order %s failed: %s", row["cl_ord_id"] or row["ord_id"], exc)
        return found

    async def _fail_lost_orders(self, seen: dict[str, Any], extra: list[Any]) -> int:
        """An order we recorded that OKX says does not exist never reached it: mark it failed."""
        count = 0
        for row in self._missing:
            if row["state"] in ("submitting", "sent") and not row["ord_id"]:
                await q.mark_order(
                    self.pool,
                    row["cl_ord_id"],
                    state="failed",
                    error="OKX has no order with this clOrdId (the request never reached OKX)",
                )
                count += 1
        return count

    async def _sync_positions(self, conn: Any, positions: list[Any], report: SyncReport) -> None:
        now = self._now()
        live: dict[tuple[str, str, str], Any] = {}
        for p in positions:
            size = dec(p.pos)
            if size is None or size == 0:
                continue
            live[(p.instId, p.mgnMode, p.posSide or "net")] = p
        records = {(r["inst_id"], r["mgn_mode"], r["pos_side"]): r for r in await q.open_positions(conn)}
        for key, record in records.items():
            p = live.get(key)
            flipped = p is not None and (dec(p.pos) > 0) != (record["pos"] > 0)
            if p is not None and not flipped:
                values = await self._position_values(conn, p)
                if await q.update_position(conn, record["id"], values):
                    report.positions_updated += 1
                continue
            long = record["pos_side"] == "long" or (record["pos_side"] == "net" and record["pos"] > 0)
            closing = await q.latest_closing_order(
                conn, record["inst_id"], record["pos_side"], "sell" if long else "buy", record["opened_at"]
            )
            reason, detail = close_reason(closing)
            closed_at = (closing or {}).get("okx_updated_at") or now
            await q.close_position_record(
                conn,
                record["id"],
                closed_at=closed_at,
                reason=reason,
                detail=detail,
                close_ord_id=(closing or {}).get("ord_id"),
                close_origin=(closing or {}).get("origin"),
                close_run_id=(closing or {}).get("run_id"),
            )
            report.positions_closed += 1
            report.closed.append(
                {
                    "instId": record["inst_id"],
                    "posSide": record["pos_side"],
                    "reason": reason,
                    "detail": detail,
                    "posId": record["pos_id"],
                    "recordId": record["id"],
                }
            )
            log.info("position %s %s closed: %s (%s)", record["inst_id"], record["pos_side"], reason, detail)
            if flipped:
                values = await self._position_values(conn, live[key])
                await q.insert_position(
                    conn,
                    {
                        **values,
                        "inst_id": key[0],
                        "mgn_mode": key[1],
                        "pos_side": key[2],
                        "opened_at": ms_time(live[key].cTime) or now,
                    },
                )
                report.positions_opened += 1
        for key, p in live.items():
            if key in records:
                continue
            values = await self._position_values(conn, p)
            await q.insert_position(
                conn,
                {
                    **values,
                    "inst_id": key[0],
                    "mgn_mode": key[1],
                    "pos_side": key[2],
                    "opened_at": ms_time(p.cTime) or now,
                },
            )
            report.positions_opened += 1

    @staticmethod
    async def _position_values(conn: Any, p: Any) -> dict[str, Any]:
        tp, sl = position_stops(p)
        if tp is None and sl is None:
            stops = await q.latest_order_with_stops(conn, p.instId, p.posSide or "net")
            if stops:
                tp, sl = stops["tp_trigger_px"], stops["sl_trigger_px"]
        return {
            "pos_id": p.posId or "",
            "pos": dec(p.pos),
            "avg_px": dec(p.avgPx),
            "lever": dec(p.lever),
            "tp_trigger_px": tp,
            "sl_trigger_px": sl,
            "realized_pnl": dec(p.realizedPnl),
        }


class SyncLoop:
    """Runs `AccountSync.sync` every `interval_secs`, and `catch_up` at start-up, whenever one is requested
    (private WebSocket reconnects) and every CATCH_UP_EVERY_SECS; failures are logged and retried."""

    def __init__(
        self, sync: AccountSync, interval_secs: float, *, catch_up_every_secs: float = CATCH_UP_EVERY_SECS
    ) -> None:
        self.sync = sync
        self.interval_secs = interval_secs
        self.catch_up_every_secs = catch_up_every_secs
        self._tasks: list[asyncio.Task] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(), name="account-sync"),
            asyncio.create_task(self._catch_up_loop(), name="account-catch-up"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _run(self) -> None:
        while True:
            try:
                report = await self.sync.sync()
                if report.changes:
                    log.info("account sync: %s", {k: v for k, v in report.as_dict().items() if v and k != "closed"})
            except OkxError as exc:
                self.sync.last_error = str(exc)
                log.warning("account sync failed: %s", exc)
            except Exception:  # the loop must survive a bad tick
                self.sync.last_error = "internal error"
                log.exception("account sync failed")
            await asyncio.sleep(self.interval_secs)

    async def _catch_up_loop(self) -> None:
        failures = 0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.sync.catch_up_requested.wait(), self.catch_up_every_secs)
            try:
                await self.sync.catch_up()
                failures = 0
            except Exception as exc:  # noqa: BLE001 - retried: the cursor did not move, nothing is skipped
                failures += 1
                self.sync.catch_up_requested.set()
                log.warning("catch-up failed (attempt %d), retrying: %s", failures, exc)
                await asyncio.sleep(CATCH_UP_BACKOFF.delay(failures - 1))
