"""Notification settings (NOTIFY_*), read like every other setting: from the environment mapping, through the
shared loaders, into a frozen object; a bad value is a SettingsError naming the variable."""

from __future__ import annotations

from dataclasses import dataclass

from api_server.notify.alerts import ALERT_KINDS
from shared.envfile import SettingsError


@dataclass(frozen=True)
class NotifySettings:
    telegram_bot_token: str = ""
    telegram_chat_id: str = ""
    telegram_api_base: str = "https://api.telegram.org"
    webhook_url: str = ""
    webhook_secret: str = ""
    kinds: tuple[str, ...] = ALERT_KINDS

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token and self.telegram_chat_id)

    @property
    def webhook_enabled(self) -> bool:
        return bool(self.webhook_url)


def load_notify_settings(env: dict[str, str]) -> NotifySettings:
    token = env.get("NOTIFY_TELEGRAM_BOT_TOKEN", "").strip()
    chat = env.get("NOTIFY_TELEGRAM_CHAT_ID", "").strip()
    if bool(token) != bool(chat):
        missing = "NOTIFY_TELEGRAM_CHAT_ID" if token else "NOTIFY_TELEGRAM_BOT_TOKEN"
        raise SettingsError(missing, "NOTIFY_TELEGRAM_BOT_TOKEN and NOTIFY_TELEGRAM_CHAT_ID must be set together")
    if chat and not chat.lstrip("-").isdigit():
        raise SettingsError("NOTIFY_TELEGRAM_CHAT_ID", "expected a numeric chat id")
    base = env.get("NOTIFY_TELEGRAM_API_BASE", "https://api.telegram.org").strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise SettingsError("NOTIFY_TELEGRAM_API_BASE", "expected an http(s) URL")
    url = env.get("NOTIFY_WEBHOOK_URL", "").strip()
    if url and not url.startswith(("http://", "https://")):
        raise SettingsError("NOTIFY_WEBHOOK_URL", "expected an http(s) URL")
    secret = env.get("NOTIFY_WEBHOOK_SECRET", "")
    if url and len(secret) < 16:
        raise SettingsError("NOTIFY_WEBHOOK_SECRET", "must be at least 16 characters when NOTIFY_WEBHOOK_URL is set")
    raw_kinds = env.get("NOTIFY_EVENTS", "").strip()
    kinds = ALERT_KINDS
    if raw_kinds:
        kinds = tuple(dict.fromkeys(k.strip().lower() for k in raw_kinds.split(",") if k.strip()))
        unknown = [k for k in kinds if k not in ALERT_KINDS]
        if unknown:
            raise SettingsError(
                "NOTIFY_EVENTS", f"unknown alert kind(s) {', '.join(unknown)}; known: {', '.join(ALERT_KINDS)}"
            )
    return NotifySettings(token, chat, base, url, secret, kinds)
