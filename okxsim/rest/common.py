"""What every REST handler shares: the request context, query helpers, body decoding, OKX envelopes."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

import msgspec
from aiohttp import web

from okxsim.engine import RequestRejected
from okxsim.wire import ParamError, json_response

if TYPE_CHECKING:
    from okxsim.sim_api import SimulatorApi as Simulator


_FIELD_RE = re.compile(r"\$\.(?:[A-Za-z]+\[\d+\]\.)?([A-Za-z]+)`?\s*$|field `([A-Za-z]+)`")


def decode_body(obj: object, kind: type[msgspec.Struct]) -> msgspec.Struct:
    try:
        return msgspec.convert(obj, kind)
    except msgspec.ValidationError as exc:
        text = str(exc)
        found = _FIELD_RE.search(text)
        raise ParamError(next((g for g in found.groups() if g), "body") if found else "body") from None


# ---- request context --------------------------------------------------------------------------
class Ctx:
    __slots__ = ("body", "in_us", "query", "request", "sim")

    def __init__(self, sim: Simulator, request: web.Request, body: object, in_us: int) -> None:
        self.sim = sim
        self.request = request
        self.query = request.query
        self.body = body
        self.in_us = in_us

    def batch_envelope(self, data: list) -> web.Response:
        """OKX: code "0" when every item succeeded, "1" when all failed, "2" when some did (HTTP 200 always)."""
        out_us = time.time_ns() // 1000
        failed = sum(1 for item in data if item.get("sCode", "0") != "0")
        code, msg = (
            ("0", "")
            if failed == 0
            else ("1", "All operations failed")
            if failed == len(data)
            else ("2", "Bulk operation partially succeeded.")
        )
        return json_response(
            {"code": code, "data": data, "inTime": str(self.in_us), "msg": msg, "outTime": str(out_us)}
        )


def limit_param(query, name: str, default: int, maximum: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ParamError(name) from None
    if value < 1:
        raise ParamError(name)
    return min(value, maximum)


def opt_ts(query, name: str) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise ParamError(name)
    return int(raw)


def required(query, name: str) -> str:
    value = query.get(name, "")
    if not value:
        raise ParamError(name, empty=True)
    return value


def track_of(ctx: Ctx, inst_id: str):
    track = ctx.sim.market.tracks.get(inst_id)
    if track is None:
        raise RequestRejected("51001", "Instrument ID, Instrument ID code or Spread ID doesn't exist.")
    return track


def check_ids(query, *names: str) -> None:
    for name in names:
        value = query.get(name, "")
        if value and not value.isdigit():
            raise ParamError(name)


def body_items(body: object, limit: int = 20) -> list:
    """A batch body: a JSON array of 1..`limit` objects (OKX: at most 20 orders per batch)."""
    if not isinstance(body, list) or not body or len(body) > limit or not all(isinstance(i, dict) for i in body):
        raise ParamError("body")
    return body
