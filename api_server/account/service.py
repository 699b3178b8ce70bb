"""The account service: balances, initial equity, and the ONE order path every order takes.

Order path (manual orders, agent orders with `runId`, close-position, approvals):
validate (400 naming the field) -> same clOrdId already recorded? answer that order (a retried
request never makes two orders) -> instrument spec, price, size in contracts -> risk guard
(`api_server.risk.check_order`; a refusal is recorded and answered 422 with the rule and numbers)
-> approval mode (agent orders wait as pending approvals, answered 202) -> record the order with
its clOrdId BEFORE sending -> set leverage when asked -> OKX (the client reuses the clOrdId on
retries) -> immediate sync -> the recorded order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, AsyncIterator

import msgspec

from api_server.account import queries as q
from api_server.account.snapshot_loop import BalanceReading, SnapshotLoop, reading_from_balance
from api_server.account.sync import AccountSync, SyncLoop, dec
from api_server.account.views import (
    Approval,
    Balance,
    BalanceSnapshot,
    Order,
    RiskState,
    RiskStatus,
    UsdtBalance,
    approval_out,
    initial_equity_out,
    num,
    order_out,
    snapshot_out,
)
from api_server.account.views import RiskDecision as RiskDecisionOut
from api_server.account.views import RiskLimits as RiskLimitsOut
from api_server.errors import BadRequest, Conflict, NotFound, Unprocessable
from api_server.okx.errors import OkxError, OkxOrderRejected
from api_server.okx.models import LeverageResult
from api_server.okx.rest import new_cl_ord_id
from api_server.risk import (
    RISK_ENV_VARIABLES,
    AccountView,
    DailyLossState,
    OrderIntent,
    RiskDecision,
    RiskLimits,
    check_order,
    daily_loss_state,
    order_reduces_position,
    utc_day_start,
)
from api_server.routes.market import require_inst_id
from api_server.sizing import SizingError, contracts_for_notional, exact_product, exact_sum, plain_decimal, validate_size
from api_server.snapshots import pnl_against_initial

log = logging.getLogger("aitrader.api.account")

ACCOUNT_ENV_VARIABLES: tuple[str, ...] = ("ACCOUNT_SYNC_INTERVAL_SECS", *RISK_ENV_VARIABLES)
CL_ORD_ID_RE = re.compile(r"^[A-Za-z0-9]{1,32}$")
RUN_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_LEVERAGE_INPUT = 125
ACCOUNT_MODE_TTL_SECS = 60.0


# ---- configuration -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountConfig:
    sync_interval_secs: float
    limits: RiskLimits


# ---- request bodies (the wire types) -------------------------------------------------------------
# Values are checked by `validate_order_body` & co. (a 400 naming the field, with the allowed values); the
# schema's enums and descriptions only document them, so the messages stay the ones the agent's tools read.

Number = str | int | float


def _doc(description: str, enum: tuple[str, ...] | None = None) -> msgspec.Meta:
    return msgspec.Meta(extra_json_schema={"description": description, **({"extra": {"enum": list(enum)}} if enum else {})})


class OrderRequest(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    instId: Annotated[str, _doc("instrument id, e.g. BTC-USDT-SWAP")]
    side: Annotated[str, _doc("buy or sell", ("buy", "sell"))]
    ordType: Annotated[str, _doc("market, or limit with px", ("market", "limit"))]
    sz: Annotated[Number | None, _doc("size in contracts (a multiple of lotSz, >= minSz); or give notionalUsdt")] = None
    notionalUsdt: Annotated[Number | None, _doc("size as USDT notional, converted to contracts with ctVal/lotSz/minSz")] = None
    px: Annotated[Number | None, _doc("limit price (limit orders only)")] = None
    posSide: Annotated[str | None, _doc("net, long or short; default from the account's position mode")] = None
    # UNSET (not a "cross" default): absent stays absent in the recorded request, and the schema shows no
    # `default`, which generated clients would read as a key every request must send
    tdMode: Annotated[str | msgspec.UnsetType, _doc("margin mode, cross when absent", ("cross", "isolated"))] = msgspec.UNSET
    leverage: Annotated[int | str | None, _doc("leverage to set before the order, a whole number 1..125")] = None
    reduceOnly: bool | None = None
    tpTriggerPx: Annotated[Number | None, _doc("take-profit trigger price (last price), opening orders only")] = None
    slTriggerPx: Annotated[Number | None, _doc("stop-loss trigger price (last price), opening orders only")] = None
    clOrdId: Annotated[str | None, _doc("client order id, 1-32 letters/digits; generated when absent; idempotent")] = None
    runId: Annotated[str | None, _doc("strategy run id (set by the agent: the order's origin is then agent)")] = None


class CancelRequest(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    instId: str
    ordId: Annotated[str | None, _doc("exchange order id (digits); or give clOrdId")] = None
    clOrdId: str | None = None
    runId: Annotated[str | None, _doc("strategy run id of the agent asking (logged with the cancel)")] = None


class ClosePositionRequest(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    instId: str
    posSide: Annotated[str | None, _doc("which position in long/short mode; net in net mode", ("net", "long", "short"))] = None
    runId: Annotated[str | None, _doc("strategy run id (set by the agent: the close's origin is then agent)")] = None
    clOrdId: Annotated[str | None, _doc("client order id of the closing order, 1-32 letters/digits; idempotent")] = None


class InitialEquityRequest(msgspec.Struct, forbid_unknown_fields=True):
    # The exact decimal of the JSON number (read from its text: no float on the way); documented as a number.
    amount: Annotated[Decimal, msgspec.Meta(extra_json_schema={
        "description": "the initial equity in USD, a JSON number >= 0 (read exactly)", "extra": {"type": "number"}})]


# ---- answers of the order path ---------------------------------------------------------------------


class OrderPlaced(msgspec.Struct, kw_only=True):
    """A new order (201, with the risk decision) or the order already recorded under that clOrdId (200,
    `duplicate`: nothing new was sent; `order` absent only while a concurrent retry is still recording it)."""

    order: Order | msgspec.UnsetType = msgspec.UNSET
    duplicate: bool
    risk: RiskDecisionOut | msgspec.UnsetType = msgspec.UNSET
    clOrdId: str | msgspec.UnsetType = msgspec.UNSET


class ApprovalPending(msgspec.Struct, kw_only=True):
    """202: an agent order waits for a person's approval (TRADE_APPROVAL_MODE=manual); it is not placed yet."""

    status: str
    approvalId: int
    clOrdId: str
    approval: Approval
    duplicate: bool


