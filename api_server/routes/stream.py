"""GET /api/stream: Server-Sent Events with live tickers, trigger events, run results and balance updates."""

from __future__ import annotations

import asyncio
from typing import AsyncGenerator

import msgspec
from litestar import get
from litestar.datastructures import State
from litestar.response import ServerSentEvent, ServerSentEventMessage

KEEPALIVE_SECS = 10.0  # the web app calls a stream stale after 20 s of silence


async def _events(state: State) -> AsyncGenerator[ServerSentEventMessage, None]:
    hub = state.events
    queue = hub.subscribe()
    try:
        # Start every client with the current prices so the screen is never empty.
        for ticker in state.tickers.snapshot().values():
            yield ServerSentEventMessage(event="ticker", data=msgspec.json.encode(ticker).decode())
        while True:
            try:
                event, payload = await asyncio.wait_for(queue.get(), KEEPALIVE_SECS)
            except asyncio.TimeoutError:
                yield ServerSentEventMessage(comment="keepalive")
                continue
            yield ServerSentEventMessage(event=event, data=msgspec.json.encode(payload).decode())
    finally:
        hub.unsubscribe(queue)


@get("/api/stream", tags=["stream"], summary="Server-Sent Events: ticker, trigger, run, balance, scheduler")
async def stream(state: State) -> ServerSentEvent:
    return ServerSentEvent(_events(state), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
