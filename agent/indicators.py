"""Technical indicators over closing prices ordered oldest first (pure functions).

Every function returns a list as long as its input; positions without enough history are `None`.
EMA is seeded with the simple average of its first `period` values; RSI uses Wilder's smoothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def ema(values: Sequence[float], period: int) -> list[float | None]:
    if period < 1:
        raise ValueError("period must be >= 1")
    out: list[float | None] = [None] * len(values)
    if len(values) < period:
        return out
    alpha = 2.0 / (period + 1)
    current = sum(values[:period]) / period
    out[period - 1] = current
    for i in range(period, len(values)):
        current = alpha * values[i] + (1 - alpha) * current
        out[i] = current
    return out


@dataclass(frozen=True)
class Macd:
    line: list[float | None]
    signal: list[float | None]
    histogram: list[float | None]


def macd(values: Sequence[float], fast: int = 12, slow: int = 26, signal: int = 9) -> Macd:
    if fast >= slow:
        raise ValueError("fast period must be shorter than slow period")
    fast_ema = ema(values, fast)
    slow_ema = ema(values, slow)
    line: list[float | None] = [f - s if f is not None and s is not None else None for f, s in zip(fast_ema, slow_ema)]
    first = next((i for i, v in enumerate(line) if v is not None), None)
    signal_line: list[float | None] = [None] * len(values)
    if first is not None:
        defined = [v for v in line[first:] if v is not None]
        for offset, value in enumerate(ema(defined, signal)):
            signal_line[first + offset] = value
    histogram: list[float | None] = [
        m - s if m is not None and s is not None else None for m, s in zip(line, signal_line)
    ]
    return Macd(line, signal_line, histogram)


def rsi(values: Sequence[float], period: int = 14) -> list[float | None]:
    if period < 1:
        raise ValueError("period must be >= 1")
    out: list[float | None] = [None] * len(values)
    if len(values) <= period:
        return out
    changes = [values[i] - values[i - 1] for i in range(1, len(values))]
    avg_gain = sum(max(c, 0.0) for c in changes[:period]) / period
    avg_loss = sum(max(-c, 0.0) for c in changes[:period]) / period
    out[period] = _rsi_value(avg_gain, avg_loss)
    for i in range(period, len(changes)):
        change = changes[i]
        avg_gain = (avg_gain * (period - 1) + max(change, 0.0)) / period
        avg_loss = (avg_loss * (period - 1) + max(-change, 0.0)) / period
        out[i + 1] = _rsi_value(avg_gain, avg_loss)
    return out


def _rsi_value(avg_gain: float, avg_loss: float) -> float:
    if avg_loss == 0:
        return 100.0 if avg_gain > 0 else 50.0
    return 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)


def latest(series: Sequence[float | None]) -> float | None:
    return series[-1] if series else None


def previous(series: Sequence[float | None]) -> float | None:
    return series[-2] if len(series) >= 2 else None


def indicator_summary(closes: Sequence[float]) -> dict[str, float | None | str]:
    """Newest and previous values of EMA(12), EMA(26), MACD(12,26,9) and RSI(14), rounded for the model."""
    ema12 = ema(closes, 12)
    ema26 = ema(closes, 26)
    m = macd(closes)
    rsi14 = rsi(closes, 14)

    def r(v: float | None) -> float | None:
        return None if v is None else round(v, 6)

    trend = None
    if latest(ema12) is not None and latest(ema26) is not None:
        trend = "up" if latest(ema12) > latest(ema26) else "down" if latest(ema12) < latest(ema26) else "flat"
    return {
        "closes": len(closes),
        "ema12": r(latest(ema12)),
        "ema26": r(latest(ema26)),
        "ema12Prev": r(previous(ema12)),
        "ema26Prev": r(previous(ema26)),
        "emaTrend": trend,
        "macd": r(latest(m.line)),
        "macdSignal": r(latest(m.signal)),
        "macdHistogram": r(latest(m.histogram)),
        "macdHistogramPrev": r(previous(m.histogram)),
        "rsi14": None if latest(rsi14) is None else round(latest(rsi14), 2),
    }


def atr(highs: Sequence[float], lows: Sequence[float], closes: Sequence[float], period: int = 14) -> list[float | None]:
    """Average true range, Wilder's smoothing: the first value is the mean of the first `period` true ranges."""
    n = len(closes)
    if not (len(highs) == len(lows) == n):
        raise ValueError("highs, lows and closes must have the same length")
    out: list[float | None] = [None] * n
    if n <= period:
        return out
    true_ranges = [highs[0] - lows[0]] + [
        max(highs[i] - lows[i], abs(highs[i] - closes[i - 1]), abs(lows[i] - closes[i - 1])) for i in range(1, n)
    ]
    value = sum(true_ranges[1 : period + 1]) / period
    out[period] = value
    for i in range(period + 1, n):
        value = (value * (period - 1) + true_ranges[i]) / period
        out[i] = value
    return out


def volatility_summary(
    highs: Sequence[float], lows: Sequence[float], closes: Sequence[float], volumes: Sequence[float | None]
) -> dict[str, float | None]:
    """ATR(14) (absolute and % of the last close) and the last candle's volume against the 20-candle mean."""
    atr14 = latest(atr(highs, lows, closes, 14))
    known = [v for v in volumes if v is not None]
    mean20 = sum(known[-20:]) / len(known[-20:]) if known else None
    last_volume = known[-1] if known else None
    return {
        "atr14": None if atr14 is None else round(atr14, 6),
        "atr14Pct": None if atr14 is None or not closes or closes[-1] == 0 else round(100 * atr14 / closes[-1], 4),
        "volume": last_volume,
        "volumeMean20": None if mean20 is None else round(mean20, 6),
        "volumeRatio": None if not mean20 or last_volume is None else round(last_volume / mean20, 3),
    }
