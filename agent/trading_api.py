"""The agent's HTTP client for the trading API: every tool and the context builder go through it.

The API holds the OKX keys, the risk guard and the records; the agent only ever speaks HTTP to it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx


class TradingApiError(Exception):
    """The API refused (4xx), failed (5xx) or could not be reached; the message is meant for the model."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


@dataclass
class TradingApi:
    client: httpx.AsyncClient

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        return await self._send("GET", path, params=clean)

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        clean = {k: v for k, v in body.items() if v is not None}
        return await self._send("POST", path, json=clean)

    async def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self.client.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise TradingApiError(f"trading API did not answer {method} {path} in time") from None
        except httpx.HTTPError as exc:
            raise TradingApiError(f"trading API unreachable for {method} {path}: {type(exc).__name__}") from None
        body = _decode(response)
        if response.status_code >= 400:
            raise TradingApiError(describe_refusal(method, path, response.status_code, body), response.status_code, body)
        return body


def _decode(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:2000]


def describe_refusal(method: str, path: str, status: int, body: Any) -> str:
    """A readable sentence for the model: status, the API's message, rule, field and numbers when given."""
    kind = "refused" if status < 500 else "failed"
    detail = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return f"trading API {kind} {method} {path} with HTTP {status}: {detail[:2000]}"


def extract_rows(body: Any, *keys: str) -> list[Any]:
    """Lists come bare, or wrapped as {"data": [...]} / {"<key>": [...]}; accept each."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in (*keys, "data", "items"):
            value = body.get(key)
            if isinstance(value, list):
                return value
    return []


def to_float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Candle:
    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float | None


def parse_candles(body: Any) -> list[Candle]:
    """Candles as OKX arrays `[ts,o,h,l,c,vol,...]` or objects (`ts`, `o`/`open`, ...); returned oldest first."""
    candles: list[Candle] = []
    for row in extract_rows(body, "candles"):
        if isinstance(row, (list, tuple)) and len(row) >= 5:
            ts, o, h, low, c = row[:5]
            vol = row[5] if len(row) > 5 else None
        elif isinstance(row, dict):
            ts = row.get("ts")
            o = row.get("o", row.get("open"))
            h = row.get("h", row.get("high"))
            low = row.get("l", row.get("low"))
            c = row.get("c", row.get("close"))
            vol = row.get("vol", row.get("volume"))
        else:
            continue
        values = [to_float(v) for v in (o, h, low, c)]
        ts_value = to_float(ts)
        if ts_value is None or any(v is None for v in values):
            continue
        candles.append(Candle(int(ts_value), values[0], values[1], values[2], values[3], to_float(vol)))  # type: ignore[arg-type]
    candles.sort(key=lambda c: c.ts)
    return candles


def first_row(body: Any, *keys: str) -> dict[str, Any] | None:
    if isinstance(body, dict) and not any(isinstance(body.get(k), list) for k in (*keys, "data", "items")):
        return body
    rows = extract_rows(body, *keys)
    return rows[0] if rows and isinstance(rows[0], dict) else None
