"""Strategy profiles: the named, versioned bundle a backtest (and live trading) runs (pure).

A version is immutable (the table refuses updates); saving a change makes the next version. LLM keys are never
part of a profile: they come from the environment of the process that runs it. With no profile stored, the first
version (`default`) is built from today's environment variables, so a deployment that sets only the seed's
variables behaves as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

import msgspec

from api_server.trading.risk import RiskLimits
from shared.instruments import is_valid_bar, is_valid_inst_id

DEFAULT_PROFILE = "default"


class LlmSpec(
    msgspec.Struct, frozen=True, kw_only=True, rename="camel", forbid_unknown_fields=True, omit_defaults=True
):
    provider: Literal["offline", "deepseek", "openai-compatible"] = "offline"
    base_url: str | None = None
    model: str | None = None


class ScheduleSpec(msgspec.Struct, frozen=True, kw_only=True, rename="camel", forbid_unknown_fields=True):
    enabled: bool = True
    interval_secs: int = 900


class VolatilitySpec(msgspec.Struct, frozen=True, kw_only=True, rename="camel", forbid_unknown_fields=True):
    enabled: bool = True
    threshold_bps: float = 80.0
    window_secs: int | None = None


class RiskSpec(msgspec.Struct, frozen=True, kw_only=True, rename="camel", forbid_unknown_fields=True):
    max_leverage: float = 10
    max_order_pct: float = 25
    max_exposure_pct: float = 100
    daily_loss_limit_pct: float = 5
    require_stop_loss: bool = False
    approval_mode: Literal["auto", "manual"] = "auto"


class ProfileSpec(msgspec.Struct, frozen=True, kw_only=True, rename="camel", forbid_unknown_fields=True):
    prompt: str | None = None  # None: the agent's own analysis system prompt
    llm: LlmSpec = LlmSpec()
    inst_ids: list[str] = msgspec.field(default_factory=lambda: ["BTC-USDT-SWAP"])
    bar: str = "5m"
    schedule: ScheduleSpec = ScheduleSpec()
    volatility: VolatilitySpec = VolatilitySpec()
    risk: RiskSpec = RiskSpec()

    def __post_init__(self) -> None:
        if not is_valid_bar(self.bar):
            raise ValueError(f"bar: {self.bar!r} is not an OKX bar")
        for inst in self.inst_ids:
            if not is_valid_inst_id(inst):
                raise ValueError(f"instIds: {inst!r} is not an OKX instrument id")
        if self.schedule.interval_secs <= 0:
            raise ValueError("schedule.intervalSecs: must be positive")
        if self.volatility.threshold_bps <= 0:
            raise ValueError("volatility.thresholdBps: must be positive")
        if self.prompt is not None and len(self.prompt) > 20_000:
            raise ValueError("prompt: at most 20000 characters")

    def risk_limits(self, inst_id: str) -> RiskLimits:
        r = self.risk
        return RiskLimits(
            allowed_inst_ids=frozenset({*self.inst_ids, inst_id}),
            max_leverage=Decimal(str(r.max_leverage)),
            max_order_pct=Decimal(str(r.max_order_pct)),
            max_exposure_pct=Decimal(str(r.max_exposure_pct)),
            daily_loss_limit_pct=Decimal(str(r.daily_loss_limit_pct)),
            require_stop_loss=r.require_stop_loss,
            approval_mode=r.approval_mode,
        )


def decode_spec(raw: bytes | Mapping[str, Any]) -> ProfileSpec:
    """Parse a request body / stored JSON; raises msgspec.ValidationError or ValueError naming the field."""
    if isinstance(raw, (bytes, str)):
        return msgspec.json.decode(raw, type=ProfileSpec)
    return msgspec.convert(dict(raw), type=ProfileSpec)


def spec_json(spec: ProfileSpec) -> dict[str, Any]:
    return msgspec.to_builtins(spec)


def spec_from_env(env: Mapping[str, str]) -> ProfileSpec:
    """The first version, from the environment the live service runs with."""

    def flag(name: str, default: bool) -> bool:
        return str(env.get(name, str(default))).strip().lower() in ("1", "true", "yes", "on")

    provider = env.get("LLM_PROVIDER") or ("deepseek" if env.get("DEEPSEEK_API_KEY") else "offline")
    limits = RiskLimits.from_env(dict(env))
    window = env.get("STRATEGY_VOL_WINDOW_SECS")
    return ProfileSpec(
        llm=LlmSpec(
            provider=provider if provider in ("offline", "deepseek") else "offline",
            model=env.get("DEEPSEEK_MODEL") if provider == "deepseek" else None,
        ),
        inst_ids=sorted(limits.allowed_inst_ids),
        bar=env.get("OKX_TICKER_BAR", "3m"),
        schedule=ScheduleSpec(
            enabled=flag("STRATEGY_SCHEDULE_ENABLED", True),
            interval_secs=int(float(env.get("STRATEGY_SCHEDULE_INTERVAL_SECS", "60"))),
        ),
        volatility=VolatilitySpec(
            enabled=flag("STRATEGY_VOL_TRIGGER_ENABLED", False),
            threshold_bps=float(env.get("STRATEGY_VOL_THRESHOLD_BPS", "80")),
            window_secs=int(float(window)) if window else None,
        ),
        risk=RiskSpec(
            max_leverage=float(limits.max_leverage),
            max_order_pct=float(limits.max_order_pct),
            max_exposure_pct=float(limits.max_exposure_pct),
            daily_loss_limit_pct=float(limits.daily_loss_limit_pct),
            require_stop_loss=limits.require_stop_loss,
            approval_mode=limits.approval_mode,
        ),
    )


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            out.update(_flatten(inner, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: value}


def diff_specs(old: ProfileSpec, new: ProfileSpec) -> list[dict[str, Any]]:
    """Every changed setting: [{"path": "volatility.thresholdBps", "from": 80.0, "to": 60.0}, ...], sorted by path."""
    a, b = _flatten(spec_json(old)), _flatten(spec_json(new))
    return [{"path": k, "from": a.get(k), "to": b.get(k)} for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)]


def with_settings(spec: ProfileSpec, settings: Mapping[str, Any]) -> ProfileSpec:
    """A copy of `spec` with settings replaced by path ("volatility.thresholdBps": 60, "prompt": "..."); the result
    is validated like any profile (ValueError / msgspec.ValidationError name the setting)."""
    body = spec_json(spec)
    for path, value in settings.items():
        node = body
        keys = path.split(".")
        for key in keys[:-1]:
            if not isinstance(node.get(key), dict):
                raise ValueError(f"{path}: no such profile setting")
            node = node[key]
        node[keys[-1]] = value  # an unknown name is refused by the decoder (forbid_unknown_fields)
    return decode_spec(body)
