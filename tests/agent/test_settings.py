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
    assert s.llm_daily_budget_usd == 5.0  # a default cap, documented in README
    assert s.base_url == "http://127.0.0.1:8001/offline/v1"
    assert (s.llm_max_concurrent_turns, s.llm_thinking, s.llm_max_tokens) == (2, "auto", None)


def test_deepseek_chosen_when_key_set_and_secrets_hidden() -> None:
    s = settings_from_env({**BASE, "DEEPSEEK_API_KEY": "sk-live-123", "AGENT_HOST": "0.0.0.0"})
    assert s.llm_provider == "deepseek" and s.base_url == "https://api.deepseek.com"
    assert s.api_key == "sk-live-123" and s.model == "deepseek-flash"
    assert "sk-live-123" not in repr(s) and "secret-token" not in repr(s)
    assert s.self_base_url == "http://127.0.0.1:8001"


def test_lists_and_words_are_parsed() -> None:
    s = settings_from_env(
        {
            **BASE,
            "OKX_INST_IDS": "BTC-USDT-SWAP, ETH-USDT-SWAP",
            "LOG_FORMAT": "JSON",
            "LOG_LEVEL": "debug",
            "LLM_DAILY_BUDGET_USD": "2.5",
        }
    )
    assert s.okx_inst_ids == ("BTC-USDT-SWAP", "ETH-USDT-SWAP")
    assert (s.log_format, s.log_level, s.llm_daily_budget_usd) == ("json", "DEBUG", 2.5)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AGENT_PORT", "eighty"),
        ("AGENT_PORT", "70000"),
        ("OKX_TICKER_BAR", "7m"),
        ("OKX_INST_IDS", "btc usdt"),
        ("LLM_MAX_STEPS", "0"),
        ("LLM_DAILY_BUDGET_USD", "-1"),
        ("API_BASE_URL", "localhost:8000"),
        ("LLM_PRICE_OUTPUT_PER_MTOK", "cheap"),
        ("LOG_FORMAT", "xml"),
        ("DATABASE_URL", "mysql://x"),
        ("LLM_PROVIDER", "bard"),
        ("AGENT_MEMORY_TOKEN_BUDGET", "10"),
        ("LLM_PRICES", "{bad json"),
        ("LLM_PRICES", '{"m": {"input": -1, "output": 1}}'),
        ("LLM_THINKING", "maybe"),
        ("LLM_MAX_TOKENS", "0"),
        ("LLM_REASONING_EFFORT", "extreme"),
        ("LLM_MAX_CONCURRENT_TURNS", "0"),
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


def test_same_lists_and_urls_as_the_api() -> None:
    """Shared loaders (issue 15): lower-case instrument ids and SQLAlchemy-style URLs are accepted like the API does."""
    s = settings_from_env(
        {
            **BASE,
            "OKX_INST_IDS": "btc-usdt-swap,eth-usdt-swap,BTC-USDT-SWAP",
            "DATABASE_URL": "postgresql+psycopg://u@127.0.0.1:5432/db",
        }
    )
    assert s.okx_inst_ids == ("BTC-USDT-SWAP", "ETH-USDT-SWAP")
    assert s.database_url == "postgresql://u@127.0.0.1:5432/db"


