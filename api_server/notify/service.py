"""The notifier's place in the API's lifespan: builds the configured channels, listens to the event hub,
and lets Telegram buttons decide approvals through the same desk as the web app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp

from api_server.events import EventHub
from api_server.notify.dispatcher import Channel, Notifier
from api_server.notify.settings import NotifySettings
from api_server.notify.telegram import TelegramChannel
from api_server.notify.webhook import WebhookChannel

log = logging.getLogger("aitrader.api.notify")


@contextlib.asynccontextmanager
async def running_notifier(
    settings: NotifySettings,
    http: aiohttp.ClientSession,
    events: EventHub,
    *,
    decide: Callable[[int, bool], Awaitable[str]],
    feed_connected: Callable[[], bool],
) -> AsyncIterator[Notifier | None]:
    channels: list[Channel] = []
    telegram: TelegramChannel | None = None
    if settings.telegram_enabled:
        telegram = TelegramChannel(
            http, settings.telegram_bot_token, settings.telegram_chat_id, api_base=settings.telegram_api_base
        )
        channels.append(telegram)
    if settings.webhook_enabled:
        channels.append(WebhookChannel(http, settings.webhook_url, settings.webhook_secret))
    if not channels:
        yield None
        return
    notifier = Notifier(channels, kinds=settings.kinds)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(notifier.run(events, stop, feed_connected=feed_connected), name="notify")]
    if telegram is not None:
        tasks.append(asyncio.create_task(telegram.poll_updates(decide, stop), name="notify-telegram-updates"))
    log.info("alerts on: %s (%s)", ", ".join(c.name for c in channels), ", ".join(settings.kinds))
    try:
        yield notifier
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
