"""Trading and algo-order methods of the OKX client, and the rule for writes whose reply was lost.

OKX keeps a `clOrdId` unique only among *live* orders (OKX_FACTS §3.7): a market order that filled and whose
reply was lost would, if resent, become a second order. So a POST that changes money is sent once, and when
its outcome is unknown (timeout, connection reset, 5xx, 50001/50004/50013/50026 — `errors.outcome_unknown`):

1. it is looked up by its client id (GET /trade/order, then orders-pending and orders-history; algo orders:
   GET /trade/order-algo, then orders-algo-pending: `api_server.okx.algo`), with the one backoff rule between look-ups;
2. found → that is the outcome (`recovered=True`), nothing is resent;
3. confirmed absent ("51603 Order does not exist" and in no list) only counts once the send window has
   passed: the time in which OKX could still execute the lost request. Place and amend carry OKX's
   `expTime` header set to the end of that window, so OKX itself discards a late arrival; the other writes
   use the same window measured on OKX's clock. Then, and only then, the same request (same client id) is
   sent again, at most `max_retries` times;
4. still unsettled after `lookup_attempts` look-ups → `OrderOutcomeUnknown(clOrdId)`: the caller records the
   order as unknown and the account sync resolves it later. Nothing is ever placed twice.
A refusal that is an answer (per-order sCode, 51000, 429) is raised as it is: OKX did not execute it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from api_server.okx.errors import (
    CANCEL_FAILED_GONE,
    ORDER_DOES_NOT_EXIST,
    OkxError,
    OkxOrderRejected,
    OkxUnavailable,
    OrderOutcomeUnknown,
    order_rejected,
    outcome_unknown,
)
from api_server.okx.models import (
    AmendOrderResult,
    CancelOrderResult,
    ClosePositionResult,
    Fill,
    Order,
    PlaceOrderResult,
)
from shared.ids import CL_ORD_ID_RE as SHARED_CL_ORD_ID_RE

log = logging.getLogger("api_server.okx.rest")

CL_ORD_ID_RE = SHARED_CL_ORD_ID_RE  # shared.ids: the one clOrdId rule
ABSENT = object()  # a look-up's answer: OKX confirms it has no such order
CANCELED_STATES = ("canceled", "mmp_canceled")
OPEN_STATES = ("live", "partially_filled")
# Margin on top of the send window for the difference between our estimate of OKX's clock and OKX's clock.
WINDOW_MARGIN_MS = 1000


def new_cl_ord_id() -> str:
    """32 lowercase hex characters: within OKX's ≤32 alphanumerics rule."""
    return uuid.uuid4().hex


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _check_id(value: str, name: str = "clOrdId") -> str:
    if not CL_ORD_ID_RE.match(value):
        raise ValueError(f"{name} must be 1 to 32 letters or digits")
    return value


def _not_found(exc: OkxError) -> bool:
    return ORDER_DOES_NOT_EXIST in (exc.code, exc.s_code)


def _item_or_raise(items: list[Any], path: str, ident: str, what: str) -> Any:
    if not items:
        raise OkxError("empty data in reply", path=path)
    item = items[0]
    if getattr(item, "sCode", "") not in ("", "0"):
        raise order_rejected(
            code="",
            msg=f"{what} rejected",
            s_code=item.sCode,
            s_msg=item.sMsg,
            cl_ord_id=ident,
            http_status=200,
            path=path,
        )
    return item


