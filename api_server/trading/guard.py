"""The risk guard's I/O around the pure rules of `risk.py`: the daily-loss state (baseline, latch, manual
reset), the open exposure (positions plus resting opening orders), the check of one order (a refusal is
recorded and answered 422 with the rule and the numbers) and the risk status the API shows."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from psycopg_pool import AsyncConnectionPool

from api_server.account import queries as account_q
from api_server.account.balances import BalanceService
from api_server.account.schemas import num
from api_server.account.snapshot_loop import BalanceReading, snapshot_equity
from api_server.account.sync import dec
from api_server.errors import Unprocessable
from api_server.market.instruments import InstrumentCatalog
from api_server.okx.rest import OkxRestClient
from api_server.trading import queries as q
from api_server.trading.risk import (
    AccountView,
    DailyLossState,
    OrderIntent,
    RiskDecision,
    RiskLimits,
    check_order,
    daily_loss_state,
    utc_day_start,
)
from api_server.trading.schemas import RiskLimits as RiskLimitsOut
from api_server.trading.schemas import RiskState, RiskStatus
from api_server.trading.sizing import exact_product, exact_sum, plain_decimal

log = logging.getLogger("aitrader.api.account")


# "AITR" "ORDR": the account-wide order lock (advisory locks are scoped to the database).
ORDER_LOCK_KEY = 0x4149_5452_4F52_4452


class RiskRefused(Unprocessable):
    """The guard refused an order (HTTP 422 with rule, limit, actual)."""


class RiskGuard:
    def __init__(
        self,
        *,
        pool: AsyncConnectionPool,
        okx: OkxRestClient,
        instruments: InstrumentCatalog,
        balances: BalanceService,
        limits: RiskLimits,
        publish: Callable[[str, Any], None] | None = None,
    ) -> None:
        self.pool = pool
        self.publish = publish  # the event hub: the latch is announced (web app, alerts)
        self.okx = okx
        self.instruments = instruments
        self.balances = balances
        self.limits = limits
        self._lock = asyncio.Lock()
        self._order_lock = asyncio.Lock()
        balances.add_reading_listener(self._on_reading)

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        """Check and reserve as one step, across every API process on the database: an opening order holds this
        from reading the exposure until OKX has answered and the order is recorded with its outcome.

        The in-process lock comes first, so at most one connection per process waits on the advisory lock (the
        holder needs pool connections of its own for the check)."""
        async with self._order_lock:
            async with self.pool.connection() as conn:
                async with conn.transaction():
                    await conn.execute("select pg_advisory_xact_lock(%s)", (ORDER_LOCK_KEY,))
                    yield

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    async def _on_reading(self, reading: BalanceReading, now: datetime) -> None:
        # Every balance reading also advances the daily-loss latch (new UTC day, crossing the limit).
        await self.daily_loss(reading.trading_eq, now)

    # -- daily-loss state ------------------------------------------------------------------------------
    async def daily_loss(self, equity: Decimal, now: datetime) -> DailyLossState:
        async with self._lock:
            today = utc_day_start(now)
            row = await q.get_risk_day(self.pool)
            if row is None or row["day"] != today.date():
                # The day's baseline: the equity stored last before 00:00 UTC, else the equity now.
                before = await account_q.snapshot_before(self.pool, today)
                base = snapshot_equity(before) if before is not None else equity
                row = await q.start_risk_day(self.pool, today.date(), base)
            state = daily_loss_state(
                row["day_start_equity"],
                equity,
                self.limits.daily_loss_limit_pct,
                row["latched_at"],
                row["reset_at"],
                now,
            )
            if state.newly_latched:
                await q.latch_risk_day(self.pool, now)
                log.warning(
                    "daily loss limit reached: loss %s USDT >= %s USDT (%s %% of %s); new exposure refused until %s",
                    plain_decimal(state.loss),
                    plain_decimal(state.max_loss),
                    plain_decimal(state.limit_pct),
                    plain_decimal(state.day_start_equity),
                    state.reopens_at.isoformat(),
                )
                if self.publish is not None:
                    self.publish(
                        "risk",
                        {
                            "dailyLoss": {
                                "latched": True,
                                "loss": plain_decimal(state.loss),
                                "maxLoss": plain_decimal(state.max_loss),
                                "lossPct": plain_decimal(state.loss / state.day_start_equity * 100)
                                if state.day_start_equity
                                else None,
                                "reopensAt": state.reopens_at.isoformat(),
                            }
                        },
                    )
            return state

    async def reset(self) -> RiskStatus:
        now = self.now()
        reading = await self.balances.read_balance()
        async with self._lock:
            await q.reset_risk_day(self.pool, utc_day_start(now).date(), reading.trading_eq, now)
        log.warning("daily loss latch reset by hand; new day-start equity %s", plain_decimal(reading.trading_eq))
        return await self.status()

    # -- exposure --------------------------------------------------------------------------------------
    async def exposure(self, positions: list[Any]) -> dict[str, Decimal]:
        """Open notional per instrument: positions plus live opening orders (both can lose money)."""
        exposure: dict[str, Decimal] = {}
        for p in positions:
            size = dec(p.pos)
            if not size:
                continue
            notional = dec(p.notionalUsd)
            if notional is None:
                spec = await self.instruments.get(p.instId)
                mark = dec(p.markPx) or dec(p.last) or dec(p.avgPx) or Decimal(0)
                notional = exact_product(abs(size), dec(spec.ctVal) if spec else Decimal(0), mark)
            exposure[p.instId] = exact_sum(exposure.get(p.instId, Decimal(0)), abs(notional))
        # Opening orders still resting count too, and so does every opening order whose outcome OKX has not
        # confirmed yet (its reservation). Read from the records (kept current by the immediate sync after each
        # of our orders, and by the loop for orders placed elsewhere): no extra OKX call per order.
        for o in await account_q.list_orders(self.pool, inst_id=None, open_only=True, limit=1000):
            if o["reduce_only"] or o["sz"] is None or o["sz"] <= 0:
                continue
            left = exact_sum(o["sz"], -(o["acc_fill_sz"] or Decimal(0)))
            if left <= 0:
                continue
            if o["px"] is not None:
                spec = await self.instruments.get(o["inst_id"])
                if spec is None or not dec(spec.ctVal):
                    continue
                open_notional = exact_product(left, dec(spec.ctVal), o["px"])
            elif o.get("reserved_notional") is not None:  # a market order not confirmed yet: its reserved share
                open_notional = o["reserved_notional"] * left / o["sz"]
            else:
                continue
            exposure[o["inst_id"]] = exact_sum(exposure.get(o["inst_id"], Decimal(0)), open_notional)
        return exposure

    # -- the check of one order ------------------------------------------------------------------------
    async def check(
        self,
        intent: OrderIntent,
        equity: Decimal,
        exposure: dict[str, Decimal],
        request: dict[str, Any],
        run_id: str | None,
        origin: str,
    ) -> RiskDecision:
        """The decision on one order (`origin`: the caller's full origin, recorded with a refusal)."""
        now = self.now()
        day = await self.daily_loss(equity, now)
        account = AccountView(
            equity=equity,
            open_exposure_by_inst=exposure,
            day_start_equity=day.day_start_equity,
            daily_loss_latched=day.latched,
        )
        decision = check_order(intent, account, self.limits, now)
        if not decision.allowed:
            refusal_id = await q.insert_refusal(
                self.pool,
                origin=origin,
                run_id=run_id,
                inst_id=intent.inst_id,
                rule=decision.rule,
                limit_value=decision.limit,
                actual_value=decision.actual,
                message=decision.message,
                request=request,
            )
            log.warning("risk guard refused %s order %s %s: %s", origin, intent.side, intent.inst_id, decision.message)
            raise RiskRefused(
                decision.message, rule=decision.rule, limit=decision.limit, actual=decision.actual, refusalId=refusal_id
            )
        return decision

    # -- the status the API shows ----------------------------------------------------------------------
    async def status(self) -> RiskStatus:
        now = self.now()
        reading = await self.balances.read_balance()
        state = await self.daily_loss(reading.trading_eq, now)
        exposure = await self.exposure(await self.okx.get_positions(inst_type="SWAP"))
        row = await q.get_risk_day(self.pool)
        return RiskStatus(
            limits=RiskLimitsOut(
                allowedInstIds=sorted(self.limits.allowed_inst_ids),
                maxLeverage=plain_decimal(self.limits.max_leverage),
                maxOrderPct=plain_decimal(self.limits.max_order_pct),
                maxExposurePct=plain_decimal(self.limits.max_exposure_pct),
                dailyLossLimitPct=plain_decimal(self.limits.daily_loss_limit_pct),
                requireStopLoss=self.limits.require_stop_loss,
                approvalMode=self.limits.approval_mode,
            ),
            state=RiskState(
                equity=num(reading.trading_eq),
                day=state.day.isoformat(),
                dayStartEquity=num(state.day_start_equity),
                dayLoss=num(state.loss),
                maxDayLoss=num(state.max_loss),
                dailyLossLatched=state.latched,
                latchedAt=None if state.latched_at is None else state.latched_at.isoformat(),
                resetAt=None if row is None or row["reset_at"] is None else row["reset_at"].isoformat(),
                reopensAt=state.reopens_at.isoformat() if state.latched else None,
                openExposure=num(exact_sum(*exposure.values())) if exposure else "0",
                openExposureByInst={k: num(v) for k, v in exposure.items()},
            ),
        )
