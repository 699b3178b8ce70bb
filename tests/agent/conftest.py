"""Fixtures for agent tests: the stand-in trading API, and the agent app served by uvicorn on a real port."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, AsyncIterator

import httpx
import pytest
import uvicorn

from agent.app import create_app
from agent.settings import AgentSettings, settings_from_env
from tests.agent.standin_api import TOKEN, StandInApi
from tests.helpers import free_port


@pytest.fixture
async def standin_api() -> AsyncIterator[StandInApi]:
    api = await StandInApi().start()
    try:
        yield api
    finally:
        await api.stop()


def agent_settings(database_url: str, api_base_url: str, *, llm_base_url: str | None = None, **overrides: Any) -> AgentSettings:
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
        env.update({"LLM_PROVIDER": "deepseek", "DEEPSEEK_API_KEY": "sk-scripted", "DEEPSEEK_BASE_URL": llm_base_url,
                    "DEEPSEEK_MODEL": "deepseek-flash"})
    else:
        env["LLM_PROVIDER"] = "offline"
    env.update({k.upper(): str(v) for k, v in overrides.items()})
    return settings_from_env(env)


@contextlib.asynccontextmanager
async def serve_agent(settings: AgentSettings) -> AsyncIterator[httpx.AsyncClient]:
    """Run the agent app with uvicorn in this event loop; yield an authenticated client to it."""
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host=settings.agent_host, port=settings.agent_port,
                                           log_config=None, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(600):
            if server.started or task.done():
                break
            await asyncio.sleep(0.02)
        if task.done() or not server.started:
            raise RuntimeError(f"agent did not start: {task.exception() if task.done() else 'timeout'}")
        async with httpx.AsyncClient(base_url=settings.self_base_url, timeout=30,
                                     headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            yield client
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


def analysis_body(run_id: str = "run-1", inst_id: str = "BTC-USDT-SWAP", source: str = "manual") -> dict[str, Any]:
    return {"runId": run_id, "instId": inst_id, "source": source,
            "trigger": {"price": "60000", "baseline": "59500", "deviationBps": 84.0}}
