"""In-process event hub behind `GET /api/stream`: tickers, triggers, runs, balances fan out to SSE clients."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger("aitrader.api.events")


class EventHub:
    def __init__(self, queue_size: int = 1000) -> None:
        self._subscribers: set[asyncio.Queue[tuple[str, Any]]] = set()
        self._queue_size = queue_size

    def subscribe(self) -> asyncio.Queue[tuple[str, Any]]:
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
