"""Property tests for every parser of outside data: whatever arrives, each one answers with its documented
result or its documented error type, never anything else.

* OKX WebSocket frames → `TickerFeed.handle_frame` returns None or a reconnect reason; never raises.
* OKX REST replies → `OkxRestClient._parse` + the per-endpoint decoders: a value or an `OkxError` (the
  decoders' msgspec errors are what `_call` turns into `OkxError`).
* Agent answers → `decode_answer` and `AgentClient.analyse` (against a real socket answering arbitrary statuses
  and bodies): an `AnalysisResult` / `AnalysisError` or `AgentCallFailed`.
* Environment values → `parse_env_file` never raises; `load_settings` (API) and `settings_from_env` (agent)
  give settings or `SettingsError` naming a variable.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.settings import ENV_VARIABLES as AGENT_VARIABLES
from agent.settings import settings_from_env
from api_server.okx import models
from api_server.okx.errors import OkxError
from api_server.okx.rest import OkxRestClient, _decoder
from api_server.okx.ws_feed import TickerFeed
from api_server.scheduler.agent_client import (
    AgentCallFailed,
    AgentClient,
    AnalysisError,
    AnalysisRequest,
    AnalysisResult,
    AnalysisTrigger,
    decode_answer,
)
from api_server.settings import load_settings
from api_server.tickers import Ticker, TickerBook
from shared.envfile import SettingsError, load_environment, parse_env_file
from tests.helpers import free_port

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- building blocks: JSON values shaped like OKX's, with the awkward cases OKX (or an attacker) could send ------
OKX_STRINGS = st.sampled_from(
    [
        "",
        "0",
        "-1",
        "1e400",
        "NaN",
        "65000.1",
        "BTC-USDT-SWAP",
        "tickers",
        "subscribe",
        "error",
        "notice",
        "64008",
        "60018",
        "50011",
        "51016",
        "\u0000",
        "\ud800",
        "🙂",
    ]
) | st.text(max_size=20)
SCALARS = st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats() | OKX_STRINGS
JSON = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(OKX_STRINGS, inner, max_size=5), max_leaves=20
)
TICKER_KEYS = [
    "instId",
    "last",
    "lastSz",
    "askPx",
    "askSz",
    "bidPx",
    "bidSz",
    "open24h",
    "high24h",
    "low24h",
    "vol24h",
    "volCcy24h",
    "ts",
    "instType",
    "source",
    "received_at",
]
TICKER_LIKE = st.dictionaries(st.sampled_from(TICKER_KEYS), SCALARS, max_size=len(TICKER_KEYS))
FRAME_LIKE = st.fixed_dictionaries(
    {},
    optional={
        "event": OKX_STRINGS | SCALARS,
        "code": OKX_STRINGS | SCALARS,
        "msg": OKX_STRINGS | SCALARS,
        "connId": SCALARS,
        "arg": st.fixed_dictionaries({}, optional={"channel": OKX_STRINGS | SCALARS, "instId": OKX_STRINGS | SCALARS})
        | SCALARS,
        "data": st.lists(TICKER_LIKE | JSON, max_size=4) | SCALARS,
    },
)


def encode(value: Any) -> str:
    return json.dumps(value, allow_nan=True)  # OKX never sends NaN, but a broken peer could


FRAMES = (
    st.builds(encode, FRAME_LIKE)
    | st.builds(encode, JSON)
    | st.text(max_size=200)
    | st.binary(max_size=200)
    | st.sampled_from(
        ["pong", b"pong", "ping", "", "{", "[]", '{"data": null}', '{"arg": {"channel": "tickers"}, "data": [{}]}']
    )
)


def new_feed() -> TickerFeed:
    return TickerFeed(
        "ws://127.0.0.1:9/ws/v5/public", ["BTC-USDT-SWAP", "ETH-USDT-SWAP"], TickerBook(), rest_client=None
    )


@FAST
@given(frames=st.lists(FRAMES, min_size=1, max_size=5))
def test_ws_frames_never_raise_and_only_tickers_reach_the_book(frames: list[str | bytes]) -> None:
    feed = new_feed()
    for frame in frames:
        reason = feed.handle_frame(frame)
        assert reason is None or (isinstance(reason, str) and reason)
    for inst_id, ticker in feed.book.snapshot().items():
        assert isinstance(ticker, Ticker) and ticker.instId == inst_id and ticker.source == "ws"
    assert feed.frames == len(frames)


@FAST
@given(tickers=st.lists(TICKER_LIKE, min_size=1, max_size=5))
def test_ticker_push_frames_decode_or_are_ignored(tickers: list[dict[str, Any]]) -> None:
    """A push whose items all have a string instId and string values is applied; anything else is ignored whole."""
    feed = new_feed()
    frame = encode({"arg": {"channel": "tickers", "instId": "BTC-USDT-SWAP"}, "data": tickers})
    assert feed.handle_frame(frame) is None
    well_formed = all(
        isinstance(t.get("instId"), str)
        and all(isinstance(v, str) for k, v in t.items() if k not in ("received_at",))
        and (not isinstance(t.get("received_at"), bool) and isinstance(t.get("received_at", 0.0), (int, float)))
        for t in tickers
    )
    if well_formed:
        assert feed.tickers_applied == len(tickers)
    else:
        assert feed.tickers_applied == 0 and len(feed.book) == 0


# -- OKX REST envelopes ------------------------------------------------------------------------------------------
REST_TYPES = [
    Ticker,
    models.Candle,
    models.OrderBook,
    models.Trade,
    models.Instrument,
    models.FundingRate,
    models.ServerTime,
    models.Balance,
    models.Position,
    models.AccountConfig,
    models.Order,
    models.Fill,
    models.PlaceOrderResult,
    models.CancelOrderResult,
    models.LeverageResult,
    models.ClosePositionResult,
]
ENVELOPES = (
    st.builds(
        encode,
        st.fixed_dictionaries(
            {}, optional={"code": SCALARS, "msg": SCALARS, "data": JSON | st.lists(JSON, max_size=3)}
        ),
    )
    | st.builds(encode, JSON)
    | st.binary(max_size=300)
    | st.sampled_from(
        [
            b"",
            b"<html>502 Bad Gateway</html>",
            b'{"code":"0","msg":"","data":[{"sCode":"51000"}]}',
            b'{"code":"1","msg":"All operations failed","data":[{"sCode":"51008","sMsg":"no margin","clOrdId":"x"}]}',
            b'{"code":50011,"msg":"Too Many Requests","data":[]}',
        ]
    )
)


@FAST
@given(
    status=st.sampled_from([200, 200, 200, 400, 401, 403, 404, 429, 500, 502, 503, 504]),
    raw=ENVELOPES,
    item_type=st.sampled_from(REST_TYPES),
)
def test_rest_replies_give_data_or_an_okx_error(status: int, raw: str | bytes, item_type: Any) -> None:
    body = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    try:
        data = OkxRestClient._parse(status, body, "/api/v5/test")
    except OkxError as exc:
        assert exc.path == "/api/v5/test" and str(exc)
        assert exc.to_dict()["type"] == type(exc).__name__
        return
    assert status == 200
    try:
        items = _decoder(item_type).decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return  # `_call` answers these with OkxError("unexpected reply shape")
    assert isinstance(items, list) and all(isinstance(i, item_type) for i in items)


# -- agent answers -----------------------------------------------------------------------------------------------
ANSWER_LIKE = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["analysis_result", "analysis_error", "other"]) | SCALARS,
        "runId": OKX_STRINGS | SCALARS,
        "instId": OKX_STRINGS | SCALARS,
        "summary": OKX_STRINGS | SCALARS,
        "error": OKX_STRINGS | SCALARS,
        "confidence": SCALARS,
        "toolCalls": JSON,
        "orders": JSON,
        "provider": SCALARS,
        "model": SCALARS,
        "usage": st.dictionaries(st.sampled_from(["inputTokens", "outputTokens", "costUsd", "x"]), SCALARS) | SCALARS,
    },
)
ANSWERS = st.builds(encode, ANSWER_LIKE) | st.builds(encode, JSON) | st.binary(max_size=300)


@FAST
@given(raw=ANSWERS)
def test_agent_answers_decode_or_fail_with_a_reason(raw: str | bytes) -> None:
    body = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    try:
        answer = decode_answer(body)
    except AgentCallFailed as exc:
        assert exc.reason.startswith("agent answered with an unreadable message")
        return
    assert isinstance(answer, (AnalysisResult, AnalysisError))


class ScriptedPeer:
    """A real HTTP server in its own thread answering `POST /analysis` with whatever status/body it was given."""

    def __init__(self) -> None:
        self.port = free_port()
        self.status, self.body = 200, b"{}"
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, daemon=True)

    async def _answer(self, request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=self.status, body=self.body, content_type="application/json")

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/analysis", self._answer)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())

    def __enter__(self) -> ScriptedPeer:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.fixture(scope="module")
def peer() -> ScriptedPeer:
    with ScriptedPeer() as running:
        yield running


def test_agent_client_over_a_real_socket_answers_or_fails_with_a_reason(peer: ScriptedPeer) -> None:
    request = AnalysisRequest(runId="r1", instId="BTC-USDT-SWAP", source="manual", trigger=AnalysisTrigger())

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
    @given(status=st.sampled_from([200, 200, 201, 204, 400, 401, 404, 422, 500, 502, 503]), raw=ANSWERS)
    def ask(status: int, raw: str | bytes) -> None:
        peer.status = status
        peer.body = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw

        async def once() -> Any:
            async with aiohttp.ClientSession() as session:
                client = AgentClient(session, f"http://127.0.0.1:{peer.port}", "token-0123456789abcdef", timeout_secs=5)
                return await client.analyse(request)

        try:
            answer = asyncio.run(once())
        except AgentCallFailed as exc:
            assert exc.reason and len(exc.reason) < 2000
            if status >= 500:
                assert f"HTTP {status}" in exc.reason or "unreadable" in exc.reason
            return
        assert isinstance(answer, (AnalysisResult, AnalysisError))
        assert status < 400 or isinstance(answer, AnalysisError)

    ask()


# -- environment values ------------------------------------------------------------------------------------------
API_VARIABLES = [
    "API_HOST",
    "API_PORT",
    "API_TOKEN",
    "DATABASE_URL",
    "OKX_API_KEY",
    "OKX_API_SECRET",
    "OKX_PASSPHRASE",
    "OKX_USE_SIMULATED",
    "OKX_BASE_URL",
    "OKX_WS_PUBLIC_URL",
    "OKX_TICKER_BAR",
    "OKX_INST_IDS",
    "OKX_TIMEOUT_SECS",
    "OKX_MAX_RETRIES",
    "OKX_WS_PING_SECS",
    "OKX_WS_STALE_SECS",
    "OKX_REST_POLL_SECS",
    "AGENT_BASE_URL",
    "AGENT_TIMEOUT_SECS",
    "INITIAL_EQUITY",
    "BALANCE_SNAPSHOT_MIN_ABS_CHANGE",
    "BALANCE_SNAPSHOT_MIN_RELATIVE_CHANGE",
    "BALANCE_SNAPSHOT_INTERVAL_SECS",
    "STRATEGY_SCHEDULE_ENABLED",
    "STRATEGY_SCHEDULE_INTERVAL_SECS",
    "STRATEGY_VOL_TRIGGER_ENABLED",
    "STRATEGY_VOL_THRESHOLD_BPS",
    "STRATEGY_VOL_WINDOW_SECS",
    "STRATEGY_MAX_CONSECUTIVE_FAILURES",
    "CORS_ORIGINS",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "OKX_LIVE_TRADING_CONFIRM",
]
ENV_VALUES = st.sampled_from(
    [
        "",
        " ",
        "0",
        "-1",
        "1",
        "65536",
        "1e9",
        "1e400",
        "inf",
        "-inf",
        "nan",
        "NaN",
        "sNaN",
        "1_000",
        "true",
        "False",
        "maybe",
        "3m",
        "7m",
        "BTC-USDT-SWAP",
        "btc-usdt-swap,ETH-USDT-SWAP",
        ",,",
        "http://127.0.0.1:1",
        "ftp://x",
        "postgresql://u@h/db",
        "9" * 5000,
        "0x10",
        "١٢",
        "\t1\n",
    ]
) | st.text(max_size=30)


def _environment(names: list[str]) -> st.SearchStrategy[dict[str, str]]:
    return st.dictionaries(st.sampled_from(names), ENV_VALUES, max_size=8)


@FAST
@given(env=_environment(API_VARIABLES))
def test_api_settings_from_any_values_are_settings_or_a_named_error(env: dict[str, str]) -> None:
    base = {"API_TOKEN": "t" * 20, "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"}
    try:
        loaded = load_settings({**base, **env}, env_file=Path("/dev/null"))
    except SettingsError as exc:
        # The named variable is the bad one or the one its pair needs (e.g. OKX_API_SECRET beside OKX_API_KEY).
        assert re.fullmatch(r"[A-Z][A-Z0-9_]+", exc.variable) and exc.problem, exc
        return
    assert 1 <= loaded.api_port <= 65535 and loaded.okx_inst_ids


@FAST
@given(env=_environment(list(AGENT_VARIABLES)))
def test_agent_settings_from_any_values_are_settings_or_a_named_error(env: dict[str, str]) -> None:
    base = {"API_TOKEN": "t" * 20, "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"}
    try:
        loaded = settings_from_env({**base, **env})
    except SettingsError as exc:
        assert exc.variable in AGENT_VARIABLES, exc
        return
    assert 1 <= loaded.agent_port <= 65535 and loaded.okx_inst_ids


@FAST
@given(text=st.text(max_size=400))
def test_env_file_parsing_never_raises(text: str) -> None:
    values = parse_env_file(text)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in values.items())
    assert all("\n" not in k for k in values)


def test_env_file_that_is_not_utf8_is_a_settings_error(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_bytes(b"API_TOKEN=caf\xe9-latin1-token\n")
    with pytest.raises(SettingsError):
        load_environment(env_file, environ={})
