"""Agent settings: defaults, provider choice, and errors naming the variable."""

from __future__ import annotations

import pytest

from agent.settings import ENV_VARIABLES, settings_from_env
from shared.envfile import SettingsError

BASE = {"API_TOKEN": "secret-token", "DATABASE_URL": "postgresql://u@127.0.0.1:5432/db"}


def test_defaults() -> None:
    s = settings_from_env(BASE)
    assert (s.agent_host, s.agent_port) == ("127.0.0.1", 8001)
    assert s.api_base_url == "http://127.0.0.1:8000"
    assert s.deepseek_base_url == "https://api.deepseek.com" and s.deepseek_model == "deepseek-flash"
    assert s.llm_provider == "offline" and s.llm_total_timeout_secs == 300
    assert s.okx_inst_ids == ("BTC-USDT-SWAP",) and s.okx_ticker_bar == "3m"
    assert s.llm_daily_budget_usd is None
    assert s.llm_base_url == "http://127.0.0.1:8001/offline/v1"


def test_deepseek_chosen_when_key_set_and_secrets_hidden() -> None:
    s = settings_from_env({**BASE, "DEEPSEEK_API_KEY": "sk-live-123", "AGENT_HOST": "0.0.0.0"})
    assert s.llm_provider == "deepseek" and s.llm_base_url == "https://api.deepseek.com"
    assert s.llm_api_key == "sk-live-123"
    assert "sk-live-123" not in repr(s) and "secret-token" not in repr(s)
    assert s.self_base_url == "http://127.0.0.1:8001"


def test_lists_and_words_are_parsed() -> None:
    s = settings_from_env({**BASE, "OKX_INST_IDS": "BTC-USDT-SWAP, ETH-USDT-SWAP", "LOG_FORMAT": "JSON", "LOG_LEVEL": "debug",
                           "LLM_DAILY_BUDGET_USD": "2.5"})
    assert s.okx_inst_ids == ("BTC-USDT-SWAP", "ETH-USDT-SWAP")
    assert (s.log_format, s.log_level, s.llm_daily_budget_usd) == ("json", "DEBUG", 2.5)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AGENT_PORT", "eighty"), ("AGENT_PORT", "70000"), ("OKX_TICKER_BAR", "7m"), ("OKX_INST_IDS", "btc-usdt"),
        ("LLM_MAX_STEPS", "0"), ("LLM_DAILY_BUDGET_USD", "-1"), ("API_BASE_URL", "localhost:8000"),
        ("LLM_PRICE_OUTPUT_PER_MTOK", "cheap"), ("LOG_FORMAT", "xml"), ("DATABASE_URL", "mysql://x"),
        ("LLM_PROVIDER", "openai"), ("AGENT_MEMORY_TOKEN_BUDGET", "10"),
    ],
)
def test_bad_value_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as info:
        settings_from_env({**BASE, variable: value})
    assert info.value.variable == variable
    assert variable in str(info.value)


@pytest.mark.parametrize("missing", ["API_TOKEN", "DATABASE_URL"])
def test_required_variables(missing: str) -> None:
    env = dict(BASE)
    del env[missing]
    with pytest.raises(SettingsError, match=missing):
        settings_from_env(env)


def test_deepseek_without_key_is_refused() -> None:
    with pytest.raises(SettingsError, match="DEEPSEEK_API_KEY"):
        settings_from_env({**BASE, "LLM_PROVIDER": "deepseek"})


def test_every_variable_of_the_brief_is_read() -> None:
    wanted = {"AGENT_HOST", "AGENT_PORT", "API_TOKEN", "API_BASE_URL", "DATABASE_URL", "DEEPSEEK_API_KEY", "DEEPSEEK_BASE_URL",
              "DEEPSEEK_MODEL", "LLM_PROVIDER", "LLM_MAX_STEPS", "LLM_CALL_TIMEOUT_SECS", "LLM_TOTAL_TIMEOUT_SECS",
              "LLM_MAX_RETRIES", "LLM_DAILY_BUDGET_USD", "LLM_PRICE_INPUT_PER_MTOK", "LLM_PRICE_CACHED_INPUT_PER_MTOK",
              "LLM_PRICE_OUTPUT_PER_MTOK", "AGENT_MEMORY_TOKEN_BUDGET", "OKX_INST_IDS", "OKX_TICKER_BAR", "LOG_FORMAT"}
    assert wanted <= set(ENV_VARIABLES)
