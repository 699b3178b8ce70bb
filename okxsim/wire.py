"""OKX's wire conventions: envelopes, number formatting, error bodies, JSON encoding."""

from __future__ import annotations

from decimal import Decimal

import msgspec
from aiohttp import web

# The application slot holding the Simulator (typed so aiohttp does not warn).
SIM_KEY: web.AppKey = web.AppKey("okxsim", object)

_encoder = msgspec.json.Encoder()
encode = _encoder.encode

# Messages of the error codes the simulator answers with (OKX error table).
MESSAGES = {
    "1": "All operations failed",
    "50000": "Body for POST request cannot be empty.",
    "50001": "Service temporarily unavailable. Please try again later.",
    "50002": "JSON syntax error",
    "50004": "API endpoint request timeout. (does not mean that the request was successful or failed, please check the request result).",
    "50006": 'Invalid Content-Type. Please use "application/JSON".',
    "50011": "Too Many Requests",
    "50013": "Systems are busy. Please try again later.",
    "50026": "System error. Try again later",
    "50101": "APIKey does not match current environment.",
    "50102": "Timestamp request expired.",
    "50103": 'Request header "OK-ACCESS-KEY" cannot be empty.',
    "50104": 'Request header "OK-ACCESS-PASSPHRASE" cannot be empty.',
    "50105": 'Request header "OK-ACCESS-PASSPHRASE" incorrect.',
    "50106": 'Request header "OK-ACCESS-SIGN" cannot be empty.',
    "50107": 'Request header "OK-ACCESS-TIMESTAMP" cannot be empty.',
    "50111": "Invalid OK-ACCESS-KEY.",
    "50112": "Invalid OK-ACCESS-TIMESTAMP.",
    "50113": "Invalid Sign",
    "51001": "Instrument ID, Instrument ID code or Spread ID doesn't exist.",
    "59000": "Settings failed. Please close any open positions or orders before modifying settings.",
}

HTTP_STATUS = {
    "50001": 503,
    "50004": 400,
    "50011": 429,
    "50013": 429,
    "50026": 500,
    "50000": 400,
    "50002": 400,
    "50006": 400,
}


def fmt(value: Decimal | int | None) -> str:
    """A number as OKX prints it: plain decimal string, no exponent, no trailing zeros; None -> ""."""
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


def json_response(payload: object, status: int = 200) -> web.Response:
    return web.Response(body=encode(payload), status=status, content_type="application/json")


def ok(data: list, **extra: object) -> web.Response:
    body: dict = {"code": "0", "data": data, "msg": ""}
    body.update(extra)
    return json_response(body)


def error(code: str, msg: str | None = None, status: int = 200) -> web.Response:
    """A request-level error with the usual envelope: {"code","data":[],"msg"}."""
    return json_response({"code": code, "data": [], "msg": msg if msg is not None else MESSAGES.get(code, "")}, status)


def gateway_error(code: str, status: int, msg: str | None = None) -> web.Response:
    """Gateway-level errors (auth, rate limit) come as {"msg","code"} with no data."""
    return json_response({"msg": msg if msg is not None else MESSAGES.get(code, ""), "code": code}, status)


def param_error(name: str, *, empty: bool = False) -> web.Response:
    text = f"Parameter {name} can not be empty" if empty else f"Parameter {name} error"
    return error("51000", text, 400)


class ParamError(Exception):
    """A malformed request parameter: HTTP 400, code 51000, the message names the field."""

    def __init__(self, name: str, *, empty: bool = False) -> None:
        super().__init__(name)
        self.name = name
        self.empty = empty

    def response(self) -> web.Response:
        return param_error(self.name, empty=self.empty)
