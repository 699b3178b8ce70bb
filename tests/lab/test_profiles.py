"""Strategy profiles (pure): the first version from the environment, diffs, sweep variants."""

from __future__ import annotations

import msgspec
import pytest

from api_server.lab.profiles import ProfileSpec, decode_spec, diff_specs, spec_from_env, spec_json, with_settings


def test_first_version_mirrors_the_environment():
    env = {
        "OKX_INST_IDS": "BTC-USDT-SWAP,ETH-USDT-SWAP",
        "OKX_TICKER_BAR": "15m",
        "STRATEGY_SCHEDULE_INTERVAL_SECS": "300",
        "STRATEGY_VOL_TRIGGER_ENABLED": "true",
        "STRATEGY_VOL_THRESHOLD_BPS": "55",
        "STRATEGY_VOL_WINDOW_SECS": "120",
        "RISK_MAX_LEVERAGE": "3",
        "TRADE_APPROVAL_MODE": "manual",
    }
    spec = spec_from_env(env)
    assert spec.inst_ids == ["BTC-USDT-SWAP", "ETH-USDT-SWAP"] and spec.bar == "15m"
    assert (spec.schedule.enabled, spec.schedule.interval_secs) == (True, 300)
    assert (spec.volatility.enabled, spec.volatility.threshold_bps, spec.volatility.window_secs) == (True, 55.0, 120)
    assert (spec.risk.max_leverage, spec.risk.approval_mode) == (3.0, "manual")
    assert spec.llm.provider == "offline"  # no DEEPSEEK_API_KEY
    assert spec_from_env({"DEEPSEEK_API_KEY": "k"}).llm.provider == "deepseek"
    assert decode_spec(spec_json(spec)) == spec  # what is stored reads back the same


def test_diff_and_sweep_variants():
    base = ProfileSpec()
    variant = with_settings(base, {"volatility.thresholdBps": 60, "prompt": "be brief", "llm.model": "m1"})
    assert diff_specs(base, variant) == [
        {"path": "llm.model", "from": None, "to": "m1"},
        {"path": "prompt", "from": None, "to": "be brief"},
        {"path": "volatility.thresholdBps", "from": 80.0, "to": 60.0},
    ]
    with pytest.raises(msgspec.ValidationError):
        with_settings(base, {"volatility.treshold": 60})
    with pytest.raises((ValueError, msgspec.ValidationError)):
        with_settings(base, {"volatility.thresholdBps": -1})
