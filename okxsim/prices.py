"""Price paths (seeded random walk or candle-file replay) and the candle history derived from them.

Each instrument keeps contiguous 1-minute candles from `history_minutes` before start up to now: the
pre-start part is a seeded walk that ends at the start price, the rest is what the live path did.
Any bar is aggregated from those minutes; bars older than the minutes are synthesised per bar by a
seeded backward walk anchored at the oldest aggregated bar, so asking twice gives the same history.
"""

from __future__ import annotations

import json
import math
import random
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from okxsim.instruments import InstrumentSpec
from okxsim.wire import fmt
from shared.instruments import bar_ms, bar_offset_ms

MINUTE_MS = 60_000
DAY_MS = 86_400_000
# Random-walk volatility per 500 ms step (about 4 % a day): lively enough for demos and triggers.
SIGMA_PER_500MS = 0.0001
CANDLES_RECENT_LIMIT = 1440  # /market/candles serves only the latest 1,440 bars (OKX)
HISTORY_BARS_LIMIT = 20_000  # how far back /market/history-candles goes


@dataclass(frozen=True, slots=True)
class Quote:
    last: Decimal
    bid: Decimal
    ask: Decimal


@dataclass(slots=True)
class Trade:
    trade_id: str
    px: Decimal
    sz: Decimal
    side: str
    ts: int


def load_replay_rows(path: Path) -> list[float]:
    """Closes of a `[ts,o,h,l,c,v]` candle file (oldest first)."""
    rows = json.loads(path.read_text(encoding="utf-8"))
    closes = [float(row[4]) for row in rows if isinstance(row, list) and len(row) >= 5]
    if not closes:
        raise ValueError(f"{path}: no [ts,o,h,l,c,v] rows")
    return closes


