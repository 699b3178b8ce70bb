"""The one entry point for /api/v5/*: route, authenticate, parse, rate-limit, handle."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import msgspec
from aiohttp import web

from okxsim.auth import AUTH_HTTP_STATUS, check_request
from okxsim.control_state import RATE_LIMITS
from okxsim.engine import RequestRejected
from okxsim.rest import account, algo, public, trade
from okxsim.rest.common import Ctx
from okxsim.wire import SIM_KEY, ParamError, error, gateway_error

if TYPE_CHECKING:
    from okxsim.sim_api import SimulatorApi as Simulator

Handler = Callable[[Ctx], Awaitable[web.Response]]

# (method, path) -> (handler, private)
ROUTES: dict[tuple[str, str], tuple[Handler, bool]] = {
    ("GET", "/api/v5/public/time"): (public.public_time, False),
    ("GET", "/api/v5/public/instruments"): (public.public_instruments, False),
    ("GET", "/api/v5/public/funding-rate"): (public.public_funding_rate, False),
    ("GET", "/api/v5/public/mark-price"): (public.public_mark_price, False),
    ("GET", "/api/v5/public/price-limit"): (public.public_price_limit, False),
    ("GET", "/api/v5/market/ticker"): (public.market_ticker, False),
    ("GET", "/api/v5/market/tickers"): (public.market_tickers, False),
    ("GET", "/api/v5/market/candles"): (public.market_candles, False),
    ("GET", "/api/v5/market/history-candles"): (public.market_history_candles, False),
    ("GET", "/api/v5/market/books"): (public.market_books, False),
    ("GET", "/api/v5/market/trades"): (public.market_trades, False),
    ("GET", "/api/v5/account/balance"): (account.account_balance, True),
    ("GET", "/api/v5/account/positions"): (account.account_positions, True),
    ("GET", "/api/v5/account/config"): (account.account_config, True),
    ("GET", "/api/v5/account/leverage-info"): (account.account_leverage_info, True),
    ("GET", "/api/v5/account/bills"): (account.account_bills, True),
    ("GET", "/api/v5/account/max-size"): (account.account_max_size, True),
    ("GET", "/api/v5/account/max-avail-size"): (account.account_max_avail_size, True),
    ("GET", "/api/v5/account/trade-fee"): (account.account_trade_fee, True),
    ("POST", "/api/v5/account/set-leverage"): (account.account_set_leverage, True),
    ("POST", "/api/v5/account/set-position-mode"): (account.account_set_position_mode, True),
    ("POST", "/api/v5/account/set-account-level"): (account.account_set_account_level, True),
    ("POST", "/api/v5/trade/order"): (trade.trade_place_order, True),
    ("POST", "/api/v5/trade/batch-orders"): (trade.trade_batch_orders, True),
    ("POST", "/api/v5/trade/cancel-order"): (trade.trade_cancel_order, True),
    ("POST", "/api/v5/trade/cancel-batch-orders"): (trade.trade_cancel_batch_orders, True),
    ("POST", "/api/v5/trade/amend-order"): (trade.trade_amend_order, True),
    ("POST", "/api/v5/trade/amend-batch-orders"): (trade.trade_amend_batch_orders, True),
    ("POST", "/api/v5/trade/close-position"): (trade.trade_close_position, True),
    ("GET", "/api/v5/trade/order"): (trade.trade_get_order, True),
    ("GET", "/api/v5/trade/orders-pending"): (trade.trade_orders_pending, True),
    ("GET", "/api/v5/trade/orders-history"): (trade.trade_orders_history, True),
    ("GET", "/api/v5/trade/fills"): (trade.trade_fills, True),
    ("POST", "/api/v5/trade/order-algo"): (algo.trade_order_algo, True),
    ("POST", "/api/v5/trade/cancel-algos"): (algo.trade_cancel_algos, True),
    ("POST", "/api/v5/trade/amend-algos"): (algo.trade_amend_algos, True),
    ("GET", "/api/v5/trade/orders-algo-pending"): (algo.trade_orders_algo_pending, True),
    ("GET", "/api/v5/trade/orders-algo-history"): (algo.trade_orders_algo_history, True),
}
# POST endpoints whose body is a JSON array (OKX batch endpoints).
ARRAY_BODIES = {
    "/api/v5/trade/batch-orders",
    "/api/v5/trade/cancel-batch-orders",
    "/api/v5/trade/amend-batch-orders",
    "/api/v5/trade/cancel-algos",
}
_PATHS = {path for _, path in ROUTES}


def _rate_key(scope: str, request: web.Request, body: object) -> tuple:
    user = request.headers.get("OK-ACCESS-KEY", "")
    ip = request.remote or ""
    parts: list[str] = []
    for part in scope.split("+"):
        if part == "ip":
            parts.append(ip)
        elif part == "user":
            parts.append(user)
        else:
            value = request.query.get(part, "")
            if not value and isinstance(body, dict):
                value = str(body.get(part, ""))
            parts.append(value)
    return tuple(parts)


async def dispatch(request: web.Request) -> web.Response:
    """The one entry point for /api/v5/*: route, authenticate, parse, rate-limit, handle."""
    sim: Simulator = request.app[SIM_KEY]
    in_us = time.time_ns() // 1000
    entry = ROUTES.get((request.method, request.path))
    if entry is None:
        if request.path in _PATHS:
            return error("50115", "Invalid request method.", 405)
        return error("404", "Not Found", 404)
    handler, private = entry
    raw_body = (await request.read()).decode("utf-8", "replace") if request.method == "POST" else ""
    if private:
        code = check_request(
            request.headers,
            request.method,
            request.raw_path,
            raw_body,
            api_key=sim.config.api_key,
            secret=sim.config.api_secret,
            passphrase=sim.config.passphrase,
            now_s=sim.now_ms() / 1000,
            max_skew_s=sim.config.max_clock_skew_secs,
        )
        if code is not None:
            return gateway_error(code, AUTH_HTTP_STATUS)
    body: object = None
    if request.method == "POST":
        if not request.headers.get("Content-Type", "").lower().startswith("application/json"):
            return error("50006", status=400)
        if not raw_body.strip():
            return error("50000", status=400)
        try:
            body = msgspec.json.decode(raw_body)
        except msgspec.DecodeError:
            return error("50002", status=400)
        if not isinstance(body, list if request.path in ARRAY_BODIES else dict):
            return error("51000", "Parameter body error", 400)
    if sim.config.rate_limits:
        limit = RATE_LIMITS.get((request.method, request.path))
        if limit is not None:
            key = (request.method, request.path) + _rate_key(
                limit[1], request, body if isinstance(body, dict) else None
            )
            if not sim.limiter.allow(key, limit[0], time.monotonic(), limit[2]):
                return gateway_error("50011", 429)
    try:
        return await handler(Ctx(sim, request, body, in_us))
    except ParamError as exc:
        return exc.response()
    except RequestRejected as exc:
        return error(exc.code, exc.msg, exc.status)
