"""OKX instrument ids and candle bars: the validation both services and the simulator share."""

from __future__ import annotations

import re

# Bars accepted by GET /api/v5/market/candles (case-sensitive); 1s only on history-candles.
CANDLE_BARS: tuple[str, ...] = (
    "1m",
    "3m",
    "5m",
    "15m",
    "30m",
    "1H",
    "2H",
    "4H",
    "6H",
    "12H",
    "1D",
    "2D",
    "3D",
    "1W",
    "1M",
    "3M",
    "6Hutc",
    "12Hutc",
    "1Dutc",
    "2Dutc",
    "3Dutc",
    "1Wutc",
    "1Mutc",
    "3Mutc",
)

# Bar length in milliseconds (months approximated by 30/90 days: only used for random-walk history).
_UNIT_MS = {"s": 1000, "m": 60_000, "H": 3_600_000, "D": 86_400_000, "W": 604_800_000, "M": 2_592_000_000}

INST_ID_RE = re.compile(r"^[A-Z0-9]{1,20}-[A-Z0-9]{1,20}(-(SWAP|[0-9]{6}))?$")


def bar_ms(bar: str) -> int:
    core = bar[:-3] if bar.endswith("utc") else bar
    return int(core[:-1]) * _UNIT_MS[core[-1]]


def bar_offset_ms(bar: str) -> int:
    """OKX aligns 6H and longer bars without the `utc` suffix to UTC+8."""
    if bar.endswith("utc"):
        return 0
    if bar_ms(bar) >= 6 * 3_600_000:
        return -8 * 3_600_000
    return 0


def is_valid_inst_id(inst_id: str) -> bool:
    return bool(INST_ID_RE.match(inst_id))


def is_valid_bar(bar: str) -> bool:
    return bar in CANDLE_BARS
