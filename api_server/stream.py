"""GET /api/stream: Server-Sent Events with live tickers, trigger events, run results and balance updates.

The events' payloads are declared in the OpenAPI document: the 200 answer's schema is `StreamEvents`, one
property per event name holding the schema of that event's `data` (each a named component the web app uses).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import msgspec
from litestar import get
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from api_server.account.schemas import AccountSyncReport, BalanceEvent
from api_server.errors import ServiceUnavailable
from api_server.events import EventHub, TooManySubscribers
from api_server.scheduler.runs import StrategyRun
from api_server.scheduler.status import SchedulerStatus, TriggerEvent
from api_server.tickers import Ticker, TickerBook
from api_server.trading.schemas import Approval

KEEPALIVE_SECS = 10.0  # the web app calls a stream stale after 20 s of silence

# The `ticker` event: a Ticker as the book holds it (built from Ticker so the two cannot drift apart).
# Every field is sent; instId, last and ts are the ones a client can rely on being meaningful (the others
# are "" when OKX left them out; factories keep a `default` out of the schema, which generated clients
# would read as "always present" and then demand in every test fixture).
STREAM_TICKER_REQUIRED = ("instId", "last", "ts")
StreamTicker = msgspec.defstruct(
    "StreamTicker",
    [
        (f.encode_name, f.type)
        if f.name in STREAM_TICKER_REQUIRED
        else (f.encode_name, f.type, msgspec.field(default_factory=lambda value=f.default: value))
        for f in msgspec.structs.fields(Ticker)
    ],
    kw_only=True,
    module=__name__,
)


class StreamEvents(msgspec.Struct, kw_only=True):
    """The events of `GET /api/stream`: each SSE message is `event: <property name>` with `data:` the JSON of
    the property's schema. Comments (`: keepalive`) are sent every 10 s of silence."""

    ticker: StreamTicker  # type: ignore[valid-type]  # a new ticker (and every instrument's newest, at connect)
    trigger: TriggerEvent  # a strategy trigger was raised (or merged into a waiting one)
    run: StrategyRun  # a run started, finished or was skipped
    balance: BalanceEvent  # a balance reading
    scheduler: SchedulerStatus  # the scheduler's status after a change
    account: AccountSyncReport  # an account sync changed orders, fills or positions
    approval: Approval  # an agent order awaits approval


async def _events(
    queue: asyncio.Queue, hub: EventHub, tickers: TickerBook, last_event_id: str | None
) -> AsyncGenerator[ServerSentEventMessage, None]:
    try:
        # A reconnecting client first gets what it missed (Last-Event-ID), then the current prices.
        missed = hub.since(last_event_id)
        replayed = {event_id for _, _, event_id in missed}
        for event, payload, event_id in missed:
            yield ServerSentEventMessage(event=event, data=msgspec.json.encode(payload).decode(), id=event_id)
        for ticker in tickers.snapshot().values():
            yield ServerSentEventMessage(event="ticker", data=msgspec.json.encode(ticker).decode())
        while True:
            try:
                event, payload, event_id = await asyncio.wait_for(queue.get(), KEEPALIVE_SECS)
            except TimeoutError:
                yield ServerSentEventMessage(comment="keepalive")
                continue
            if event_id in replayed:
                continue
            yield ServerSentEventMessage(event=event, data=msgspec.json.encode(payload).decode(), id=event_id)
    finally:
        hub.unsubscribe(queue)


@get(
    "/api/stream",
    tags=["stream"],
    summary="Server-Sent Events: ticker, trigger, run, balance, scheduler, account, approval",
    responses={
        200: ResponseSpec(
            StreamEvents,
            generate_examples=False,
            media_type="text/event-stream",
            description="An endless event stream; the schema maps each event name to its data",
        )
    },
)
async def stream(
    events: EventHub,
    tickers: TickerBook,
    last_event_id: str | None = Parameter(
        header="Last-Event-ID",
        default=None,
        required=False,
        description="the last event id seen: missed events are resent",
    ),
) -> ServerSentEvent:
    # Subscribe before answering, so a stream over API_STREAM_MAX_CLIENTS is refused with a 503 (not a 200 that ends).
    try:
        queue = events.subscribe_with_ids()
    except TooManySubscribers as exc:
        raise ServiceUnavailable(str(exc), field=None, limit=exc.limit) from None
    return ServerSentEvent(
        _events(queue, events, tickers, last_event_id), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
