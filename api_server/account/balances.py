"""Balances: the live reading from OKX (with PnL against the initial equity), the newest stored snapshot,
and the balance snapshot loop (the equity curve) with the start-up initial equity."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool

from api_server.account import queries as q
from api_server.account.schemas import (
    Balance,
    BalanceSnapshot,
    UsdtBalance,
    initial_equity_out,
    num,
    snapshot_out,
)
from api_server.account.snapshot_loop import BalanceReading, SnapshotLoop, reading_from_balance, snapshot_equity
from api_server.account.snapshots import pnl_against_initial
from api_server.errors import NotFound
from api_server.events import EventHub
from api_server.okx.account_mode import FUTURES_MODE, AccountMode
from api_server.okx.rest import OkxRestClient
from api_server.settings import Settings
from api_server.trading.sizing import plain_decimal

log = logging.getLogger("aitrader.api.account")

ReadingListener = Callable[[BalanceReading, datetime], Awaitable[None]]


def snapshot_with_pnl(row: dict[str, Any], initial: dict[str, Any] | None) -> BalanceSnapshot:
    """A stored snapshot with its PnL against the initial equity (`initial`: the initial_equities row or None)."""
    pnl, pct = pnl_against_initial(snapshot_equity(row), initial["amount"] if initial else None)
    return snapshot_out(row, num(pnl), num(pct))


class BalanceService:
    def __init__(self, *, pool: AsyncConnectionPool, okx: OkxRestClient, events: EventHub, settings: Settings) -> None:
        self.pool = pool
        self.okx = okx
        self.settings = settings
        self.mode: AccountMode = FUTURES_MODE  # set at start-up from /account/config (api_server.okx.account_mode)
        self._listeners: list[ReadingListener] = []
        self.snapshots = SnapshotLoop(
            pool,
            self.read_balance,
            interval_secs=settings.balance_snapshot_interval_secs,
            min_abs=settings.balance_snapshot_min_abs_change,
            min_rel=settings.balance_snapshot_min_relative_change,
            publish=events.publish,
            on_reading=self._on_reading,
        )

    def add_reading_listener(self, listener: ReadingListener) -> None:
        """Called with every reading of the snapshot loop (the risk guard advances the daily-loss latch)."""
        self._listeners.append(listener)

    async def _on_reading(self, reading: BalanceReading, now: datetime) -> None:
        for listener in self._listeners:
            await listener(reading, now)

    async def start(self) -> None:
        if self.settings.initial_equity is not None:
            if await q.init_initial_equity(self.pool, self.settings.initial_equity):
                log.info("initial equity set from INITIAL_EQUITY: %s", plain_decimal(self.settings.initial_equity))
        if self.okx.has_credentials:
            self.snapshots.start()

    async def stop(self) -> None:
        await self.snapshots.stop()

    async def read_balance(self) -> BalanceReading:
        return reading_from_balance(await self.okx.get_balance(), self.mode)

    async def balances(self) -> Balance:
        reading = await self.read_balance()
        initial = await q.get_initial_equity(self.pool)
        pnl, pnl_pct = pnl_against_initial(reading.trading_eq, initial["amount"] if initial else None)
        usdt = None
        if reading.usdt_eq is not None or reading.usdt_available is not None:
            usdt = UsdtBalance(
                eq=num(reading.usdt_eq),
                available=num(reading.usdt_available),
                frozen=num(reading.usdt_frozen),
                cashBal=num(reading.usdt_cash),
            )
        return Balance(
            totalEq=num(reading.total_eq),
            totalEqCcy="USD",
            tradingEq=num(reading.trading_eq),
            tradingEqSource=reading.trading_eq_source,
            accountMode=self.mode.name,
            usdt=usdt,
            usdtAvailable=num(reading.usdt_available),
            usdtFrozen=num(reading.usdt_frozen),
            upl=num(reading.upl),
            details=reading.details,
            initialEquity=initial_equity_out(initial),
            pnl=num(pnl),
            pnlPct=num(pnl_pct),
            uTime=None if reading.updated_at is None else reading.updated_at.isoformat(),
            ts=datetime.now(UTC).isoformat(),
        )

    async def latest_snapshot(self) -> BalanceSnapshot:
        row = await q.latest_snapshot(self.pool)
        if row is None:
            raise NotFound("no balance snapshot yet (the first is written at start-up once OKX answers)")
        return snapshot_with_pnl(row, await q.get_initial_equity(self.pool))

    async def snapshot_page(
        self, after: int, limit: int
    ) -> tuple[list[BalanceSnapshot], int | None, dict[str, Any] | None]:
        rows = await q.snapshots_after(self.pool, after, limit)
        initial = await q.get_initial_equity(self.pool)
        return ([snapshot_with_pnl(r, initial) for r in rows], rows[-1]["id"] if len(rows) == limit else None, initial)
