"""The account service: balances, initial equity, and the ONE order path every order takes.

Order path (manual orders, agent orders with `runId`, close-position, approvals):
validate (400 naming the field) -> same clOrdId already recorded? answer that order (a retried
request never makes two orders) -> instrument spec, price, size in contracts -> risk guard
(`api_server.trading.risk.check_order` via `guard.py`; a refusal is recorded and answered 422 with the rule and numbers)
-> approval mode (agent orders wait as pending approvals, answered 202) -> record the order with
its clOrdId BEFORE sending -> set leverage when asked -> OKX (the client reuses the clOrdId on
retries) -> immediate sync -> the recorded order.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal
from typing import Any

import msgspec
from psycopg_pool import AsyncConnectionPool

from api_server.account import queries as q
from api_server.account.balances import BalanceService
from api_server.account.schemas import Order, order_out
from api_server.account.sync import AccountSync, dec
from api_server.errors import BadRequest, NotFound, ServiceUnavailable
from api_server.events import EventHub
from api_server.fields import choice, require_inst_id
from api_server.fields import cl_ord_id as valid_cl_ord_id
from api_server.fields import run_id as valid_run_id
from api_server.market.instruments import InstrumentCatalog
from api_server.market.schemas import Instrument
from api_server.okx.errors import OkxError, OkxOrderRejected, OrderOutcomeUnknown
from api_server.okx.rest import OkxRestClient, new_cl_ord_id
from api_server.okx.tpsl import cancel_position_stops
from api_server.tickers import TickerBook
from api_server.trading.approvals import earlier_answer, hold_for_approval
from api_server.trading.exchange_rules import checked_size, instrument_rules, on_the_tick, unknown_outcome
from api_server.trading.guard import RiskGuard
from api_server.trading.origins import MANUAL, origin_kind, run_id_of
from api_server.trading.risk import OrderIntent, RiskDecision, order_reduces_position
from api_server.trading.schemas import (
    CancelRequest,
    CancelResult,
    ClosePositionRequest,
    OrderPlaced,
    OrderRequest,
    Outcome,
)
from api_server.trading.schemas import RiskDecision as RiskDecisionOut
from api_server.trading.sizing import SizingError, contracts_for_notional, plain_decimal, validate_size
from api_server.trading.validation import ValidOrder, check_stops, validate_order_body
from shared.instrument_rules import closing_orders_pending

log = logging.getLogger("aitrader.api.account")

ACCOUNT_MODE_TTL_SECS = 60.0


def attached_stops(tp: Decimal | None, sl: Decimal | None) -> list[dict[str, str]] | None:
    """The TP/SL legs attached to an opening order (triggered on the last price, filled at market)."""
    if tp is None and sl is None:
        return None
    algo: dict[str, str] = {}
    if tp is not None:
        algo.update(tpTriggerPx=plain_decimal(tp), tpOrdPx="-1", tpTriggerPxType="last")
    if sl is not None:
        algo.update(slTriggerPx=plain_decimal(sl), slOrdPx="-1", slTriggerPxType="last")
    return [algo]


def risk_out(decision: RiskDecision) -> RiskDecisionOut:
    return RiskDecisionOut(
        allowed=decision.allowed,
        rule=decision.rule,
        message=decision.message,
        limit=decision.limit,
        actual=decision.actual,
        needsApproval=decision.needs_approval,
    )


class OrderPath:
    """Places, closes and cancels orders; the only code that sends orders to OKX."""

    def __init__(
        self,
        *,
        pool: AsyncConnectionPool,
        okx: OkxRestClient,
        instruments: InstrumentCatalog,
        tickers: TickerBook,
        events: EventHub,
        balances: BalanceService,
        guard: RiskGuard,
        sync: AccountSync,
        stale_after_secs: float,
    ) -> None:
        self.pool = pool
        self.okx = okx
        self.instruments = instruments
        self.tickers = tickers
        self.events = events
        self.balances = balances
        self.guard = guard
        self.sync = sync
        self.stale_after_secs = stale_after_secs
        self._pos_mode: tuple[float, str] | None = None

    # -- place ----------------------------------------------------------------------------------------
    async def place_order(self, body: OrderRequest, origin: str = MANUAL, *, approval_id: int | None = None) -> Outcome:
        order = validate_order_body(body)
        run_id = run_id_of(origin, order.run_id)
        cl_ord_id = order.cl_ord_id or new_cl_ord_id()
        duplicate = await earlier_answer(self.pool, cl_ord_id, approval_id)
        if duplicate is not None:
            return duplicate
        spec = await self._spec(order.inst_id)
        ct_val, lot_sz, min_sz = dec(spec.ctVal), dec(spec.lotSz), dec(spec.minSz)
        if not (ct_val and lot_sz and min_sz):
            raise BadRequest(f"instId: OKX gives no contract specs for {order.inst_id}", field="instId")
        rules = await instrument_rules(self.instruments, order.inst_id)
        order = on_the_tick(order, rules)
        price = order.px if order.px is not None else await self._last_price(order.inst_id)
        try:
            sz = (
                validate_size(order.sz, lot_sz, min_sz)
                if order.sz is not None
                else contracts_for_notional(order.notional, price, ct_val, lot_sz, min_sz)
            )
        except SizingError as exc:
            raise BadRequest(exc.message, field=exc.field) from None
        pos_side = self._pos_side(order, await self._position_mode())
        request = {**msgspec.to_builtins(body), "clOrdId": cl_ord_id}
        # Check and reserve as one step: the exposure read, the decision and the order's record (its reservation)
        # happen under the account-wide order lock, held until OKX has answered, so concurrent orders from any
        # API process are checked one after the other against everything already placed.
        async with self.guard.exclusive():
            reading = await self.balances.read_balance()
            positions = await self.okx.get_positions(inst_type="SWAP")
            held = Decimal(0)
            for p in positions:
                if (
                    p.instId == order.inst_id
                    and (p.posSide or "net") == pos_side
                    and p.mgnMode == order.td_mode
                    and dec(p.pos)
                ):
                    held = dec(p.pos)
            sz = checked_size(sz, order, rules, positions, pos_side)
            # A pure reduction: an order that can only shrink a held position (reduce-only: OKX caps its size at
            # the position). Everything else, a reduce-only order with nothing to reduce too, passes every
            # opening rule (allow-list, leverage, size, exposure).
            reduce_only_reduces = (
                order.reduce_only
                and held != 0
                and order_reduces_position(order.side, pos_side, min(sz, abs(held)), held)
            )
            closing = reduce_only_reduces or order_reduces_position(order.side, pos_side, sz, held)
            if order.tp is not None or order.sl is not None:
                check_stops(order, price, closing)
            current = await self._current_leverage(order.inst_id, order.td_mode, positions)
            # A closing order never changes the leverage: the position keeps its own (a reduce-only order with
            # `leverage` would otherwise set any leverage on the position, past RISK_MAX_LEVERAGE).
            new_leverage = order.leverage if order.leverage is not None and not closing else None
            leverage = Decimal(new_leverage) if new_leverage is not None else current
            if order.leverage is not None and closing:
                log.info(
                    "leverage %s of closing order %s ignored: a closing order keeps the position's leverage %s",
                    order.leverage,
                    cl_ord_id,
                    plain_decimal(current),
                )
            intent = OrderIntent(
                inst_id=order.inst_id,
                side=order.side,
                pos_side=pos_side,
                sz=sz,
                price=price,
                ct_val=ct_val,
                leverage=leverage,
                closing=closing,
                has_stop_loss=order.sl is not None,
                origin=origin_kind(origin),
            )
            decision = await self.guard.check(
                intent, reading.trading_eq, await self.guard.exposure(positions), request, run_id, origin
            )
            if decision.needs_approval and approval_id is None:
                return await hold_for_approval(
                    self.pool,
                    self.events,
                    kind="order",
                    origin=origin,
                    inst_id=order.inst_id,
                    cl_ord_id=cl_ord_id,
                    run_id=run_id,
                    request=request,
                )
            row = await q.insert_submitting_order(
                self.pool,
                cl_ord_id=cl_ord_id,
                inst_id=order.inst_id,
                origin=origin,
                run_id=run_id,
                purpose="order",
                side=order.side,
                pos_side=pos_side,
                ord_type=order.ord_type,
                td_mode=order.td_mode,
                sz=sz,
                px=order.px,
                reduce_only=order.reduce_only,
                lever=leverage,
                tp=order.tp,
                sl=order.sl,
                request=request,
                reserved_notional=None if closing else intent.notional,
            )
            if row is None:  # the same clOrdId was recorded meanwhile by a concurrent retry
                return await earlier_answer(self.pool, cl_ord_id, approval_id) or Outcome(
                    200, OrderPlaced(duplicate=True, clOrdId=cl_ord_id)
                )
            try:
                if new_leverage is not None:
                    await self.okx.set_leverage(
                        order.inst_id,
                        new_leverage,
                        order.td_mode,
                        pos_side if (pos_side != "net" and order.td_mode == "isolated") else None,
                    )
                result = await self.okx.place_order(
                    inst_id=order.inst_id,
                    td_mode=order.td_mode,
                    side=order.side,
                    ord_type=order.ord_type,
                    sz=plain_decimal(sz),
                    px=plain_decimal(order.px) if order.px is not None else None,
                    pos_side=None if pos_side == "net" else pos_side,
                    cl_ord_id=cl_ord_id,
                    reduce_only=True if order.reduce_only else None,
                    attach_algo_ords=attached_stops(order.tp, order.sl),
                )
            except OrderOutcomeUnknown as exc:
                return await self._outcome_unknown(cl_ord_id, exc)
            except OkxError as exc:
                await self._send_failed(cl_ord_id, exc)
                raise
            log.info(
                "order placed: %s %s %s %s sz=%s clOrdId=%s ordId=%s origin=%s%s",
                order.inst_id,
                order.side,
                order.ord_type,
                pos_side,
                plain_decimal(sz),
                cl_ord_id,
                result.ordId,
                origin,
                f" run={run_id}" if run_id else "",
            )
            placed = await self._after_send(cl_ord_id, result.ordId)
        if closing and held and order.ord_type == "market" and sz >= abs(held):
            # a market order that closed the whole position: its TP/SL algo orders at OKX are orphans now
            await self._cancel_orphan_stops(
                order.inst_id, pos_side, held > 0 if pos_side == "net" else pos_side == "long"
            )
        return Outcome(201, OrderPlaced(order=placed, duplicate=False, risk=risk_out(decision)))

    @staticmethod
    def _pos_side(order: ValidOrder, mode: str) -> str:
        pos_side = order.pos_side
        if mode == "net_mode":
            if pos_side not in (None, "net"):
                raise BadRequest(
                    f"posSide: the account is in net mode, posSide must be net (got {pos_side})", field="posSide"
                )
            return "net"
        if pos_side is None:
            opens_long = order.side == "buy"
            return ("short" if opens_long else "long") if order.reduce_only else ("long" if opens_long else "short")
        if pos_side == "net":
            raise BadRequest(
                "posSide: the account is in long/short mode, posSide must be long or short", field="posSide"
            )
        return pos_side

    # -- close and cancel -----------------------------------------------------------------------------
    async def close_position(
        self, body: ClosePositionRequest, origin: str = MANUAL, *, approval_id: int | None = None
    ) -> Outcome:
        inst_id = require_inst_id(body.instId)
        wanted = None if body.posSide is None else choice("posSide", body.posSide, ("net", "long", "short"))
        run_id = run_id_of(origin, valid_run_id(body.runId))
        cl_ord_id = valid_cl_ord_id(body.clOrdId) or new_cl_ord_id()
        duplicate = await earlier_answer(self.pool, cl_ord_id, approval_id)
        if duplicate is not None:
            return duplicate
        positions = [
            p
            for p in await self.okx.get_positions(inst_type="SWAP", inst_id=inst_id)
            if dec(p.pos) and (wanted is None or (p.posSide or "net") == wanted)
        ]
        if not positions:
            raise NotFound(f"no open position in {inst_id}" + (f" ({wanted})" if wanted else ""), field="instId")
        if len(positions) > 1:
            raise BadRequest(
                f"posSide is required: {inst_id} has {len(positions)} open positions "
                f"({', '.join(sorted((p.posSide or 'net') + '/' + p.mgnMode for p in positions))})",
                field="posSide",
            )
        p = positions[0]
        size = dec(p.pos)
        pos_side = p.posSide or "net"
        long = pos_side == "long" or (pos_side == "net" and size > 0)
        spec = await self._spec(inst_id)
        price = dec(p.markPx) or dec(p.last) or dec(p.avgPx) or await self._last_price(inst_id)
        intent = OrderIntent(
            inst_id=inst_id,
            side="sell" if long else "buy",
            pos_side=pos_side,
            sz=abs(size),
            price=price,
            ct_val=dec(spec.ctVal) or Decimal(1),
            leverage=dec(p.lever) or Decimal(1),
            closing=True,
            has_stop_loss=False,
            origin=origin_kind(origin),
        )
        request = {**msgspec.to_builtins(body), "clOrdId": cl_ord_id}
        reading = await self.balances.read_balance()
        decision = await self.guard.check(intent, reading.trading_eq, {}, request, run_id, origin)
        if decision.needs_approval and approval_id is None:
            return await hold_for_approval(
                self.pool,
                self.events,
                kind="close",
                origin=origin,
                inst_id=inst_id,
                cl_ord_id=cl_ord_id,
                run_id=run_id,
                request=request,
            )
        row = await q.insert_submitting_order(
            self.pool,
            cl_ord_id=cl_ord_id,
            inst_id=inst_id,
            origin=origin,
            run_id=run_id,
            purpose="close",
            side="sell" if long else "buy",
            pos_side=pos_side,
            ord_type="market",
            td_mode=p.mgnMode,
            sz=abs(size),
            px=None,
            reduce_only=True,
            lever=dec(p.lever),
            tp=None,
            sl=None,
            request=request,
        )
        if row is None:
            return await earlier_answer(self.pool, cl_ord_id, approval_id) or Outcome(
                200, OrderPlaced(duplicate=True, clOrdId=cl_ord_id)
            )
        # OKX refuses to close while closing orders are pending unless told to cancel them (autoCxl).
        auto_cxl = closing_orders_pending(await self.okx.get_orders_pending(inst_id=inst_id), inst_id, pos_side, long)
        try:
            await self.okx.close_position(
                inst_id, p.mgnMode, pos_side=pos_side, cl_ord_id=cl_ord_id, auto_cxl=True if auto_cxl else None
            )
        except OrderOutcomeUnknown as exc:
            return await self._outcome_unknown(cl_ord_id, exc)
        except OkxError as exc:
            await self._send_failed(cl_ord_id, exc)
            raise
        log.info(
            "position closed: %s %s sz=%s clOrdId=%s origin=%s",
            inst_id,
            pos_side,
            plain_decimal(abs(size)),
            cl_ord_id,
            origin,
        )
        await self._cancel_orphan_stops(inst_id, pos_side, long)
        return Outcome(
            201, OrderPlaced(order=await self._after_send(cl_ord_id, None), duplicate=False, risk=risk_out(decision))
        )

    async def cancel(self, body: CancelRequest, origin: str = MANUAL) -> CancelResult:
        inst_id = require_inst_id(body.instId)
        if not body.ordId and not body.clOrdId:
            raise BadRequest("ordId or clOrdId is required", field="ordId")
        if body.ordId is not None and not body.ordId.isdigit():
            raise BadRequest("ordId must be digits", field="ordId")
        cl_ord_id = valid_cl_ord_id(body.clOrdId) if body.clOrdId else None
        run_id = valid_run_id(body.runId)
        try:
            result = await self.okx.cancel_order(inst_id, ord_id=body.ordId or None, cl_ord_id=cl_ord_id)
        except OrderOutcomeUnknown as exc:
            raise ServiceUnavailable(
                f"the cancel was sent but its outcome is not known yet ({exc.last_error}); "
                "check the order's state before cancelling again",
                field=None,
                clOrdId=cl_ord_id,
                ordId=body.ordId,
                state="unknown",
            ) from None
        # The order records have no column for who canceled (run_id is the run that placed the order): the
        # cancelling run is logged.
        log.info(
            "order canceled: %s ordId=%s clOrdId=%s origin=%s%s",
            inst_id,
            result.ordId or body.ordId,
            result.clOrdId or cl_ord_id,
            origin,
            f" run={run_id}" if run_id else "",
        )
        try:
            await self.sync.sync()
        except Exception as exc:  # noqa: BLE001
            log.warning("sync after cancel failed: %s", exc)
        row = (await q.order_by_ord_id(self.pool, result.ordId or body.ordId or "")) or (
            await q.order_by_cl_ord_id(self.pool, cl_ord_id) if cl_ord_id else None
        )
        return CancelResult(
            canceled=True,
            ordId=result.ordId or body.ordId,
            clOrdId=result.clOrdId or cl_ord_id,
            order=order_out(row) if row else None,
        )

    # -- helpers ----------------------------------------------------------------------------------------
    async def _spec(self, inst_id: str) -> Instrument:
        spec = await self.instruments.get(inst_id)
        if spec is None:
            raise BadRequest(f"instId: unknown instrument {inst_id!r} at OKX", field="instId")
        return spec

    async def _last_price(self, inst_id: str) -> Decimal:
        held = self.tickers.get(inst_id)
        if held is not None and time.time() - held.received_at <= self.stale_after_secs and dec(held.last):
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
        rows = await self.okx.get_leverage_info(inst_id, td_mode)
        levers = [dec(r.lever) for r in rows]
        levers = [x for x in levers if x]
        return max(levers) if levers else Decimal(1)

    async def _after_send(self, cl_ord_id: str, ord_id: str | None) -> Order:
        await q.mark_order(self.pool, cl_ord_id, state="sent", ord_id=ord_id or None)
        try:
            await self.sync.sync()
        except Exception as exc:  # noqa: BLE001 - the order is placed; the loop syncs it later
            log.warning("immediate sync after order %s failed: %s", cl_ord_id, exc)
        row = await q.order_by_cl_ord_id(self.pool, cl_ord_id)
        return order_out(row)

    async def _outcome_unknown(self, cl_ord_id: str, exc: OrderOutcomeUnknown) -> Outcome:
        # Left 'submitting' (its reservation still counts): the account sync looks it up by clOrdId until OKX
        # answers (found, or 51603).
        await q.mark_order(self.pool, cl_ord_id, state="submitting", error=f"outcome unknown: {exc.last_error}")
        log.error("order %s: outcome unknown after the reply was lost; answered 202, the sync settles it", cl_ord_id)
        return Outcome(202, unknown_outcome(exc))

    async def _cancel_orphan_stops(self, inst_id: str, pos_side: str, long: bool) -> None:
        """The position is closed by us: its TP/SL algo orders at OKX would be orphans (best effort, logged)."""
        try:
            await cancel_position_stops(self.okx, inst_id, pos_side, long)
        except OkxError as exc:
            log.warning("could not cancel the TP/SL algo orders of closed %s %s: %s", inst_id, pos_side, exc)

    async def _send_failed(self, cl_ord_id: str, exc: OkxError) -> None:
        if isinstance(exc, OkxOrderRejected) or not exc.temporary:
            await q.mark_order(
                self.pool,
                cl_ord_id,
                state="rejected" if isinstance(exc, OkxOrderRejected) else "failed",
                error=str(exc),
            )
        else:
            # Outcome unknown (timeouts after retries): keep it 'submitting'; the sync looks it up by clOrdId.
            await q.mark_order(self.pool, cl_ord_id, state="submitting", error=str(exc))
