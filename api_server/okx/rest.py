"""OKX v5 REST client: signing, envelope parsing, typed errors, bounded retries, client-side rate limits.

* The bytes signed are exactly the bytes sent: the query string is built here and sent verbatim
  (`yarl.URL(..., encoded=True)`), the JSON body is encoded once and sent as those bytes.
* Signatures use OKX's time (`ServerClock`: an offset to /public/time, synced at the first signed call and
  every `resync_secs`); a 50102 "timestamp expired" resyncs the clock and resends once (OKX refused it at the
  gateway, so nothing was executed and the resend is safe for reads and writes alike).
* Reads: errors marked `temporary` are retried (timeouts, connection errors, 5xx, 429/50011/50061,
  50001/50004/50013/50026) with the one backoff rule (`shared.backoff`), at most `max_retries` times.
* Writes that change money (`write=True`: order, cancel, close-position, amend, algo orders) are NEVER resent
  while their outcome is unknown: only a refusal that is an answer (rate limit: not executed) is retried here;
  a timeout / 5xx / busy reply is raised to the trading methods (`api_server.okx.trading`), which look the
  order up by its client id before anything is sent again.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
import msgspec
import yarl

from api_server.okx.algo import AlgoMethods
from api_server.okx.clock import ServerClock
from api_server.okx.errors import (
    TIMESTAMP_EXPIRED,
    OkxAuthError,
    OkxError,
    OkxOrderRejected,
    OkxRateLimited,
    OkxRequestError,
    OkxUnavailable,
    classify,
    order_rejected,
    outcome_unknown,
)
from api_server.okx.models import (
    AccountConfig,
    Balance,
    Candle,
    Envelope,
    FundingRate,
    Instrument,
    LeverageResult,
    OrderBook,
    OrderItemStatus,
    Position,
    ServerTime,
    Trade,
)
from api_server.okx.ratelimit import SlidingWindowLimiter, limit_key
from api_server.okx.trading import CL_ORD_ID_RE, WINDOW_MARGIN_MS, new_cl_ord_id
from api_server.tickers import Ticker
from shared.backoff import Backoff
from shared.okx_auth import iso_timestamp, sign

log = logging.getLogger(__name__)

T = TypeVar("T")
_ENVELOPE = msgspec.json.Decoder(Envelope)
_ITEM_STATUS = msgspec.json.Decoder(list[OrderItemStatus])
_DECODERS: dict[Any, msgspec.json.Decoder] = {}


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


def _error_key(exc: OkxError) -> str:
    if exc.s_code:
        return exc.s_code
    if exc.code:
        return exc.code
    if exc.http_status is not None:
        return f"http_{exc.http_status}"
    return type(exc).__name__


class OkxRestClient(AlgoMethods):
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
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: Callable[[], float] = random.random,
        rate_limiter: SlidingWindowLimiter | None = None,
        server_clock: ServerClock | None = None,
        lookup_attempts: int = 6,
        send_window_secs: float | None = None,
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
        self.limiter = rate_limiter or SlidingWindowLimiter(clock=clock, sleep=sleep)
        self.clock = server_clock or ServerClock(local_now=now, monotonic=clock)
        self.backoff = Backoff(backoff_base, backoff_max, "full", rng)
        # Reconciling a write whose reply was lost: how many look-ups by client id, and how long after a send
        # OKX might still execute it (the send window; `expTime` enforces it where OKX takes that header).
        self.lookup_attempts = lookup_attempts
        self.send_window_secs = send_window_secs if send_window_secs is not None else timeout_secs
        self.window_margin_ms = WINDOW_MARGIN_MS
        self._timeout = aiohttp.ClientTimeout(total=timeout_secs)
        self.stats: dict[str, Any] = {
            "requests": 0,
            "retries": 0,
            "errors": Counter(),
            "recovered_orders": 0,
            "lookups": 0,
            "resends": 0,
            "unknown_outcomes": 0,
            "clock_resyncs": 0,
        }
        self.metrics: Any = None  # shared.metrics.OkxMetrics when the app exports Prometheus metrics

    def __repr__(self) -> str:  # never show credentials
        return (
            f"OkxRestClient(base_url={self.base_url!r}, simulated={self.simulated}, credentials={self.has_credentials})"
        )

    @property
    def has_credentials(self) -> bool:
        return bool(self._api_key and self._api_secret and self._passphrase)

    # -- transport -----------------------------------------------------------------------------------
    def backoff_delay(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max, base·2^attempt)] (attempt 0 = first retry)."""
        return self.backoff.delay(attempt)

    def _headers(self, method: str, target: str, body_text: str, private: bool) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.simulated:
            headers["x-simulated-trading"] = "1"
        if private:
            timestamp = iso_timestamp(self.clock.now())
            headers["OK-ACCESS-KEY"] = self._api_key
            headers["OK-ACCESS-SIGN"] = sign(self._api_secret, timestamp, method, target, body_text)
            headers["OK-ACCESS-TIMESTAMP"] = timestamp
            headers["OK-ACCESS-PASSPHRASE"] = self._passphrase
        return headers

    async def _send_once(
        self,
        method: str,
        path: str,
        query: str,
        body_bytes: bytes | None,
        private: bool,
        exp_window_ms: int | None = None,
    ) -> msgspec.Raw:
        target = f"{path}?{query}" if query else path
        body_text = body_bytes.decode() if body_bytes is not None else ""
        headers = self._headers(method, target, body_text, private)
        if exp_window_ms is not None:
            # OKX discards the request once its clock is past this (place/amend only): it bounds the send window.
            headers["expTime"] = str(self.clock.server_ms() + exp_window_ms)
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
                    code=code,
                    msg=envelope.msg,
                    s_code=item.sCode,
                    s_msg=item.sMsg,
                    cl_ord_id=item.clOrdId,
                    http_status=status,
                    path=path,
                )
        raise classify(http_status=status, code=code, msg=envelope.msg, path=path)

    async def _call(
        self,
        method: str,
        path: str,
        item_type: Any,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | list[dict[str, Any]] | None = None,
        private: bool = False,
        write: bool = False,
        exp_window_ms: int | None = None,
    ) -> list[Any]:
        """Send with rate limiting and retries; return `data` decoded as `list[item_type]`.

        `write=True`: a failure that leaves the outcome unknown is raised at once, never resent here."""
        if private and not self.has_credentials:
            raise OkxAuthError("OKX API credentials are not configured", path=path)
        if private and self.clock.stale:
            await self._sync_clock(force=False)
        query = build_query(params)
        body_bytes = msgspec.json.encode(body) if body is not None else None
        bucket, spec = limit_key(method, path, params if params is not None else body)
        attempt = 0
        resynced = False
        while True:
            await self.limiter.acquire(bucket, spec.limit, spec.window_secs)
            try:
                raw = await self._send_once(method, path, query, body_bytes, private, exp_window_ms)
                try:
                    decoded = _decoder(item_type).decode(raw)
                    if self.metrics is not None:
                        self.metrics.requests.labels(path, "ok").inc()
                    return decoded
                except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                    raise OkxError(f"unexpected reply shape: {exc}", path=path) from None
            except OkxError as exc:
                self.stats["errors"][_error_key(exc)] += 1
                if private and not resynced and exc.code == TIMESTAMP_EXPIRED:
                    # Refused at the gateway for our clock: resync and resend once (nothing was executed).
                    resynced = True
                    log.warning(
                        "OKX %s %s: 50102 timestamp expired; resyncing the clock and resending once", method, path
                    )
                    if await self._sync_clock(force=True):
                        continue
                unknown = write and outcome_unknown(exc)
                if unknown or not exc.temporary or attempt >= self.max_retries:
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
                    method,
                    path,
                    attempt,
                    self.max_retries,
                    delay,
                    type(exc).__name__,
                    _error_key(exc),
                )
                await self._sleep(delay)

    async def _sync_clock(self, *, force: bool) -> bool:
        """Measure the offset to OKX's clock; False (the old offset kept) when OKX's time is unreachable."""
        try:
            await self.clock.sync(self.get_server_time, force=force)
        except OkxError as exc:
            self.clock.failed()
            log.warning("OKX clock sync failed (signing keeps offset %.0f ms): %s", self.clock.offset_ms, exc)
            return False
        self.stats["clock_resyncs"] += 1
        return True

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

    async def set_leverage(
        self, inst_id: str, lever: int | str, mgn_mode: str, pos_side: str | None = None
    ) -> LeverageResult:
        body = {"instId": inst_id, "lever": str(lever), "mgnMode": mgn_mode}
        if pos_side:
            body["posSide"] = pos_side
        items = await self._call("POST", "/api/v5/account/set-leverage", LeverageResult, body=body, private=True)
        return self._one(items, "/api/v5/account/set-leverage")


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
    "CL_ORD_ID_RE",
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