class TradingMethods:
    """Mixed into `OkxRestClient` (which provides `_call`, `clock`, `backoff`, `_sleep` and the counters)."""

    _call: Callable[..., Awaitable[list[Any]]]

    # -- the write rule --------------------------------------------------------------------------------
    async def _write(
        self, path: str, ident: str, send: Callable[[], Awaitable[Any]], lookup: Callable[[], Awaitable[Any]]
    ) -> Any:
        """`send()` once; on an unknown outcome reconcile with `lookup()` (result, ABSENT, or raises)."""
        sends = 0
        while True:
            sends += 1
            try:
                return await send()
            except OkxError as exc:
                if not outcome_unknown(exc):
                    raise
                error = str(exc)
            # Measured from the failure, which comes after the request left (the rate limiter may have held it):
            # never earlier than the expTime OKX was given.
            window_ends_ms = self.clock.server_ms() + int(self.send_window_secs * 1000) + self.window_margin_ms
            log.warning("OKX %s for %s: outcome unknown (%s); looking it up, not resending", path, ident, error)
            found = await self._reconcile(path, ident, lookup, window_ends_ms, error)
            if found is not ABSENT:
                self.stats["recovered_orders"] += 1
                log.warning("OKX %s for %s: found at OKX after the lost reply; not resent", path, ident)
                return found
            if sends > self.max_retries:
                raise OkxUnavailable(
                    f"not executed: {sends} sends got no reply and OKX confirms it has no {ident}",
                    path=path,
                    temporary=False,
                    cl_ord_id=ident,
                )
            self.stats["resends"] += 1
            log.warning(
                "OKX %s for %s: OKX confirms it never arrived (send window over); sending it again", path, ident
            )

    async def _reconcile(
        self, path: str, ident: str, lookup: Callable[[], Awaitable[Any]], window_ends_ms: int, error: str
    ) -> Any:
        for attempt in range(self.lookup_attempts):
            self.stats["lookups"] += 1
            try:
                found = await lookup()
            except OkxOrderRejected:
                raise  # the look-up settled it as a refusal (e.g. a cancel of a filled order)
            except OkxError as exc:
                found, error = None, f"look-up failed: {exc}"
            if found is ABSENT:
                left_ms = window_ends_ms - self.clock.server_ms()
                if left_ms <= 0:
                    return ABSENT
                error = f"not at OKX yet, but the send window is open for {left_ms} ms more"
                await self._sleep(min(max(left_ms / 1000, self.backoff.delay(attempt)), self.backoff.cap))
                continue
            if found is not None:
                return found
            await self._sleep(self.backoff.delay(attempt))
        self.stats["unknown_outcomes"] += 1
        log.error(
            "OKX %s for %s: outcome still unknown after %d look-ups (%s); left to the account sync",
            path,
            ident,
            self.lookup_attempts,
            error,
        )
        raise OrderOutcomeUnknown(ident, path=path, lookups=self.lookup_attempts, last_error=error)

    async def find_order(self, inst_id: str, cl_ord_id: str) -> Order | object:
        """The order with this clOrdId (the latest, if reused), or ABSENT when OKX confirms it has none."""
        try:
            return await self.get_order(inst_id, cl_ord_id=cl_ord_id)
        except OkxError as exc:
            if not _not_found(exc):
                raise
        for page in (
            await self.get_orders_pending(None, inst_id=inst_id),
            await self.get_orders_history("SWAP", inst_id=inst_id),
        ):
            for order in page:
                if order.clOrdId == cl_ord_id:
                    return order
        return ABSENT

    # -- orders ----------------------------------------------------------------------------------------
    async def place_order(
        self,
        *,
        inst_id: str,
        td_mode: str,
        side: str,
        ord_type: str,
        sz: str,
        px: str | None = None,
        pos_side: str | None = None,
        cl_ord_id: str | None = None,
        reduce_only: bool | None = None,
        tag: str | None = None,
        attach_algo_ords: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> PlaceOrderResult:
        """POST /api/v5/trade/order. `extra` snake_case or OKX names (e.g. `tgt_ccy`, `stpMode`) are sent as
        OKX camelCase. `attach_algo_ords` items use OKX field names (`tpTriggerPx`, `tpOrdPx`, `slTriggerPx`, ...).
        Raises `OkxOrderRejected` when OKX refuses it, `OrderOutcomeUnknown` when its fate cannot be learned."""
        cl_ord_id = new_cl_ord_id() if cl_ord_id is None else _check_id(cl_ord_id)
        body: dict[str, Any] = {"instId": inst_id, "tdMode": td_mode, "side": side, "ordType": ord_type, "sz": str(sz)}
        if px is not None and px != "":
            body["px"] = str(px)
        if pos_side:
            body["posSide"] = pos_side
        body["clOrdId"] = cl_ord_id
        if tag:
            body["tag"] = tag
        if reduce_only is not None:
            body["reduceOnly"] = bool(reduce_only)
        if attach_algo_ords:
            body["attachAlgoOrds"] = attach_algo_ords
        for key, value in extra.items():
            if value is not None:
                body[_camel(key)] = value
        path = "/api/v5/trade/order"

        async def send() -> PlaceOrderResult:
            items = await self._call(
                "POST",
                path,
                PlaceOrderResult,
                body=body,
                private=True,
                write=True,
                exp_window_ms=int(self.send_window_secs * 1000),
            )
            return _item_or_raise(items, path, cl_ord_id, "order")

        async def lookup() -> Any:
            order = await self.find_order(inst_id, cl_ord_id)
            if order is ABSENT:
                return ABSENT
            return PlaceOrderResult(
                ordId=order.ordId,
                clOrdId=cl_ord_id,
                tag=order.tag,
                ts=order.cTime,
                sCode="0",
                sMsg="Order placed (found by clOrdId after a lost reply)",
                recovered=True,
            )

        result = await self._write(path, cl_ord_id, send, lookup)
        if not result.clOrdId:
            result.clOrdId = cl_ord_id
        return result

    async def cancel_order(
        self, inst_id: str, ord_id: str | None = None, cl_ord_id: str | None = None
    ) -> CancelOrderResult:
        """`sCode "0"` means OKX accepted the cancel request; check the order state for the outcome."""
        if not ord_id and not cl_ord_id:
            raise ValueError("cancel_order needs ordId or clOrdId")
        body: dict[str, Any] = {"instId": inst_id}
        if ord_id:
            body["ordId"] = ord_id
        if cl_ord_id:
            body["clOrdId"] = cl_ord_id
        path = "/api/v5/trade/cancel-order"
        ident = cl_ord_id or ord_id or ""

        async def send() -> CancelOrderResult:
            items = await self._call("POST", path, CancelOrderResult, body=body, private=True, write=True)
            return _item_or_raise(items, path, ident, "cancel")

        async def lookup() -> Any:
            try:
                order = await self.get_order(inst_id, ord_id=ord_id, cl_ord_id=cl_ord_id)
            except OkxError as exc:
                if not _not_found(exc):
                    raise
                order = None
            if order is not None and order.state in CANCELED_STATES:
                return CancelOrderResult(
                    ordId=order.ordId,
                    clOrdId=order.clOrdId,
                    ts=order.uTime,
                    sCode="0",
                    sMsg="Order canceled (found after a lost reply)",
                    recovered=True,
                )
            if order is None or order.state not in OPEN_STATES:
                raise order_rejected(
                    code="1",
                    msg="cancel rejected",
                    s_code=CANCEL_FAILED_GONE,
                    s_msg=f"the order is {order.state if order else 'not at OKX'}; nothing to cancel",
                    cl_ord_id=ident,
                    http_status=200,
                    path=path,
                )
            return ABSENT  # still open: the cancel did not land

        return await self._write(path, ident, send, lookup)

    async def amend_order(
        self,
        inst_id: str,
        *,
        ord_id: str | None = None,
        cl_ord_id: str | None = None,
        new_sz: str | None = None,
        new_px: str | None = None,
        req_id: str | None = None,
    ) -> AmendOrderResult:
        if not ord_id and not cl_ord_id:
            raise ValueError("amend_order needs ordId or clOrdId")
        body: dict[str, Any] = {
            "instId": inst_id,
            "ordId": ord_id,
            "clOrdId": cl_ord_id,
            "newSz": new_sz,
            "newPx": new_px,
            "reqId": _check_id(req_id or new_cl_ord_id(), "reqId"),
        }
        body = {k: v for k, v in body.items() if v}
        path = "/api/v5/trade/amend-order"
        ident = cl_ord_id or ord_id or ""

        async def send() -> AmendOrderResult:
            items = await self._call(
                "POST",
                path,
                AmendOrderResult,
                body=body,
                private=True,
                write=True,
                exp_window_ms=int(self.send_window_secs * 1000),
            )
            return _item_or_raise(items, path, ident, "amend")

        async def lookup() -> Any:
            order = await self.get_order(inst_id, ord_id=ord_id, cl_ord_id=cl_ord_id)
            if (new_px is None or _same(order.px, new_px)) and (new_sz is None or _same(order.sz, new_sz)):
                return AmendOrderResult(
                    ordId=order.ordId,
                    clOrdId=order.clOrdId,
                    reqId=body["reqId"],
                    sCode="0",
                    sMsg="amended (found after a lost reply)",
                    recovered=True,
                )
            if order.state not in OPEN_STATES:
                raise order_rejected(
                    code="1",
                    msg="amend rejected",
                    s_code="51503",
                    s_msg=f"the order is {order.state}",
                    cl_ord_id=ident,
                    http_status=200,
                    path=path,
                )
            return ABSENT

        return await self._write(path, ident, send, lookup)

    async def close_position(
        self,
        inst_id: str,
        mgn_mode: str,
        pos_side: str | None = None,
        cl_ord_id: str | None = None,
        auto_cxl: bool | None = None,
    ) -> ClosePositionResult:
        """POST /api/v5/trade/close-position (market-closes the whole position). Always carries a clOrdId, so a
        lost reply is settled by finding the closing order. `auto_cxl=True` lets OKX cancel pending closing
        orders that would otherwise block the close."""
        cl_ord_id = new_cl_ord_id() if cl_ord_id is None else _check_id(cl_ord_id)
        body: dict[str, Any] = {"instId": inst_id, "mgnMode": mgn_mode}
        if pos_side:
            body["posSide"] = pos_side
        body["clOrdId"] = cl_ord_id
        if auto_cxl is not None:
            body["autoCxl"] = bool(auto_cxl)
        path = "/api/v5/trade/close-position"

        async def send() -> ClosePositionResult:
            items = await self._call("POST", path, ClosePositionResult, body=body, private=True, write=True)
            result = _item_or_raise(items, path, cl_ord_id, "close-position")
            result.clOrdId = result.clOrdId or cl_ord_id
            return result

        async def lookup() -> Any:
            order = await self.find_order(inst_id, cl_ord_id)
            if order is ABSENT:
                return ABSENT
            return ClosePositionResult(
                instId=inst_id,
                posSide=order.posSide or (pos_side or ""),
                clOrdId=cl_ord_id,
                tag=order.tag,
                recovered=True,
            )

        return await self._write(path, cl_ord_id, send, lookup)

    async def get_order(self, inst_id: str, ord_id: str | None = None, cl_ord_id: str | None = None) -> Order:
        if not ord_id and not cl_ord_id:
            raise ValueError("get_order needs ordId or clOrdId")
        params = {"instId": inst_id, "ordId": ord_id, "clOrdId": cl_ord_id}
        items = await self._call("GET", "/api/v5/trade/order", Order, params=params, private=True)
        return self._one(items, "/api/v5/trade/order")

    async def get_orders_pending(
        self,
        inst_type: str | None = "SWAP",
        inst_id: str | None = None,
        ord_type: str | None = None,
        state: str | None = None,
        after: str | None = None,
        before: str | None = None,
        limit: int | None = None,
    ) -> list[Order]:
        params = {
            "instType": inst_type,
            "instId": inst_id,
            "ordType": ord_type,
            "state": state,
            "after": after,
            "before": before,
            "limit": limit,
        }
        return await self._call("GET", "/api/v5/trade/orders-pending", Order, params=params, private=True)

    async def get_orders_history(
        self,
        inst_type: str = "SWAP",
        inst_id: str | None = None,
        ord_type: str | None = None,
        state: str | None = None,
        after: str | None = None,
        before: str | None = None,
        begin: str | int | None = None,
        end: str | int | None = None,
        limit: int | None = None,
    ) -> list[Order]:
        params = {
            "instType": inst_type,
            "instId": inst_id,
            "ordType": ord_type,
            "state": state,
            "after": after,
            "before": before,
            "begin": begin,
            "end": end,
            "limit": limit,
        }
        return await self._call("GET", "/api/v5/trade/orders-history", Order, params=params, private=True)

    async def get_fills(
        self,
        inst_type: str | None = None,
        inst_id: str | None = None,
        ord_id: str | None = None,
        after: str | None = None,
        before: str | None = None,
        begin: str | int | None = None,
        end: str | int | None = None,
        limit: int | None = None,
    ) -> list[Fill]:
        params = {
            "instType": inst_type,
            "instId": inst_id,
            "ordId": ord_id,
            "after": after,
            "before": before,
            "begin": begin,
            "end": end,
            "limit": limit,
        }
        return await self._call("GET", "/api/v5/trade/fills", Fill, params=params, private=True)


def _same(a: str, b: str) -> bool:
    """Equal as numbers ("100.0" == "100"); plain string equality when either is not a number."""
    try:
        return Decimal(a) == Decimal(b)
    except (InvalidOperation, ValueError):
        return a == b
