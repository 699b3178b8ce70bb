"""OKX's private WebSocket: fills, order changes, positions and TP/SL triggers within a second.

Two logged-in connections, each one supervisor loop in the style of ws_feed.TickerFeed:
- /ws/v5/private: `orders`, `positions`, `balance_and_position` (instType SWAP);
- /ws/v5/business: `orders-algo` (OKX serves algo orders there, docs `…-ws-algo-orders-channel.md`).
connect -> `login` (sign = base64 HMAC-SHA256(secret, ts + "GET" + "/users/self/verify"), ts in seconds) ->
one `subscribe` op -> read until something ends the connection -> back off (shared.backoff, equal jitter,
reset once subscribed) -> reconnect, log in, resubscribe. Per connection three tasks race: the reader
(a failed login, an error event or notice 64008 end it; 64008 reconnects at once), the pinger (text `ping`
after `ping_after_secs` quiet, `pong_timeout_secs` to answer) and the watchdog (nothing at all for
`stale_after_secs`; positions snapshots arrive every ~5 s). Every acknowledged subscription asks the
account sync for a catch-up, so whatever happened while the socket was down is paged in by REST.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import msgspec

from api_server.okx.models import Order, Position
from shared.backoff import Backoff
from shared.okx_auth import sign

log = logging.getLogger("aitrader.api.okx.ws_private")

UPGRADE_NOTICE = "64008"
PRIVATE_CHANNELS = [
    {"channel": "orders", "instType": "SWAP"},
    {"channel": "positions", "instType": "SWAP"},
    {"channel": "balance_and_position"},
]
BUSINESS_CHANNELS = [{"channel": "orders-algo", "instType": "SWAP"}]
RECONNECT_BACKOFF = Backoff(base=0.5, cap=30.0, jitter="equal")  # equal jitter: waits keep growing, never spin


class WsOrder(Order):
    """An `orders` push: the order plus the trade of this update (fields the REST order does not have)."""

    fillFee: str = ""
    fillFeeCcy: str = ""
    fillPnl: str = ""
    execType: str = ""


class WsPosition(Position):
    closeOrderAlgo: list[dict[str, Any]] = msgspec.field(default_factory=list)


class PushArg(msgspec.Struct):
    channel: str = ""
    instType: str = ""
    instId: str = ""


class PrivateMessage(msgspec.Struct):
    event: str = ""
    code: str = ""
    msg: str = ""
    connId: str = ""
    arg: PushArg | None = None
    eventType: str = ""
    lastPage: bool = True
    data: msgspec.Raw = msgspec.Raw(b"")  # kept raw until the channel says what it holds


_decode = msgspec.json.Decoder(PrivateMessage).decode
_orders = msgspec.json.Decoder(list[WsOrder]).decode
_positions = msgspec.json.Decoder(list[WsPosition]).decode
_items = msgspec.json.Decoder(list[dict[str, Any]]).decode


def private_urls(public_url: str) -> tuple[str, str]:
    """The private and business URLs next to the configured public one (demo stays demo: wspap… ; live: ws…)."""
    base = public_url.split("?", 1)
    head = base[0].rsplit("/ws/v5/", 1)[0]
    query = f"?{base[1]}" if len(base) == 2 else ""
    return f"{head}/ws/v5/private{query}", f"{head}/ws/v5/business{query}"


def login_op(api_key: str, secret: str, passphrase: str, now_s: float) -> str:
    ts = str(int(now_s))
    return msgspec.json.encode(
        {
            "op": "login",
            "args": [
                {
                    "apiKey": api_key,
                    "passphrase": passphrase,
                    "timestamp": ts,
                    "sign": sign(secret, ts, "GET", "/users/self/verify"),
                }
            ],
        }
    ).decode()


class PrivateFeed:
    """One logged-in connection to `url` subscribed to `channels`; messages go to `handler(message)`."""

    def __init__(
        self,
        url: str,
        channels: list[dict[str, str]],
        handler: Callable[[PrivateMessage], Awaitable[None]],
        *,
        api_key: str,
        api_secret: str,
        passphrase: str,
        session: aiohttp.ClientSession,
        on_subscribed: Callable[[], None] | None = None,
        ping_after_secs: float = 25.0,
        pong_timeout_secs: float = 5.0,
        stale_after_secs: float = 60.0,
        login_timeout_secs: float = 10.0,
        backoff: Backoff = RECONNECT_BACKOFF,
        clock: Callable[[], float] = time.monotonic,
        timestamp_s: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.channels = channels
        self.handler = handler
        self._api_key, self._api_secret, self._passphrase = api_key, api_secret, passphrase
        self._session = session
        self.on_subscribed = on_subscribed
        self.ping_after_secs = ping_after_secs
        self.pong_timeout_secs = pong_timeout_secs
        self.stale_after_secs = stale_after_secs
        self.login_timeout_secs = login_timeout_secs
        self.backoff = backoff
        self._clock = clock
        self._timestamp_s = timestamp_s
        self.state = "down"  # connecting | logging_in | subscribed | down
        self.reconnects = 0
        self.last_error = ""
        self.messages = 0
        self.subscribed: set[str] = set()
        self._last_message_at = 0.0
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False
        self.subscribed_event = asyncio.Event()

    def __repr__(self) -> str:  # never the credentials
        return f"PrivateFeed(url={self.url!r}, state={self.state!r})"

    async def start(self) -> None:
        if self._supervisor is None:
            self._stopping = False
            self._supervisor = asyncio.create_task(self._supervise(), name=f"okx-private-ws {self.url}")

    async def stop(self) -> None:
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._supervisor
            self._supervisor = None
        self._set_state("down", "stopped")

    def status(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "state": self.state,
            "reconnects": self.reconnects,
            "subscribed": sorted(self.subscribed),
            "last_error": self.last_error,
            "messages": self.messages,
        }

    def _set_state(self, state: str, reason: str = "") -> None:
        if state != self.state:
            log.info("OKX private feed %s: %s -> %s%s", self.url, self.state, state, f" ({reason})" if reason else "")
            self.state = state
        if state != "subscribed":
            self.subscribed_event.clear()
            self.subscribed.clear()

    async def _supervise(self) -> None:
        attempt = 0
        while not self._stopping:
            self._set_state("connecting")
            reason = await self._connect_and_run()
            if self._stopping:
                break
            was_subscribed = self.state == "subscribed"
            self.last_error = reason
            self._set_state("down", reason)
            self.reconnects += 1
            if was_subscribed:
                attempt = 0
            delay = 0.0 if reason.startswith(f"notice {UPGRADE_NOTICE}") else self.backoff.delay(attempt)
            if delay:
                attempt += 1
            log.warning("OKX private feed %s disconnected (%s); reconnecting in %.2fs", self.url, reason, delay)
            await asyncio.sleep(delay)

    async def _connect_and_run(self) -> str:
        try:
            ws = await self._session.ws_connect(
                self.url,
                autoping=True,
                heartbeat=None,
                compress=0,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=1.0),
            )
        except asyncio.CancelledError:
            raise
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            return f"connect failed: {type(exc).__name__}: {exc}"
        self._last_message_at = self._clock()
        tasks: list[asyncio.Task[str]] = []
        try:
            self._set_state("logging_in")
            await ws.send_str(login_op(self._api_key, self._api_secret, self._passphrase, self._timestamp_s()))
            tasks = [
                asyncio.create_task(self._read(ws)),
                asyncio.create_task(self._ping(ws)),
                asyncio.create_task(self._watchdog()),
            ]
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finished = done.pop()
            if finished.cancelled():
                return "cancelled"
            exc = finished.exception()
            return f"{type(exc).__name__}: {exc}" if exc is not None else finished.result()
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

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        login_deadline = self._clock() + self.login_timeout_secs
        async for frame in ws:
            if frame.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                if frame.type is aiohttp.WSMsgType.ERROR:
                    return f"socket error: {ws.exception()!r}"
                continue
            self._last_message_at = self._clock()
            self.messages += 1
            if frame.data in ("pong", b"pong"):
                continue
            try:
                message = _decode(frame.data)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                log.warning("OKX private feed: unreadable frame ignored: %s", exc)
                continue
            if message.event:
                reason = await self._on_event(ws, message)
                if reason is not None:
                    return reason
            elif len(message.data):
                try:
                    await self.handler(message)
                except Exception:  # a failed write is logged; the REST catch-up reconciles it
                    log.exception(
                        "OKX private feed: applying a %s push failed", message.arg.channel if message.arg else "?"
                    )
                    if self.on_subscribed is not None:
                        self.on_subscribed()
            if self.state == "logging_in" and self._clock() > login_deadline:
                return f"no login reply within {self.login_timeout_secs:g}s"
        return f"closed by server (code {ws.close_code})"

    async def _on_event(self, ws: aiohttp.ClientWebSocketResponse, message: PrivateMessage) -> str | None:
        if message.event == "login":
            if message.code not in ("", "0"):
                return f"login failed {message.code}: {message.msg}"
            self._set_state("subscribing")
            await ws.send_str(msgspec.json.encode({"op": "subscribe", "args": self.channels}).decode())
            return None
        if message.event == "subscribe":
            if message.arg is not None:
                self.subscribed.add(message.arg.channel)
            if self.state != "subscribed" and self.subscribed >= {c["channel"] for c in self.channels}:
                self.state = "subscribed"
                log.info("OKX private feed %s subscribed: %s", self.url, ",".join(sorted(self.subscribed)))
                self.subscribed_event.set()
                if self.on_subscribed is not None:
                    self.on_subscribed()
            return None
        if message.event == "error":
            if self.state == "logging_in":
                return f"login failed {message.code}: {message.msg}"
            return f"error event {message.code}: {message.msg}"
        if message.event == "notice" and message.code == UPGRADE_NOTICE:
            return f"notice {UPGRADE_NOTICE}: {message.msg}"
        return None  # channel-conn-count, unsubscribe acks, other notices

    async def _ping(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        while True:
            idle = self._clock() - self._last_message_at
            if idle < self.ping_after_secs:
                await asyncio.sleep(self.ping_after_secs - idle)
                continue
            sent_at = self._clock()
            await ws.send_str("ping")
            await asyncio.sleep(self.pong_timeout_secs)
            if self._last_message_at < sent_at:
                return f"no pong within {self.pong_timeout_secs:g}s"

    async def _watchdog(self) -> str:
        while True:
            quiet = self._clock() - self._last_message_at
            if quiet >= self.stale_after_secs:
                return f"nothing received for {quiet:.1f}s"
            await asyncio.sleep(self.stale_after_secs - quiet)


class AccountPushes:
    """Writes what the private channels push: orders and their trades, positions, TP/SL trigger events."""

    def __init__(self, sync: Any, publish: Callable[[str, Any], None]) -> None:
        self.sync = sync
        self.publish = publish
        self._positions: dict[tuple[str, str, str], WsPosition] = {}
        self._snapshot: dict[tuple[str, str, str], WsPosition] | None = None

    async def __call__(self, message: PrivateMessage) -> None:
        channel = message.arg.channel if message.arg is not None else ""
        raw = message.data if len(message.data) else b"[]"
        if channel == "orders":
            await self.sync.apply_orders(_orders(raw))
        elif channel == "positions":
            await self._on_positions(message.eventType, message.lastPage, _positions(raw))
        elif channel == "balance_and_position":
            for item in _items(raw):
                self.publish(
                    "account",
                    {
                        **self.sync.no_changes(),
                        "source": "ws",
                        "channel": channel,
                        "eventType": item.get("eventType", ""),
                        "balData": item.get("balData", []),
                        "trades": item.get("trades", []),
                    },
                )
        elif channel == "orders-algo":
            for algo in _items(raw):
                self.publish(
                    "account",
                    {
                        **self.sync.no_changes(),
                        "source": "ws",
                        "channel": channel,
                        "algoId": algo.get("algoId", ""),
                        "instId": algo.get("instId", ""),
                        "state": algo.get("state", ""),
                        "ordType": algo.get("ordType", ""),
                        "ordId": algo.get("ordId", ""),
                        "tpTriggerPx": algo.get("tpTriggerPx", ""),
                        "slTriggerPx": algo.get("slTriggerPx", ""),
                    },
                )
                if algo.get("state") == "effective":
                    log.info(
                        "TP/SL %s on %s triggered: order %s", algo.get("algoId"), algo.get("instId"), algo.get("ordId")
                    )

    async def _on_positions(self, event_type: str, last_page: bool, items: list[WsPosition]) -> None:
        if event_type == "snapshot":  # every open position, possibly over several pages
            self._snapshot = {} if self._snapshot is None else self._snapshot
            self._snapshot.update({_key(p): p for p in items if _open(p)})
            if not last_page:
                return
            self._positions, self._snapshot = self._snapshot, None
        else:
            for p in items:
                if _open(p):
                    self._positions[_key(p)] = p
                else:
                    self._positions.pop(_key(p), None)
        await self.sync.apply_positions(list(self._positions.values()))


def _key(p: WsPosition) -> tuple[str, str, str]:
    return p.instId, p.mgnMode, p.posSide or "net"


def _open(p: WsPosition) -> bool:
    try:
        return float(p.pos or 0) != 0
    except ValueError:
        return False


@contextlib.asynccontextmanager
async def private_feeds(
    settings: Any, sync: Any, publish: Callable[[str, Any], None], session: aiohttp.ClientSession
) -> AsyncIterator[list[PrivateFeed]]:
    """Lifespan part: both feeds, logged in with the API's OKX keys (only called when keys are configured)."""
    private_url, business_url = private_urls(settings.okx_ws_public_url)
    pushes = AccountPushes(sync, publish)
    common: dict[str, Any] = {
        "api_key": settings.okx_api_key,
        "api_secret": settings.okx_api_secret,
        "passphrase": settings.okx_passphrase,
        "session": session,
        "on_subscribed": sync.request_catch_up,
        "ping_after_secs": settings.okx_ws_ping_secs,
        # The login timestamp on OKX's clock (the REST client's offset), like every REST signature.
        "timestamp_s": lambda: sync.okx.clock.server_ms() / 1000,
    }
    feeds = [
        PrivateFeed(private_url, PRIVATE_CHANNELS, pushes, **common),
        PrivateFeed(business_url, BUSINESS_CHANNELS, pushes, **common),
    ]
    for feed in feeds:
        await feed.start()
    try:
        yield feeds
    finally:
        for feed in feeds:
            await feed.stop()
