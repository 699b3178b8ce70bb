"""Settings from the environment: defaults, and bad values named by variable."""

from __future__ import annotations

from decimal import Decimal

import pytest

from okxsim.config import SimConfig, config_from_env
from shared.envfile import SettingsError
from tests.helpers import REPO_ROOT


def test_defaults():
    config = config_from_env({})
    assert config == SimConfig()
    assert (config.host, config.port, config.api_key, config.tick_ms, config.pos_mode) == (
        "127.0.0.1",
        8010,
        "okxsim-key",
        500,
        "net_mode",
    )
    assert config.inst_ids == ("BTC-USDT-SWAP", "ETH-USDT-SWAP", "SOL-USDT-SWAP") and config.initial_usdt == Decimal(
        10000
    )
    assert "okxsim-secret" not in repr(config) and "okxsim-pass" not in repr(config)


def test_values_are_read():
    config = config_from_env(
        {
            "OKXSIM_HOST": "0.0.0.0",
            "OKXSIM_PORT": "9001",
            "OKXSIM_INST_IDS": "XRP-USDT-SWAP, BTC-USDT-SWAP",
            "OKXSIM_SEED": "5",
            "OKXSIM_TICK_MS": "100",
            "OKXSIM_REPLAY_FILE": str(REPO_ROOT / "data/candles/freqtrade_XRP_USDT_USDT-5m-futures.json"),
            "OKXSIM_REPLAY_SCALE": "2",
            "OKXSIM_INITIAL_USDT": "500.5",
            "OKXSIM_POS_MODE": "long_short_mode",
            "OKXSIM_WS_IDLE_SECS": "2",
            "OKXSIM_RATE_LIMITS": "false",
        }
    )
    assert config.inst_ids == ("XRP-USDT-SWAP", "BTC-USDT-SWAP") and config.seed == 5 and config.tick_ms == 100
    assert config.replay_scale == 2 and config.initial_usdt == Decimal("500.5") and config.pos_mode == "long_short_mode"
    assert config.ws_idle_secs == 2 and config.rate_limits is False and config.replay_file.name.endswith("futures.json")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OKXSIM_PORT", "http"),
        ("OKXSIM_INST_IDS", "BTC-USDT-SWAP,LTC-USDT-SWAP"),
        ("OKXSIM_INST_IDS", "btc"),
        ("OKXSIM_TICK_MS", "99"),
        ("OKXSIM_REPLAY_FILE", "/no/such/file.json"),
        ("OKXSIM_REPLAY_SCALE", "0"),
        ("OKXSIM_INITIAL_USDT", "lots"),
        ("OKXSIM_POS_MODE", "hedge"),
        ("OKXSIM_SEED", "x"),
        ("OKXSIM_RATE_LIMITS", "maybe"),
    ],
)
def test_bad_values_name_the_variable(name, value):
    with pytest.raises(SettingsError) as exc:
        config_from_env({name: value})
    assert exc.value.variable == name
