"""Reading configuration: the process environment first, then `.env` at the repo root.

Both services build their frozen settings object from the mapping returned by `load_environment`.
"""

from __future__ import annotations

import io
import os
from decimal import Decimal, InvalidOperation
from pathlib import Path

from dotenv import dotenv_values

REPO_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A configuration value is invalid; the message names the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"invalid setting {variable}: {problem}")
        self.variable = variable
        self.problem = problem


def parse_env_file(text: str) -> dict[str, str]:
    """Parse a `.env` text with python-dotenv (comments, quotes, `export ` prefix, escapes, multi-line values).

    Keys without `=` carry no value and are dropped; nothing is interpolated (a secret may contain `$`).
    """
    values = dotenv_values(stream=io.StringIO(text), interpolate=False)
    return {key: value for key, value in values.items() if value is not None}


def get_database_url(env: dict[str, str], name: str = "DATABASE_URL") -> str:
    """A PostgreSQL URL, as every service accepts it (`postgresql://`, `postgres://`, `postgresql+psycopg://`).

    Returned in the plain libpq form psycopg expects; yoyo's `+psycopg` form is made by `shared.migrate`.
    Empty when unset.
    """
    url = env.get(name, "").strip()
    if not url:
        return ""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise SettingsError(name, "expected a postgresql:// URL")
    return "postgresql://" + rest


def load_environment(env_file: Path | None = None, environ: dict[str, str] | None = None) -> dict[str, str]:
    """Environment variables win over `.env`; empty values count as unset."""
    path = env_file if env_file is not None else Path(os.environ.get("AITRADER_ENV_FILE", REPO_ROOT / ".env"))
    merged: dict[str, str] = {}
    if path and Path(path).is_file():
        try:
            text = Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise SettingsError(
                "AITRADER_ENV_FILE", f"{path} is not UTF-8 text (byte {exc.start}): save it as UTF-8"
            ) from None
        merged.update(parse_env_file(text))
    merged.update(os.environ if environ is None else environ)
    return {k: v for k, v in merged.items() if v != ""}


TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


def get_bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise SettingsError(name, f"expected true/false, got {raw!r}")


def get_int(
    env: dict[str, str], name: str, default: int | None, *, minimum: int | None = None, maximum: int | None = None
) -> int | None:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(name, f"expected an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise SettingsError(name, f"must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise SettingsError(name, f"must be <= {maximum}, got {value}")
    return value


def get_float(
    env: dict[str, str], name: str, default: float | None, *, minimum: float | None = None, maximum: float | None = None
) -> float | None:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise SettingsError(name, f"expected a number, got {raw!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise SettingsError(name, f"expected a finite number, got {raw!r}")
    if minimum is not None and value < minimum:
        raise SettingsError(name, f"must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise SettingsError(name, f"must be <= {maximum}, got {value}")
    return value


def get_decimal(
    env: dict[str, str],
    name: str,
    default: Decimal | None,
    *,
    minimum: Decimal | None = None,
    maximum: Decimal | None = None,
    positive: bool = False,
) -> Decimal | None:
    """An exact decimal (money, thresholds): no float rounding between the text and the value."""
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise SettingsError(name, f"expected a number, got {raw!r}") from None
    if not value.is_finite():
        raise SettingsError(name, f"expected a finite number, got {raw!r}")
    if positive and value <= 0:
        raise SettingsError(name, f"must be > 0, got {raw!r}")
    if minimum is not None and value < minimum:
        raise SettingsError(name, f"must not be less than {minimum}, got {raw!r}")
    if maximum is not None and value > maximum:
        raise SettingsError(name, f"must be <= {maximum}, got {raw!r}")
    return value


def get_port(env: dict[str, str], name: str, default: int) -> int:
    value = get_int(env, name, default, minimum=1, maximum=65535)
    assert value is not None
    return value


def get_inst_ids(env: dict[str, str], name: str = "OKX_INST_IDS", default: str = "BTC-USDT-SWAP") -> tuple[str, ...]:
    """A comma-separated list of OKX instrument ids: upper-cased, de-duplicated, each well-formed."""
    from shared.instruments import is_valid_inst_id

    raw = env.get(name, default)
    ids = tuple(dict.fromkeys(part.strip().upper() for part in raw.split(",") if part.strip()))
    if not ids:
        raise SettingsError(name, "at least one instrument id is required")
    for inst_id in ids:
        if not is_valid_inst_id(inst_id):
            raise SettingsError(name, f"malformed instrument id {inst_id!r} (expected e.g. BTC-USDT-SWAP)")
    return ids
