"""The agent's settings: one frozen Pydantic object read from the environment, then `.env`.

Every field is the lower-case name of its environment variable, so a validation error names the
variable (`SettingsError`) and start-up stops with that message.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from shared.envfile import SettingsError, load_environment
from shared.instruments import CANDLE_BARS, is_valid_inst_id

# Defaults are DeepSeek's published per-million-token prices (USD): cache-miss input, cache-hit input, output.
DEFAULT_PRICE_INPUT_PER_MTOK = 0.28
DEFAULT_PRICE_CACHED_INPUT_PER_MTOK = 0.028
DEFAULT_PRICE_OUTPUT_PER_MTOK = 0.42

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
    llm_provider: Literal["deepseek", "offline"]
    llm_max_steps: int = Field(8, ge=1, le=100)
    llm_call_timeout_secs: float = Field(120.0, gt=0)
    llm_total_timeout_secs: float = Field(300.0, gt=0)
    llm_max_retries: int = Field(3, ge=0, le=20)
    llm_retry_base_secs: float = Field(1.0, ge=0)
    llm_daily_budget_usd: float | None = Field(None, ge=0)
    llm_price_input_per_mtok: float = Field(DEFAULT_PRICE_INPUT_PER_MTOK, ge=0)
    llm_price_cached_input_per_mtok: float = Field(DEFAULT_PRICE_CACHED_INPUT_PER_MTOK, ge=0)
    llm_price_output_per_mtok: float = Field(DEFAULT_PRICE_OUTPUT_PER_MTOK, ge=0)
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

    @field_validator("api_base_url", "deepseek_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"expected a URL starting with http:// or https://, got {value!r}")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str) -> str:
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("expected a postgresql:// URL")
        return value

    @field_validator("okx_inst_ids", mode="before")
    @classmethod
    def _split_inst_ids(cls, value: object) -> object:
        if isinstance(value, str):
            value = tuple(part.strip() for part in value.split(",") if part.strip())
        if isinstance(value, (tuple, list)):
            if not value:
                raise ValueError("needs at least one instrument id")
            bad = [v for v in value if not is_valid_inst_id(v)]
            if bad:
                raise ValueError(f"malformed instrument id(s): {', '.join(bad)}")
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

    @field_validator("log_format", "llm_provider", mode="before")
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
    def _deepseek_needs_key(self) -> "AgentSettings":
        if self.llm_provider == "deepseek" and self.deepseek_api_key is None:
            raise ValueError("LLM_PROVIDER=deepseek needs DEEPSEEK_API_KEY")
        if self.llm_call_timeout_secs > self.llm_total_timeout_secs:
            raise ValueError("LLM_CALL_TIMEOUT_SECS must not exceed LLM_TOTAL_TIMEOUT_SECS")
        return self

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
    def llm_base_url(self) -> str:
        if self.llm_provider == "offline":
            return f"{self.self_base_url}/offline/v1"
        return self.deepseek_base_url

    @property
    def llm_api_key(self) -> str:
        if self.llm_provider == "offline":
            return self.api_token.get_secret_value()
        assert self.deepseek_api_key is not None
        return self.deepseek_api_key.get_secret_value()

    @property
    def llm_model(self) -> str:
        from agent.offline_model import OFFLINE_MODEL_NAME

        return OFFLINE_MODEL_NAME if self.llm_provider == "offline" else self.deepseek_model


ENV_VARIABLES: tuple[str, ...] = tuple(name.upper() for name in AgentSettings.model_fields)

# Variables whose validation depends on another one: the message names the pair.
_MODEL_LEVEL_VARIABLE = {
    "DEEPSEEK_API_KEY": "LLM_PROVIDER",
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
