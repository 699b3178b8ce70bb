"""OKX public WebSocket ticker feed with a REST fallback.

One supervisor loop owns the connection (in the style of cryptofeed's `ConnectionHandler`):
connect → one `subscribe` op for every instrument → read until something ends the connection → back off
(exponential with jitter; reset once a subscription is acknowledged) → reconnect and resubscribe everything.

Per connection, three tasks race and the first to finish names the reason to reconnect:
* reader: applies ticker pushes to the `TickerBook`; returns on close/error, on notice 64008 and on
  error events other than 60018 (unknown instrument: logged, the others continue);
* pinger: sends the text frame `ping` after `ping_after_secs` without any message, and gives up on the
  connection when neither `pong` nor anything else arrives within `pong_timeout_secs` (OKX keepalive rule);
  it waits on the next frame, so a pong ends the wait at once;
* watchdog: no ticker for `stale_after_secs` (counted from connect) → reconnect.

While no subscription is acknowledged (start-up, reconnecting, socket down) a REST poller keeps the book
fresh every `poll_secs`; it stops as soon as the socket is subscribed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Iterable
from typing import Any

import aiohttp
import msgspec

from api_server.okx.errors import OkxError
from api_server.tickers import Ticker, TickerBook
from shared.backoff import Backoff

log = logging.getLogger(__name__)

UPGRADE_NOTICE = "64008"
UNKNOWN_INSTRUMENT = "60018"
# Up to this many instruments the poller asks per instrument (`/market/ticker`, 20 per 2 s); beyond it one
# `/market/tickers` call per instrument type is cheaper.
PER_INSTRUMENT_POLL_MAX = 3


class WsArg(msgspec.Struct):
    channel: str = ""
    instId: str = ""


class WsMessage(msgspec.Struct):
    """Every public-channel frame except the literal `pong`: events (`event` set) and pushes (`data`)."""

    event: str = ""
    code: str = ""
    msg: str = ""
    connId: str = ""
    arg: WsArg | None = None
    data: list[Ticker] | None = None


_decode_message = msgspec.json.Decoder(WsMessage).decode


def inst_type_of(inst_id: str) -> str:
    """OKX instrument type from the id: `BTC-USDT-SWAP` → SWAP, `BTC-USDT` → SPOT, `BTC-USDT-250808` → FUTURES."""
    parts = inst_id.split("-")
    if parts[-1] == "SWAP":
        return "SWAP"
    if len(parts) == 2:
        return "SPOT"
    if len(parts) == 3:
        return "FUTURES"
    return "OPTION"


class TickerFeed:
    """Keeps `book` fed with tickers for `inst_ids` from `url` (OKX `/ws/v5/public`), REST as fallback."""

    def __init__(
        self,
        url: str,
        inst_ids: Iterable[str],
        book: TickerBook,
        rest_client: Any,
        *,
        session: aiohttp.ClientSession | None = None,
        ping_after_secs: float = 25.0,
        pong_timeout_secs: float = 5.0,
        stale_after_secs: float = 60.0,
        poll_secs: float = 2.0,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        connect_timeout_secs: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.url = url
        self.inst_ids: tuple[str, ...] = tuple(dict.fromkeys(inst_ids))
        self.book = book
        self.rest_client = rest_client
        self._session = session
        self._own_session = False
        self.ping_after_secs = ping_after_secs
        self.pong_timeout_secs = pong_timeout_secs
        self.stale_after_secs = stale_after_secs
        self.poll_secs = poll_secs
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.connect_timeout_secs = connect_timeout_secs
        self._clock = clock
        self._wall = wall_clock
        self._rng = rng

        self.state = "down"  # connecting | connected | down
        self.connected_since: float | None = None  # epoch seconds of the last acknowledged subscription
        self.reconnects = 0
        self.last_error = ""
        self.metrics: Any = None  # shared.metrics.FeedMetrics when the app exports Prometheus metrics
        self.subscribed: set[str] = set()
        self.rejected: set[str] = set()  # instruments OKX refused (60018)
        self.frames = 0
        self.tickers_applied = 0
        self.polls = 0
        self._last_message_at: float | None = None  # monotonic
        self._last_ticker_at: float | None = None  # monotonic
        self._pending_reason: str | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._subscribed_event = asyncio.Event()
        self._message_event = asyncio.Event()  # set by every frame: the pinger waits on it, not on a fixed sleep
        self._down_event = asyncio.Event()
        self._down_event.set()
        self._supervisor: asyncio.Task[None] | None = None
        self._poller: asyncio.Task[None] | None = None
        self._stopping = False

    # -- lifecycle -----------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._supervisor is not None:
            return
        self._stopping = False
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._own_session = True
        self._poller = asyncio.create_task(self._poll_loop(), name="okx-ticker-rest-poller")
        self._supervisor = asyncio.create_task(self._supervise(), name="okx-ticker-ws-supervisor")

    async def stop(self) -> None:
        self._stopping = True
        tasks = [t for t in (self._supervisor, self._poller) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._supervisor = self._poller = None
        if self._ws is not None and not self._ws.closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), 1.0)
        self._ws = None
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None
            self._own_session = False
        self._mark_down("stopped")

    def status(self) -> dict[str, Any]:
        now = self._clock()
        return {
            "state": self.state,
            "connected_since": self.connected_since,
            "reconnects": self.reconnects,
            "last_message_age": None if self._last_message_at is None else round(now - self._last_message_at, 3),
            "last_ticker_age": None if self._last_ticker_at is None else round(now - self._last_ticker_at, 3),
            "polling": self.polling,
            "subscribed": sorted(self.subscribed),
            "rejected": sorted(self.rejected),
            "last_error": self.last_error,
        }

    @property
    def polling(self) -> bool:
        return self._poller is not None and not self._poller.done() and self._down_event.is_set()

    # -- state ---------------------------------------------------------------------------------------
    def _set_state(self, state: str, reason: str = "") -> None:
        if state != self.state:
            log.info("OKX ticker feed %s -> %s%s", self.state, state, f" ({reason})" if reason else "")
            self.state = state
            if self.metrics is not None:
                self.metrics.connected.set(1 if state == "connected" else 0)

    def _mark_subscribed(self) -> None:
        if self._subscribed_event.is_set():
            return
        self.connected_since = self._wall()
        self._subscribed_event.set()
        self._down_event.clear()
        self._set_state("connected")

    def _mark_down(self, reason: str) -> None:
        self.subscribed.clear()
        self.connected_since = None
        self._subscribed_event.clear()
        self._down_event.set()
        self._set_state("down", reason)

    # -- frames --------------------------------------------------------------------------------------
    def handle_frame(self, raw: str | bytes) -> str | None:
        """Apply one text frame; returns a reason when the connection should be replaced."""
        self.frames += 1
        self._last_message_at = self._clock()
        self._message_event.set()
        if raw == "pong" or raw == b"pong":
            return None
        try:
            message = _decode_message(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("OKX ticker feed: unreadable frame ignored: %s", exc)
            return None
        if message.data is not None:
            if message.arg is not None and message.arg.channel == "tickers":
                received_at = self._wall()
                update = self.book.update
                for ticker in message.data:
                    ticker.source = "ws"
                    ticker.received_at = received_at
                    update(ticker)
                self.tickers_applied += len(message.data)
                self._last_ticker_at = self._last_message_at
            return None
        event = message.event
        if event == "subscribe":
            if message.arg is not None:
                self.subscribed.add(message.arg.instId)
                self.rejected.discard(message.arg.instId)
            self._mark_subscribed()
            return None
        if event == "error":
            if message.code == UNKNOWN_INSTRUMENT:
                self.rejected.update(
                    i for i in self.inst_ids if f"instId:{i} " in message.msg or message.msg.endswith(i)
                )
                log.warning(
                    "OKX ticker feed: subscription refused (60018), continuing with the others: %s", message.msg
                )
                return None
            return f"error event {message.code}: {message.msg}"
        if event == "notice" and message.code == UPGRADE_NOTICE:
            return f"notice {UPGRADE_NOTICE}: {message.msg}"
        return None  # unsubscribe acks, channel-conn-count, other notices

    # -- connection ----------------------------------------------------------------------------------
    def _subscribe_op(self) -> str:
        args = [{"channel": "tickers", "instId": inst_id} for inst_id in self.inst_ids]
        return msgspec.json.encode({"op": "subscribe", "args": args}).decode()

    def _backoff(self, attempt: int) -> float:
        """The shared rule with equal jitter: half the capped step fixed, half random (so waits keep growing)."""
        return Backoff(self.backoff_base, self.backoff_max, "equal", self._rng).delay(attempt)

    async def _supervise(self) -> None:
        attempt = 0
        first = True
        while not self._stopping:
            if not first:
                self.reconnects += 1
                if self.metrics is not None:
                    self.metrics.reconnects.labels(reconnect_reason(self.last_error)).inc()
            first = False
            self._set_state("connecting")
            reason = await self._connect_and_run()
            if self._stopping:
                break
            self.last_error = reason
            was_subscribed = self._subscribed_event.is_set()
            self._mark_down(reason)
            if was_subscribed:
                attempt = 0
            if reason.startswith(f"notice {UPGRADE_NOTICE}"):
                delay = 0.0  # OKX closes us in ~60 s anyway: move to a fresh connection at once
            else:
                delay = self._backoff(attempt)
                attempt += 1
            log.warning("OKX ticker feed disconnected (%s); reconnecting in %.2fs", reason, delay)
            await asyncio.sleep(delay)

    async def _connect_and_run(self) -> str:
        assert self._session is not None
        try:
            ws = await self._session.ws_connect(
                self.url,
                autoping=True,
                heartbeat=None,  # OKX keepalive is the text `ping`, not protocol pings
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=1.0),
                compress=0,
            )
        except asyncio.CancelledError:
            raise
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            return f"connect failed: {type(exc).__name__}: {exc}"
        self._ws = ws
        started = self._clock()
        self._last_message_at = started
        self._last_ticker_at = None
        tasks: list[asyncio.Task[str]] = []
        try:
            await ws.send_str(self._subscribe_op())
            tasks = [
                asyncio.create_task(self._read(ws), name="okx-ticker-ws-reader"),
                asyncio.create_task(self._ping(ws), name="okx-ticker-ws-ping"),
                asyncio.create_task(self._watchdog(started), name="okx-ticker-ws-watchdog"),
            ]
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finished = done.pop()
            if finished.cancelled():
                reason = "cancelled"
            elif finished.exception() is not None:
                exc = finished.exception()
                reason = f"{type(exc).__name__}: {exc}"
            else:
                reason = finished.result()
            return reason
        except asyncio.CancelledError:
            raise
        except (aiohttp.ClientError, OSError, ConnectionError) as exc:
            return f"send failed: {type(exc).__name__}: {exc}"
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if not ws.closed:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ws.close(), 1.0)
            self._ws = None

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        handle = self.handle_frame
        async for message in ws:
            if message.type is aiohttp.WSMsgType.TEXT or message.type is aiohttp.WSMsgType.BINARY:
                reason = handle(message.data)
                if reason is not None:
                    return reason
            elif message.type is aiohttp.WSMsgType.ERROR:
                return f"socket error: {ws.exception()!r}"
        return f"closed by server (code {ws.close_code})"

    async def _ping(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        while True:
            idle = self._clock() - (self._last_message_at or 0.0)
            if idle < self.ping_after_secs:
                await asyncio.sleep(self.ping_after_secs - idle)
                continue
            sent_at = self._clock()
            self._message_event.clear()
            await ws.send_str("ping")
            # Any frame (the pong or a push) proves the socket alive: wake at once instead of sleeping it out.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._message_event.wait(), self.pong_timeout_secs)
            if (self._last_message_at or 0.0) < sent_at:
                return f"no pong within {self.pong_timeout_secs:g}s"

    async def _watchdog(self, started: float) -> str:
        while True:
            last = self._last_ticker_at if self._last_ticker_at is not None else started
            quiet = self._clock() - last
            if quiet >= self.stale_after_secs:
                return f"no ticker for {quiet:.1f}s"
            await asyncio.sleep(self.stale_after_secs - quiet)

    # -- REST fallback -------------------------------------------------------------------------------
    async def _poll_loop(self) -> None:
        while True:
            await self._down_event.wait()
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except OkxError as exc:
                log.warning("OKX ticker REST poll failed: %s", exc)
            except Exception:
                log.exception("OKX ticker REST poll failed")
            # Sleep until the next poll, but wake at once when the socket is subscribed again.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._subscribed_event.wait(), self.poll_secs)

    async def poll_once(self) -> int:
        """One REST refresh of every instrument; returns how many tickers the book accepted."""
        self.polls += 1
        if self.metrics is not None:
            self.metrics.rest_polls.inc()
        wanted = [i for i in self.inst_ids if i not in self.rejected]
        tickers: list[Ticker] = []
        if len(wanted) <= PER_INSTRUMENT_POLL_MAX:
            results = await asyncio.gather(*(self.rest_client.get_ticker(i) for i in wanted), return_exceptions=True)
            for inst_id, result in zip(wanted, results):
                if isinstance(result, BaseException):
                    log.warning("OKX ticker REST poll for %s failed: %s", inst_id, result)
                else:
                    tickers.append(result)
        else:
            for inst_type in sorted({inst_type_of(i) for i in wanted}):
                tickers.extend(t for t in await self.rest_client.get_tickers(inst_type) if t.instId in wanted)
        accepted = 0
        for ticker in tickers:
            if self._subscribed_event.is_set():
                break  # the socket is back and fresher; drop the late REST answer
            accepted += self.book.update(ticker)
        return accepted


def reconnect_reason(last_error: str) -> str:
    """A small fixed set of labels for reconnect metrics (the free text stays in the log and status)."""
    text = last_error.lower()
    for word, label in (
        ("stale", "stale"),
        ("pong", "no_pong"),
        ("64008", "notice"),
        ("notice", "notice"),
        ("connect failed", "refused"),
        ("closed", "closed"),
    ):
        if word in text:
            return label
    return "error"
