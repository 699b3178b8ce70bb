"""OKX v5 access for the trading API: REST client, error types, rate limiter, public ticker feed."""

from api_server.okx.errors import (
    OkxAuthError,
    OkxError,
    OkxOrderRejected,
    OkxRateLimited,
    OkxRequestError,
    OkxUnavailable,
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
    "TickerFeed",
]
