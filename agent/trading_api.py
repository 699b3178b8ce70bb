"""The agent's HTTP client for the trading API: every tool and the context builder go through it.

The API holds the OKX keys, the risk guard and the records; the agent only ever speaks HTTP to it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from agent.origin import ORIGIN_HEADER, current_origin


class TradingApiError(Exception):
    """The API refused (4xx), failed (5xx) or could not be reached; the message is meant for the model."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


@dataclass(frozen=True)
class ApiAnswer:
    """A successful answer (HTTP < 400) with its status: the order endpoints answer 201 placed,
    200 duplicate (same clOrdId) and 202 pending approval, which mean different things."""

    status: int
    body: Any


# Answers that do not change within minutes (instrument specs): kept this long per query, saving one API
# round trip (and an OKX call) on every analysis.
STATIC_PATHS = frozenset({"/api/market/instruments"})
STATIC_TTL_SECS = 300.0
# Writes under this prefix (order, cancel, close-position, position-tpsl) carry the caller's origin header.
TRADING_PREFIX = "/api/trade/"


@dataclass
class TradingApi:
    client: httpx.AsyncClient
    _static: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[float, ApiAnswer]] = field(default_factory=dict)

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return (await self.send("GET", path, params=params)).body

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        return (await self.send("POST", path, body=body)).body

    async def send(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: dict[str, Any] | None = None
    ) -> ApiAnswer:
        """One request; `None` values are left out. HTTP >= 400 raises TradingApiError with a readable message."""
        kwargs: dict[str, Any] = {}
        if params:
            kwargs["params"] = {k: v for k, v in params.items() if v is not None}
        key = (path, tuple(sorted((k, str(v)) for k, v in kwargs.get("params", {}).items())))
        if method == "GET" and path in STATIC_PATHS:
            held = self._static.get(key)
            if held is not None and held[0] > time.monotonic():
                return held[1]
        if body is not None:
            kwargs["json"] = {k: v for k, v in body.items() if v is not None}
        origin = current_origin()
        if method != "GET" and path.startswith(TRADING_PREFIX) and origin is not None:
            kwargs["headers"] = {ORIGIN_HEADER: origin}
        try:
            response = await self.client.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise TradingApiError(f"trading API did not answer {method} {path} in time") from None
        except httpx.HTTPError as exc:
            raise TradingApiError(f"trading API unreachable for {method} {path}: {type(exc).__name__}") from None
        decoded = _decode(response)
        if response.status_code >= 400:
            raise TradingApiError(
                describe_refusal(method, path, response.status_code, decoded), response.status_code, decoded
            )
        answer = ApiAnswer(response.status_code, decoded)
        if method == "GET" and path in STATIC_PATHS:
            self._static[key] = (time.monotonic() + STATIC_TTL_SECS, answer)
        return answer


def _decode(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:2000]


# Keys of the API's error body (api_server/errors.py) worth showing the model, in this order.
_ERROR_EXTRAS = ("field", "rule", "limit", "actual", "refusalId", "okxCode", "okxSCode", "approvalStatus")


def describe_refusal(method: str, path: str, status: int, body: Any) -> str:
    """A readable sentence for the model from the API's error body `{status_code, detail, field?, ...}`.

    A risk refusal (422 with `rule`) says so plainly with the limit and the actual value, and what to do.
    """
    if not isinstance(body, dict):
        text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        kind = "refused" if status < 500 else "failed"
        return f"trading API {kind} {method} {path} with HTTP {status}: {text[:1500]}"
    detail = str(body.get("detail") or body.get("error") or body.get("message") or "no detail given")[:1500]
    extras = ", ".join(f"{k} {body[k]}" for k in _ERROR_EXTRAS if body.get(k) not in (None, ""))
    suffix = f" ({extras})" if extras else ""
    if status == 422 and body.get("rule"):
        return (
            f"risk guard refused the order with HTTP 422, rule {body['rule']}: {detail}{suffix}. "
            "Change the order (smaller size, lower leverage, add a stop-loss) or stand aside; do not resend it unchanged."
        )
    if status == 404:
        return f"trading API found nothing for {method} {path} (HTTP 404): {detail}{suffix}"
    if status == 429:
        return f"trading API rate-limited {method} {path} (HTTP 429): {detail}{suffix}; wait before trying again"
    kind = "refused" if status < 500 else "failed"
    return f"trading API {kind} {method} {path} with HTTP {status}: {detail}{suffix}"


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
    confirmed: bool = True  # OKX `confirm`: "0" while the candle is still forming


def closed_only(candles: list[Candle]) -> list[Candle]:
    """Indicators use finished candles only: the still-forming newest candle (confirm "0") would move under them."""
    return [c for c in candles if c.confirmed]


