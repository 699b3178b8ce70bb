"""Backtest metrics from the equity curve, the fills and the runs (pure).

Conventions (fractions, not percent: 0.05 = 5 %):
* returns are per bar of the equity curve (one point per candle close); Sharpe and Sortino use a zero risk-free
  rate and are annualised by √(bars per year) with a 365-day year (crypto trades every day):
  5-minute bars → √105120. Sharpe = mean / sample std (ddof 1); Sortino = mean / downside deviation, where the
  downside deviation is √(mean(min(r, 0)²)) over all bars (empyrical's definition, target 0).
* max drawdown: the largest fall from a running peak, as a positive fraction of that peak.
* a trade is a round trip: from flat to flat again (a fill that flips the position closes one trade and opens the
  next); its PnL is the realised PnL of its fills plus their fees. Win rate = winning trades / trades; profit
  factor = gross profit / gross loss (None without a losing trade); average trade in USDT.
* exposure: the fraction of the period with a position open. fees: USDT paid (positive). funding: USDT received
  (negative = paid).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

YEAR_MS = 365 * 86_400_000


def period_returns(equity: Sequence[float]) -> list[float]:
    return [b / a - 1 for a, b in zip(equity, equity[1:]) if a > 0]


def max_drawdown(equity: Sequence[float]) -> float:
    peak = -math.inf
    worst = 0.0
    for value in equity:
        peak = max(peak, value)
        if peak > 0:
            worst = max(worst, (peak - value) / peak)
    return worst


def sharpe(returns: Sequence[float], periods_per_year: float) -> float | None:
    if len(returns) < 2 or max(returns) == min(returns):  # constant: the float mean's rounding would fake a variance
        return None
    mean = sum(returns) / len(returns)
    var = sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    if var <= 0:
        return None
    return mean / math.sqrt(var) * math.sqrt(periods_per_year)


def sortino(returns: Sequence[float], periods_per_year: float) -> float | None:
    if len(returns) < 2:
        return None
    mean = sum(returns) / len(returns)
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / len(returns))
    if downside <= 0:
        return None
    return mean / downside * math.sqrt(periods_per_year)


def round_trips(fills: Iterable[Any]) -> list[float]:
    """Net PnL of each completed round trip (fills need side, sz, realized_pnl, fee; net position mode)."""
    trades: list[float] = []
    position = 0.0
    running = 0.0
    for f in fills:
        size = float(f.sz) if f.side == "buy" else -float(f.sz)
        before = position
        position = before + size
        running += float(f.realized_pnl) + float(f.fee)
        if abs(position) < 1e-12:
            position = 0.0
        crossed = before != 0 and (position == 0 or (before > 0) != (position > 0))
        if crossed:
            trades.append(running)
            running = 0.0
    return trades


def compute_metrics(
    *,
    equity: Sequence[tuple[int, float]],
    fills: Sequence[Any],
    runs: Sequence[dict[str, Any]],
    start_equity: float,
    end_equity: float,
    first_price: float,
    last_price: float,
    start_ts: int,
    end_ts: int,
    bar_ms: int,
    fees: float,
    funding: float,
    exposure_ms: int,
    cost_usd: float,
    input_tokens: int,
    output_tokens: int,
    liquidations: int = 0,
) -> dict[str, Any]:
    values = [start_equity] + [e for _, e in equity]
    returns = period_returns(values)
    per_year = YEAR_MS / bar_ms
    trades = round_trips(fills)
    wins = [t for t in trades if t > 0]
    losses = [t for t in trades if t < 0]
    span = max(end_ts - start_ts, 1)
    days = span / 86_400_000
    by_source = Counter(r["source"] for r in runs)
    per_day: dict[str, dict[str, int]] = {}
    for r in runs:
        day = datetime.fromtimestamp(r["triggeredAt"] / 1000, UTC).strftime("%Y-%m-%d")
        per_day.setdefault(day, {"volatility": 0, "schedule": 0, "manual": 0})[r["source"]] += 1
    return {
        "totalReturn": end_equity / start_equity - 1 if start_equity > 0 else None,
        "buyHoldReturn": last_price / first_price - 1 if first_price > 0 else None,
        "maxDrawdown": max_drawdown(values),
        "sharpe": sharpe(returns, per_year),
        "sortino": sortino(returns, per_year),
        "annualisation": f"sqrt({per_year:g}) ({bar_ms // 1000} s bars, 365-day year, risk-free 0)",
        "winRate": len(wins) / len(trades) if trades else None,
        "profitFactor": sum(wins) / -sum(losses) if losses else None,
        "trades": len(trades),
        "avgTrade": sum(trades) / len(trades) if trades else None,
        "exposure": min(exposure_ms / span, 1.0),
        "fees": fees,
        "funding": funding,
        "liquidations": liquidations,
        "fills": len(fills),
        "llmCostUsd": round(cost_usd, 8),
        "llmInputTokens": input_tokens,
        "llmOutputTokens": output_tokens,
        "runs": len(runs),
        "runsBySource": {s: by_source.get(s, 0) for s in ("volatility", "schedule", "manual")},
        "runsPerDay": {s: by_source.get(s, 0) / days for s in ("volatility", "schedule", "manual")},
        "runsByDay": per_day,
        "days": days,
    }
