"""Request bodies of `/api/lab/...` (msgspec, parsed once at the edge; errors name the field)."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from api_server.errors import BadRequest

NAME_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
T = TypeVar("T")


class DatasetBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    instId: str
    bar: str
    candles: list[Any] | None = None
    file: str | None = None  # a file under data/candles/, instead of `candles`


class FetchBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    instId: str
    bar: str = "5m"
    days: float = 7.0


class BacktestBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    profile: str
    datasetId: str
    initialEquity: float
    profileVersion: int | None = None
    feeTakerPct: float = 0.05
    feeMakerPct: float = 0.02
    slippageBps: float = 0.0
    fundingRate: float = 0.0
    fundingSeries: list[tuple[int, float]] | None = None
    budgetUsd: float | None = None
    force: bool = False  # start even when the estimate is over budgetUsd (it still stops at the budget)
    dryRun: bool = False  # only answer the estimate


class SweepBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One request that fans out: every combination of `grid` values applied to the base profile version.

    `grid` keys are profile settings by path: "prompt", "volatility.thresholdBps", "schedule.intervalSecs",
    "llm.model", "risk.maxLeverage", ...; each variant is saved as a profile version of its own."""

    backtest: BacktestBody
    grid: dict[str, list[Any]]


def decode(body: bytes, kind: type[T]) -> T:
    if not body:
        raise BadRequest("a JSON body is required", field="body")
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        raise BadRequest(str(exc), field=field_of(str(exc))) from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"body is not valid JSON: {exc}", field="body") from None


def field_of(message: str) -> str | None:
    """`... - at `$.llm.provider`` → "llm.provider"; `Object missing required field `x``→ "x"."""
    at = re.search(r"at `\$\.?([^`]*)`", message)
    missing = re.search(r"(?:missing required|unknown) field `([^`]+)`", message)
    parts = [p for p in ((at.group(1) if at else ""), (missing.group(1) if missing else "")) if p]
    return ".".join(parts) if parts else None


def check_positive(name: str, value: float, *, allow_zero: bool = False) -> None:
    import math

    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise BadRequest(f"{name} must be {'≥ 0' if allow_zero else '> 0'}, got {value}", field=name)


def check_backtest(body: BacktestBody) -> None:
    check_positive("initialEquity", body.initialEquity)
    for name in ("feeTakerPct", "feeMakerPct", "slippageBps"):
        check_positive(name, getattr(body, name), allow_zero=True)
    if body.feeTakerPct > 5 or body.feeMakerPct > 5:
        raise BadRequest(
            "fees are percent of notional and at most 5", field="feeTakerPct" if body.feeTakerPct > 5 else "feeMakerPct"
        )
    if body.slippageBps > 1000:
        raise BadRequest("slippageBps at most 1000", field="slippageBps")
    if body.budgetUsd is not None:
        check_positive("budgetUsd", body.budgetUsd, allow_zero=True)
    if abs(body.fundingRate) > 0.05:
        raise BadRequest("fundingRate is per 8 h, |rate| at most 0.05", field="fundingRate")
    if not NAME_RE.match(body.profile):
        raise BadRequest("profile: 1-64 of letters, digits, _ . : -", field="profile")
