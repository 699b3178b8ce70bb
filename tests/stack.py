"""Start the real processes of the system for integration tests: OKX simulator, trading API, agent.

Each returns a small handle with URLs and credentials; processes are real (`python -m ...`) on free ports.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.helpers import PYTHON, base_env, free_port, running

SIM_KEY, SIM_SECRET, SIM_PASSPHRASE = "sim-test-key", "sim-test-secret-0123456789", "sim-test-pass"
API_TOKEN = "test-token-0123456789abcdef"


@dataclass
class Sim:
    url: str
    port: int

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/v5/public"

    def control(self, method: str, path: str, json: dict | None = None) -> httpx.Response:
        resp = httpx.request(method, f"{self.url}/_sim/{path}", json=json, timeout=10)
        resp.raise_for_status()
        return resp


@dataclass
class Service:
    """A running service of ours: its URL and an authenticated way to call it."""

    url: str
    port: int
    token: str = API_TOKEN
    env: dict = field(default_factory=dict)
    get_timeout: float = 15
    post_timeout: float = 15

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **params) -> httpx.Response:
        return httpx.get(self.url + path, params=params, headers=self.headers, timeout=self.get_timeout)

    def post(self, path: str, json: dict | None = None) -> httpx.Response:
        return httpx.post(self.url + path, json=json, headers=self.headers, timeout=self.post_timeout)


@dataclass
class Api(Service):
    """The trading API."""


@contextlib.contextmanager
def okxsim(log_dir: Path, **env: str) -> Iterator[Sim]:
    port = free_port()
    defaults = {
        "OKXSIM_PORT": str(port),
        "OKXSIM_API_KEY": SIM_KEY,
        "OKXSIM_API_SECRET": SIM_SECRET,
        "OKXSIM_PASSPHRASE": SIM_PASSPHRASE,
        "OKXSIM_SEED": "7",
        "OKXSIM_TICK_MS": "200",
    }
    e = base_env(**{**defaults, **env})  # a caller's value wins over a default (e.g. a slower OKXSIM_TICK_MS)
    url = f"http://127.0.0.1:{port}"
    with running([PYTHON, "-m", "okxsim"], e, url + "/api/v5/public/time", log_dir / f"okxsim-{port}.log"):
        yield Sim(url=url, port=port)


def api_env(sim: Sim | None, database_url: str, **env: str) -> dict[str, str]:
    port = free_port()
    e = {
        "API_PORT": str(port),
        "API_TOKEN": API_TOKEN,
        "DATABASE_URL": database_url,
        "AGENT_BASE_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens there unless a test starts an agent
        "OKX_TIMEOUT_SECS": "3",
        "OKX_REST_POLL_SECS": "0.3",
        "OKX_WS_PING_SECS": "5",
        "OKX_WS_STALE_SECS": "10",
    }
    if sim is not None:
        e.update(
            {
                "OKX_BASE_URL": sim.url,
                "OKX_WS_PUBLIC_URL": sim.ws_url,
                "OKX_API_KEY": SIM_KEY,
                "OKX_API_SECRET": SIM_SECRET,
                "OKX_PASSPHRASE": SIM_PASSPHRASE,
            }
        )
    e.update(env)
    return e


@contextlib.contextmanager
def api_server(log_dir: Path, env: dict[str, str]) -> Iterator[Api]:
    port = int(env["API_PORT"])
    url = f"http://127.0.0.1:{port}"
    with running(
        [PYTHON, "-m", "api_server"], base_env(**env), url + "/api/health", log_dir / f"api-{port}.log", timeout=60
    ):
        yield Api(url=url, port=port, env=env)


@dataclass
class Agent(Service):
    """The agent (analyses are slower than API calls)."""

    get_timeout: float = 30
    post_timeout: float = 60


def agent_env(api_url: str, database_url: str, port: int | None = None, **env: str) -> dict[str, str]:
    """`python -m agent` with the offline model against the API at `api_url`; `port` lets the API's
    AGENT_BASE_URL be fixed before the agent starts. Short LLM timings for tests."""
    e = {
        "AGENT_HOST": "127.0.0.1",
        "AGENT_PORT": str(port or free_port()),
        "API_TOKEN": API_TOKEN,
        "API_BASE_URL": api_url,
        "DATABASE_URL": database_url,
        "LLM_PROVIDER": "offline",
        "LLM_CALL_TIMEOUT_SECS": "20",
        "LLM_TOTAL_TIMEOUT_SECS": "60",
        "LLM_RETRY_BASE_SECS": "0.05",
        "API_TIMEOUT_SECS": "10",
    }
    e.update(env)
    return e


@contextlib.contextmanager
def agent_server(log_dir: Path, env: dict[str, str]) -> Iterator[Agent]:
    port = int(env["AGENT_PORT"])
    url = f"http://127.0.0.1:{port}"
    with running([PYTHON, "-m", "agent"], base_env(**env), url + "/health", log_dir / f"agent-{port}.log", timeout=60):
        yield Agent(url=url, port=port, token=env.get("API_TOKEN", API_TOKEN), env=env)