def parse_candles(body: Any) -> list[Candle]:
    """Candles as OKX arrays `[ts,o,h,l,c,vol,...]` or objects (`ts`, `o`/`open`, ...); returned oldest first."""
    candles: list[Candle] = []
    for row in extract_rows(body, "candles"):
        if isinstance(row, (list, tuple)) and len(row) >= 5:
            ts, o, h, low, c = row[:5]
            vol = row[5] if len(row) > 5 else None
            confirm = row[8] if len(row) > 8 else "1"
        elif isinstance(row, dict):
            ts = row.get("ts")
            o = row.get("o", row.get("open"))
            h = row.get("h", row.get("high"))
            low = row.get("l", row.get("low"))
            c = row.get("c", row.get("close"))
            vol = row.get("vol", row.get("volume"))
            confirm = row.get("confirm", "1")
        else:
            continue
        values = [to_float(v) for v in (o, h, low, c)]
        ts_value = to_float(ts)
        if ts_value is None or any(v is None for v in values):
            continue
        candles.append(
            Candle(
                int(ts_value),
                values[0],
                values[1],
                values[2],
                values[3],
                to_float(vol),  # type: ignore[arg-type]
                str(confirm) != "0",
            )
        )
    candles.sort(key=lambda c: c.ts)
    return candles


def first_row(body: Any, *keys: str) -> dict[str, Any] | None:
    if isinstance(body, dict) and not any(isinstance(body.get(k), list) for k in (*keys, "data", "items")):
        return body
    rows = extract_rows(body, *keys)
    return rows[0] if rows and isinstance(rows[0], dict) else None


# ---- the API's account/trade answers, reduced to what the model (and the run record) needs ----------

ORDER_KEYS = (
    "clOrdId",
    "ordId",
    "instId",
    "origin",
    "runId",
    "purpose",
    "side",
    "posSide",
    "ordType",
    "tdMode",
    "sz",
    "px",
    "reduceOnly",
    "lever",
    "tpTriggerPx",
    "slTriggerPx",
    "state",
    "accFillSz",
    "avgPx",
    "fee",
    "error",
    "createdAt",
)


def compact_order(order: Any) -> dict[str, Any]:
    """An order record of `GET /api/account/orders` / `POST /api/trade/order` without bookkeeping columns."""
    if not isinstance(order, dict):
        return {}
    return {k: order[k] for k in ORDER_KEYS if k in order}


def order_outcome(answer: ApiAnswer, request: dict[str, Any]) -> dict[str, Any]:
    """What an order / close-position answer means, as one flat record.

    201 -> status "placed" with the recorded order (its `state`: filled, live, ...); 200 -> "duplicate" (an order
    with that clOrdId already existed: nothing new was sent); 202 -> "pending_approval" (TRADE_APPROVAL_MODE=manual:
    a person must approve it in the web app; it is NOT placed yet). The request's side/size fill in what a
    pending order has no record of yet.
    """
    body = answer.body if isinstance(answer.body, dict) else {}
    if answer.status == 202:
        approval = body.get("approval") if isinstance(body.get("approval"), dict) else {}
        return {
            "status": "pending_approval",
            "approvalId": body.get("approvalId"),
            "approvalStatus": body.get("status"),
            "clOrdId": body.get("clOrdId"),
            **{
                k: request[k]
                for k in (
                    "instId",
                    "side",
                    "ordType",
                    "sz",
                    "notionalUsdt",
                    "px",
                    "posSide",
                    "tpTriggerPx",
                    "slTriggerPx",
                    "leverage",
                    "runId",
                )
                if request.get(k) is not None
            },
            "note": "TRADE_APPROVAL_MODE=manual: the order waits for a person to approve it; it is not placed yet",
            "duplicate": bool(body.get("duplicate")),
            "kind": approval.get("kind"),
        }
    order = compact_order(body.get("order"))
    status = "duplicate" if body.get("duplicate") or answer.status == 200 else "placed"
    outcome = {"status": status, **order}
    risk = body.get("risk")
    if isinstance(risk, dict) and risk.get("message"):
        outcome["risk"] = risk.get("message")
    if status == "duplicate":
        outcome["note"] = "an order with this clOrdId was already recorded; nothing new was sent"
    return outcome


def compact_balance(body: Any) -> dict[str, Any]:
    """`GET /api/account/balances` without duplicated fields; per-currency details kept short."""
    if not isinstance(body, dict):
        return {"balances": body}
    keep = ("totalEq", "totalEqCcy", "usdt", "upl", "pnl", "pnlPct", "uTime")
    out = {k: body.get(k) for k in keep if k in body}
    initial = body.get("initialEquity")
    if isinstance(initial, dict):
        out["initialEquity"] = initial.get("amount")
    details = body.get("details")
    if isinstance(details, list):
        out["currencies"] = [
            {k: d.get(k) for k in ("ccy", "eq", "availBal", "frozenBal", "upl", "eqUsd") if k in d}
            for d in details
            if isinstance(d, dict)
        ]
    return out
