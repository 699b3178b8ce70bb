"""Delivers alerts to every channel without ever blocking trading.

The event hub's publisher never waits: `submit` turns an event into alerts and puts them on one bounded
queue per channel (a full queue drops its oldest alert, logged). One worker per channel sends, retrying a
retryable failure with the shared backoff up to `max_attempts`; a channel that keeps failing loses its own
alerts (logged with the kind), never anyone else's, and never slows an order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import msgspec

from api_server.notify.alerts import ALERT_KINDS, Alert, AlertRules
from api_server.notify.webhook import ChannelError
from shared.backoff import Backoff

log = logging.getLogger("aitrader.api.notify")


class Channel(Protocol):
    name: str

    async def send(self, alert: Alert) -> None: ...


class EventSource(Protocol):
    def subscribe(self) -> asyncio.Queue[tuple[str, Any]]: ...

    def unsubscribe(self, q: asyncio.Queue[tuple[str, Any]]) -> None: ...


class Notifier:
    def __init__(
        self,
        channels: Sequence[Channel],
        *,
        kinds: Sequence[str] = ALERT_KINDS,
        rules: AlertRules | None = None,
        max_attempts: int = 5,
        queue_size: int = 500,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.channels = list(channels)
        self.kinds = frozenset(kinds)
        self.rules = rules or AlertRules()
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff(base=1.0, cap=60.0, jitter="equal")
        self.clock = clock
        self._queues = {c.name: asyncio.Queue[Alert](queue_size) for c in self.channels}
        self.delivered: dict[str, int] = {c.name: 0 for c in self.channels}
        self.dropped: dict[str, int] = {c.name: 0 for c in self.channels}

    def submit(self, event: str, payload: Any) -> list[Alert]:
        if isinstance(payload, msgspec.Struct):
            payload = msgspec.to_builtins(payload)
        alerts = [a for a in self.rules.on_event(event, payload, self.clock()) if a.kind in self.kinds]
        for alert in alerts:
            self._enqueue(alert)
        return alerts

    def tick(self) -> list[Alert]:
        alerts = [a for a in self.rules.tick(self.clock()) if a.kind in self.kinds]
        for alert in alerts:
            self._enqueue(alert)
        return alerts

    def _enqueue(self, alert: Alert) -> None:
        for name, q in self._queues.items():
            if q.full():
                lost = q.get_nowait()
                self.dropped[name] += 1
                log.warning("notify %s: queue full, dropped a %s alert", name, lost.kind)
            q.put_nowait(alert)

    async def _deliver(self, channel: Channel, stop: asyncio.Event) -> None:
        q = self._queues[channel.name]
        while not stop.is_set():
            alert = await q.get()
            for attempt in range(self.max_attempts):
                try:
                    await channel.send(alert)
                    self.delivered[channel.name] += 1
                    break
                except ChannelError as exc:
                    last = attempt == self.max_attempts - 1
                    if not exc.retryable or last:
                        self.dropped[channel.name] += 1
                        log.error("notify %s: %s alert not delivered: %s", channel.name, alert.kind, exc)
                        break
                    await asyncio.sleep(self.backoff.delay(attempt))
                except Exception:  # a bug in one channel must not end its worker
                    self.dropped[channel.name] += 1
                    log.exception("notify %s: %s alert failed", channel.name, alert.kind)
                    break

    async def run(
        self,
        hub: EventSource,
        stop: asyncio.Event,
        tick_secs: float = 5.0,
        feed_connected: Callable[[], bool] | None = None,
    ) -> None:
        """Listen to the hub and deliver until `stop` is set; `feed_connected` is probed every tick (feed down)."""
        events = hub.subscribe()
        workers = [asyncio.create_task(self._deliver(c, stop)) for c in self.channels]
        try:
            while not stop.is_set():
                try:
                    event, payload = await asyncio.wait_for(events.get(), tick_secs)
                except TimeoutError:
                    if feed_connected is not None:
                        self.submit("feed", {"connected": feed_connected()})
                    self.tick()
                    continue
                try:
                    self.submit(event, payload)
                except Exception:
                    log.exception("notify: event %s could not be turned into alerts", event)
        finally:
            hub.unsubscribe(events)
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
