"""In-process event hub behind `GET /api/stream`: tickers, triggers, runs, balances fan out to SSE clients."""

from __future__ import annotations

import asyncio
import logging
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

    def subscribe(self) -> asyncio.Queue[tuple[str, Any]]:
        """A new subscriber's queue; TooManySubscribers when max_subscribers are already connected."""
        if len(self._subscribers) >= self.max_subscribers:
            log.warning("event stream refused: %d of %d subscribers connected", len(self._subscribers), self.max_subscribers)
            raise TooManySubscribers(self.max_subscribers)
        q: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(self._queue_size)
        self._subscribers.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[tuple[str, Any]]) -> None:
        self._subscribers.discard(q)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def publish(self, event: str, payload: Any) -> None:
        for q in self._subscribers:
            if q.full():
                # A slow client loses its oldest event instead of slowing the publisher (the feed).
                try:
                    q.get_nowait()
                except asyncio.QueueEmpty:
                    pass
            q.put_nowait((event, payload))
