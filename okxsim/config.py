"""The simulator's settings: one frozen object read from the environment and `.env`.

A bad value stops start-up with a `SettingsError` naming the variable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from okxsim.instruments import SPECS
from shared.envfile import SettingsError, get_bool, get_decimal, get_float, get_int, get_port, load_environment
from shared.instruments import is_valid_inst_id

POS_MODES = ("net_mode", "long_short_mode")

# Every variable this module reads (the lead copies them into .env.example).
ENV_VARIABLES = (
    "OKXSIM_HOST",
    "OKXSIM_PORT",
    "OKXSIM_API_KEY",
    "OKXSIM_API_SECRET",
    "OKXSIM_PASSPHRASE",
    "OKXSIM_INST_IDS",
    "OKXSIM_SEED",
    "OKXSIM_TICK_MS",
    "OKXSIM_REPLAY_FILE",
    "OKXSIM_REPLAY_SCALE",
    "OKXSIM_INITIAL_USDT",
    "OKXSIM_POS_MODE",
    "OKXSIM_WS_IDLE_SECS",
    "OKXSIM_RATE_LIMITS",
    "OKXSIM_HOLDINGS",
    "OKXSIM_ACCT_LV",
    "OKXSIM_CLORDID_LIVE_ONLY",
)
ACCT_LEVELS = ("1", "2", "3", "4")
DEFAULT_HOLDINGS = (("BTC", Decimal("0.5")), ("ETH", Decimal("5")))


@dataclass(frozen=True)
class SimConfig:
    host: str = "127.0.0.1"
    port: int = 8010
    api_key: str = "okxsim-key"
    api_secret: str = field(default="okxsim-secret", repr=False)
    passphrase: str = field(default="okxsim-pass", repr=False)
    inst_ids: tuple[str, ...] = ("BTC-USDT-SWAP", "ETH-USDT-SWAP", "SOL-USDT-SWAP")
    seed: int | None = None
    tick_ms: int = 500
    replay_file: Path | None = None
    replay_scale: Decimal = Decimal("1")
    initial_usdt: Decimal = Decimal("10000")
    pos_mode: str = "net_mode"
    # OKX closes a socket with 4004 after 30 s without a subscription or data; tests shorten it.
    ws_idle_secs: float = 30.0
    rate_limits: bool = True
    # OKX rejects requests whose timestamp is more than 30 s away from its clock.
    max_clock_skew_secs: float = 30.0
    # Minutes of 1m history generated before start (older bars are synthesised per bar).
    history_minutes: int = 4320
    # Tickers are pushed at most this often per instrument (OKX: 100 ms).
    ticker_min_interval_secs: float = 0.1
    # Coins held besides USDT (a multi-currency account: totalEq != USDT eq). Not used as margin.
    holdings: tuple[tuple[str, Decimal], ...] = DEFAULT_HOLDINGS
    # OKX account level: 1 Spot (no swaps), 2 Futures, 3 Multi-currency margin, 4 Portfolio margin.
    acct_lv: str = "2"
    # OKX frees a clOrdId when its order is terminal (True); False keeps every clOrdId taken forever.
    cl_ord_id_live_only: bool = True


def _decimal(env: dict[str, str], name: str, default: Decimal, *, positive: bool) -> Decimal:
    value = get_decimal(env, name, default, positive=positive)
    assert value is not None
    return value


def _holdings(env: dict[str, str]) -> tuple[tuple[str, Decimal], ...]:
    raw = env.get("OKXSIM_HOLDINGS")
    if raw is None:
        return DEFAULT_HOLDINGS
    out = []
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        ccy, _, amount = part.partition(":")
        try:
            value = Decimal(amount)
        except ArithmeticError:
            raise SettingsError("OKXSIM_HOLDINGS", f"expected CCY:amount pairs such as BTC:0.5, got {part!r}") from None
        if not ccy.isalnum() or not ccy.isupper() or ccy == "USDT" or not value.is_finite() or value < 0:
            raise SettingsError(
                "OKXSIM_HOLDINGS", f"expected CCY:amount pairs such as BTC:0.5 (not USDT), got {part!r}"
            )
        out.append((ccy, value))
    return tuple(out)


def config_from_env(env: dict[str, str]) -> SimConfig:
    inst_ids: tuple[str, ...] = SimConfig.inst_ids
    raw_ids = env.get("OKXSIM_INST_IDS")
    if raw_ids is not None:
        ids = [part.strip() for part in raw_ids.split(",") if part.strip()]
        if not ids:
            raise SettingsError("OKXSIM_INST_IDS", "expected at least one instrument id")
        for inst_id in ids:
            if not is_valid_inst_id(inst_id):
                raise SettingsError("OKXSIM_INST_IDS", f"malformed instrument id {inst_id!r}")
            if inst_id not in SPECS:
                raise SettingsError("OKXSIM_INST_IDS", f"no specs for {inst_id!r}; known: {', '.join(SPECS)}")
        inst_ids = tuple(dict.fromkeys(ids))
    pos_mode = env.get("OKXSIM_POS_MODE", "net_mode").strip()
    if pos_mode not in POS_MODES:
        raise SettingsError("OKXSIM_POS_MODE", f"expected net_mode or long_short_mode, got {pos_mode!r}")
    acct_lv = env.get("OKXSIM_ACCT_LV", "2").strip()
    if acct_lv not in ACCT_LEVELS:
        raise SettingsError("OKXSIM_ACCT_LV", f"expected 1, 2, 3 or 4, got {acct_lv!r}")
    replay_file: Path | None = None
    if env.get("OKXSIM_REPLAY_FILE"):
        replay_file = Path(env["OKXSIM_REPLAY_FILE"]).expanduser()
        if not replay_file.is_file():
            raise SettingsError("OKXSIM_REPLAY_FILE", f"no such file {str(replay_file)!r}")
    for name in ("OKXSIM_API_KEY", "OKXSIM_API_SECRET", "OKXSIM_PASSPHRASE"):
        if name in env and not env[name].strip():
            raise SettingsError(name, "must not be blank")
    return SimConfig(
        host=env.get("OKXSIM_HOST", "127.0.0.1").strip(),
        port=get_port(env, "OKXSIM_PORT", 8010),
        api_key=env.get("OKXSIM_API_KEY", "okxsim-key"),
        api_secret=env.get("OKXSIM_API_SECRET", "okxsim-secret"),
        passphrase=env.get("OKXSIM_PASSPHRASE", "okxsim-pass"),
        inst_ids=inst_ids,
        seed=get_int(env, "OKXSIM_SEED", None),
        tick_ms=get_int(env, "OKXSIM_TICK_MS", 500, minimum=100, maximum=3_600_000) or 500,
        replay_file=replay_file,
        replay_scale=_decimal(env, "OKXSIM_REPLAY_SCALE", Decimal("1"), positive=True),
        initial_usdt=_decimal(env, "OKXSIM_INITIAL_USDT", Decimal("10000"), positive=True),
        pos_mode=pos_mode,
        ws_idle_secs=get_float(env, "OKXSIM_WS_IDLE_SECS", 30.0, minimum=0.1) or 30.0,
        rate_limits=get_bool(env, "OKXSIM_RATE_LIMITS", True),
        holdings=_holdings(env),
        acct_lv=acct_lv,
        cl_ord_id_live_only=get_bool(env, "OKXSIM_CLORDID_LIVE_ONLY", True),
    )


def load_config() -> SimConfig:
    return config_from_env(load_environment())
