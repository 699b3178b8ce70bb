"""Checking OKX's four OK-ACCESS-* headers and the demo-trading header, in OKX's order and with its codes."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from shared.okx_auth import parse_iso_timestamp, sign

AUTH_HTTP_STATUS = 401


def check_request(
    headers: Mapping[str, str],
    method: str,
    raw_target: str,
    body: str,
    *,
    api_key: str,
    secret: str,
    passphrase: str,
    now_s: float,
    max_skew_s: float,
) -> str | None:
    """None when the request is properly signed, else the OKX error code (all answered with HTTP 401).

    prehash = timestamp + METHOD + the raw path-with-query as received + the raw body.
    """
    key = headers.get("OK-ACCESS-KEY", "")
    signature = headers.get("OK-ACCESS-SIGN", "")
    timestamp = headers.get("OK-ACCESS-TIMESTAMP", "")
    given_passphrase = headers.get("OK-ACCESS-PASSPHRASE", "")
    if not key:
        return "50103"
    if not given_passphrase:
        return "50104"
    if not signature:
        return "50106"
    if not timestamp:
        return "50107"
    if not hmac.compare_digest(key.encode(), api_key.encode()):
        return "50111"
    try:
        sent_at = parse_iso_timestamp(timestamp).timestamp()
    except ValueError:
        return "50112"
    if abs(now_s - sent_at) > max_skew_s:
        return "50102"
    if not hmac.compare_digest(given_passphrase.encode(), passphrase.encode()):
        return "50105"
    # The simulator's key is a demo key: it only works with the demo-trading header.
    if headers.get("x-simulated-trading", "") != "1":
        return "50101"
    expected = sign(secret, timestamp, method, raw_target, body)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return "50113"
    return None


def check_ws_login(
    args: Mapping[str, object], *, api_key: str, secret: str, passphrase: str, now_s: float, max_skew_s: float
) -> str | None:
    """WebSocket login: sign = HMAC(secret, timestamp(epoch s) + 'GET' + '/users/self/verify'); None when valid."""
    key = str(args.get("apiKey", ""))
    timestamp = str(args.get("timestamp", ""))
    given_sign = str(args.get("sign", ""))
    given_pass = str(args.get("passphrase", ""))
    if not key or not hmac.compare_digest(key.encode(), api_key.encode()):
        return "60005"
    try:
        sent_at = float(timestamp)
    except ValueError:
        return "60004"
    if abs(now_s - sent_at) > max_skew_s:
        return "60006"
    if not hmac.compare_digest(given_pass.encode(), passphrase.encode()):
        return "60024"
    if not hmac.compare_digest(sign(secret, timestamp, "GET", "/users/self/verify").encode(), given_sign.encode()):
        return "60007"
    return None
