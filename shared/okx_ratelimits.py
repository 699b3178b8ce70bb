"""OKX v5 REST rate limits: the one table, used by the API's client-side limiter and by the simulator.

Each row is OKX's published limit for one endpoint: `limit` requests per `window_secs`, counted per the
`rule` OKX states ("IP", "User ID", "User ID + Instrument ID", ...). `key_param` names the request parameter
that splits the count (the "+ Instrument ID" / "+ Instrument Type" part), so a client limits per instrument
exactly where OKX does. Exceeding a limit at OKX answers HTTP 429 `{"msg":"Too Many Requests","code":"50011"}`.

Sources (DOCS26 = the official v5 docs as mirrored in `qiuham/crypto-api-docs`, 2026-06, see
`../shared/okx/OKX_FACTS.md` §0; each page gives "Rate Limit: N requests per 2 seconds" and a "Rate limit rule"):
- market/public and account rows: OKX_FACTS §3 "Rate-limit summary" (DOCS26 pages named there);
- trade rows (order, cancel-order, amend-order, close-position, order details, orders-pending,
  orders-history(-archive), fills(-history)) and algo rows (order-algo, cancel-algos, amend-algos,
  orders-algo-pending/-history, GET order-algo): DOCS26 `docs/okx/order/book/trading-trade-*.md` and
  `trading-algo-trading-*.md` (e.g. "POST / Place algo order — Rate Limit: 20 requests per 2 seconds,
  Rate limit rule: User ID + Instrument ID");
- account set-leverage / leverage-info / positions-history: DOCS26 `docs/okx/trading/account/rest-api-*.md`
  (positions-history is "1 request per 10 seconds").
Place, amend and cancel limits are independent of each other and shared between REST and WebSocket
(DOCS26 `overview/rate/limits.md`).
"""

from __future__ import annotations

from dataclasses import dataclass

WINDOW_SECS = 2.0


@dataclass(frozen=True)
class EndpointLimit:
    limit: int  # requests per window
    key_param: str | None = None  # a request parameter that splits the limit (OKX "+ Instrument ID" rules)
    window_secs: float = WINDOW_SECS
    rule: str = "User ID"  # OKX's "Rate limit rule", for documentation and the simulator


def _ip(limit: int, key_param: str | None = None) -> EndpointLimit:
    return EndpointLimit(limit, key_param, rule="IP")


def _uid(limit: int, window: float = WINDOW_SECS) -> EndpointLimit:
    return EndpointLimit(limit, None, window, "User ID")


def _uid_inst(limit: int) -> EndpointLimit:
    return EndpointLimit(limit, "instId", WINDOW_SECS, "User ID + Instrument ID")


# Keys: (METHOD, path).
OKX_ENDPOINT_LIMITS: dict[tuple[str, str], EndpointLimit] = {
    # public market data (IP)
    ("GET", "/api/v5/market/ticker"): _ip(20),
    ("GET", "/api/v5/market/tickers"): _ip(20),
    ("GET", "/api/v5/market/candles"): _ip(40),
    ("GET", "/api/v5/market/history-candles"): _ip(20),
    ("GET", "/api/v5/market/books"): _ip(40),
    ("GET", "/api/v5/market/trades"): _ip(100),
    ("GET", "/api/v5/public/instruments"): EndpointLimit(20, "instType", rule="IP + Instrument Type"),
    ("GET", "/api/v5/public/time"): _ip(10),
    ("GET", "/api/v5/public/funding-rate"): EndpointLimit(10, "instId", rule="IP + Instrument ID"),
    # account (User ID)
    ("GET", "/api/v5/account/balance"): _uid(10),
    ("GET", "/api/v5/account/positions"): _uid(10),
    ("GET", "/api/v5/account/positions-history"): _uid(1, 10.0),
    ("GET", "/api/v5/account/config"): _uid(5),
    ("POST", "/api/v5/account/set-position-mode"): _uid(5),
    ("POST", "/api/v5/account/set-leverage"): _uid(20),
    ("GET", "/api/v5/account/leverage-info"): _uid(20),
    # trade
    ("POST", "/api/v5/trade/order"): _uid_inst(60),
    ("POST", "/api/v5/trade/cancel-order"): _uid_inst(60),
    ("POST", "/api/v5/trade/amend-order"): _uid_inst(60),
    ("POST", "/api/v5/trade/close-position"): _uid_inst(20),
    ("GET", "/api/v5/trade/order"): _uid_inst(60),
    ("GET", "/api/v5/trade/orders-pending"): _uid(60),
    ("GET", "/api/v5/trade/orders-history"): _uid(40),
    ("GET", "/api/v5/trade/orders-history-archive"): _uid(20),
    ("GET", "/api/v5/trade/fills"): _uid(60),
    ("GET", "/api/v5/trade/fills-history"): _uid(10),
    # algo orders (TP/SL)
    ("POST", "/api/v5/trade/order-algo"): _uid_inst(20),
    ("POST", "/api/v5/trade/cancel-algos"): _uid_inst(20),
    ("POST", "/api/v5/trade/amend-algos"): _uid_inst(20),
    ("GET", "/api/v5/trade/order-algo"): _uid(20),
    ("GET", "/api/v5/trade/orders-algo-pending"): _uid(20),
    ("GET", "/api/v5/trade/orders-algo-history"): _uid(20),
    # served by the simulator for other OKX clients (python-okx, ccxt): figures from the same docs pages
    ("GET", "/api/v5/public/mark-price"): _ip(10),
    ("GET", "/api/v5/public/price-limit"): _ip(20),
    ("GET", "/api/v5/account/bills"): _uid(5),
    ("GET", "/api/v5/account/max-size"): _uid(20),
    ("GET", "/api/v5/account/max-avail-size"): _uid(20),
    ("GET", "/api/v5/account/trade-fee"): _uid(5),
    ("POST", "/api/v5/account/set-account-level"): _uid(5),
    ("POST", "/api/v5/trade/batch-orders"): _uid(300),
    ("POST", "/api/v5/trade/cancel-batch-orders"): _uid(300),
    ("POST", "/api/v5/trade/amend-batch-orders"): _uid(300),
}

# Endpoints not in the table: a conservative 5 per 2 s, per instrument where the request names one. A
# client-side limiter only ever waits, so a too-low guess costs latency under bursts, never a failure.
DEFAULT_LIMIT = EndpointLimit(5, "instId", rule="unknown (conservative default)")


def limit_for(method: str, path: str) -> EndpointLimit:
    return OKX_ENDPOINT_LIMITS.get((method.upper(), path), DEFAULT_LIMIT)


def limit_key(method: str, path: str, params: object) -> tuple[str, EndpointLimit]:
    """(bucket key, limit) for one request; `params` is the query dict, the body dict, or a batch list."""
    spec = limit_for(method, path)
    key = f"{method.upper()} {path}"
    if isinstance(params, list) and params and isinstance(params[0], dict):
        params = params[0]  # batch bodies (cancel-algos, amend-algos): one instrument per call here
    if spec.key_param and isinstance(params, dict):
        value = params.get(spec.key_param)
        if value:
            key = f"{key} {spec.key_param}={value}"
    return key, spec
