"""OKX error types: one tree, classified from the HTTP status and OKX's `code` / per-item `sCode`.

`temporary=True` marks errors worth retrying (rate limits, outages, timeouts). Messages carry OKX's
own `msg`/`sMsg` and the request path, never headers, keys or signatures.
"""

from __future__ import annotations

# OKX codes by meaning (OKX_FACTS.md §2.3; same grouping as OKX's agent-trade-kit and ccxt).
RATE_LIMIT_CODES = frozenset({"50011", "50061"})
UNAVAILABLE_CODES = frozenset({"50001", "50004", "50013", "50026"})
AUTH_CODES = frozenset(str(c) for c in range(50101, 50115))
ORDER_ALREADY_EXISTS = "51016"  # "Client order ID already exists."
CANCEL_FAILED_GONE = "51400"  # "Order cancellation failed as the order has been filled, canceled or does not exist."
ORDER_DOES_NOT_EXIST = "51603"  # GET order / order-algo: "Order does not exist."
TIMESTAMP_EXPIRED = "50102"  # "Timestamp request expired." (signed more than 30 s from OKX's clock)


class OkxError(Exception):
    """Any failure talking to OKX."""

    default_temporary = False

    def __init__(
        self,
        msg: str,
        *,
        code: str = "",
        http_status: int | None = None,
        s_code: str = "",
        s_msg: str = "",
        path: str = "",
        temporary: bool | None = None,
        cl_ord_id: str = "",
    ) -> None:
        self.msg = msg
        self.code = code
        self.http_status = http_status
        self.s_code = s_code
        self.s_msg = s_msg
        self.path = path
        self.cl_ord_id = cl_ord_id
        self.temporary = self.default_temporary if temporary is None else temporary
        self.attempts = 1  # set by the client when it gave up after retries
        super().__init__(msg)

    def __str__(self) -> str:
        parts = [f"OKX {self.path or 'request'} failed"]
        if self.http_status is not None:
            parts.append(f"HTTP {self.http_status}")
        if self.code:
            parts.append(f"code {self.code}")
        if self.s_code:
            parts.append(f"sCode {self.s_code}")
        text = ", ".join(parts) + f": {self.s_msg or self.msg}"
        if self.attempts > 1:
            text += f" (gave up after {self.attempts} attempts)"
        return text

    def to_dict(self) -> dict[str, object]:
        """Safe to log or return to a client: only OKX's answer and what we asked for."""
        return {
            "type": type(self).__name__,
            "code": self.code,
            "msg": self.msg,
            "sCode": self.s_code,
            "sMsg": self.s_msg,
            "httpStatus": self.http_status,
            "path": self.path,
            "temporary": self.temporary,
            "clOrdId": self.cl_ord_id,
            "attempts": self.attempts,
        }


class OkxRateLimited(OkxError):
    """HTTP 429 or code 50011 / 50061: slow down and retry."""

    default_temporary = True


class OkxUnavailable(OkxError):
    """Timeouts, connection errors, HTTP 5xx, codes 50001/50004/50013/50026: retry later."""

    default_temporary = True


class OkxAuthError(OkxError):
    """Codes 50101–50114 (bad key, signature, timestamp, environment) or no credentials configured."""


class OkxRequestError(OkxError):
    """The request itself is wrong (51000 family, other 4xx, other non-zero codes)."""


class OkxOrderRejected(OkxError):
    """A single-order call answered with a per-order `sCode` != "0" (kept with `sMsg` and `clOrdId`).

    Temporary only when the per-order code itself is a rate-limit/outage code.
    """


class OrderOutcomeUnknown(OkxError):
    """A money-changing POST (order, cancel, close-position, amend, algo order) whose outcome could not be
    learned: the reply was lost and looking the order up by its client id did not settle it in time.

    Never resent blindly: the caller records the order as `unknown` and the account sync resolves it
    later by `cl_ord_id`. `lookups` counts the look-ups made, `last_error` is the last thing that went wrong.
    """

    def __init__(self, cl_ord_id: str, *, path: str, lookups: int, last_error: str) -> None:
        super().__init__(
            f"outcome unknown after {lookups} look-ups by client id {cl_ord_id}: {last_error}",
            path=path,
            temporary=False,
            cl_ord_id=cl_ord_id,
        )
        self.lookups = lookups
        self.last_error = last_error


def outcome_unknown(exc: OkxError) -> bool:
    """Did this failure leave a write's outcome unknown (OKX may have executed it)?

    Timeouts, connection errors, 5xx and the "busy/timeout" codes (50001/50004/50013/50026) do; a rate
    limit (429/50011/50061), an auth failure (e.g. 50102) or a per-order sCode is an answer: not executed.
    """
    return isinstance(exc, OkxUnavailable)


def classify(
    *,
    http_status: int | None,
    code: str,
    msg: str,
    path: str,
) -> OkxError:
    """The typed error for a non-success reply (top-level `code` and/or HTTP status)."""
    kwargs = {"code": code, "http_status": http_status, "path": path}
    if code in RATE_LIMIT_CODES:
        return OkxRateLimited(msg or "rate limited", **kwargs)
    if code in UNAVAILABLE_CODES:
        return OkxUnavailable(msg or "service unavailable", **kwargs)
    if code in AUTH_CODES:
        return OkxAuthError(msg or "authentication failed", **kwargs)
    if http_status == 429:
        return OkxRateLimited(msg or "Too Many Requests", **kwargs)
    if http_status is not None and http_status >= 500:
        return OkxUnavailable(msg or f"HTTP {http_status}", **kwargs)
    if http_status in (401, 403):
        return OkxAuthError(msg or f"HTTP {http_status}", **kwargs)
    return OkxRequestError(msg or f"OKX code {code or '?'}", **kwargs)


def order_rejected(
    *, code: str, msg: str, s_code: str, s_msg: str, cl_ord_id: str, http_status: int | None, path: str
) -> OkxOrderRejected:
    temporary = s_code in RATE_LIMIT_CODES or s_code in UNAVAILABLE_CODES
    return OkxOrderRejected(
        msg or "order rejected",
        code=code,
        http_status=http_status,
        s_code=s_code,
        s_msg=s_msg,
        path=path,
        temporary=temporary,
        cl_ord_id=cl_ord_id,
    )
