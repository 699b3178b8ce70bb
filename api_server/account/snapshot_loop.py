"""The balance snapshot loop (the equity curve): read the balance every BALANCE_SNAPSHOT_INTERVAL_SECS,
store it when `should_write_snapshot` says so (against the last STORED snapshot), publish a `balance`
event for every reading."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from api_server.account import queries as q
from api_server.account.snapshots import should_write_snapshot
from api_server.account.sync import dec
from api_server.okx.account_mode import FUTURES_MODE, AccountMode, trading_equity
from api_server.okx.errors import OkxError

log = logging.getLogger("aitrader.api.account.snapshots")


@dataclass(frozen=True)
class BalanceReading:
    """The parts of OKX's /account/balance answer the API uses, as exact decimals. `trading_eq` is what risk, PnL% and
    the equity curve use (`api_server.okx.account_mode`); `total_eq` is the account value (every coin, USD)."""

    total_eq: Decimal
    usdt_eq: Decimal | None
    usdt_available: Decimal | None
    usdt_frozen: Decimal | None
    usdt_cash: Decimal | None
    upl: Decimal | None
    updated_at: datetime | None
    details: list[dict[str, Any]]
    trading_eq: Decimal = Decimal(0)
    trading_eq_source: str = "USDT eq"


def reading_from_balance(balance: Any, mode: AccountMode = FUTURES_MODE) -> BalanceReading:
    total = dec(balance.totalEq)
    if total is None:
        raise OkxError("balance reply without totalEq", path="/api/v5/account/balance")
    details = []
    usdt = None
    for d in balance.details:
        item = {
            "ccy": d.ccy,
            "eq": d.eq,
            "cashBal": d.cashBal,
            "availBal": d.availBal,
            "availEq": d.availEq,
            "frozenBal": d.frozenBal,
            "ordFrozen": d.ordFrozen,
            "upl": d.upl,
            "eqUsd": d.eqUsd,
        }
        details.append(item)
        if d.ccy == "USDT":
            usdt = d
    updated = None
    if balance.uTime.isdigit():
        updated = datetime.fromtimestamp(int(balance.uTime) / 1000, tz=UTC)
    return BalanceReading(
        total_eq=total,
        usdt_eq=dec(usdt.eq) if usdt else None,
        usdt_available=dec(usdt.availBal or usdt.availEq) if usdt else None,
        usdt_frozen=dec(usdt.frozenBal) if usdt else None,
        usdt_cash=dec(usdt.cashBal) if usdt else None,
        upl=dec(balance.upl) if balance.upl else (dec(usdt.upl) if usdt else None),
        updated_at=updated,
        details=details,
        trading_eq=(equity := trading_equity(balance, mode)).equity,
        trading_eq_source=equity.source,
    )


def snapshot_equity(row: dict[str, Any]) -> Decimal:
    """The equity a stored snapshot counts for the curve: its trading equity (totalEq on rows from before 0020)."""
    return row["trading_eq"] if row.get("trading_eq") is not None else row["total_eq"]


class SnapshotLoop:
    def __init__(
        self,
        pool: Any,
        read_balance: Callable[[], Awaitable[BalanceReading]],
        *,
        interval_secs: float,
        min_abs: Decimal,
        min_rel: Decimal,
        publish: Callable[[str, Any], None],
        on_reading: Callable[[BalanceReading, datetime], Awaitable[None]] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.pool = pool
        self.read_balance = read_balance
        self.interval_secs = interval_secs
        self.min_abs = min_abs
        self.min_rel = min_rel
        self.publish = publish
        self.on_reading = on_reading
        self._now = now
        self._last_stored: Decimal | None = None
        self._loaded = False
        self._task: asyncio.Task | None = None
        self.readings = 0
        self.written = 0
        self.last_error: str | None = None
        self.metrics: Any = None  # shared.metrics.SnapshotMetrics when the app exports Prometheus metrics

    async def tick(self) -> tuple[BalanceReading, dict[str, Any] | None]:
        """One reading: store it when the rule says so. Answers (reading, stored row or None)."""
        reading = await self.read_balance()
        now = self._now()
        if not self._loaded:
            last = await q.latest_snapshot(self.pool)
            self._last_stored = snapshot_equity(last) if last else None
            self._loaded = True
        self.readings += 1
        row = None
        if should_write_snapshot(self._last_stored, reading.trading_eq, self.min_abs, self.min_rel):
            row = await q.insert_snapshot(
                self.pool,
                taken_at=now,
                total_eq=reading.total_eq,
                usdt_eq=reading.usdt_eq,
                usdt_available=reading.usdt_available,
                usdt_frozen=reading.usdt_frozen,
                upl=reading.upl,
                details=reading.details,
                trading_eq=reading.trading_eq,
            )
            self._last_stored = reading.trading_eq
            self.written += 1
        if self.metrics is not None:
            self.metrics.writes.labels("written" if row is not None else "skipped").inc()
        self.publish(
            "balance",
            {
                "totalEq": str(reading.total_eq),
                "tradingEq": str(reading.trading_eq),
                "usdtAvailable": None if reading.usdt_available is None else str(reading.usdt_available),
                "usdtFrozen": None if reading.usdt_frozen is None else str(reading.usdt_frozen),
                "upl": None if reading.upl is None else str(reading.upl),
                "ts": now.isoformat(),
                "stored": row is not None,
                "snapshotId": row["id"] if row else None,
            },
        )
        if self.on_reading is not None:
            await self.on_reading(reading, now)
        return reading, row

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="balance-snapshots")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _count_failure(self) -> None:
        if self.metrics is not None:
            self.metrics.writes.labels("failed").inc()

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
                self.last_error = None
            except OkxError as exc:
                self.last_error = str(exc)
                self._count_failure()
                log.warning("balance snapshot skipped: %s", exc)
            except Exception:  # noqa: BLE001 - the loop must survive a bad tick
                self.last_error = "internal error"
                self._count_failure()
                log.exception("balance snapshot failed")
            await asyncio.sleep(self.interval_secs)
