"""Shared fixtures: the simulator running in-process on a real socket, and a signing OKX client."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from okxsim.app import create_app
from okxsim.config import SimConfig
from okxsim.wire import SIM_KEY
from shared.okx_auth import iso_timestamp, sign
from tests.helpers import FIXTURES, free_port

# A quiet market: the walk steps once an hour, so prices move only when a test sets them.
QUIET = SimConfig(
    seed=7,
    tick_ms=3_600_000,
    history_minutes=600,
    rate_limits=False,
    inst_ids=("BTC-USDT-SWAP", "ETH-USDT-SWAP", "SOL-USDT-SWAP", "XRP-USDT-SWAP"),
)


def fixture_json(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class SimServer:
    def __init__(self, app: web.Application, runner: web.AppRunner, base: str, config: SimConfig) -> None:
        self.app = app
        self.runner = runner
        self.base = base
        self.config = config

    @property
    def sim(self):
        return self.app[SIM_KEY]

    @property
    def ws_url(self) -> str:
        return self.base.replace("http://", "ws://") + "/ws/v5/public"


class OkxClient:
    """Signs like a real OKX client: prehash = ts + METHOD + raw path?query + raw body."""

    def __init__(self, session: aiohttp.ClientSession, server: SimServer) -> None:
        self.session = session
        self.server = server
        self.key = server.config.api_key
        self.secret = server.config.api_secret
        self.passphrase = server.config.passphrase

    def headers(self, method: str, target: str, body: str = "", **override: str | None) -> dict[str, str]:
        ts = iso_timestamp()
        headers = {
            "OK-ACCESS-KEY": self.key,
            "OK-ACCESS-SIGN": sign(self.secret, ts, method, target, body),
            "OK-ACCESS-TIMESTAMP": ts,
            "OK-ACCESS-PASSPHRASE": self.passphrase,
            "x-simulated-trading": "1",
            "Content-Type": "application/json",
        }
        for name, value in override.items():
            name = name.replace("_", "-")
            if value is None:
                headers.pop(name, None)
            else:
                headers[name] = value
        return headers

    async def call(
        self,
        method: str,
        target: str,
        body: object | None = None,
        *,
        raw_body: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict]:
        text = (
            raw_body if raw_body is not None else (json.dumps(body, separators=(",", ":")) if body is not None else "")
        )
        hdrs = headers if headers is not None else self.headers(method, target, text)
        url = URL(self.server.base + target, encoded=True)
        async with self.session.request(method, url, data=text.encode() if text else None, headers=hdrs) as resp:
            return resp.status, await resp.json(content_type=None)

    async def get(self, target: str) -> dict:
        status, body = await self.call("GET", target)
        assert status == 200, (status, body)
        return body

    async def post(self, target: str, body: object) -> tuple[int, dict]:
        return await self.call("POST", target, body)

    async def control(self, method: str, path: str, body: object | None = None) -> tuple[int, dict]:
        async with self.session.request(method, self.server.base + path, json=body) as resp:
            return resp.status, await resp.json(content_type=None)


async def start_server(config: SimConfig) -> SimServer:
    config = dataclasses.replace(config, port=free_port())
    app = create_app(config)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", config.port).start()
    return SimServer(app, runner, f"http://127.0.0.1:{config.port}", config)


@pytest.fixture
async def server() -> AsyncIterator[SimServer]:
    srv = await start_server(QUIET)
    try:
        yield srv
    finally:
        await srv.runner.cleanup()


@pytest.fixture
async def client(server: SimServer) -> AsyncIterator[OkxClient]:
    async with aiohttp.ClientSession() as session:
        yield OkxClient(session, server)
