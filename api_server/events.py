"""In-process event hub behind `GET /api/stream`: tickers, triggers, runs, balances fan out to SSE clients."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from typing import Any

log = logging.getLogger("aitrader.api.events")

DEFAULT_MAX_SUBSCRIBERS = 100  # API_STREAM_MAX_CLIENTS: every open stream holds a queue of up to queue_size events


class TooManySubscribers(Exception):
    """The hub already serves its maximum number of streams (the caller answers 503)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"too many open event streams (limit {limit}): close another tab or retry later")
        self.limit = limit


class EventHub:
    def __init__(self, queue_size: int = 1000, max_subscribers: int = DEFAULT_MAX_SUBSCRIBERS) -> None:
        self._subscribers: set[asyncio.Queue[tuple[str, Any]]] = set()
        self._queue_size = queue_size
        self.max_subscribers = max_subscribers
        # Event ids "<hub start>-<n>": a client's Last-Event-ID from this process replays what it missed of the
        # recent non-ticker events (tickers are resent as the current prices at every connect).
        self._epoch = str(int(time.time() * 1000))
        self._ids = itertools.count(1)
        self._recent: deque[tuple[int, str, Any]] = deque(maxlen=queue_size)
        self._with_ids: set[asyncio.Queue[Any]] = set()

    def subscribe(self) -> asyncio.Queue[tuple[str, Any]]:
        """A new subscriber's queue; TooManySubscribers when max_subscribers are already connected."""
        if len(self._subscribers) >= self.max_subscribers:
            log.warning(
                "event stream refused: %d of %d subscribers connected", len(self._subscribers), self.max_subscribers
            )
            raise TooManySubscribers(self.max_subscribers)
        q: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(self._queue_size)
        self._subscribers.add(q)
        return q

    def subscribe_with_ids(self) -> asyncio.Queue[tuple[str, Any, str]]:
        """Like `subscribe`, but the queue's items are (event, payload, event id)."""
        q: asyncio.Queue[Any] = self.subscribe()
        self._with_ids.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[tuple[str, Any]]) -> None:
        self._subscribers.discard(q)
        self._with_ids.discard(q)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def since(self, last_event_id: str | None) -> list[tuple[str, Any, str]]:
        """The recent non-ticker events after `last_event_id` (none for an id of another process or run)."""
        epoch, _, seq = (last_event_id or "").strip().partition("-")
        if epoch != self._epoch or not seq.isdigit():
            return []
        return [(event, payload, f"{self._epoch}-{n}") for n, event, payload in self._recent if n > int(seq)]

    def publish(self, event: str, payload: Any) -> None:
        n = next(self._ids)
        event_id = f"{self._epoch}-{n}"
        if event != "ticker":
            self._recent.append((n, event, payload))
        for q in self._subscribers:
            if q.full():
                # A slow client loses its oldest event instead of slowing the publisher (the feed).
                try:
                    q.get_nowait()
                except asyncio.QueueEmpty:
                    pass
            q.put_nowait((event, payload, event_id) if q in self._with_ids else (event, payload))
