"""Logging for every process: readable text by default, one JSON object per line with LOG_FORMAT=json.

Every configured secret is masked in the final formatted line (message, arguments and exception text alike), so a
secret that slips into a log never reaches it. The known secrets are those passed to `configure_logging`, every
secret-named variable of the environment and the env file (OKX key/secret/passphrase, API_TOKEN, the LLM key,
tokens, passwords) and the password inside any `*_URL` (the database's), plus whatever `register_secret` adds
at run time (e.g. an MCP token shown once when it is created).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from typing import IO
from urllib.parse import unquote, urlsplit

MASK = "***"
MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words
# Environment names whose value is a secret: OKX_API_KEY, OKX_API_SECRET, OKX_PASSPHRASE, API_TOKEN,
# DEEPSEEK_API_KEY, LLM_API_KEY, MCP_TOKENS, POSTGRES_PASSWORD, TELEGRAM_BOT_TOKEN, WEBHOOK_SECRET, ...
SECRET_NAME = re.compile(
    r"(^|_)(API_?KEY|KEY|SECRET|PASSPHRASE|PASSWORD|PASS|TOKEN|TOKENS)(_|$)|_PASSWORD", re.IGNORECASE
)
NOT_SECRET_NAME = re.compile(
    r"_(FILE|PATH|URL|HEADER|NAME|ID|IDS|MODE|TTL|SECS)$|(^|_)(MAX|MIN|LIMIT)(_|$)", re.IGNORECASE
)
NOT_SECRET_VALUE = re.compile(r"^(\d+(\.\d+)?|true|false|yes|no|on|off)$", re.IGNORECASE)  # numbers and switches


class SecretRegistry:
    """The values to mask; thread-safe, shared by every handler of the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: tuple[str, ...] = ()

    def add(self, *values: str | None) -> None:
        with self._lock:
            known = set(self._values)
            for value in values:
                for variant in _variants(value):
                    known.add(variant)
            # Longest first, so a secret containing another is masked whole.
            self._values = tuple(sorted(known, key=len, reverse=True))

    def redact(self, text: str) -> str:
        for secret in self._values:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def __len__(self) -> int:
        return len(self._values)


def _variants(value: str | None) -> set[str]:
    if not value:
        return set()
    value = str(value).strip()
    found = {value, unquote(value)}
    return {v for v in found if len(v) >= MIN_SECRET_LENGTH}


def url_password(url: str) -> str | None:
    """The password of `scheme://user:password@host/...` (None when there is none)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return parts.password if parts.scheme and parts.password else None


def secrets_in_environment(env: Mapping[str, str]) -> list[str]:
    """Every secret value the environment holds: secret-named variables and passwords inside URLs."""
    found: list[str] = []
    for name, value in env.items():
        if not value:
            continue
        if "://" in value:
            password = url_password(value)
            if password:
                found.append(password)
            continue
        if SECRET_NAME.search(name) and not NOT_SECRET_NAME.search(name) and not NOT_SECRET_VALUE.match(value.strip()):
            # Lists of tokens (MCP_TOKENS="name:token,name2:token2") are masked item by item as well.
            found.append(value)
            for item in re.split(r"[,\s]+", value):
                found.append(item.rpartition(":")[2] if ":" in item else item)
    return found


REGISTRY = SecretRegistry()


def register_secret(*values: str | None) -> None:
    """Mask these values from now on in every log line of this process."""
    REGISTRY.add(*values)


class RedactingFormatter(logging.Formatter):
    """Formats with `inner`, then masks every secret in the finished line (exception text and stack included)."""

    def __init__(self, inner: logging.Formatter, registry: SecretRegistry = REGISTRY) -> None:
        super().__init__()
        self.inner = inner
        self.registry = registry

    def format(self, record: logging.LogRecord) -> str:
        return self.registry.redact(self.inner.format(record))


class RedactSecrets(logging.Filter):
    """For handlers we do not format ourselves: masks the message (use RedactingFormatter where possible)."""

    def __init__(self, secrets: Iterable[str], registry: SecretRegistry | None = None) -> None:
        super().__init__()
        self.registry = registry or SecretRegistry()
        self.registry.add(*secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.registry.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


def _environment() -> dict[str, str]:
    try:
        from shared.envfile import load_environment

        return load_environment()
    except Exception:  # noqa: BLE001 - an unreadable env file must not stop logging; the services report it
        import os

        return dict(os.environ)


def configure_logging(
    level: str = "INFO",
    fmt: str = "text",
    secrets: Iterable[str | None] = (),
    environment: Mapping[str, str] | None = None,
    stream: IO[str] | None = None,
) -> logging.Handler:
    """One stderr handler on the root logger whose every line is redacted; returns it."""
    REGISTRY.add(*secrets)
    REGISTRY.add(*secrets_in_environment(_environment() if environment is None else environment))
    handler = logging.StreamHandler(stream or sys.stderr)
    inner = JsonFormatter() if fmt == "json" else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler.setFormatter(RedactingFormatter(inner))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler


__all__ = [
    "configure_logging",
    "register_secret",
    "secrets_in_environment",
    "RedactingFormatter",
    "RedactSecrets",
    "JsonFormatter",
    "SecretRegistry",
    "REGISTRY",
    "MASK",
]
