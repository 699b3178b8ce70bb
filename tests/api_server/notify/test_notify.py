"""Alerts (pure rules) and their delivery to a Telegram Bot API stand-in and a webhook receiver, on real sockets."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from api_server.events import EventHub
from api_server.notify.alerts import AlertRules
from api_server.notify.dispatcher import Notifier
from api_server.notify.settings import load_notify_settings
from api_server.notify.telegram import TelegramChannel, callback_data, parse_callback
from api_server.notify.webhook import WebhookChannel
from shared.backoff import Backoff
from shared.envfile import SettingsError
from tests.api_server.notify.standins import TelegramStandIn, WebhookReceiver

TOKEN = "123456:stand-in-bot-token"
CHAT = "777"
SECRET = "webhook-secret-0123456789"
FAST = Backoff(base=0.01, cap=0.05, jitter="none")

APPROVAL = {
    "id": 41,
    "status": "pending",
    "kind": "order",
    "instId": "BTC-USDT-SWAP",
    "runId": "r1",
    "origin": "agent:run:r1",
    "reason": "breakout above range",
    "request": {
        "side": "buy",
        "ordType": "limit",
        "sz": "2",
        "px": "65000",
        "leverage": 5,
        "tpTriggerPx": "67000",
        "slTriggerPx": "64000",
    },
}


async def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


# ---- rules (pure) ------------------------------------------------------------------------------------------


def test_approval_alert_carries_what_a_person_needs_to_decide():
    [alert] = AlertRules().on_event("approval", APPROVAL, now=0)
    assert alert.kind == "approval_needed" and alert.approval_id == 41
    for part in ("BTC-USDT-SWAP", "65000", "5x", "67000", "64000", "agent:run:r1", "breakout"):
        assert part in alert.text
    assert AlertRules().on_event("approval", {**APPROVAL, "status": "approved"}, now=0) == []


def test_pause_and_latch_are_announced_once_per_transition():
    rules = AlertRules()
    assert [a.kind for a in rules.on_event("scheduler", {"paused": True, "pausedReason": "3 failed runs"}, 0)] == [
        "automation_paused"
    ]
    assert rules.on_event("scheduler", {"paused": True}, 1) == []
    assert rules.on_event("scheduler", {"paused": False}, 2) == []
    assert len(rules.on_event("scheduler", {"paused": True}, 3)) == 1
    latched = {"dailyLoss": {"latched": True, "lossPct": "5.2"}}
    assert [a.kind for a in rules.on_event("risk", latched, 0)] == ["daily_loss_latch"]
    assert rules.on_event("risk", latched, 1) == []


@given(gaps=st.lists(st.floats(0, 200), min_size=1, max_size=20))
def test_feed_down_alert_only_after_a_minute_and_only_once(gaps):
    rules = AlertRules(feed_down_after_secs=60)
    now = 0.0
    assert rules.on_event("feed", {"connected": False}, now) == []
    fired = []
    for gap in gaps:
        now += gap
        fired += [(now, a) for a in rules.tick(now)]
    assert len(fired) == (1 if now >= 60 else 0)
    if fired:
        assert fired[0][0] >= 60


def test_closed_positions_and_fills_from_a_sync_report():
    report = {"fillsInserted": 2, "closed": [{"instId": "ETH-USDT-SWAP", "posSide": "long", "realizedPnl": "12.5"}]}
    kinds = [(a.kind, a.text) for a in AlertRules().on_event("account", report, 0)]
    assert kinds[0][0] == "fill" and kinds[1][0] == "position_closed" and "12.5 USDT" in kinds[1][1]


def test_settings_name_the_variable():
    with pytest.raises(SettingsError, match="NOTIFY_TELEGRAM_CHAT_ID"):
        load_notify_settings({"NOTIFY_TELEGRAM_BOT_TOKEN": TOKEN})
    with pytest.raises(SettingsError, match="NOTIFY_WEBHOOK_SECRET"):
        load_notify_settings({"NOTIFY_WEBHOOK_URL": "http://x/hook", "NOTIFY_WEBHOOK_SECRET": "short"})
    with pytest.raises(SettingsError, match="NOTIFY_EVENTS"):
        load_notify_settings({"NOTIFY_EVENTS": "fill,nonsense"})
    s = load_notify_settings(
        {"NOTIFY_TELEGRAM_BOT_TOKEN": TOKEN, "NOTIFY_TELEGRAM_CHAT_ID": CHAT, "NOTIFY_EVENTS": "fill"}
    )
    assert s.telegram_enabled and not s.webhook_enabled and s.kinds == ("fill",)


def test_button_data_is_bound_to_its_approval_and_choice():
    data = callback_data(TOKEN, 41, "a")
    assert len(data.encode()) <= 64
    assert parse_callback(TOKEN, data) == (41, True)
    forged = data.replace(":41:", ":42:")
    assert parse_callback(TOKEN, forged) is None
    assert parse_callback("other-token", data) is None


# ---- delivery over real sockets ----------------------------------------------------------------------------


async def test_webhook_is_signed_and_retried_until_delivered_once():
    receiver = WebhookReceiver(SECRET)
    await receiver.start()
    receiver.fail_next = 2
    async with aiohttp.ClientSession() as session:
        notifier = Notifier([WebhookChannel(session, receiver.url, SECRET)], backoff=FAST)
        stop = asyncio.Event()
        hub = EventHub()
        task = asyncio.create_task(notifier.run(hub, stop))
        await asyncio.sleep(0.05)
        hub.publish("approval", APPROVAL)
        await wait_for(lambda: receiver.received)
        await asyncio.sleep(0.1)
        stop.set()
        hub.publish("noop", {})
        await task
    await receiver.stop()
    assert len(receiver.received) == 1 and receiver.bad_signatures == 0
    assert receiver.received[0]["kind"] == "approval_needed" and receiver.received[0]["approvalId"] == 41


async def test_a_wrong_secret_is_refused_by_the_receiver_and_not_retried():
    receiver = WebhookReceiver(SECRET)
    await receiver.start()
    async with aiohttp.ClientSession() as session:
        notifier = Notifier([WebhookChannel(session, receiver.url, "another-secret-123456")], backoff=FAST)
        stop = asyncio.Event()
        worker = asyncio.create_task(notifier._deliver(notifier.channels[0], stop))
        notifier.submit("approval", APPROVAL)
        await wait_for(lambda: notifier.dropped["webhook"] == 1)
        worker.cancel()
    await receiver.stop()
    assert receiver.bad_signatures == 1 and receiver.received == []


async def test_telegram_approval_answered_from_the_chat_only():
    bot = TelegramStandIn(TOKEN)
    await bot.start()
    decisions: list[tuple[int, bool]] = []

    async def decide(approval_id: int, approve: bool) -> str:
        decisions.append((approval_id, approve))
        return "approved: order placed" if approve else "rejected"

    async with aiohttp.ClientSession() as session:
        channel = TelegramChannel(session, TOKEN, CHAT, api_base=bot.base_url, poll_timeout_secs=1)
        bot.fail_next, bot.fail_code = 2, 429  # the Bot API rate-limits twice: retried, delivered once
        notifier = Notifier([channel], backoff=FAST)
        stop = asyncio.Event()
        delivery = asyncio.create_task(notifier._deliver(channel, stop))
        polling = asyncio.create_task(channel.poll_updates(decide, stop))
        notifier.submit("approval", APPROVAL)
        await wait_for(lambda: bot.messages)
        [msg] = bot.messages
        buttons = msg["reply_markup"]["inline_keyboard"][0]
        approve_data = buttons[0]["callback_data"]
        # Someone in another chat presses a copy of the button; then a forged button in our chat.
        bot.press(approve_data, chat_id=999)
        bot.press(approve_data.replace(":41:", ":40:"), chat_id=int(CHAT))
        await wait_for(lambda: len(bot.answers) == 2)
        assert decisions == []
        bot.press(approve_data, chat_id=int(CHAT), message_id=msg["message_id"], text=msg["text"])
        await wait_for(lambda: decisions)
        await wait_for(lambda: bot.edits)
        stop.set()
        delivery.cancel()
        await asyncio.wait_for(polling, 5)
    await bot.stop()
    assert decisions == [(41, True)]
    assert bot.answers[-1]["text"] == "approved: order placed"
    assert bot.edits[0]["text"].endswith("→ approved: order placed")


async def test_a_dead_channel_never_blocks_the_publisher_or_the_other_channel():
    receiver = WebhookReceiver(SECRET)
    await receiver.start()
    async with aiohttp.ClientSession() as session:
        dead = TelegramChannel(session, TOKEN, CHAT, api_base="http://127.0.0.1:9")  # nothing listens on port 9
        live = WebhookChannel(session, receiver.url, SECRET)
        # (a busy machine may time a delivery out once: a retryable failure, sent again)
        notifier = Notifier([dead, live], backoff=FAST, max_attempts=5)
        stop = asyncio.Event()
        workers = [asyncio.create_task(notifier._deliver(c, stop)) for c in (dead, live)]
        started = time.perf_counter()
        for i in range(200):
            notifier.submit("fill", {"instId": "BTC-USDT-SWAP", "side": "buy", "fillPx": str(65000 + i), "fillSz": "1"})
        submit_secs = time.perf_counter() - started
        await wait_for(lambda: len(receiver.received) >= 200, timeout=60)
        await wait_for(lambda: notifier.dropped["telegram"] >= 1, timeout=30)  # the dead one gives up on its own
        for w in workers:
            w.cancel()
    await receiver.stop()
    assert submit_secs < 0.5  # enqueueing only: no network on the publisher's path
    assert notifier.delivered["webhook"] == 200 and notifier.dropped["webhook"] == 0
    assert notifier.delivered["telegram"] == 0 and notifier.dropped["telegram"] >= 1


def test_budget_and_latch_events_from_the_api_become_alerts_once():
    rules = AlertRules()
    [budget] = rules.on_event("llm_budget", {"day": "2026-12-02", "runId": "r7", "detail": "daily budget spent"}, 0)
    assert budget.kind == "llm_budget" and "LLM_DAILY_BUDGET_USD" in budget.text
    assert rules.on_event("llm_budget", {"day": "2026-12-02", "runId": "r8"}, 1) == []
    assert len(rules.on_event("llm_budget", {"day": "2026-12-03"}, 2)) == 1
    latch = {"dailyLoss": {"latched": True, "loss": "520", "maxLoss": "500", "lossPct": "5.2"}}
    [alert] = rules.on_event("risk", latch, 0)
    assert "5.2 %" in alert.text
