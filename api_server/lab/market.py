"""The replayed market: candles → a documented intra-candle price path, and what may be seen at simulated time t.

Price path (one candle of length B starting at ts): open at ts; then, on a rising or flat candle (close ≥ open)
low at ts + B/3 and high at ts + 2B/3, on a falling candle high first then low; close at ts + B. This is the
usual conservative convention (a rising candle is assumed to dip before it rallies), the same one the trigger
replay (`api_server.scheduler.replay`) uses. Between points the price moves in a straight line, so a stop or a
limit between two points is reached exactly at its price (see `exchange.py`).

No look-ahead: `MarketView` only ever shows path points already processed. Candles whose end ≤ t are
confirmed (`confirm` "1"); the candle in progress is shown as it stands (high/low/close of the points seen so
far) with `confirm` "0", exactly as OKX marks its forming candle.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

from api_server.lab.candles import CandleRow

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class PathPoint:
    ts: int
    price: Decimal
    index: int  # candle index
    step: int  # 0 open, 1 first extreme, 2 second extreme, 3 close


def path_points(candles: Sequence[CandleRow], bar_ms: int) -> Iterator[PathPoint]:
    third = bar_ms // 3
    for index, c in enumerate(candles):
        first, second = (c.low, c.high) if c.close >= c.open else (c.high, c.low)
        yield PathPoint(c.ts, c.open, index, 0)
        yield PathPoint(c.ts + third, first, index, 1)
        yield PathPoint(c.ts + 2 * third, second, index, 2)
        yield PathPoint(c.ts + bar_ms, c.close, index, 3)


def _s(value: Decimal) -> str:
    return format(value, "f")


class MarketView:
    """The market as it stood at the latest processed path point. Feed it with `advance(point)`."""

    def __init__(self, inst_id: str, candles: Sequence[CandleRow], bar: str, bar_ms: int) -> None:
        self.inst_id = inst_id
        self.candles = candles
        self.bar = bar
        self.bar_ms = bar_ms
        self.index = -1
        self.step = 3
        self.now_ms = candles[0].ts
        self.last = candles[0].open
        self._high = self._low = self.last
        # Prefix sums of volume so the 24 h window is O(1).
        self._vol_prefix = [Decimal(0)]
        for c in candles:
            self._vol_prefix.append(self._vol_prefix[-1] + c.volume)

    def advance(self, point: PathPoint) -> None:
        self.index, self.step, self.now_ms, self.last = point.index, point.step, point.ts, point.price
        if point.step == 0:
            self._high = self._low = point.price
        else:
            self._high = max(self._high, point.price)
            self._low = min(self._low, point.price)

    # ---- what a tool may see --------------------------------------------------------
    def forming(self) -> dict[str, str] | None:
        """The candle in progress (None right after a close)."""
        if self.index < 0 or self.step == 3:
            return None
        c = self.candles[self.index]
        return _candle(c.ts, c.open, self._high, self._low, self.last, Decimal(0), "0")

    def visible_rows(self, limit: int) -> list[dict[str, str]]:
        """The newest `limit` candles of the dataset bar visible now, oldest first; the forming one last."""
        confirmed_end = self.index + 1 if self.step == 3 else self.index
        start = max(0, confirmed_end - limit)
        rows = [_candle(c.ts, c.open, c.high, c.low, c.close, c.volume, "1") for c in self.candles[start:confirmed_end]]
        forming = self.forming()
        if forming is not None:
            rows.append(forming)
            rows = rows[-limit:]
        return rows

    def candles_for(self, bar_ms: int, limit: int) -> list[dict[str, str]]:
        """Candles of a bar that is a whole multiple of the dataset bar, aggregated from what is visible."""
        factor = bar_ms // self.bar_ms
        if factor <= 1:
            return self.visible_rows(limit)
        base = self.visible_rows(limit * factor + factor)
        groups: dict[int, list[dict[str, str]]] = {}
        for row in base:
            groups.setdefault(int(row["ts"]) // bar_ms * bar_ms, []).append(row)
        out = []
        for start, rows in sorted(groups.items()):
            complete = self.now_ms >= start + bar_ms and all(r["confirm"] == "1" for r in rows)
            out.append(
                _candle(
                    start,
                    Decimal(rows[0]["o"]),
                    max(Decimal(r["h"]) for r in rows),
                    min(Decimal(r["l"]) for r in rows),
                    Decimal(rows[-1]["c"]),
                    sum((Decimal(r["vol"]) for r in rows), Decimal(0)),
                    "1" if complete else "0",
                )
            )
        return out[-limit:]

    def window_24h(self) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """(open24h, high24h, low24h, vol24h) over the visible part of the last 24 h."""
        first = max(0, self._index_at(self.now_ms - DAY_MS))
        confirmed_end = self.index + 1 if self.step == 3 else self.index
        seen = self.candles[first:confirmed_end]
        highs = [c.high for c in seen] + ([self._high] if self.step != 3 else [])
        lows = [c.low for c in seen] + ([self._low] if self.step != 3 else [])
        opening = self.candles[first].open
        return (
            opening,
            max(highs, default=self.last),
            min(lows, default=self.last),
            self._vol_prefix[confirmed_end] - self._vol_prefix[first],
        )

    def _index_at(self, ts: int) -> int:
        lo, hi = 0, len(self.candles)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.candles[mid].ts < ts:
                lo = mid + 1
            else:
                hi = mid
        return lo


def _candle(ts: int, o: Decimal, h: Decimal, low: Decimal, c: Decimal, v: Decimal, confirm: str) -> dict[str, str]:
    vol = _s(v)
    return {
        "ts": str(ts),
        "o": _s(o),
        "h": _s(h),
        "l": _s(low),
        "c": _s(c),
        "vol": vol,
        "volCcy": vol,
        "volCcyQuote": vol,
        "confirm": confirm,
    }
