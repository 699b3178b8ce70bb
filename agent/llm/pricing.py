"""What a model call costs: one price table per model and per hour of the week (pure; the clock is passed in).

Prices are USD per 1M tokens: cache-miss input, cache-hit input, output (reasoning tokens are output).
DeepSeek bills the full price at peak hours (01:00-04:00 and 06:00-10:00 UTC, Monday to Friday) and
`off_peak_factor` of it otherwise. A user overrides or adds a model with `LLM_PRICES` (JSON, see
`parse_price_overrides`); a model missing from the table costs nothing in the budget and is logged once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from agent.llm.stream import Usage

PEAK_HOURS_UTC: tuple[tuple[int, int], ...] = ((1, 4), (6, 10))  # [start, end) hours, Monday-Friday


@dataclass(frozen=True)
class ModelPrice:
    input_per_mtok: float
    cached_input_per_mtok: float
    output_per_mtok: float
    off_peak_factor: float = 1.0  # 1.0 = one price all week

    def at(self, when: datetime) -> ModelPrice:
        """The price in force at `when` (peak prices with the factor applied off-peak; factor 1 after)."""
        if self.off_peak_factor == 1.0 or is_peak(when):
            return replace(self, off_peak_factor=1.0)
        f = self.off_peak_factor
        return ModelPrice(self.input_per_mtok * f, self.cached_input_per_mtok * f, self.output_per_mtok * f, 1.0)


# Published list prices (peak). deepseek-flash is V4.1 Flash; deepseek-v4-pro the large model.
DEFAULT_PRICES: dict[str, ModelPrice] = {
    "deepseek-flash": ModelPrice(0.30, 0.006, 1.20, off_peak_factor=0.5),
    "deepseek-v4-pro": ModelPrice(1.32, 0.044, 3.96, off_peak_factor=0.5),
}


def is_peak(when: datetime) -> bool:
    utc = when.astimezone(UTC)
    if utc.weekday() >= 5:
        return False
    return any(start <= utc.hour < end for start, end in PEAK_HOURS_UTC)


def cost_usd(usage: Usage, price: ModelPrice) -> float:
    """Cache hits at the cached price, the rest of the prompt at the input price, output (with reasoning) at the output price."""
    uncached = max(usage.input_tokens - usage.cached_input_tokens, 0)
    return (
        uncached * price.input_per_mtok
        + usage.cached_input_tokens * price.cached_input_per_mtok
        + usage.output_tokens * price.output_per_mtok
    ) / 1_000_000


_KEYS = {
    "input": "input_per_mtok",
    "cachedInput": "cached_input_per_mtok",
    "output": "output_per_mtok",
    "offPeakFactor": "off_peak_factor",
}


def parse_price_overrides(text: str) -> dict[str, ModelPrice]:
    """`{"model": {"input": 0.3, "cachedInput": 0.006, "output": 1.2, "offPeakFactor": 0.5}}`; offPeakFactor
    defaults to 1 (one price all week), cachedInput to input. Raises ValueError naming the bad entry."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at position {exc.pos})") from None
    if not isinstance(raw, dict):
        raise ValueError("expected a JSON object of model name -> prices")
    table: dict[str, ModelPrice] = {}
    for model, entry in raw.items():
        if not isinstance(entry, dict) or "input" not in entry or "output" not in entry:
            raise ValueError(f"{model}: expected an object with at least input and output (USD per 1M tokens)")
        unknown = set(entry) - set(_KEYS)
        if unknown:
            raise ValueError(f"{model}: unknown key(s) {', '.join(sorted(unknown))}; use {', '.join(_KEYS)}")
        values: dict[str, Any] = {
            "cached_input_per_mtok": entry.get("cachedInput", entry["input"]),
            "off_peak_factor": 1.0,
        }
        values.update({_KEYS[k]: v for k, v in entry.items()})
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in values.values()):
            raise ValueError(f"{model}: prices must be numbers >= 0")
        if values["off_peak_factor"] > 1:
            raise ValueError(f"{model}: offPeakFactor must be between 0 and 1")
        table[model] = ModelPrice(**{k: float(v) for k, v in values.items()})
    return table


@dataclass(frozen=True)
class PriceTable:
    prices: dict[str, ModelPrice]

    @classmethod
    def with_overrides(cls, overrides: dict[str, ModelPrice]) -> PriceTable:
        return cls({**DEFAULT_PRICES, **overrides})

    def price(self, model: str, when: datetime) -> ModelPrice | None:
        found = self.prices.get(model)
        return None if found is None else found.at(when)

    def cost(self, model: str, usage: Usage, when: datetime) -> float:
        price = self.price(model, when)
        return 0.0 if price is None else cost_usd(usage, price)
