"""Fixtures for agent tests: the real simulator + trading API (one stack per module), the stand-in trading API,
and the agent app served by uvicorn on a real port."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn

from agent.app import create_app
from agent.settings import AgentSettings, settings_from_env
from tests.agent.scripted_llm import ScriptedModel
from tests.agent.standin_api import TOKEN, StandInApi
from tests.helpers import free_port
from tests.stack import Api, Sim, api_env, api_server, okxsim

BTC = "BTC-USDT-SWAP"
ETH = "ETH-USDT-SWAP"
# Fast loops for the API under test; the simulator's random walk is paused (prices move only when set).
FAST_API = {
    "OKX_INST_IDS": f"{BTC},{ETH}",
    "ACCOUNT_SYNC_INTERVAL_SECS": "0.5",
    "BALANCE_SNAPSHOT_INTERVAL_SECS": "1",
    "OKX_MAX_RETRIES": "1",
    "LOG_LEVEL": "INFO",
}
QUIET_SIM = {
    "OKXSIM_INST_IDS": f"{BTC},{ETH}",
    "OKXSIM_TICK_MS": "3600000",
    "OKXSIM_RATE_LIMITS": "false",
    "OKXSIM_SEED": "11",
}


class RealStack:
    """The simulator and the trading API as real processes, and helpers to read and reset them."""

    def __init__(self, sim: Sim, api: Api, database_url: str) -> None:
        self.sim, self.api, self.database_url = sim, api, database_url

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.api.url, headers=self.api.headers, timeout=20)

    def orders(self, **params: Any) -> list[dict[str, Any]]:
        resp = self.api.get("/api/account/orders", **params)
        assert resp.status_code == 200, resp.text
        return resp.json()["orders"]

    def positions(self) -> list[dict[str, Any]]:
        return self.api.get("/api/account/positions").json()["positions"]

    def flatten(self) -> None:
        """Close every position and cancel every open order, so each test starts flat."""
        for p in self.positions():
            resp = self.api.post("/api/trade/close-position", {"instId": p["instId"], "posSide": p["posSide"]})
            assert resp.status_code in (200, 201, 404), resp.text
        for o in self.orders(state="open"):
            if o.get("ordId"):
                self.api.post("/api/trade/cancel", {"instId": o["instId"], "ordId": o["ordId"]})


@pytest.fixture(scope="module")
def real_stack(tmp_path_factory: pytest.TempPathFactory, module_database_url: str):
    """One simulator + trading API per test module (they take seconds to start)."""
    logs = tmp_path_factory.mktemp("stack-logs")
    with okxsim(logs, **QUIET_SIM) as sim:
        sim.control("POST", "pause")
        with api_server(logs, api_env(sim, module_database_url, **FAST_API)) as api:
            yield RealStack(sim, api, module_database_url)


@pytest.fixture
def stack(real_stack: RealStack) -> RealStack:
    real_stack.flatten()
    return real_stack


@pytest.fixture
async def model() -> AsyncIterator[ScriptedModel]:
    """A scripted OpenAI-compatible server playing DeepSeek; each test sets `model.steps`."""
    scripted = await ScriptedModel(steps=[]).start()
    try:
        yield scripted
    finally:
        await scripted.stop()


@pytest.fixture
async def standin_api() -> AsyncIterator[StandInApi]:
    api = await StandInApi().start()
    try:
        yield api
    finally:
        await api.stop()


def agent_settings(
    database_url: str, api_base_url: str, *, llm_base_url: str | None = None, **overrides: Any
) -> AgentSettings:
    """Short timings for tests; `llm_base_url` set means a scripted server posing as DeepSeek."""
    env = {
        "AGENT_HOST": "127.0.0.1",
        "AGENT_PORT": str(free_port()),
        "API_TOKEN": TOKEN,
        "API_BASE_URL": api_base_url,
        "DATABASE_URL": database_url,
        "LLM_CALL_TIMEOUT_SECS": "10",
        "LLM_TOTAL_TIMEOUT_SECS": "30",
        "LLM_RETRY_BASE_SECS": "0.01",
        "API_TIMEOUT_SECS": "5",
        "LOG_LEVEL": "WARNING",
    }
    if llm_base_url is not None:
        env.update(
            {
                "LLM_PROVIDER": "deepseek",
                "DEEPSEEK_API_KEY": "sk-scripted",
                "DEEPSEEK_BASE_URL": llm_base_url,
                "DEEPSEEK_MODEL": "deepseek-flash",
            }
        )
    else:
        env["LLM_PROVIDER"] = "offline"
    env.update({k.upper(): str(v) for k, v in overrides.items()})
    return settings_from_env(env)


@contextlib.asynccontextmanager
async def serve_agent(settings: AgentSettings) -> AsyncIterator[httpx.AsyncClient]:
    """Run the agent app with uvicorn in this event loop; yield an authenticated client to it."""
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host=settings.agent_host,
            port=settings.agent_port,
            log_config=None,
            log_level="warning",
            lifespan="on",
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(600):
            if server.started or task.done():
                break
            await asyncio.sleep(0.02)
        if task.done() or not server.started:
            raise RuntimeError(f"agent did not start: {task.exception() if task.done() else 'timeout'}")
        async with httpx.AsyncClient(
            base_url=settings.self_base_url,
            timeout=30,
            headers={"Authorization": f"Bearer {settings.api_token.get_secret_value()}"},
        ) as client:
            yield client
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


def analysis_body(run_id: str = "run-1", inst_id: str = "BTC-USDT-SWAP", source: str = "manual") -> dict[str, Any]:
    return {
        "runId": run_id,
        "instId": inst_id,
        "source": source,
        "trigger": {"price": "60000", "baseline": "59500", "deviationBps": 84.0},
    }