class PriceTrack:
    """One instrument's price, trade tape and 1-minute candles."""

    def __init__(
        self, spec: InstrumentSpec, start_price: Decimal, seed: int, tick_ms: int, history_minutes: int, now_ms: int
    ) -> None:
        self.spec = spec
        self.tick = spec.tick_sz
        self._tick_f = float(spec.tick_sz)
        self.seed = seed
        self.sigma_step = SIGMA_PER_500MS * math.sqrt(tick_ms / 500)
        self.sigma_minute = SIGMA_PER_500MS * math.sqrt(MINUTE_MS / 500)
        self._walk = random.Random(f"{seed}:{spec.inst_id}:walk")
        self._sizes = random.Random(f"{seed}:{spec.inst_id}:sizes")
        self.last = self.quantize(float(start_price))
        self.last_sz = spec.lot_sz
        self.ts = now_ms
        self.seq_id = 1
        self.bid_sz = spec.lot_sz * 50
        self.ask_sz = spec.lot_sz * 50
        self.trades: deque[Trade] = deque(maxlen=500)
        self._trade_counter = 0
        self.minutes: list[list] = []  # [ts, o, h, l, c, vol] oldest first, contiguous
        self._agg_cache: dict[tuple[str, int], list[str]] = {}
        self._synth: dict[str, list[list]] = {}
        self._synth_rng: dict[str, random.Random] = {}
        self._stats_cache: tuple[int, tuple] | None = None
        self._sod_cache: dict[int, Decimal] = {}
        self._generate_history(history_minutes, now_ms)

    # ---- prices -------------------------------------------------------------------------
    def quantize(self, price: float) -> Decimal:
        steps = max(1, round(price / self._tick_f))
        return Decimal(steps) * self.tick

    @property
    def quote(self) -> Quote:
        bid = self.last - self.tick if self.last > self.tick else self.last
        return Quote(self.last, bid, self.last)

    def _base_volume(self) -> float:
        # Roughly 1e5 USDT traded per minute, in contracts.
        return max(1.0, 100_000 / max(float(self.last) * float(self.spec.ct_val), 1e-9))

    def _lots(self, rng: random.Random, low: int, high: int) -> Decimal:
        return self.spec.lot_sz * rng.randint(low, high)

    def _generate_history(self, minutes: int, now_ms: int) -> None:
        rng = random.Random(f"{self.seed}:{self.spec.inst_id}:history")
        current = now_ms - now_ms % MINUTE_MS
        closes = [float(self.last)]
        for _ in range(minutes):
            closes.append(closes[-1] / math.exp(self.sigma_minute * rng.gauss(0.0, 1.0)))
        closes.reverse()  # closes[0] is the close before the oldest minute, closes[-1] == start price
        base_vol = self._base_volume()
        rows: list[list] = []
        for i in range(1, len(closes)):
            o, c = closes[i - 1], closes[i]
            h = max(o, c) * (1 + abs(rng.gauss(0.0, 1.0)) * self.sigma_minute / 2)
            low = min(o, c) * (1 - abs(rng.gauss(0.0, 1.0)) * self.sigma_minute / 2)
            vol = self.spec.lot_sz * max(1, int(base_vol * rng.uniform(0.3, 1.7) / float(self.spec.lot_sz)))
            rows.append(
                [
                    current - (len(closes) - i) * MINUTE_MS,
                    self.quantize(o),
                    self.quantize(h),
                    self.quantize(low),
                    self.quantize(c),
                    vol,
                ]
            )
        last = self.last
        rows.append([current, last, last, last, last, Decimal(0)])
        self.minutes = rows

    def _roll(self, now_ms: int) -> list:
        """The candle of the current minute, appending flat minutes for any gap (paused walk)."""
        minute = now_ms - now_ms % MINUTE_MS
        rows = self.minutes
        row = rows[-1]
        while row[0] < minute:
            c = row[4]
            row = [row[0] + MINUTE_MS, c, c, c, c, Decimal(0)]
            rows.append(row)
        return row

    def set_price(self, price: Decimal, now_ms: int, size: Decimal | None = None, side: str | None = None) -> bool:
        """Move the last price (a trade happened); returns whether the price changed."""
        changed = price != self.last
        side = side or ("buy" if price >= self.last else "sell")
        sz = size if size is not None else self._lots(self._sizes, 1, 50)
        self.last = price
        self.last_sz = sz
        self.ts = now_ms
        self.seq_id += 1
        self.bid_sz = self._lots(self._sizes, 1, 500)
        self.ask_sz = self._lots(self._sizes, 1, 500)
        row = self._roll(now_ms)
        if price > row[2]:
            row[2] = price
        if price < row[3]:
            row[3] = price
        row[4] = price
        row[5] += sz
        self._trade_counter += 1
        self.trades.appendleft(Trade(str(self._trade_counter + 100_000_000), price, sz, side, now_ms))
        return changed

    def walk(self, now_ms: int) -> bool:
        factor = math.exp(self.sigma_step * self._walk.gauss(0.0, 1.0))
        return self.set_price(self.quantize(float(self.last) * factor), now_ms)

    # ---- ticker -------------------------------------------------------------------------
    def _index(self, ts: int) -> int:
        return (ts - self.minutes[0][0]) // MINUTE_MS

    def _stats_24h(self, minute: int) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """open/high/low/volume of the closed minutes of the last 24 h (cached per minute)."""
        if self._stats_cache is not None and self._stats_cache[0] == minute:
            return self._stats_cache[1]
        start = max(0, self._index(minute - DAY_MS + MINUTE_MS))
        end = self._index(minute)
        window = self.minutes[start:end] or [self.minutes[end]]
        stats = (
            window[0][1],
            max(r[2] for r in window),
            min(r[3] for r in window),
            sum((r[5] for r in window), Decimal(0)),
        )
        self._stats_cache = (minute, stats)
        return stats

    def _start_of_day_open(self, day_start: int) -> Decimal:
        if day_start not in self._sod_cache:
            idx = self._index(day_start)
            row = self.minutes[idx] if 0 <= idx < len(self.minutes) else self.minutes[0]
            self._sod_cache[day_start] = row[1]
        return self._sod_cache[day_start]

    def ticker(self, now_ms: int) -> dict:
        row = self._roll(now_ms)
        open24h, high, low, vol = self._stats_24h(row[0])
        high = max(high, row[2])
        low = min(low, row[3])
        vol = vol + row[5]
        utc8 = 8 * 3_600_000
        sod0 = now_ms - now_ms % DAY_MS
        sod8 = (now_ms + utc8) - (now_ms + utc8) % DAY_MS - utc8
        q = self.quote
        return {
            "instType": "SWAP",
            "instId": self.spec.inst_id,
            "last": fmt(q.last),
            "lastSz": fmt(self.last_sz),
            "askPx": fmt(q.ask),
            "askSz": fmt(self.ask_sz),
            "bidPx": fmt(q.bid),
            "bidSz": fmt(self.bid_sz),
            "open24h": fmt(open24h),
            "high24h": fmt(high),
            "low24h": fmt(low),
            "sodUtc0": fmt(self._start_of_day_open(sod0)),
            "sodUtc8": fmt(self._start_of_day_open(sod8)),
            "volCcy24h": fmt(vol * self.spec.ct_val),
            "vol24h": fmt(vol),
            "ts": str(self.ts),
        }

    def book(self, depth: int) -> dict:
        q = self.quote
        seq = self.seq_id
        lot = self.spec.lot_sz
        asks, bids = [], []
        for i in range(depth):
            spread = self.tick * i
            ask_sz = self.ask_sz if i == 0 else lot * (1 + (seq * 31 + i * 17) % 400)
            bid_sz = self.bid_sz if i == 0 else lot * (1 + (seq * 13 + i * 29) % 400)
            asks.append([fmt(q.ask + spread), fmt(ask_sz), "0", str(1 + (seq + i) % 20)])
            bid_px = q.bid - spread
            if bid_px > 0:
                bids.append([fmt(bid_px), fmt(bid_sz), "0", str(1 + (seq + 3 * i) % 20)])
        return {"asks": asks, "bids": bids, "ts": str(self.ts), "seqId": seq}

    # ---- candles ------------------------------------------------------------------------
    def _row(self, ts: int, o: Decimal, h: Decimal, low: Decimal, c: Decimal, vol: Decimal, confirm: str) -> list[str]:
        vol_ccy = vol * self.spec.ct_val
        return [
            str(ts),
            fmt(o),
            fmt(h),
            fmt(low),
            fmt(c),
            fmt(vol),
            fmt(vol_ccy),
            fmt((vol_ccy * c).quantize(Decimal("0.0001"))),
            confirm,
        ]

    def _aggregate(self, bar: str, start: int, length: int, current_minute: int) -> list[str] | None:
        closed = start + length <= current_minute
        if closed and (bar, start) in self._agg_cache:
            return self._agg_cache[(bar, start)]
        first = max(0, self._index(start))
        last = min(len(self.minutes), self._index(start + length))
        if first >= last:
            return None
        rows = self.minutes[first:last]
        row = self._row(
            start,
            rows[0][1],
            max(r[2] for r in rows),
            min(r[3] for r in rows),
            rows[-1][4],
            sum((r[5] for r in rows), Decimal(0)),
            "1" if closed else "0",
        )
        if closed:
            if len(self._agg_cache) > 50_000:
                self._agg_cache.clear()
            self._agg_cache[(bar, start)] = row
        return row

    def _synthesised(self, bar: str, length: int, anchor_ts: int, anchor_open: Decimal, count: int) -> list[list]:
        """Bars before `anchor_ts`, newest first, generated by a seeded backward walk (cached, extended on demand)."""
        rows = self._synth.setdefault(bar, [])
        rng = self._synth_rng.setdefault(bar, random.Random(f"{self.seed}:{self.spec.inst_id}:{bar}:synth"))
        sigma = self.sigma_minute * math.sqrt(length / MINUTE_MS)
        base_vol = self._base_volume() * length / MINUTE_MS
        while len(rows) < count:
            close = rows[-1][1] if rows else anchor_open
            ts = anchor_ts - (len(rows) + 1) * length
            c = float(close)
            o = c / math.exp(sigma * rng.gauss(0.0, 1.0))
            h = max(o, c) * (1 + abs(rng.gauss(0.0, 1.0)) * sigma / 2)
            low = min(o, c) * (1 - abs(rng.gauss(0.0, 1.0)) * sigma / 2)
            vol = self.spec.lot_sz * max(1, int(base_vol * rng.uniform(0.3, 1.7) / float(self.spec.lot_sz)))
            rows.append([ts, self.quantize(o), self.quantize(h), self.quantize(low), close, vol])
        return rows

    def candles(
        self, bar: str, now_ms: int, *, after: int | None, before: int | None, limit: int, history: bool
    ) -> list[list[str]]:
        """OKX candles newest first: ts < after, ts > before, at most `limit` rows."""
        current_minute = self._roll(now_ms)[0]
        length = bar_ms(bar)
        offset = bar_offset_ms(bar)
        if "W" in bar:
            offset += 4 * DAY_MS  # weeks open on Monday (1970-01-01 was a Thursday)

        def align(ts: int) -> int:
            return (ts - offset) // length * length + offset

        current_open = align(now_ms)
        depth = HISTORY_BARS_LIMIT if history else CANDLES_RECENT_LIMIT
        oldest = current_open - (depth - 1) * length
        anchor_ts = align(self.minutes[0][0])  # the bar holding the oldest minute: aggregated, partly
        newest = current_open if after is None else min(current_open, align(after - 1))
        out: list[list[str]] = []
        ts = newest
        while len(out) < limit and ts >= oldest and (before is None or ts > before):
            if ts >= anchor_ts:
                row = self._aggregate(bar, ts, length, current_minute)
                if row is not None:
                    out.append(row)
            else:
                row = self._agg_cache.get((bar, ts))
                if row is None:
                    index = (anchor_ts - ts) // length  # 1 = the bar just before the anchor
                    synth = self._synthesised(bar, length, anchor_ts, self.minutes[0][1], index)[index - 1]
                    row = self._agg_cache[(bar, ts)] = self._row(
                        synth[0], synth[1], synth[2], synth[3], synth[4], synth[5], "1"
                    )
                out.append(row)
            ts -= length
        return out

    def recent_trades(self, limit: int) -> list[dict]:
        inst = self.spec.inst_id
        out = []
        for t in list(self.trades)[:limit]:
            out.append(
                {
                    "instId": inst,
                    "side": t.side,
                    "sz": fmt(t.sz),
                    "source": "0",
                    "px": fmt(t.px),
                    "tradeId": t.trade_id,
                    "ts": str(t.ts),
                }
            )
        return out