class ApprovalDecision(msgspec.Struct, kw_only=True):
    """An approval decided: rejected (only `approval`), or approved and placed (the order's answer too)."""

    order: Order | msgspec.UnsetType = msgspec.UNSET
    duplicate: bool | msgspec.UnsetType = msgspec.UNSET
    risk: RiskDecisionOut | msgspec.UnsetType = msgspec.UNSET
    clOrdId: str | msgspec.UnsetType = msgspec.UNSET
    approval: Approval


class CancelResult(msgspec.Struct, kw_only=True):
    canceled: bool
    ordId: str | None
    clOrdId: str | None
    order: Order | None  # the record with its state after the cancel (null when it is not recorded)


def risk_out(decision: RiskDecision) -> RiskDecisionOut:
    return RiskDecisionOut(allowed=decision.allowed, rule=decision.rule, message=decision.message, limit=decision.limit,
                           actual=decision.actual, needsApproval=decision.needs_approval)


_BACKTICK_FIELD = re.compile(r"field `([^`]+)`")
_PATH_FIELD = re.compile(r"\$\.([A-Za-z0-9_]+)")


def decode_body(raw: bytes, kind: type[msgspec.Struct]) -> Any:
    """JSON body -> `kind`; any problem is a 400 naming the field."""
    if not raw or not raw.strip():
        raise BadRequest("a JSON body is required", field="body")
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as exc:
        text = str(exc)
        match = _BACKTICK_FIELD.search(text) or _PATH_FIELD.search(text)
        field = match.group(1) if match else "body"
        raise BadRequest(f"{field}: {text}" if field != "body" else f"body: {text}", field=field) from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"body: invalid JSON ({exc})", field="body") from None


def parse_decimal(field: str, value: Any, *, positive: bool = True) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise BadRequest(f"{field} must be a number, got {value!r}", field=field)
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        raise BadRequest(f"{field} must be a number, got {value!r}", field=field) from None
    if not number.is_finite():
        raise BadRequest(f"{field} must be a finite number, got {value!r}", field=field)
    if positive and number <= 0:
        raise BadRequest(f"{field} must be > 0, got {plain_decimal(number)}", field=field)
    return number


_JSON_NUMBER = re.compile(rb"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$")


MIN_INITIAL_EQUITY = Decimal("0.01")  # a cent: PnL% against less is meaningless


def parse_initial_equity_body(raw: bytes) -> Decimal:
    """`{"amount": number}` with the number read exactly from its JSON text (no float)."""
    if not raw or not raw.strip():
        raise BadRequest("amount is required: body {\"amount\": number}", field="amount")
    try:
        body = msgspec.json.decode(raw, type=dict[str, msgspec.Raw])
    except (msgspec.ValidationError, msgspec.DecodeError):
        raise BadRequest("amount: body must be a JSON object {\"amount\": number}", field="amount") from None
    if "amount" not in body:
        raise BadRequest("amount is required: body {\"amount\": number}", field="amount")
    text = bytes(body["amount"]).strip()
    if not _JSON_NUMBER.match(text):
        raise BadRequest(f"amount must be a JSON number, got {text.decode(errors='replace')[:40]}", field="amount")
    amount = Decimal(text.decode())
    if amount < 0:
        raise BadRequest(f"amount must not be negative, got {plain_decimal(amount)}", field="amount")
    if amount.adjusted() > 30:
        raise BadRequest("amount is too large", field="amount")
    if 0 < amount < MIN_INITIAL_EQUITY:
        raise BadRequest(f"amount must be 0 or at least {MIN_INITIAL_EQUITY} USDT, got {plain_decimal(amount)}", field="amount")
    return amount


