"""The API's error tree, mapped to HTTP in one place (`exception_to_http_response`).

Every error answer is JSON: {"status_code", "detail", "field"?, ...extra}. A bad parameter is a 4xx naming the field;
an OKX failure is a 502/503/429 with OKX's code kept; nothing unexpected leaks internals (500 says only "internal error").
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from psycopg_pool import PoolTimeout

from api_server.okx.errors import (
    OkxAuthError,
    OkxError,
    OkxOrderRejected,
    OkxRateLimited,
    OkxRequestError,
    OkxUnavailable,
)

log = logging.getLogger("aitrader.api.errors")


class ApiError(Exception):
    status_code = 400

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra


class BadRequest(ApiError):
    status_code = 400


class NotFound(ApiError):
    status_code = 404


class Conflict(ApiError):
    status_code = 409


class Unprocessable(ApiError):
    """A well-formed request the rules refuse (the risk guard answers with this)."""

    status_code = 422


class ServiceUnavailable(ApiError):
    status_code = 503


def _body(status: int, detail: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"status_code": status, "detail": detail}
    if field:
        body["field"] = field
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def _okx_status(exc: OkxError) -> int:
    if isinstance(exc, OkxRateLimited):
        return 429
    if isinstance(exc, OkxUnavailable):
        return 503
    if isinstance(exc, OkxOrderRejected):
        return 422
    if isinstance(exc, OkxRequestError):
        return 400
    return 502


def _validation_field(exc: ValidationException) -> tuple[str | None, str]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, dict) and item.get("key"):
            return str(item["key"]), str(item.get("message") or exc.detail)
    return None, str(exc.detail)


def exception_to_http_response(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ApiError):
        status, body = exc.status_code, _body(exc.status_code, exc.detail, exc.field, **exc.extra)
    elif isinstance(exc, OkxError):
        status = _okx_status(exc)
        detail = (
            f"OKX error {exc.s_code or exc.code}: {exc.s_msg or exc.msg}" if (exc.code or exc.s_code) else f"OKX: {exc}"
        )
        if isinstance(exc, OkxAuthError):
            detail = f"OKX rejected the API credentials (code {exc.code}); check OKX_API_KEY / OKX_API_SECRET / OKX_PASSPHRASE"
        body = _body(status, detail, okxCode=exc.code or None, okxSCode=exc.s_code or None)
        log.warning("okx error on %s %s: %s", request.method, request.url.path, detail)
    elif isinstance(exc, (PoolTimeout, psycopg.OperationalError)):
        status, body = 503, _body(503, "database unavailable: try again shortly")
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc.__class__.__name__)
    elif isinstance(exc, ValidationException):
        field, message = _validation_field(exc)
        status, body = 400, _body(400, f"{field}: {message}" if field else message, field)
    elif isinstance(exc, NotAuthorizedException):
        status, body = 401, _body(401, exc.detail or "missing or invalid bearer token")
    elif isinstance(exc, HTTPException):
        status, body = exc.status_code, _body(exc.status_code, str(exc.detail))
    else:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        status, body = 500, _body(500, "internal error")
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return Response(content=body, status_code=status, media_type=MediaType.JSON, headers=headers)
