"""Candle datasets: parsing the three accepted formats into one normalised, exact, oldest-first list (pure).

Accepted inputs (all numbers may be JSON numbers or strings; any row order; duplicates of one timestamp are
an error because they are ambiguous):

* freqtrade / CONTRACT §8: a JSON array of rows `[ts_ms, open, high, low, close, volume]`.
* OKX `GET /api/v5/market/candles` / `history-candles`: `{"code": "0", "data": [[ts, o, h, l, c, vol, volCcy,
  volCcyQuote, confirm], ...]}` (newest first, strings) or the bare `data` array; unconfirmed rows
  (`confirm` = "0", the forming candle) are dropped.
* CSV with a header naming `ts`/`timestamp`/`date`/`time`, `open`, `high`, `low`, `close`, `volume`
  (timestamps in ms, in s, or ISO 8601) or headerless rows in the freqtrade order.

A malformed row raises `CandleRowError` with the row index (in the input's own order) and the field.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.instruments import bar_ms


class CandleRowError(ValueError):
    """A row that cannot be a candle; `index` is its position in the input, `field` the column."""

    def __init__(self, index: int | None, field: str, problem: str) -> None:
        where = f"row {index}" if index is not None else "input"
        super().__init__(f"{where}: {field}: {problem}")
        self.index = index
        self.field = field
        self.problem = problem


@dataclass(frozen=True, slots=True)
class CandleRow:
    ts: int  # candle start, ms since the epoch
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    def as_list(self) -> list[str | int]:
        return [self.ts, str(self.open), str(self.high), str(self.low), str(self.close), str(self.volume)]


_NAMES = ("ts", "open", "high", "low", "close", "volume")


def _number(value: Any, index: int, field: str, *, positive: bool) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise CandleRowError(index, field, f"expected a number, got {value!r}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise CandleRowError(index, field, f"expected a number, got {value!r}") from None
    if not number.is_finite():
        raise CandleRowError(index, field, f"expected a finite number, got {value!r}")
    if positive and number <= 0:
        raise CandleRowError(index, field, f"expected a positive price, got {value!r}")
    if not positive and number < 0:
        raise CandleRowError(index, field, f"must not be negative, got {value!r}")
    return number


def _timestamp(value: Any, index: int) -> int:
    """ms since the epoch; a number below 10^11 is taken as seconds, a string may be ISO 8601."""
    if isinstance(value, str) and not value.strip().lstrip("-").replace(".", "", 1).isdigit():
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise CandleRowError(index, "ts", f"expected milliseconds or ISO 8601, got {value!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    number = _number(value, index, "ts", positive=True)
    if number != number.to_integral_value() and number >= Decimal(10) ** 11:
        raise CandleRowError(index, "ts", f"milliseconds must be whole, got {value!r}")
    return int(number * 1000) if number < Decimal(10) ** 11 else int(number)


def parse_row(row: Sequence[Any], index: int) -> CandleRow:
    if isinstance(row, (str, bytes)) or not isinstance(row, Sequence) or len(row) < 5:
        raise CandleRowError(index, "row", "expected [ts, open, high, low, close, volume]")
    ts = _timestamp(row[0], index)
    o, h, lo, c = (_number(row[i], index, _NAMES[i], positive=True) for i in range(1, 5))
    v = _number(row[5], index, "volume", positive=False) if len(row) > 5 and row[5] not in (None, "") else Decimal(0)
    if h < max(o, c, lo) or lo > min(o, c):
        raise CandleRowError(
            index, "high" if h < max(o, c, lo) else "low", f"high {h} / low {lo} do not contain open {o} and close {c}"
        )
    return CandleRow(ts, o, h, lo, c, v)


def normalise(rows: Sequence[Any], *, skip_unconfirmed: bool = False) -> list[CandleRow]:
    """Parse every row, sort oldest first, refuse duplicate timestamps (naming the later row's index)."""
    if not isinstance(rows, Sequence) or isinstance(rows, (str, bytes)) or not rows:
        raise CandleRowError(None, "candles", "expected a non-empty array of [ts, open, high, low, close, volume] rows")
    parsed: list[tuple[CandleRow, int]] = []
    for index, row in enumerate(rows):
        if skip_unconfirmed and isinstance(row, Sequence) and len(row) >= 9 and str(row[8]) == "0":
            continue
        parsed.append((parse_row(row, index), index))
    if not parsed:
        raise CandleRowError(None, "candles", "no confirmed candles")
    parsed.sort(key=lambda item: item[0].ts)
    for (previous, _), (current, index) in zip(parsed, parsed[1:]):
        if current.ts == previous.ts:
            raise CandleRowError(index, "ts", f"duplicate timestamp {current.ts}")
    return [row for row, _ in parsed]


def parse_file_text(text: str, name: str = "") -> list[CandleRow]:
    """Detect the format (JSON array, OKX envelope, CSV) and parse it."""
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        try:
            body = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise CandleRowError(None, "file", f"not JSON ({exc.msg} at line {exc.lineno})") from None
        if isinstance(body, dict):
            if str(body.get("code", "0")) != "0":
                raise CandleRowError(None, "code", f"OKX answered code {body.get('code')}: {body.get('msg')}")
            return normalise(body.get("data") or [], skip_unconfirmed=True)
        okx_like = bool(body) and isinstance(body[0], list) and len(body[0]) >= 9
        return normalise(body, skip_unconfirmed=okx_like)
    return _parse_csv(text)


def _parse_csv(text: str) -> list[CandleRow]:
    reader = list(csv.reader(io.StringIO(text)))
    reader = [r for r in reader if r and any(cell.strip() for cell in r)]
    if not reader:
        raise CandleRowError(None, "file", "empty CSV")
    header = [cell.strip().lower() for cell in reader[0]]
    aliases = {
        "ts": ("ts", "timestamp", "date", "time", "open_time", "datetime"),
        "open": ("open", "o"),
        "high": ("high", "h"),
        "low": ("low", "l"),
        "close": ("close", "c"),
        "volume": ("volume", "vol", "v"),
    }
    if any(name in header for name in aliases["open"]):
        columns = []
        for name in _NAMES:
            found = next((header.index(a) for a in aliases[name] if a in header), None)
            if found is None and name != "volume":
                raise CandleRowError(None, name, f"CSV header has no {name} column ({', '.join(header)})")
            columns.append(found)
        rows = [[r[c] if c is not None and c < len(r) else "" for c in columns] for r in reader[1:]]
    else:
        rows = reader
    return normalise(rows)


def infer_bar_ms(rows: Sequence[CandleRow]) -> int | None:
    if len(rows) < 2:
        return None
    gaps: dict[int, int] = {}
    for a, b in zip(rows, rows[1:]):
        gaps[b.ts - a.ts] = gaps.get(b.ts - a.ts, 0) + 1
    return max(gaps.items(), key=lambda kv: kv[1])[0]


def check_bar(rows: Sequence[CandleRow], bar: str) -> None:
    """The dataset's most common gap must be the stated bar (a 1m file called 5m would fake the clock)."""
    inferred = infer_bar_ms(rows)
    if inferred is not None and inferred != bar_ms(bar):
        raise CandleRowError(None, "bar", f"the candles are {inferred // 1000} s apart, not {bar}")


def content_hash(inst_id: str, bar: str, rows: Sequence[CandleRow]) -> str:
    digest = hashlib.sha256(f"{inst_id}|{bar}|".encode())
    for row in rows:
        digest.update(("|".join(map(str, row.as_list())) + "\n").encode())
    return digest.hexdigest()
