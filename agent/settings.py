"""The agent's settings: one frozen Pydantic object read from the environment, then `.env`.

Every field is the lower-case name of its environment variable, so a validation error names the
variable (`SettingsError`) and start-up stops with that message.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from agent.llm.pricing import ModelPrice, PriceTable, parse_price_overrides
from agent.llm.providers import PROVIDERS, Provider
from shared.envfile import SettingsError, get_database_url, get_inst_ids, load_environment
from shared.instruments import CANDLE_BARS

# A default cap on model spending per UTC day (USD): a runaway loop or many chats stop here, not at the card limit.
DEFAULT_DAILY_BUDGET_USD = 5.0


class AgentSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    agent_host: str = "127.0.0.1"
    agent_port: int = Field(8001, ge=1, le=65535)
    api_token: SecretStr
    api_base_url: str = "http://127.0.0.1:8000"
    api_timeout_secs: float = Field(15.0, gt=0)
    database_url: str
    db_pool_max_size: int = Field(5, ge=1, le=100)
    deepseek_api_key: SecretStr | None = None
    deepseek_base_url: str = "https://api.deepseek.com"
    deepseek_model: str = Field("deepseek-flash", min_length=1)
    llm_provider: Literal["deepseek", "openai", "qwen", "dashscope", "vllm", "ollama", "offline"]
    llm_base_url: str | None = None  # default: the provider's (agent/llm/providers.py)
    llm_api_key: SecretStr | None = None  # default: DEEPSEEK_API_KEY for deepseek
    llm_model: str | None = None  # default: DEEPSEEK_MODEL for deepseek, else required
    llm_thinking: Literal["auto", "on", "off"] = "auto"
    llm_reasoning_effort: Literal["low", "medium", "high"] | None = None
    llm_max_tokens: int | None = Field(None, ge=16, le=1_000_000)
    llm_prices: str | None = None  # JSON overrides of the price table
    llm_max_concurrent_turns: int = Field(2, ge=1, le=64)
    llm_turn_wait_secs: float = Field(30.0, ge=0)
    llm_max_steps: int = Field(8, ge=1, le=100)
    llm_call_timeout_secs: float = Field(120.0, gt=0)
    llm_total_timeout_secs: float = Field(300.0, gt=0)
    llm_max_retries: int = Field(3, ge=0, le=20)
    llm_retry_base_secs: float = Field(1.0, ge=0)
    llm_daily_budget_usd: float = Field(DEFAULT_DAILY_BUDGET_USD, ge=0)
    # One flat price for the configured model (all hours); wins over the table and LLM_PRICES.
    llm_price_input_per_mtok: float | None = Field(None, ge=0)
    llm_price_cached_input_per_mtok: float | None = Field(None, ge=0)
    llm_price_output_per_mtok: float | None = Field(None, ge=0)
    agent_memory_token_budget: int = Field(4000, ge=200)
    okx_inst_ids: tuple[str, ...] = ("BTC-USDT-SWAP",)
    okx_ticker_bar: str = "3m"
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("api_token")
    @classmethod
    def _token_not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("api_base_url", "deepseek_base_url", "llm_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"expected a URL starting with http:// or https://, got {value!r}")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str) -> str:
        # The API's loader (shared/envfile.get_database_url), so both accept the same URLs.
        try:
            return get_database_url({"DATABASE_URL": value})
        except SettingsError as exc:
            raise ValueError(exc.problem) from None

    @field_validator("okx_inst_ids", mode="before")
    @classmethod
    def _split_inst_ids(cls, value: object) -> object:
        """The shared loader (shared/envfile.get_inst_ids), so the API and the agent accept the same lists."""
        if isinstance(value, (tuple, list)):
            value = ",".join(str(v) for v in value)
        if isinstance(value, str):
            try:
                return get_inst_ids({"OKX_INST_IDS": value})
            except SettingsError as exc:
                raise ValueError(exc.problem) from None
        return value

    @field_validator("llm_prices")
    @classmethod
    def _prices_json(cls, value: str | None) -> str | None:
        if value is not None:
            parse_price_overrides(value)
        return value

    @field_validator("okx_ticker_bar")
    @classmethod
    def _known_bar(cls, value: str) -> str:
        if value not in CANDLE_BARS:
            raise ValueError(f"unknown bar {value!r}; expected one of {', '.join(CANDLE_BARS)}")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", "llm_provider", "llm_thinking", "llm_reasoning_effort", mode="before")
    @classmethod
    def _lower_word(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="before")
    @classmethod
    def _default_provider(cls, values: object) -> object:
        if isinstance(values, dict) and not values.get("llm_provider"):
            values = dict(values)
            values["llm_provider"] = "deepseek" if values.get("deepseek_api_key") else "offline"
        return values

    @model_validator(mode="after")
    def _provider_complete(self) -> AgentSettings:
        provider = self.provider
        if provider.needs_key and self.api_key_secret is None:
            hint = "DEEPSEEK_API_KEY (or LLM_API_KEY)" if provider.name == "deepseek" else "LLM_API_KEY"
            raise ValueError(f"LLM_PROVIDER={provider.name} needs {hint}")
        if provider.name != "offline" and provider.default_base_url is None and self.llm_base_url is None:
            raise ValueError(f"LLM_PROVIDER={provider.name} needs LLM_BASE_URL")
        if provider.name not in ("offline", "deepseek") and not self.llm_model:
            raise ValueError(f"LLM_PROVIDER={provider.name} needs LLM_MODEL")
        if provider.paid and self.price_table.prices.get(self.model) is None:
            raise ValueError(
                f"LLM_PRICES has no price for model {self.model!r} of paid provider {provider.name}: "
                "add it, or the daily budget cannot be kept"
            )
        if self.llm_call_timeout_secs > self.llm_total_timeout_secs:
            raise ValueError("LLM_CALL_TIMEOUT_SECS must not exceed LLM_TOTAL_TIMEOUT_SECS")
        return self

    @property
    def provider(self) -> Provider:
        return PROVIDERS[self.llm_provider]

    @property
    def api_key_secret(self) -> SecretStr | None:
        if self.llm_api_key is not None:
            return self.llm_api_key
        return self.deepseek_api_key if self.llm_provider == "deepseek" else None

    @property
    def price_table(self) -> PriceTable:
        overrides = parse_price_overrides(self.llm_prices) if self.llm_prices else {}
        if self.llm_price_input_per_mtok is not None or self.llm_price_output_per_mtok is not None:
            base = PriceTable.with_overrides(overrides).prices.get(self.model) or ModelPrice(0.0, 0.0, 0.0)
            inp = self.llm_price_input_per_mtok if self.llm_price_input_per_mtok is not None else base.input_per_mtok
            overrides[self.model] = ModelPrice(
                inp,
                self.llm_price_cached_input_per_mtok if self.llm_price_cached_input_per_mtok is not None else inp,
                self.llm_price_output_per_mtok if self.llm_price_output_per_mtok is not None else base.output_per_mtok,
            )
        table = PriceTable.with_overrides(overrides)
        if not self.provider.paid and self.model not in table.prices:
            table = PriceTable({**table.prices, self.model: ModelPrice(0.0, 0.0, 0.0)})
        return table

    @property
    def self_base_url(self) -> str:
        """How this process reaches itself (the offline model is served by the agent app)."""
        host = self.agent_host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.agent_port}"

    @property
    def base_url(self) -> str:
        """The provider's chat completions base URL (the offline model is served by this process)."""
        if self.llm_provider == "offline":
            return f"{self.self_base_url}/offline/v1"
        if self.llm_base_url:
            return self.llm_base_url
        if self.llm_provider == "deepseek":
            return self.deepseek_base_url
        assert self.provider.default_base_url is not None
        return self.provider.default_base_url

    @property
    def api_key(self) -> str:
        if self.llm_provider == "offline":
            return self.api_token.get_secret_value()
        secret = self.api_key_secret
        return secret.get_secret_value() if secret is not None else "not-needed"

    @property
    def model(self) -> str:
        from agent.offline_model import OFFLINE_MODEL_NAME

        if self.llm_provider == "offline":
            return OFFLINE_MODEL_NAME
        if self.llm_model:
            return self.llm_model
        return self.deepseek_model if self.llm_provider == "deepseek" else (self.provider.default_model or "")

    @property
    def request_extras(self) -> dict[str, object]:
        return self.provider.request_extras(self.llm_thinking, self.llm_reasoning_effort, self.llm_max_tokens)


