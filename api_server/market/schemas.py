"""The market routes' answer types (OKX's fields, OKX's decimal strings) and the converters from OKX rows."""

from __future__ import annotations

from typing import Any

import msgspec


class Candle(msgspec.Struct):
    ts: str
    o: str
    h: str
    l: str  # noqa: E741 - OKX's own field name
    c: str
    vol: str
    volCcy: str
    volCcyQuote: str
    confirm: str


class TickerOut(msgspec.Struct):
    instId: str
    last: str
    lastSz: str
    askPx: str
    askSz: str
    bidPx: str
    bidSz: str
    open24h: str
    high24h: str
    low24h: str
    vol24h: str
    volCcy24h: str
    ts: str
    bar: str
    barCandle: Candle | None
    source: str
    ageMs: int


class CandlesOut(msgspec.Struct):
    instId: str
    bar: str
    candles: list[Candle]


class BookLevel(msgspec.Struct, array_like=True):
    px: str
    sz: str
    liquidatedOrders: str
    numOrders: str


class BooksOut(msgspec.Struct):
    instId: str
    asks: list[BookLevel]
    bids: list[BookLevel]
    ts: str


class Trade(msgspec.Struct):
    instId: str
    tradeId: str
    px: str
    sz: str
    side: str
    ts: str


class Instrument(msgspec.Struct):
    instId: str
    instType: str
    ctVal: str
    ctValCcy: str
    ctMult: str
    ctType: str
    lotSz: str
    minSz: str
    tickSz: str
    lever: str
    settleCcy: str
    state: str


class FundingRate(msgspec.Struct):
    instId: str
    fundingRate: str
    nextFundingRate: str
    fundingTime: str
    nextFundingTime: str


def as_builtin(value: Any) -> Any:
    return value if isinstance(value, (dict, list, str)) else msgspec.to_builtins(value)


def candle_from_row(row: Any) -> Candle:
    r = as_builtin(row)
    if isinstance(r, dict):
        r = [r.get(k, "") for k in ("ts", "o", "h", "l", "c", "vol", "volCcy", "volCcyQuote", "confirm")]
    r = [str(x) for x in r] + [""] * (9 - len(r))
    return Candle(*r[:9])
