"""OKX v5 access for the trading API: REST client (trading, algo orders, the write rule, OKX's clock), error types,
rate limiter, account mode, a position's TP/SL, public ticker feed."""

from api_server.okx.errors import (
    OkxAuthError,
    OkxError,
    OkxOrderRejected,
    OkxRateLimited,
    OkxRequestError,
    OkxUnavailable,
    OrderOutcomeUnknown,
)
from api_server.okx.rest import OkxRestClient
from api_server.okx.ws_feed import TickerFeed

__all__ = [
    "OkxAuthError",
    "OkxError",
    "OkxOrderRejected",
    "OkxRateLimited",
    "OkxRequestError",
    "OkxRestClient",
    "OkxUnavailable",
    "OrderOutcomeUnknown",
    "TickerFeed",
]
