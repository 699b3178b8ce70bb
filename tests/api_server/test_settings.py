from decimal import Decimal

import pytest

from api_server.settings import load_settings
from shared.envfile import SettingsError


def load(**env):
    return load_settings(environ=env, env_file="/dev/null")


def test_defaults_follow_the_contract():
    s = load()
    assert s.okx_use_simulated is True
    assert s.okx_ticker_bar == "3m"
    assert s.okx_inst_ids == ("BTC-USDT-SWAP",)
    assert s.okx_ws_public_url == "wss://wspap.okx.com:8443/ws/v5/public"
    assert s.agent_base_url == "http://127.0.0.1:8001"
    assert s.balance_snapshot_min_abs_change == Decimal("1")
    assert s.balance_snapshot_min_relative_change == Decimal("0.0001")
    assert s.strategy_schedule_interval_secs == 60
    assert s.strategy_vol_trigger_enabled is False
    assert s.strategy_vol_threshold_bps == 80
    assert s.strategy_vol_window_secs is None
    assert (s.api_port, s.api_host) == (8000, "127.0.0.1")


def test_live_trading_needs_the_explicit_confirmation():
    with pytest.raises(SettingsError) as info:
        load(OKX_USE_SIMULATED="false")
    assert info.value.variable == "OKX_LIVE_TRADING_CONFIRM"
    with pytest.raises(SettingsError):
        load(OKX_USE_SIMULATED="false", OKX_LIVE_TRADING_CONFIRM="yes")
    live = load(OKX_USE_SIMULATED="false", OKX_LIVE_TRADING_CONFIRM="I_ACCEPT_REAL_MONEY_RISK")
    assert live.okx_use_simulated is False
    assert live.okx_ws_public_url == "wss://ws.okx.com:8443/ws/v5/public"


def test_inst_ids_are_normalised():
    assert load(OKX_INST_IDS=" btc-usdt-swap, ETH-USDT-SWAP ,BTC-USDT-SWAP").okx_inst_ids == (
        "BTC-USDT-SWAP",
        "ETH-USDT-SWAP",
    )


@pytest.mark.parametrize(
    "variable,value",
    [
        ("OKX_TICKER_BAR", "7m"),
        ("OKX_INST_IDS", "BTC_USDT"),
        ("OKX_USE_SIMULATED", "perhaps"),
        ("API_PORT", "80000"),
        ("STRATEGY_SCHEDULE_INTERVAL_SECS", "soon"),
        ("STRATEGY_VOL_THRESHOLD_BPS", "-1"),
        ("INITIAL_EQUITY", "lots"),
        ("INITIAL_EQUITY", "-5"),
        ("BALANCE_SNAPSHOT_MIN_ABS_CHANGE", "x"),
        ("OKX_BASE_URL", "ftp://x"),
        ("DATABASE_URL", "mysql://x"),
        ("API_TOKEN", "short"),
        ("LOG_FORMAT", "xml"),
        ("RISK_MAX_LEVERAGE", "lots"),
        ("TRADE_APPROVAL_MODE", "sometimes"),
        ("ACCOUNT_SYNC_INTERVAL_SECS", "0"),
        ("SCHEDULER_LEADER_POLL_SECS", "30"),
    ],
)
def test_bad_value_names_the_variable(variable, value):
    with pytest.raises(SettingsError) as info:
        load(**{variable: value})
    assert info.value.variable == variable


def test_partial_okx_credentials_name_the_missing_one():
    with pytest.raises(SettingsError) as info:
        load(OKX_API_KEY="only-the-key")
    assert info.value.variable == "OKX_API_SECRET"


def test_secrets_are_not_in_repr():
    s = load(OKX_API_KEY="k" * 10, OKX_API_SECRET="s3cr3tvalue", OKX_PASSPHRASE="pp-secret")
    assert "s3cr3tvalue" not in repr(s) and "pp-secret" not in repr(s)


def test_risk_limits_allow_list_is_the_configured_instruments():
    s = load(OKX_INST_IDS="BTC-USDT-SWAP,ETH-USDT-SWAP", RISK_MAX_LEVERAGE="5")
    assert s.risk.allowed_inst_ids == frozenset({"BTC-USDT-SWAP", "ETH-USDT-SWAP"})
    assert s.risk.max_leverage == 5
