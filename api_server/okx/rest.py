"""OKX v5 REST client: signing, envelope parsing, typed errors, bounded retries, client-side rate limits.

* The bytes signed are exactly the bytes sent: the query string is built here and sent verbatim
  (`yarl.URL(..., encoded=True)`), the JSON body is encoded once and sent as those bytes.
* Only errors marked `temporary` are retried (timeouts, connection errors, 5xx, 429/50011/50061,
  50001/50004/50013/50026), with exponential backoff and full jitter, at most `max_retries` times.
* `place_order` is safe to retry because it always carries a `clOrdId` (generated when absent and the
  same on every attempt); a retry answered "51016 already exists" means an earlier attempt landed, so the
  order is looked up by clOrdId and returned as success.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
import uuid
from collections import Counter
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, TypeVar
from urllib.parse import quote

import aiohttp
import msgspec
import yarl

from api_server.okx.errors import (
    CANCEL_FAILED_GONE,
    ORDER_ALREADY_EXISTS,
    OkxAuthError,
    OkxError,
    OkxOrderRejected,
    OkxRateLimited,
    OkxRequestError,
    OkxUnavailable,
    classify,
    order_rejected,
)
from api_server.okx.models import (
    AccountConfig,
    Balance,
    CancelOrderResult,
    Candle,
    ClosePositionResult,
    Envelope,
    Fill,
    FundingRate,
    Instrument,
    LeverageResult,
    Order,
    OrderBook,
    OrderItemStatus,
    PlaceOrderResult,
    Position,
    ServerTime,
    Trade,
)
from api_server.okx.ratelimit import SlidingWindowLimiter, limit_key
from api_server.tickers import Ticker
from shared.okx_auth import iso_timestamp, sign

log = logging.getLogger(__name__)

T = TypeVar("T")
CL_ORD_ID_RE = re.compile(r"^[A-Za-z0-9]{1,32}$")
_ENVELOPE = msgspec.json.Decoder(Envelope)
_ITEM_STATUS = msgspec.json.Decoder(list[OrderItemStatus])
_DECODERS: dict[Any, msgspec.json.Decoder] = {}
_NOT_RECOVERED = object()


def _decoder(item_type: Any) -> msgspec.json.Decoder:
    decoder = _DECODERS.get(item_type)
    if decoder is None:
        decoder = _DECODERS[item_type] = msgspec.json.Decoder(list[item_type])
    return decoder


def build_query(params: dict[str, Any] | None) -> str:
    """`k=v&...` in the given order, empty/None values dropped, values percent-encoded (commas kept:
    OKX list parameters such as `ccy=BTC,ETH` are sent as-is, like OKX's own SDK)."""
    if not params:
        return ""
    parts = []
    for key, value in params.items():
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        parts.append(f"{quote(str(key), safe='')}={quote(str(value), safe=',-._~')}")
    return "&".join(parts)


def new_cl_ord_id() -> str:
    """32 lowercase hex characters: within OKX's ≤32 alphanumerics rule."""
    return uuid.uuid4().hex


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _error_key(exc: OkxError) -> str:
    if exc.s_code:
        return exc.s_code
    if exc.code:
        return exc.code
    if exc.http_status is not None:
        return f"http_{exc.http_status}"
    return type(exc).__name__


class OkxRestClient:
    """One per process; created in the API's lifespan with the shared aiohttp session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        api_key: str = "",
        api_secret: str = "",
        passphrase: str = "",
        simulated: bool,
        timeout_secs: float = 10.0,
        max_retries: int = 4,
        backoff_base: float = 0.2,
        backoff_max: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        rng: Callable[[], float] = random.random,
        rate_limiter: SlidingWindowLimiter | None = None,
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._api_secret = api_secret
        self._passphrase = passphrase
        self.simulated = simulated
        self.timeout_secs = timeout_secs
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._sleep = sleep
        self._now = now
        self._rng = rng
        self.limiter = rate_limiter or SlidingWindowLimiter(clock=clock, sleep=sleep)
        self._timeout = aiohttp.ClientTimeout(total=timeout_secs)
        self.stats: dict[str, Any] = {"requests": 0, "retries": 0, "errors": Counter(), "recovered_orders": 0}
        self.metrics: Any = None  # shared.metrics.OkxMetrics when the app exports Prometheus metrics

    def __repr__(self) -> str:  # never show credentials
        return f"OkxRestClient(base_url={self.base_url!r}, simulated={self.simulated}, credentials={self.has_credentials})"

    @property
    def has_credentials(self) -> bool:
        return bool(self._api_key and self._api_secret and self._passphrase)

    # -- transport -----------------------------------------------------------------------------------
    def backoff_delay(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max, base·2^attempt)] (attempt 0 = first retry)."""
        return self._rng() * min(self.backoff_max, self.backoff_base * (2**attempt))

    def _headers(self, method: str, target: str, body_text: str, private: bool) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.simulated:
            headers["x-simulated-trading"] = "1"
        if private:
            timestamp = iso_timestamp(self._now())
            headers["OK-ACCESS-KEY"] = self._api_key
            headers["OK-ACCESS-SIGN"] = sign(self._api_secret, timestamp, method, target, body_text)
            headers["OK-ACCESS-TIMESTAMP"] = timestamp
            headers["OK-ACCESS-PASSPHRASE"] = self._passphrase
        return headers

    async def _send_once(self, method: str, path: str, query: str, body_bytes: bytes | None, private: bool) -> msgspec.Raw:
        target = f"{path}?{query}" if query else path
        body_text = body_bytes.decode() if body_bytes is not None else ""
        headers = self._headers(method, target, body_text, private)
        url = yarl.URL(self.base_url + target, encoded=True)
        self.stats["requests"] += 1
        try:
            async with self.session.request(
                method, url, data=body_bytes, headers=headers, timeout=self._timeout, allow_redirects=False
            ) as resp:
                status = resp.status
                raw = await resp.read()
        except TimeoutError:
            raise OkxUnavailable(f"no reply within {self.timeout_secs:g}s", path=path) from None
        except aiohttp.ClientError as exc:
            raise OkxUnavailable(f"connection error: {type(exc).__name__}: {exc}", path=path) from None
        return self._parse(status, raw, path)

    @staticmethod
    def _parse(status: int, raw: bytes, path: str) -> msgspec.Raw:
        try:
            envelope = _ENVELOPE.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError):
            text = f"unreadable reply (HTTP {status})"
            if status == 200:
                raise OkxError(text, http_status=status, path=path) from None
            raise classify(http_status=status, code="", msg=text, path=path) from None
        code = str(envelope.code)
        if status == 200 and code == "0":
            return envelope.data
        # A per-item sCode explains a failed order call better than the envelope's "All operations failed".
        if code not in ("0", ""):
            try:
                items = _ITEM_STATUS.decode(envelope.data)
            except (msgspec.DecodeError, msgspec.ValidationError):
                items = []
            if items and items[0].sCode not in ("", "0"):
                item = items[0]
                raise order_rejected(
                    code=code, msg=envelope.msg, s_code=item.sCode, s_msg=item.sMsg,
                    cl_ord_id=item.clOrdId, http_status=status, path=path,
                )
        raise classify(http_status=status, code=code, msg=envelope.msg, path=path)

    async def _call(
        self,
        method: str,
        path: str,
        item_type: Any,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        private: bool = False,
        recover: Callable[[OkxError], Awaitable[Any]] | None = None,
    ) -> list[Any]:
        """Send with rate limiting and retries; return `data` decoded as `list[item_type]`."""
        if private and not self.has_credentials:
            raise OkxAuthError("OKX API credentials are not configured", path=path)
        query = build_query(params)
        body_bytes = msgspec.json.encode(body) if body is not None else None
        bucket, limit = limit_key(method, path, params if params is not None else body)
        attempt = 0
        while True:
            await self.limiter.acquire(bucket, limit)
            try:
                raw = await self._send_once(method, path, query, body_bytes, private)
                try:
                    decoded = _decoder(item_type).decode(raw)
                    if self.metrics is not None:
                        self.metrics.requests.labels(path, "ok").inc()
                    return decoded
                except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                    raise OkxError(f"unexpected reply shape: {exc}", path=path) from None
            except OkxError as exc:
                if recover is not None and attempt > 0:
                    recovered = await recover(exc)
                    if recovered is not _NOT_RECOVERED:
                        return [recovered]
                self.stats["errors"][_error_key(exc)] += 1
                if not exc.temporary or attempt >= self.max_retries:
                    exc.attempts = attempt + 1
                    if self.metrics is not None:
                        self.metrics.requests.labels(path, metrics_outcome(exc)).inc()
                    raise
                delay = self.backoff_delay(attempt)
                attempt += 1
                self.stats["retries"] += 1
                if self.metrics is not None:
                    self.metrics.retries.labels(path, _error_key(exc)).inc()
                log.warning(
                    "OKX retry %s %s attempt %d/%d in %.2fs: %s (%s)",
                    method, path, attempt, self.max_retries, delay, type(exc).__name__, _error_key(exc),
                )
                await self._sleep(delay)

    @staticmethod
    def _one(items: list[T], path: str) -> T:
        if not items:
            raise OkxError("empty data in reply", path=path)
        return items[0]

    # -- public market data --------------------------------------------------------------------------
    async def get_ticker(self, inst_id: str) -> Ticker:
        items = await self._call("GET", "/api/v5/market/ticker", Ticker, params={"instId": inst_id})
        ticker = self._one(items, "/api/v5/market/ticker")
        ticker.source = "rest"
        ticker.received_at = time.time()
        return ticker

    async def get_tickers(self, inst_type: str = "SWAP") -> list[Ticker]:
        items = await self._call("GET", "/api/v5/market/tickers", Ticker, params={"instType": inst_type})
        received_at = time.time()
        for ticker in items:
            ticker.source = "rest"
            ticker.received_at = received_at
        return items

    async def get_candles(
        self,
        inst_id: str,
        bar: str,
        limit: int = 100,
        after: str | int | None = None,
        before: str | int | None = None,
        history: bool = False,
    ) -> list[Candle]:
        """Newest first. `after` = rows earlier than this ms ts, `before` = rows newer than it."""
        path = "/api/v5/market/history-candles" if history else "/api/v5/market/candles"
        params = {"instId": inst_id, "bar": bar, "after": after, "before": before, "limit": limit}
        return await self._call("GET", path, Candle, params=params)

    async def get_books(self, inst_id: str, sz: int = 1) -> OrderBook:
        items = await self._call("GET", "/api/v5/market/books", OrderBook, params={"instId": inst_id, "sz": sz})
        return self._one(items, "/api/v5/market/books")

    async def get_trades(self, inst_id: str, limit: int = 100) -> list[Trade]:
        return await self._call("GET", "/api/v5/market/trades", Trade, params={"instId": inst_id, "limit": limit})

    async def get_instruments(self, inst_type: str = "SWAP", inst_id: str | None = None) -> list[Instrument]:
        params = {"instType": inst_type, "instId": inst_id}
        return await self._call("GET", "/api/v5/public/instruments", Instrument, params=params)

    async def get_funding_rate(self, inst_id: str) -> FundingRate:
        items = await self._call("GET", "/api/v5/public/funding-rate", FundingRate, params={"instId": inst_id})
        return self._one(items, "/api/v5/public/funding-rate")

    async def get_server_time(self) -> int:
        """OKX server time in ms."""
        items = await self._call("GET", "/api/v5/public/time", ServerTime)
        return int(self._one(items, "/api/v5/public/time").ts)

    # -- private: account ----------------------------------------------------------------------------
    async def get_balance(self, ccy: str | None = None) -> Balance:
        items = await self._call("GET", "/api/v5/account/balance", Balance, params={"ccy": ccy}, private=True)
        return items[0] if items else Balance()

    async def get_positions(self, inst_type: str | None = None, inst_id: str | None = None) -> list[Position]:
        params = {"instType": inst_type, "instId": inst_id}
        return await self._call("GET", "/api/v5/account/positions", Position, params=params, private=True)

    async def get_account_config(self) -> AccountConfig:
        items = await self._call("GET", "/api/v5/account/config", AccountConfig, private=True)
        return self._one(items, "/api/v5/account/config")

    async def get_leverage_info(self, inst_id: str, mgn_mode: str) -> list[LeverageResult]:
        params = {"instId": inst_id, "mgnMode": mgn_mode}
        return await self._call("GET", "/api/v5/account/leverage-info", LeverageResult, params=params, private=True)

    async def set_leverage(self, inst_id: str, lever: int | str, mgn_mode: str, pos_side: str | None = None) -> LeverageResult:
        body = {"instId": inst_id, "lever": str(lever), "mgnMode": mgn_mode}
        if pos_side:
            body["posSide"] = pos_side
        items = await self._call("POST", "/api/v5/account/set-leverage", LeverageResult, body=body, private=True)
        return self._one(items, "/api/v5/account/set-leverage")

    # -- private: trading ----------------------------------------------------------------------------
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
        Raises `OkxOrderRejected` (with `s_code`/`s_msg`/`cl_ord_id`) when OKX refuses the order."""
        if cl_ord_id is None:
            cl_ord_id = new_cl_ord_id()
        elif not CL_ORD_ID_RE.match(cl_ord_id):
            raise ValueError("clOrdId must be 1 to 32 letters or digits")
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

        async def recover(exc: OkxError) -> Any:
            # A retry that hits "clOrdId already exists" proves an earlier attempt landed.
            if isinstance(exc, OkxOrderRejected) and exc.s_code == ORDER_ALREADY_EXISTS:
                order = await self.get_order(inst_id, cl_ord_id=cl_ord_id)
                self.stats["recovered_orders"] += 1
                log.warning("OKX place_order: retry found clOrdId %s already placed as ordId %s", cl_ord_id, order.ordId)
                return PlaceOrderResult(
                    ordId=order.ordId, clOrdId=cl_ord_id, tag=order.tag, ts=order.cTime,
                    sCode="0", sMsg="Order placed (found after retry)", recovered=True,
                )
            return _NOT_RECOVERED

        items = await self._call("POST", "/api/v5/trade/order", PlaceOrderResult, body=body, private=True, recover=recover)
        result = self._one(items, "/api/v5/trade/order")
        if result.sCode not in ("", "0"):
            raise order_rejected(code="", msg="order rejected", s_code=result.sCode, s_msg=result.sMsg,
                                 cl_ord_id=result.clOrdId or cl_ord_id, http_status=200, path="/api/v5/trade/order")
        if not result.clOrdId:
            result.clOrdId = cl_ord_id
        return result

    async def cancel_order(self, inst_id: str, ord_id: str | None = None, cl_ord_id: str | None = None) -> CancelOrderResult:
        """`sCode "0"` means OKX accepted the cancel request; check the order state for the outcome."""
        if not ord_id and not cl_ord_id:
            raise ValueError("cancel_order needs ordId or clOrdId")
        body: dict[str, Any] = {"instId": inst_id}
        if ord_id:
            body["ordId"] = ord_id
        if cl_ord_id:
            body["clOrdId"] = cl_ord_id

        async def recover(exc: OkxError) -> Any:
            # A retried cancel answered "already filled/canceled/gone": if it is canceled, our first try did it.
            if isinstance(exc, OkxOrderRejected) and exc.s_code == CANCEL_FAILED_GONE:
                try:
                    order = await self.get_order(inst_id, ord_id=ord_id, cl_ord_id=cl_ord_id)
                except OkxError:
                    return _NOT_RECOVERED
                if order.state in ("canceled", "mmp_canceled"):
                    return CancelOrderResult(ordId=order.ordId, clOrdId=order.clOrdId, ts=order.uTime, sCode="0",
                                             sMsg="Order canceled (found after retry)")
            return _NOT_RECOVERED

        items = await self._call("POST", "/api/v5/trade/cancel-order", CancelOrderResult, body=body, private=True, recover=recover)
        result = self._one(items, "/api/v5/trade/cancel-order")
        if result.sCode not in ("", "0"):
            raise order_rejected(code="", msg="cancel rejected", s_code=result.sCode, s_msg=result.sMsg,
                                 cl_ord_id=result.clOrdId, http_status=200, path="/api/v5/trade/cancel-order")
        return result

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
        params = {"instType": inst_type, "instId": inst_id, "ordType": ord_type, "state": state,
                  "after": after, "before": before, "limit": limit}
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
        params = {"instType": inst_type, "instId": inst_id, "ordType": ord_type, "state": state,
                  "after": after, "before": before, "begin": begin, "end": end, "limit": limit}
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
        params = {"instType": inst_type, "instId": inst_id, "ordId": ord_id, "after": after, "before": before,
                  "begin": begin, "end": end, "limit": limit}
        return await self._call("GET", "/api/v5/trade/fills", Fill, params=params, private=True)

    async def close_position(
        self, inst_id: str, mgn_mode: str, pos_side: str | None = None, cl_ord_id: str | None = None
    ) -> ClosePositionResult:
        """POST /api/v5/trade/close-position (market-closes the whole position)."""
        body: dict[str, Any] = {"instId": inst_id, "mgnMode": mgn_mode}
        if pos_side:
            body["posSide"] = pos_side
        if cl_ord_id:
            if not CL_ORD_ID_RE.match(cl_ord_id):
                raise ValueError("clOrdId must be 1 to 32 letters or digits")
            body["clOrdId"] = cl_ord_id
        items = await self._call("POST", "/api/v5/trade/close-position", ClosePositionResult, body=body, private=True)
        return self._one(items, "/api/v5/trade/close-position")


__all__ = [
    "OkxRestClient",
    "OkxError",
    "OkxRateLimited",
    "OkxUnavailable",
    "OkxAuthError",
    "OkxRequestError",
    "OkxOrderRejected",
    "build_query",
    "new_cl_ord_id",
]


def metrics_outcome(exc: OkxError) -> str:
    """The final outcome label of a failed OKX request (shared.metrics.OKX_OUTCOMES)."""
    if isinstance(exc, OkxRateLimited):
        return "rate_limited"
    if isinstance(exc, OkxUnavailable):
        text = str(exc)
        if "no reply within" in text:
            return "timeout"
        if "connection error" in text:
            return "network_error"
        return "http_error"
    return "okx_error"