class Market:
    """All instruments' price tracks plus the driver (walk or replay) and the pause switch."""

    def __init__(
        self,
        specs: dict[str, InstrumentSpec],
        inst_ids: tuple[str, ...],
        *,
        seed: int,
        tick_ms: int,
        history_minutes: int,
        now_ms: int,
        replay_closes: list[float] | None = None,
        replay_scale: Decimal = Decimal(1),
    ) -> None:
        self.paused = False
        self.replay_closes = replay_closes
        self.replay_scale = float(replay_scale)
        self._replay_index = 0
        self.tracks: dict[str, PriceTrack] = {}
        for inst_id in inst_ids:
            spec = specs[inst_id]
            start = spec.start_price
            if replay_closes:
                start = Decimal(repr(replay_closes[0] * self.replay_scale))
            self.tracks[inst_id] = PriceTrack(spec, start, seed, tick_ms, history_minutes, now_ms)

    def step(self, now_ms: int) -> list[str]:
        """Advance every instrument one step; returns the ids whose price changed."""
        if self.paused:
            return []
        changed = []
        if self.replay_closes:
            self._replay_index = (self._replay_index + 1) % len(self.replay_closes)
            target = self.replay_closes[self._replay_index] * self.replay_scale
            for inst_id, track in self.tracks.items():
                if track.set_price(track.quantize(target), now_ms):
                    changed.append(inst_id)
            return changed
        for inst_id, track in self.tracks.items():
            if track.walk(now_ms):
                changed.append(inst_id)
        return changed