ENV_VARIABLES: tuple[str, ...] = tuple(name.upper() for name in AgentSettings.model_fields)

# Variables whose validation depends on another one: the message names the pair.
_MODEL_LEVEL_VARIABLE = {
    "LLM_PRICES": "LLM_PRICES",
    "LLM_BASE_URL": "LLM_BASE_URL",
    "LLM_MODEL": "LLM_MODEL",
    "LLM_API_KEY": "LLM_API_KEY",
    "DEEPSEEK_API_KEY": "DEEPSEEK_API_KEY",
    "LLM_CALL_TIMEOUT_SECS": "LLM_CALL_TIMEOUT_SECS",
}


def settings_from_env(env: dict[str, str]) -> AgentSettings:
    """Validate a variable mapping; raise `SettingsError` naming the first bad variable."""
    values: dict[str, object] = {}
    for name in ENV_VARIABLES:
        if name in env:
            values[name.lower()] = env[name]
    try:
        return AgentSettings.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = error.get("loc") or ()
        if loc:
            variable = str(loc[0]).upper()
        else:
            message = error.get("msg", "")
            variable = next((v for v in _MODEL_LEVEL_VARIABLE if v in message), "LLM_PROVIDER")
            variable = _MODEL_LEVEL_VARIABLE.get(variable, variable)
        problem = error.get("msg", "invalid value")
        if error.get("type") == "missing":
            problem = "must be set"
        problem = problem.removeprefix("Value error, ")
        raise SettingsError(variable, problem) from None


def load_settings(environ: dict[str, str] | None = None) -> AgentSettings:
    return settings_from_env(load_environment(environ=environ))
