"""End to end: the real API (with the real simulator) sends an approval alert to a Telegram Bot API stand-in, and
the Approve button pressed in the configured chat places the order; a webhook receiver gets the same alert."""

from __future__ import annotations

import asyncio
import threading
import time

from tests.api_server.account.conftest import INST, launch  # noqa: F401  (the fixture)
from tests.api_server.notify.standins import TelegramStandIn, WebhookReceiver

TOKEN = "4242:notify-e2e-bot-token"
CHAT = "31337"
SECRET = "notify-e2e-webhook-secret"


class Background:
    """Runs the aiohttp stand-ins on their own event loop in a thread (the stack under test is real processes)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(15)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def wait(predicate, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_an_approval_is_announced_and_answered_from_telegram(launch):  # noqa: F811
    bg = Background()
    bot, hook = TelegramStandIn(TOKEN), WebhookReceiver(SECRET)
    bg.run(bot.start())
    bg.run(hook.start())
    try:
        s = launch(
            api_env={
                "TRADE_APPROVAL_MODE": "manual",
                "NOTIFY_TELEGRAM_BOT_TOKEN": TOKEN,
                "NOTIFY_TELEGRAM_CHAT_ID": CHAT,
                "NOTIFY_TELEGRAM_API_BASE": bot.base_url,
                "NOTIFY_WEBHOOK_URL": hook.url,
                "NOTIFY_WEBHOOK_SECRET": SECRET,
            }
        )
        pending = s.post(
            "/api/trade/order",
            {"instId": INST, "side": "buy", "ordType": "market", "sz": "1", "slTriggerPx": "60000", "runId": "run-n1"},
            headers={"X-AiTrader-Origin": "agent:run:run-n1"},
        )
        assert pending.status_code == 202, pending.text
        approval_id = pending.json()["approvalId"]
        wait(lambda: bot.messages, what="the Telegram alert")
        [msg] = bot.messages
        assert msg["chat"]["id"] == int(CHAT) and INST in msg["text"] and "60000" in msg["text"]
        wait(lambda: hook.received, what="the webhook alert")
        assert hook.received[0]["approvalId"] == approval_id and hook.bad_signatures == 0
        assert TOKEN not in s.api_log.read_text()  # the bot token is in every Bot API URL: never logged

        approve = msg["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        bot.press(approve, chat_id=999, message_id=msg["message_id"])  # another chat: refused
        wait(lambda: bot.answers, what="the refusal")
        assert s.get("/api/trade/approvals").json()["approvals"][0]["status"] == "pending"

        bot.press(approve, chat_id=int(CHAT), message_id=msg["message_id"], text=msg["text"])
        wait(lambda: len(bot.answers) == 2, what="the approval answer")
        assert bot.answers[1]["text"].startswith("approved"), bot.answers
        approvals = s.get("/api/trade/approvals", params={"status": "all"}).json()["approvals"]
        assert [a["status"] for a in approvals if a["id"] == approval_id] == ["approved"]
        filled = [o for o in s.sim_state()["orders"]["history"] if o["clOrdId"] == approvals[0]["clOrdId"]]
        assert len(filled) == 1
    finally:
        bg.run(bot.stop())
        bg.run(hook.stop())
        bg.close()