def decode_initial_equity_body(raw: bytes) -> InitialEquityRequest:
    return InitialEquityRequest(amount=parse_initial_equity_body(raw))


@dataclass(frozen=True)
class ValidOrder:
    inst_id: str
    side: str
    ord_type: str
    sz: Decimal | None
    notional: Decimal | None
    px: Decimal | None
    pos_side: str | None
    td_mode: str
    leverage: int | None
    reduce_only: bool
    tp: Decimal | None
    sl: Decimal | None
    cl_ord_id: str | None
    run_id: str | None

    @property
    def origin(self) -> str:
        return "agent" if self.run_id else "manual"


def _choice(field: str, value: str | None, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise BadRequest(f"{field} must be one of {', '.join(allowed)}, got {value!r}", field=field)
    return value  # type: ignore[return-value]


def _cl_ord_id(value: str | None) -> str | None:
    if value is None:
        return None
    if not CL_ORD_ID_RE.match(value):
        raise BadRequest("clOrdId must be 1 to 32 letters or digits", field="clOrdId")
    return value


def _run_id(value: str | None) -> str | None:
    if value is None:
        return None
    if not RUN_ID_RE.match(value):
        raise BadRequest("runId must be 1 to 64 letters, digits or _ . : -", field="runId")
    return value


def validate_order_body(body: OrderRequest) -> ValidOrder:
    inst_id = require_inst_id(body.instId)
    side = _choice("side", body.side, ("buy", "sell"))
    ord_type = _choice("ordType", body.ordType, ("market", "limit"))
    td_mode = _choice("tdMode", "cross" if body.tdMode is msgspec.UNSET else body.tdMode, ("cross", "isolated"))
    pos_side = None if body.posSide is None else _choice("posSide", body.posSide, ("net", "long", "short"))
    if body.sz is not None and body.notionalUsdt is not None:
        raise BadRequest("give either sz (contracts) or notionalUsdt, not both", field="sz")
    if body.sz is None and body.notionalUsdt is None:
        raise BadRequest("sz (contracts) or notionalUsdt is required", field="sz")
    sz = None if body.sz is None else parse_decimal("sz", body.sz)
    notional = None if body.notionalUsdt is None else parse_decimal("notionalUsdt", body.notionalUsdt)
    if ord_type == "limit" and body.px is None:
        raise BadRequest("px is required for a limit order", field="px")
    if ord_type == "market" and body.px is not None:
        raise BadRequest("px is only for limit orders (a market order fills at the market)", field="px")
    px = None if body.px is None else parse_decimal("px", body.px)
    leverage = None
    if body.leverage is not None:
        raw = body.leverage
        if isinstance(raw, bool) or (isinstance(raw, str) and not raw.strip().isdigit()):
            raise BadRequest(f"leverage must be a whole number, got {raw!r}", field="leverage")
        leverage = int(raw)
        if not 1 <= leverage <= MAX_LEVERAGE_INPUT:
            raise BadRequest(f"leverage must be between 1 and {MAX_LEVERAGE_INPUT}, got {leverage}", field="leverage")
    tp = None if body.tpTriggerPx is None else parse_decimal("tpTriggerPx", body.tpTriggerPx)
    sl = None if body.slTriggerPx is None else parse_decimal("slTriggerPx", body.slTriggerPx)
    return ValidOrder(inst_id, side, ord_type, sz, notional, px, pos_side, td_mode, leverage, bool(body.reduceOnly), tp, sl,
                      _cl_ord_id(body.clOrdId), _run_id(body.runId))


class RiskRefused(Unprocessable):
    """The guard refused an order (HTTP 422 with rule, limit, actual)."""


@dataclass
class Outcome:
    status_code: int
    body: OrderPlaced | ApprovalPending | ApprovalDecision


# ---- the service ---------------------------------------------------------------------------------


class AccountService:
    def __init__(self, *, pool: Any, okx: Any, instruments: Any, tickers: Any, events: Any, settings: Any,
                 config: AccountConfig) -> None:
        self.pool = pool
        self.okx = okx
        self.instruments = instruments
        self.tickers = tickers
        self.events = events
        self.settings = settings
        self.config = config
        self.limits = config.limits
        self.sync = AccountSync(pool, okx, on_change=lambda report: events.publish("account", report.as_dict()))
        self.sync_loop = SyncLoop(self.sync, config.sync_interval_secs)
        self.snapshots = SnapshotLoop(
            pool, self.read_balance, interval_secs=settings.balance_snapshot_interval_secs,
            min_abs=settings.balance_snapshot_min_abs_change, min_rel=settings.balance_snapshot_min_relative_change,
            publish=events.publish, on_reading=self._on_reading,
        )
        self._pos_mode: tuple[float, str] | None = None
        self._risk_lock = asyncio.Lock()

    @staticmethod
    def now() -> datetime:
        return datetime.now(timezone.utc)

    # -- start-up ------------------------------------------------------------------------------------
    async def start(self) -> None:
        if self.settings.initial_equity is not None:
            if await q.init_initial_equity(self.pool, self.settings.initial_equity):
                log.info("initial equity set from INITIAL_EQUITY: %s", plain_decimal(self.settings.initial_equity))
        if not self.okx.has_credentials:
            log.warning("no OKX API credentials: balance snapshots and the account sync are not started")
            return
        self.snapshots.start()
        self.sync_loop.start()

    async def stop(self) -> None:
        await self.sync_loop.stop()
        await self.snapshots.stop()

    # -- balances --------------------------------------------------------------------------------------
    async def read_balance(self) -> BalanceReading:
        return reading_from_balance(await self.okx.get_balance())

    async def _on_reading(self, reading: BalanceReading, now: datetime) -> None:
        # Every balance reading also advances the daily-loss latch (new UTC day, crossing the limit).
        await self.daily_loss(reading.total_eq, now)

    async def balances(self) -> Balance:
        reading = await self.read_balance()
        initial = await q.get_initial_equity(self.pool)
        pnl, pnl_pct = pnl_against_initial(reading.total_eq, initial["amount"] if initial else None)
        usdt = None
        if reading.usdt_eq is not None or reading.usdt_available is not None:
            usdt = UsdtBalance(eq=num(reading.usdt_eq), available=num(reading.usdt_available),
                               frozen=num(reading.usdt_frozen), cashBal=num(reading.usdt_cash))
        return Balance(
            totalEq=num(reading.total_eq),
            totalEqCcy="USD",
            usdt=usdt,
            usdtAvailable=num(reading.usdt_available),
            usdtFrozen=num(reading.usdt_frozen),
            upl=num(reading.upl),
            details=reading.details,
            initialEquity=initial_equity_out(initial),
            pnl=num(pnl),
            pnlPct=num(pnl_pct),
            uTime=None if reading.updated_at is None else reading.updated_at.isoformat(),
            ts=self.now().isoformat(),
        )

    async def latest_snapshot(self) -> BalanceSnapshot:
        row = await q.latest_snapshot(self.pool)
        if row is None:
            raise NotFound("no balance snapshot yet (the first is written at start-up once OKX answers)")
        return snapshot_with_pnl(row, await q.get_initial_equity(self.pool))

    # -- risk state ----------------------------------------------------------------------------------
    async def daily_loss(self, equity: Decimal, now: datetime) -> DailyLossState:
        async with self._risk_lock:
            today = utc_day_start(now)
            row = await q.get_risk_day(self.pool)
            if row is None or row["day"] != today.date():
                # The day's baseline: the equity stored last before 00:00 UTC, else the equity now.
                before = await q.snapshot_before(self.pool, today)
                base = before["total_eq"] if before is not None else equity
                row = await q.start_risk_day(self.pool, today.date(), base)
            state = daily_loss_state(row["day_start_equity"], equity, self.limits.daily_loss_limit_pct, row["latched_at"],
                                     row["reset_at"], now)
            if state.newly_latched:
                await q.latch_risk_day(self.pool, now)
                log.warning("daily loss limit reached: loss %s USDT >= %s USDT (%s %% of %s); new exposure refused until %s",
                            plain_decimal(state.loss), plain_decimal(state.max_loss), plain_decimal(state.limit_pct),
                            plain_decimal(state.day_start_equity), state.reopens_at.isoformat())
            return state

    async def risk(self) -> RiskStatus:
        now = self.now()
        reading = await self.read_balance()
        state = await self.daily_loss(reading.total_eq, now)
        exposure = await self._exposure(await self.okx.get_positions(inst_type="SWAP"))
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
                equity=num(reading.total_eq),
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

    async def reset_risk(self) -> RiskStatus:
        now = self.now()
        reading = await self.read_balance()
        async with self._risk_lock:
            await q.reset_risk_day(self.pool, utc_day_start(now).date(), reading.total_eq, now)
        log.warning("daily loss latch reset by hand; new day-start equity %s", plain_decimal(reading.total_eq))
        return await self.risk()

    # -- helpers for the order path ------------------------------------------------------------------
    async def _spec(self, inst_id: str) -> Any:
        spec = await self.instruments.get(inst_id)
        if spec is None:
            raise BadRequest(f"instId: unknown instrument {inst_id!r} at OKX", field="instId")
        return spec

    async def _last_price(self, inst_id: str) -> Decimal:
        held = self.tickers.get(inst_id)
        if held is not None and time.time() - held.received_at <= self.settings.okx_ws_stale_secs and dec(held.last):
            return dec(held.last)
        ticker = await self.okx.get_ticker(inst_id)
        price = dec(ticker.last)
        if price is None or price <= 0:
            raise BadRequest(f"instId: no last price for {inst_id}", field="instId")
        return price

    async def _position_mode(self) -> str:
        cached = self._pos_mode
        if cached and time.monotonic() - cached[0] < ACCOUNT_MODE_TTL_SECS:
            return cached[1]
        mode = (await self.okx.get_account_config()).posMode or "net_mode"
        self._pos_mode = (time.monotonic(), mode)
        return mode

    async def _current_leverage(self, inst_id: str, td_mode: str, positions: list[Any]) -> Decimal:
        for p in positions:
            if p.instId == inst_id and p.mgnMode == td_mode and dec(p.lever):
                return dec(p.lever)
        getter = getattr(self.okx, "get_leverage_info", None)
        if getter is not None:
            rows = await getter(inst_id, td_mode)
        else:  # the client has no wrapper for /account/leverage-info yet
            rows = await self.okx._call("GET", "/api/v5/account/leverage-info", LeverageResult,
                                        params={"instId": inst_id, "mgnMode": td_mode}, private=True)
        levers = [dec(getattr(r, "lever", "")) for r in (rows if isinstance(rows, list) else [rows])]
        levers = [x for x in levers if x]
        return max(levers) if levers else Decimal(1)

    async def _exposure(self, positions: list[Any]) -> dict[str, Decimal]:
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
        # Opening orders still resting count too. Read from the records (kept current by the immediate sync
        # after each of our orders, and by the loop for orders placed elsewhere): no extra OKX call per order.
        for o in await q.list_orders(self.pool, inst_id=None, open_only=True, limit=1000):
            if o["reduce_only"] or o["px"] is None or o["sz"] is None:
                continue
            spec = await self.instruments.get(o["inst_id"])
            if spec is None or not dec(spec.ctVal):
                continue
            left = exact_sum(o["sz"], -(o["acc_fill_sz"] or Decimal(0)))
            if left > 0:
                exposure[o["inst_id"]] = exact_sum(exposure.get(o["inst_id"], Decimal(0)),
                                                   exact_product(left, dec(spec.ctVal), o["px"]))
        return exposure

    async def _duplicate(self, cl_ord_id: str, approval_id: int | None) -> Outcome | None:
        existing = await q.order_by_cl_ord_id(self.pool, cl_ord_id)
        if existing is not None:
            return Outcome(200, OrderPlaced(order=order_out(existing), duplicate=True))
        if approval_id is None:
            approval = await q.approval_by_cl_ord_id(self.pool, cl_ord_id)
            if approval is not None:
                return Outcome(202, ApprovalPending(status=approval["status"], approvalId=approval["id"], clOrdId=cl_ord_id,
                                                    approval=approval_out(approval), duplicate=True))
        return None

    async def _check(self, intent: OrderIntent, equity: Decimal, exposure: dict[str, Decimal], request: dict[str, Any],
                     run_id: str | None) -> RiskDecision:
        now = self.now()
        day = await self.daily_loss(equity, now)
        account = AccountView(equity=equity, open_exposure_by_inst=exposure, day_start_equity=day.day_start_equity,
                              daily_loss_latched=day.latched)
        decision = check_order(intent, account, self.limits, now)
        if not decision.allowed:
            refusal_id = await q.insert_refusal(
                self.pool, origin=intent.origin, run_id=run_id, inst_id=intent.inst_id, rule=decision.rule,
                limit_value=decision.limit, actual_value=decision.actual, message=decision.message, request=request)
            log.warning("risk guard refused %s order %s %s: %s", intent.origin, intent.side, intent.inst_id, decision.message)
            raise RiskRefused(decision.message, rule=decision.rule, limit=decision.limit, actual=decision.actual,
                              refusalId=refusal_id)
        return decision

    async def _await_approval(self, kind: str, inst_id: str, cl_ord_id: str, run_id: str | None,
                              request: dict[str, Any]) -> Outcome:
        row, created = await q.insert_approval(self.pool, kind=kind, run_id=run_id, inst_id=inst_id, cl_ord_id=cl_ord_id,
                                               request=request)
        if created:
            log.info("agent %s for %s awaits approval %s (TRADE_APPROVAL_MODE=manual)", kind, inst_id, row["id"])
            self.events.publish("approval", approval_out(row))
        return Outcome(202, ApprovalPending(status=row["status"], approvalId=row["id"], clOrdId=cl_ord_id,
                                            approval=approval_out(row), duplicate=not created))

    async def _after_send(self, cl_ord_id: str, ord_id: str | None) -> Order:
        await q.mark_order(self.pool, cl_ord_id, state="sent", ord_id=ord_id or None)
        try:
            await self.sync.sync()
        except Exception as exc:  # noqa: BLE001 - the order is placed; the loop syncs it later
            log.warning("immediate sync after order %s failed: %s", cl_ord_id, exc)
        row = await q.order_by_cl_ord_id(self.pool, cl_ord_id)
        return order_out(row)

    async def _send_failed(self, cl_ord_id: str, exc: OkxError) -> None:
        if isinstance(exc, OkxOrderRejected) or not exc.temporary:
            await q.mark_order(self.pool, cl_ord_id, state="rejected" if isinstance(exc, OkxOrderRejected) else "failed",
                               error=str(exc))
        else:
            # Outcome unknown (timeouts after retries): keep it 'submitting'; the sync looks it up by clOrdId.
            await q.mark_order(self.pool, cl_ord_id, state="submitting", error=str(exc))

    # -- the order path ------------------------------------------------------------------------------
    async def place_order(self, body: OrderRequest, *, approval_id: int | None = None) -> Outcome:
        order = validate_order_body(body)
        cl_ord_id = order.cl_ord_id or new_cl_ord_id()
        duplicate = await self._duplicate(cl_ord_id, approval_id)
        if duplicate is not None:
            return duplicate
        spec = await self._spec(order.inst_id)
        ct_val, lot_sz, min_sz = dec(spec.ctVal), dec(spec.lotSz), dec(spec.minSz)
        if not (ct_val and lot_sz and min_sz):
            raise BadRequest(f"instId: OKX gives no contract specs for {order.inst_id}", field="instId")
        price = order.px if order.px is not None else await self._last_price(order.inst_id)
        try:
            sz = (validate_size(order.sz, lot_sz, min_sz) if order.sz is not None
                  else contracts_for_notional(order.notional, price, ct_val, lot_sz, min_sz))
        except SizingError as exc:
            raise BadRequest(exc.message, field=exc.field) from None

        mode = await self._position_mode()
        pos_side = order.pos_side
        if mode == "net_mode":
            if pos_side not in (None, "net"):
                raise BadRequest(f"posSide: the account is in net mode, posSide must be net (got {pos_side})", field="posSide")
            pos_side = "net"
        elif pos_side is None:
            opens_long = order.side == "buy"
            pos_side = ("short" if opens_long else "long") if order.reduce_only else ("long" if opens_long else "short")
        elif pos_side == "net":
            raise BadRequest("posSide: the account is in long/short mode, posSide must be long or short", field="posSide")

        reading = await self.read_balance()
        positions = await self.okx.get_positions(inst_type="SWAP")
        held = Decimal(0)
        for p in positions:
            if p.instId == order.inst_id and (p.posSide or "net") == pos_side and p.mgnMode == order.td_mode and dec(p.pos):
                held = dec(p.pos)
        closing = order.reduce_only or order_reduces_position(order.side, pos_side, sz, held)
        if order.tp is not None or order.sl is not None:
            self._check_stops(order, price, closing)
        leverage = Decimal(order.leverage) if order.leverage is not None else \
            await self._current_leverage(order.inst_id, order.td_mode, positions)
        intent = OrderIntent(inst_id=order.inst_id, side=order.side, pos_side=pos_side, sz=sz, price=price, ct_val=ct_val,
                             leverage=leverage, closing=closing, has_stop_loss=order.sl is not None, origin=order.origin)
        request = {**msgspec.to_builtins(body), "clOrdId": cl_ord_id}
        decision = await self._check(intent, reading.total_eq, await self._exposure(positions), request, order.run_id)
        if decision.needs_approval and approval_id is None:
            return await self._await_approval("order", order.inst_id, cl_ord_id, order.run_id, request)

        row = await q.insert_submitting_order(
            self.pool, cl_ord_id=cl_ord_id, inst_id=order.inst_id, origin=order.origin, run_id=order.run_id, purpose="order",
            side=order.side, pos_side=pos_side, ord_type=order.ord_type, td_mode=order.td_mode, sz=sz, px=order.px,
            reduce_only=order.reduce_only, lever=leverage, tp=order.tp, sl=order.sl, request=request)
        if row is None:  # the same clOrdId was recorded meanwhile by a concurrent retry
            return await self._duplicate(cl_ord_id, approval_id) or Outcome(200, OrderPlaced(duplicate=True, clOrdId=cl_ord_id))
        algo = None
        if order.tp is not None or order.sl is not None:
            algo = {"tpTriggerPx": plain_decimal(order.tp) if order.tp is not None else "",
                    "tpOrdPx": "-1" if order.tp is not None else "",
                    "slTriggerPx": plain_decimal(order.sl) if order.sl is not None else "",
                    "slOrdPx": "-1" if order.sl is not None else "",
                    "tpTriggerPxType": "last", "slTriggerPxType": "last"}
            algo = {k: v for k, v in algo.items() if v != "" and not (k.startswith("tp") and order.tp is None)
                    and not (k.startswith("sl") and order.sl is None)}
        try:
            if order.leverage is not None:
                await self.okx.set_leverage(order.inst_id, order.leverage, order.td_mode,
                                            pos_side if (pos_side != "net" and order.td_mode == "isolated") else None)
            result = await self.okx.place_order(
                inst_id=order.inst_id, td_mode=order.td_mode, side=order.side, ord_type=order.ord_type,
                sz=plain_decimal(sz), px=plain_decimal(order.px) if order.px is not None else None,
                pos_side=None if pos_side == "net" else pos_side, cl_ord_id=cl_ord_id,
                reduce_only=True if order.reduce_only else None, attach_algo_ords=[algo] if algo else None,
            )
        except OkxError as exc:
            await self._send_failed(cl_ord_id, exc)
            raise
        log.info("order placed: %s %s %s %s sz=%s clOrdId=%s ordId=%s origin=%s%s", order.inst_id, order.side, order.ord_type,
                 pos_side, plain_decimal(sz), cl_ord_id, result.ordId, order.origin,
                 f" run={order.run_id}" if order.run_id else "")
        return Outcome(201, OrderPlaced(order=await self._after_send(cl_ord_id, result.ordId), duplicate=False,
                                        risk=risk_out(decision)))

    @staticmethod
    def _check_stops(order: ValidOrder, price: Decimal, closing: bool) -> None:
        if closing:
            raise BadRequest("tpTriggerPx/slTriggerPx attach to an opening order only (this order closes)",
                             field="tpTriggerPx" if order.tp is not None else "slTriggerPx")
        long = order.side == "buy"
        if order.tp is not None and (order.tp <= price if long else order.tp >= price):
            raise BadRequest(f"tpTriggerPx {plain_decimal(order.tp)} must be {'above' if long else 'below'} the order price "
                             f"{plain_decimal(price)} for a {order.side}", field="tpTriggerPx")
        if order.sl is not None and (order.sl >= price if long else order.sl <= price):
            raise BadRequest(f"slTriggerPx {plain_decimal(order.sl)} must be {'below' if long else 'above'} the order price "
                             f"{plain_decimal(price)} for a {order.side}", field="slTriggerPx")

    async def close_position(self, body: ClosePositionRequest, *, approval_id: int | None = None) -> Outcome:
        inst_id = require_inst_id(body.instId)
        wanted = None if body.posSide is None else _choice("posSide", body.posSide, ("net", "long", "short"))
        run_id = _run_id(body.runId)
        cl_ord_id = _cl_ord_id(body.clOrdId) or new_cl_ord_id()
        duplicate = await self._duplicate(cl_ord_id, approval_id)
        if duplicate is not None:
            return duplicate
        positions = [p for p in await self.okx.get_positions(inst_type="SWAP", inst_id=inst_id)
                     if dec(p.pos) and (wanted is None or (p.posSide or "net") == wanted)]
        if not positions:
            raise NotFound(f"no open position in {inst_id}" + (f" ({wanted})" if wanted else ""), field="instId")
        if len(positions) > 1:
            raise BadRequest(f"posSide is required: {inst_id} has {len(positions)} open positions "
                             f"({', '.join(sorted((p.posSide or 'net') + '/' + p.mgnMode for p in positions))})", field="posSide")
        p = positions[0]
        size = dec(p.pos)
        pos_side = p.posSide or "net"
        long = pos_side == "long" or (pos_side == "net" and size > 0)
        spec = await self._spec(inst_id)
        price = dec(p.markPx) or dec(p.last) or dec(p.avgPx) or await self._last_price(inst_id)
        origin = "agent" if run_id else "manual"
        intent = OrderIntent(inst_id=inst_id, side="sell" if long else "buy", pos_side=pos_side, sz=abs(size), price=price,
                             ct_val=dec(spec.ctVal) or Decimal(1), leverage=dec(p.lever) or Decimal(1), closing=True,
                             has_stop_loss=False, origin=origin)
        request = {**msgspec.to_builtins(body), "clOrdId": cl_ord_id}
        reading = await self.read_balance()
        decision = await self._check(intent, reading.total_eq, {}, request, run_id)
        if decision.needs_approval and approval_id is None:
            return await self._await_approval("close", inst_id, cl_ord_id, run_id, request)
        row = await q.insert_submitting_order(
            self.pool, cl_ord_id=cl_ord_id, inst_id=inst_id, origin=origin, run_id=run_id, purpose="close",
            side="sell" if long else "buy", pos_side=pos_side, ord_type="market", td_mode=p.mgnMode, sz=abs(size), px=None,
            reduce_only=True, lever=dec(p.lever), tp=None, sl=None, request=request)
        if row is None:
            return await self._duplicate(cl_ord_id, approval_id) or Outcome(200, OrderPlaced(duplicate=True, clOrdId=cl_ord_id))
        try:
            await self.okx.close_position(inst_id, p.mgnMode, pos_side=pos_side, cl_ord_id=cl_ord_id)
        except OkxError as exc:
            await self._send_failed(cl_ord_id, exc)
            raise
        log.info("position closed: %s %s sz=%s clOrdId=%s origin=%s", inst_id, pos_side, plain_decimal(abs(size)), cl_ord_id, origin)
        return Outcome(201, OrderPlaced(order=await self._after_send(cl_ord_id, None), duplicate=False, risk=risk_out(decision)))

    async def cancel(self, body: CancelRequest) -> CancelResult:
        inst_id = require_inst_id(body.instId)
        if not body.ordId and not body.clOrdId:
            raise BadRequest("ordId or clOrdId is required", field="ordId")
        if body.ordId is not None and not body.ordId.isdigit():
            raise BadRequest("ordId must be digits", field="ordId")
        cl_ord_id = _cl_ord_id(body.clOrdId) if body.clOrdId else None
        run_id = _run_id(body.runId)
        result = await self.okx.cancel_order(inst_id, ord_id=body.ordId or None, cl_ord_id=cl_ord_id)
        # The order records have no column for who canceled (run_id is the run that placed the order): the
        # cancelling run is logged.
        log.info("order canceled: %s ordId=%s clOrdId=%s origin=%s%s", inst_id, result.ordId or body.ordId,
                 result.clOrdId or cl_ord_id, "agent" if run_id else "manual", f" run={run_id}" if run_id else "")
        try:
            await self.sync.sync()
        except Exception as exc:  # noqa: BLE001
            log.warning("sync after cancel failed: %s", exc)
        row = (await q.order_by_ord_id(self.pool, result.ordId or body.ordId or "")) or \
            (await q.order_by_cl_ord_id(self.pool, cl_ord_id) if cl_ord_id else None)
        return CancelResult(canceled=True, ordId=result.ordId or body.ordId, clOrdId=result.clOrdId or cl_ord_id,
                            order=order_out(row) if row else None)

    # -- approvals -----------------------------------------------------------------------------------
    async def decide(self, approval_id: int, approve: bool) -> Outcome:
        claimed = await q.claim_approval(self.pool, approval_id, "approving" if approve else "rejected")
        if claimed is None:
            row = await q.get_approval(self.pool, approval_id)
            if row is None:
                raise NotFound(f"no approval {approval_id}", field="id")
            raise Conflict(f"approval {approval_id} is already {row['status']}", field="id", approvalStatus=row["status"])
        if not approve:
            log.info("approval %s rejected", approval_id)
            return Outcome(200, ApprovalDecision(approval=approval_out(claimed)))
        request = msgspec.json.encode(claimed["request"])
        try:
            if claimed["kind"] == "close":
                outcome = await self.close_position(decode_body(request, ClosePositionRequest), approval_id=approval_id)
            else:
                outcome = await self.place_order(decode_body(request, OrderRequest), approval_id=approval_id)
        except RiskRefused as exc:
            await q.finish_approval(self.pool, approval_id, "refused", exc.detail)
            raise
        except Exception as exc:
            await q.finish_approval(self.pool, approval_id, "failed", getattr(exc, "detail", None) or str(exc))
            raise
        row = await q.finish_approval(self.pool, approval_id, "approved", None)
        log.info("approval %s approved and placed", approval_id)
        placed = outcome.body
        if not isinstance(placed, OrderPlaced):  # with an approval id the path never asks for approval again
            raise RuntimeError(f"approval {approval_id}: the order path answered {type(placed).__name__}")
        return Outcome(outcome.status_code, ApprovalDecision(order=placed.order, duplicate=placed.duplicate, risk=placed.risk,
                                                             clOrdId=placed.clOrdId, approval=approval_out(row)))


def snapshot_with_pnl(row: dict[str, Any], initial: dict[str, Any] | None) -> BalanceSnapshot:
    """A stored snapshot with its PnL against the initial equity (`initial`: the initial_equities row or None)."""
    pnl, pct = pnl_against_initial(row["total_eq"], initial["amount"] if initial else None)
    return snapshot_out(row, num(pnl), num(pct))


@contextlib.asynccontextmanager
async def account_service(state: Any) -> AsyncIterator[AccountService]:
    """Lifespan part: builds the service on `state.account`, writes the start-up initial equity, runs the loops."""
    settings = state.settings
    config = AccountConfig(sync_interval_secs=settings.account_sync_interval_secs, limits=settings.risk)
    service = AccountService(pool=state.pool, okx=state.okx, instruments=state.instruments, tickers=state.tickers,
                             events=state.events, settings=settings, config=config)
    state.account = service
    await service.start()
    try:
        yield service
    finally:
        await service.stop()
