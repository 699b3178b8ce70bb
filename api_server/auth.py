"""Bearer-token guard: every route needs `Authorization: Bearer <API_TOKEN>` unless marked public."""

from __future__ import annotations

import hmac

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler

OPENAPI_PATH = "/api/schema"


def token_matches(expected: str, header_value: str | None) -> bool:
    if not expected or not header_value:
        return False
    scheme, _, presented = header_value.partition(" ")
    if scheme.lower() != "bearer" or not presented:
        return False
    # Constant-time comparison so the token cannot be guessed byte by byte from timings.
    return hmac.compare_digest(presented.strip().encode(), expected.encode())


def require_token(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    # The OpenAPI schema and docs describe the API without any data: served without a token.
    if handler.opt.get("public") or connection.scope["path"].startswith(OPENAPI_PATH):
        return
    expected: str = connection.app.state.settings.api_token
    if not token_matches(expected, connection.headers.get("authorization")):
        raise NotAuthorizedException("missing or invalid bearer token")
