"""Faults, the request log and rate limiting: the simulator's cross-cutting request machinery."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from okxsim.wire import HTTP_STATUS, MESSAGES, error, gateway_error
from shared.okx_ratelimits import OKX_ENDPOINT_LIMITS, EndpointLimit

REDACTED_HEADERS = {"ok-access-sign", "ok-access-passphrase", "authorization", "cookie"}
RATE_WINDOW_S = 2.0


# OKX's published limits, from the one table the API's client uses too (shared/okx_ratelimits.py):
# (METHOD, path) -> (requests per window, what they are counted per, window seconds).
def _scope(spec: EndpointLimit) -> str:
    base = "ip" if spec.rule.startswith("IP") else "user"
    return f"{base}+{spec.key_param}" if spec.key_param else base


RATE_LIMITS: dict[tuple[str, str], tuple[int, str, float]] = {
    key: (spec.limit, _scope(spec), spec.window_secs) for key, spec in OKX_ENDPOINT_LIMITS.items()
}


class RateLimiter:
    """Sliding 2-second windows per (endpoint, scope key)."""

    def __init__(self) -> None:
        self._hits: dict[tuple, deque[float]] = {}

    def allow(self, key: tuple, limit: int, now: float, window: float = RATE_WINDOW_S) -> bool:
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
        while hits and now - hits[0] >= window:
            hits.popleft()
        if len(hits) >= limit:
            return False
        hits.append(now)
        return True

    def clear(self) -> None:
        self._hits.clear()


@dataclass
class Fault:
    status: int | None
    code: str | None
    remaining: int | None  # None: until cleared
    latency_ms: int
    path_prefix: str
    execute: bool = False  # carry the request out first, then delay / replace / drop its reply
    drop_reply: bool = False  # with execute: close the connection without answering

    def as_json(self) -> dict:
        return {
            "status": self.status,
            "code": self.code,
            "count": self.remaining,
            "latencyMs": self.latency_ms,
            "pathPrefix": self.path_prefix,
            "execute": self.execute,
            "dropReply": self.drop_reply,
        }

    @property
    def answers(self) -> bool:
        return self.status is not None or self.code is not None

    def response(self):
        code = self.code
        status = self.status
        if code is None:
            code = {429: "50011", 503: "50001", 500: "50026", 504: "50004", 401: "50113"}.get(status or 0, "50001")
        if status is None:
            status = HTTP_STATUS.get(code, 200)
        if code in ("50011", "50113") or status == 401:
            return gateway_error(code, status)
        return error(code, MESSAGES.get(code, "Operation failed."), status)


class Faults:
    def __init__(self) -> None:
        self.active: list[Fault] = []

    def match(self, path: str) -> Fault | None:
        for fault in self.active:
            if path.startswith(fault.path_prefix):
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self.active.remove(fault)
                return fault
        return None


class RequestLog:
    def __init__(self, size: int = 2000) -> None:
        self.entries: deque[dict] = deque(maxlen=size)

    def record(self, method: str, target: str, headers, body: str) -> dict:
        entry = {
            "ts": int(time.time() * 1000),
            "method": method,
            "target": target,
            "headers": {k: ("***" if k.lower() in REDACTED_HEADERS else v) for k, v in headers.items()},
            "body": body[:10_000],
            "status": None,
        }
        self.entries.append(entry)
        return entry