@pytest.mark.parametrize(
    ("env", "base_url", "model", "key"),
    [
        (
            {
                "LLM_PROVIDER": "openai",
                "LLM_API_KEY": "sk-o",
                "LLM_MODEL": "gpt-x",
                "LLM_PRICES": '{"gpt-x": {"input": 1, "output": 4}}',
            },
            "https://api.openai.com/v1",
            "gpt-x",
            "sk-o",
        ),
        (
            {
                "LLM_PROVIDER": "qwen",
                "LLM_API_KEY": "sk-q",
                "LLM_MODEL": "qwen-plus",
                "LLM_PRICES": '{"qwen-plus": {"input": 0.4, "output": 1.2}}',
            },
            "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
            "qwen-plus",
            "sk-q",
        ),
        ({"LLM_PROVIDER": "ollama", "LLM_MODEL": "llama3.1"}, "http://127.0.0.1:11434/v1", "llama3.1", "not-needed"),
        (
            {"LLM_PROVIDER": "vllm", "LLM_MODEL": "qwen3", "LLM_BASE_URL": "http://gpu:8000/v1"},
            "http://gpu:8000/v1",
            "qwen3",
            "not-needed",
        ),
        (
            {"LLM_PROVIDER": "deepseek", "LLM_API_KEY": "sk-d", "LLM_MODEL": "deepseek-v4-pro"},
            "https://api.deepseek.com",
            "deepseek-v4-pro",
            "sk-d",
        ),
    ],
)
def test_any_openai_compatible_provider(env: dict[str, str], base_url: str, model: str, key: str) -> None:
    s = settings_from_env({**BASE, **env})
    assert (s.llm_provider, s.base_url, s.model, s.api_key) == (env["LLM_PROVIDER"], base_url, model, key)


def test_a_paid_model_without_a_price_is_refused() -> None:
    """Else the daily budget could not be kept: the call would count as free."""
    with pytest.raises(SettingsError) as info:
        settings_from_env({**BASE, "LLM_PROVIDER": "openai", "LLM_API_KEY": "sk", "LLM_MODEL": "gpt-unknown"})
    assert info.value.variable == "LLM_PRICES" and "gpt-unknown" in str(info.value)
    with pytest.raises(SettingsError, match="LLM_MODEL"):
        settings_from_env({**BASE, "LLM_PROVIDER": "ollama"})


def test_thinking_effort_and_max_tokens_reach_the_request() -> None:
    s = settings_from_env(
        {
            **BASE,
            "DEEPSEEK_API_KEY": "sk",
            "LLM_THINKING": "off",
            "LLM_REASONING_EFFORT": "low",
            "LLM_MAX_TOKENS": "2000",
        }
    )
    assert s.request_extras == {
        "extra_body": {"thinking": {"type": "disabled"}},
        "reasoning_effort": "low",
        "max_tokens": 2000,
    }
    q = settings_from_env(
        {
            **BASE,
            "LLM_PROVIDER": "qwen",
            "LLM_API_KEY": "k",
            "LLM_MODEL": "qwen-plus",
            "LLM_THINKING": "on",
            "LLM_PRICES": '{"qwen-plus": {"input": 0.4, "output": 1.2}}',
        }
    )
    assert q.request_extras == {"extra_body": {"enable_thinking": True}}


def test_every_variable_of_the_brief_is_read() -> None:
    wanted = {
        "AGENT_HOST",
        "AGENT_PORT",
        "API_TOKEN",
        "API_BASE_URL",
        "DATABASE_URL",
        "DEEPSEEK_API_KEY",
        "DEEPSEEK_BASE_URL",
        "DEEPSEEK_MODEL",
        "LLM_PROVIDER",
        "LLM_MAX_STEPS",
        "LLM_CALL_TIMEOUT_SECS",
        "LLM_TOTAL_TIMEOUT_SECS",
        "LLM_MAX_RETRIES",
        "LLM_DAILY_BUDGET_USD",
        "LLM_PRICE_INPUT_PER_MTOK",
        "LLM_PRICE_CACHED_INPUT_PER_MTOK",
        "LLM_PRICE_OUTPUT_PER_MTOK",
        "AGENT_MEMORY_TOKEN_BUDGET",
        "OKX_INST_IDS",
        "OKX_TICKER_BAR",
        "LOG_FORMAT",
        "LLM_BASE_URL",
        "LLM_API_KEY",
        "LLM_MODEL",
        "LLM_THINKING",
        "LLM_REASONING_EFFORT",
        "LLM_MAX_TOKENS",
        "LLM_PRICES",
        "LLM_MAX_CONCURRENT_TURNS",
        "LLM_TURN_WAIT_SECS",
    }
    assert wanted <= set(ENV_VARIABLES)
