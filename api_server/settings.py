"""The trading API's settings: one frozen object, read once from the environment and `.env`.

A bad value stops start-up with a `SettingsError` naming the variable.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal

from api_server.notify.settings import NotifySettings, load_notify_settings
from api_server.trading.risk import RiskLimits
from shared.envfile import (
    SettingsError,
    get_bool,
    get_database_url,
    get_decimal,
    get_float,
    get_inst_ids,
    get_int,
    get_port,
    load_environment,
)
from shared.instruments import CANDLE_BARS

OKX_PUBLIC_URL = "https://www.okx.com"
LIVE_TRADING_CONFIRMATION = "I_ACCEPT_REAL_MONEY_RISK"
OKX_WS_LIVE = "wss://ws.okx.com:8443/ws/v5/public"
OKX_WS_DEMO = "wss://wspap.okx.com:8443/ws/v5/public"


@dataclass(frozen=True)
class Settings:
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_token: str = ""
    database_url: str = ""
    okx_api_key: str = field(default="", repr=False)
    okx_api_secret: str = field(default="", repr=False)
    okx_passphrase: str = field(default="", repr=False)
    okx_use_simulated: bool = True
    okx_base_url: str = OKX_PUBLIC_URL
    okx_ws_public_url: str = OKX_WS_DEMO
    okx_ticker_bar: str = "3m"
    okx_inst_ids: tuple[str, ...] = ("BTC-USDT-SWAP",)
    okx_timeout_secs: float = 10.0
    okx_max_retries: int = 4
    okx_ws_ping_secs: float = 25.0
    okx_ws_stale_secs: float = 60.0
    okx_rest_poll_secs: float = 2.0
    agent_base_url: str = "http://127.0.0.1:8001"
    agent_timeout_secs: float = 300.0
    initial_equity: Decimal | None = None
    balance_snapshot_min_abs_change: Decimal = Decimal("1")
    balance_snapshot_min_relative_change: Decimal = Decimal("0.0001")
    balance_snapshot_interval_secs: float = 60.0
    strategy_schedule_enabled: bool = False
    strategy_schedule_interval_secs: int = 60
    strategy_vol_trigger_enabled: bool = False
    strategy_vol_threshold_bps: float = 80.0
    strategy_vol_window_secs: int | None = None
    strategy_max_consecutive_failures: int = 5
    strategy_agent_ready_wait_secs: float = 30.0
    scheduler_leader_poll_secs: float = 2.0
    account_sync_interval_secs: float = 10.0
    risk: RiskLimits | None = None  # RISK_* and TRADE_APPROVAL_MODE; the allow-list is OKX_INST_IDS
    notify: NotifySettings = field(default_factory=NotifySettings)  # NOTIFY_*: alert channels
    cors_origins: tuple[str, ...] = ()
    stream_max_clients: int = 100  # API_STREAM_MAX_CLIENTS: open /api/stream connections at most (more get 503)
    log_format: str = "text"
    log_level: str = "INFO"

    @property
    def has_okx_credentials(self) -> bool:
        return bool(self.okx_api_key and self.okx_api_secret and self.okx_passphrase)


def _decimal(env: dict[str, str], name: str, default: Decimal | None) -> Decimal | None:
    """A money amount or threshold: exact, never negative."""
    return get_decimal(env, name, default, minimum=Decimal(0))


def _url(env: dict[str, str], name: str, default: str, schemes: tuple[str, ...]) -> str:
    value = env.get(name, default).strip().rstrip("/")
    if not value.startswith(schemes):
        raise SettingsError(name, f"expected a URL starting with {' or '.join(schemes)}, got {value!r}")
    return value


def load_settings(environ: dict[str, str] | None = None, env_file=None) -> Settings:
    env = load_environment(env_file, environ)
    simulated = get_bool(env, "OKX_USE_SIMULATED", True)
    bar = env.get("OKX_TICKER_BAR", "3m").strip()
    if bar not in CANDLE_BARS:
        raise SettingsError("OKX_TICKER_BAR", f"unknown bar {bar!r}; one of {', '.join(CANDLE_BARS)}")
    # Real money only when a user says so twice: OKX_USE_SIMULATED=false AND this explicit confirmation.
    if not simulated and env.get("OKX_LIVE_TRADING_CONFIRM", "") != LIVE_TRADING_CONFIRMATION:
        raise SettingsError(
            "OKX_LIVE_TRADING_CONFIRM",
            f"OKX_USE_SIMULATED=false trades real money; set OKX_LIVE_TRADING_CONFIRM={LIVE_TRADING_CONFIRMATION} to confirm",
        )
    log_format = env.get("LOG_FORMAT", "text").strip().lower()
    if log_format not in ("text", "json"):
        raise SettingsError("LOG_FORMAT", f"expected text or json, got {log_format!r}")
    log_level = env.get("LOG_LEVEL", "INFO").strip().upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError("LOG_LEVEL", f"expected DEBUG, INFO, WARNING or ERROR, got {log_level!r}")
    token = env.get("API_TOKEN", "")
    if token and len(token) < 16:
        raise SettingsError("API_TOKEN", "must be at least 16 characters")
    database_url = get_database_url(env)
    key, secret, passphrase = env.get("OKX_API_KEY", ""), env.get("OKX_API_SECRET", ""), env.get("OKX_PASSPHRASE", "")
    if any((key, secret, passphrase)) and not all((key, secret, passphrase)):
        missing = [
            n for n, v in (("OKX_API_KEY", key), ("OKX_API_SECRET", secret), ("OKX_PASSPHRASE", passphrase)) if not v
        ]
        raise SettingsError(missing[0], "OKX_API_KEY, OKX_API_SECRET and OKX_PASSPHRASE must be set together")
    origins = tuple(o.strip().rstrip("/") for o in env.get("CORS_ORIGINS", "").split(",") if o.strip())
    inst_ids = get_inst_ids(env)
    return Settings(
        api_host=env.get("API_HOST", "127.0.0.1"),
        api_port=get_port(env, "API_PORT", 8000),
        api_token=token,
        database_url=database_url,
        okx_api_key=key,
        okx_api_secret=secret,
        okx_passphrase=passphrase,
        okx_use_simulated=simulated,
        okx_base_url=_url(env, "OKX_BASE_URL", OKX_PUBLIC_URL, ("http://", "https://")),
        okx_ws_public_url=_url(
            env, "OKX_WS_PUBLIC_URL", OKX_WS_DEMO if simulated else OKX_WS_LIVE, ("ws://", "wss://")
        ),
        okx_ticker_bar=bar,
        okx_inst_ids=inst_ids,
        okx_timeout_secs=get_float(env, "OKX_TIMEOUT_SECS", 10.0, minimum=0.1, maximum=120),
        okx_max_retries=get_int(env, "OKX_MAX_RETRIES", 4, minimum=0, maximum=10),
        okx_ws_ping_secs=get_float(env, "OKX_WS_PING_SECS", 25.0, minimum=0.05, maximum=29),
        okx_ws_stale_secs=get_float(env, "OKX_WS_STALE_SECS", 60.0, minimum=0.1, maximum=3600),
        okx_rest_poll_secs=get_float(env, "OKX_REST_POLL_SECS", 2.0, minimum=0.05, maximum=600),
        agent_base_url=_url(env, "AGENT_BASE_URL", "http://127.0.0.1:8001", ("http://", "https://")),
        agent_timeout_secs=get_float(env, "AGENT_TIMEOUT_SECS", 300.0, minimum=0.1, maximum=3600),
        initial_equity=_decimal(env, "INITIAL_EQUITY", None),
        balance_snapshot_min_abs_change=_decimal(env, "BALANCE_SNAPSHOT_MIN_ABS_CHANGE", Decimal("1")),
        balance_snapshot_min_relative_change=_decimal(env, "BALANCE_SNAPSHOT_MIN_RELATIVE_CHANGE", Decimal("0.0001")),
        balance_snapshot_interval_secs=get_float(
            env, "BALANCE_SNAPSHOT_INTERVAL_SECS", 60.0, minimum=0.05, maximum=86400
        ),
        strategy_schedule_enabled=get_bool(env, "STRATEGY_SCHEDULE_ENABLED", False),
        strategy_schedule_interval_secs=get_int(env, "STRATEGY_SCHEDULE_INTERVAL_SECS", 60, minimum=1),
        strategy_vol_trigger_enabled=get_bool(env, "STRATEGY_VOL_TRIGGER_ENABLED", False),
        strategy_vol_threshold_bps=get_float(env, "STRATEGY_VOL_THRESHOLD_BPS", 80.0, minimum=0.01, maximum=100_000),
        strategy_vol_window_secs=get_int(env, "STRATEGY_VOL_WINDOW_SECS", None, minimum=0),
        strategy_max_consecutive_failures=get_int(env, "STRATEGY_MAX_CONSECUTIVE_FAILURES", 5, minimum=1),
        strategy_agent_ready_wait_secs=get_float(env, "STRATEGY_AGENT_READY_WAIT_SECS", 30.0, minimum=0, maximum=600),
        scheduler_leader_poll_secs=get_float(env, "SCHEDULER_LEADER_POLL_SECS", 2.0, minimum=0.05, maximum=9.0),
        account_sync_interval_secs=get_float(env, "ACCOUNT_SYNC_INTERVAL_SECS", 10.0, minimum=0.05, maximum=3600),
        risk=dataclasses.replace(RiskLimits.from_env(env), allowed_inst_ids=frozenset(inst_ids)),
        notify=load_notify_settings(env),
        cors_origins=origins,
        stream_max_clients=get_int(env, "API_STREAM_MAX_CLIENTS", 100, minimum=1, maximum=10000),
        log_format=log_format,
        log_level=log_level,
    )
