"""Process-starting fixtures for the scheduler's integration tests: the OKX simulator (`python -m okxsim`),
the stand-in agent (a thread in the test process) and real trading API processes (`python -m api_server`),
all on free ports, against a fresh PostgreSQL database."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api_server.stand_in_agent import StandInAgent
from tests.helpers import PYTHON, base_env, free_port, running, wait_until

API_TOKEN = "scheduler-test-token-0123456789abcdef"
SIM_KEY, SIM_SECRET, SIM_PASSPHRASE = "sched-sim-key", "sched-sim-secret", "sched-sim-pass"
BTC = "BTC-USDT-SWAP"
ETH = "ETH-USDT-SWAP"


@dataclass
class Simulator:
    base: str
    port: int
    client: httpx.Client

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/v5/public"

    def set_price(self, inst_id: str, price: str) -> None:
        resp = self.client.post(f"{self.base}/_sim/price", json={"instId": inst_id, "price": price})
        assert resp.status_code == 200, resp.text


@pytest.fixture
def okxsim(tmp_path: Path) -> Iterator[Simulator]:
    """A quiet simulator: the random walk is paused, prices move only when a test sets them."""
    port = free_port()
    env = base_env(
        OKXSIM_PORT=str(port),
        OKXSIM_API_KEY=SIM_KEY,
        OKXSIM_API_SECRET=SIM_SECRET,
        OKXSIM_PASSPHRASE=SIM_PASSPHRASE,
        OKXSIM_INST_IDS=f"{BTC},{ETH}",
        OKXSIM_TICK_MS="3600000",
        OKXSIM_RATE_LIMITS="false",
        OKXSIM_SEED="7",
    )
    base = f"http://127.0.0.1:{port}"
    with running([PYTHON, "-m", "okxsim"], env, f"{base}/_sim/state", tmp_path / "okxsim.log"):
        with httpx.Client(timeout=5) as client:
            assert client.post(f"{base}/_sim/pause").status_code == 200
            yield Simulator(base, port, client)


@pytest.fixture
def agent() -> Iterator[StandInAgent]:
    with StandInAgent(API_TOKEN) as stand_in:
        yield stand_in


class Api:
    """A running trading API process and a client for it."""

    def __init__(self, base: str, proc: Any, log_path: Path) -> None:
        self.base = base
        self.proc = proc
        self.log_path = log_path
        self.client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=10)

    def get(self, path: str, **params: Any) -> Any:
        resp = self.client.get(path, params=params or None)
        assert resp.status_code == 200, (path, resp.status_code, resp.text)
        return resp.json()

    def status(self) -> dict[str, Any]:
        return self.get("/api/scheduler/status")

    def instrument(self, inst_id: str) -> dict[str, Any]:
        return next(i for i in self.status()["instruments"] if i["instId"] == inst_id)

    def runs(self, inst_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit}
        if inst_id:
            params["instId"] = inst_id
        return self.get("/api/model/strategy-runs", **params)

    def manual_run(self, inst_id: str | None = None) -> list[str]:
        resp = self.client.post("/api/model/strategy-run", json={"instId": inst_id} if inst_id else None)
        assert resp.status_code == 202, resp.text
        return resp.json()["runIds"]

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def api_env(fresh_database_url: str, okxsim: Simulator, agent: StandInAgent) -> dict[str, str]:
    """The environment every API process of a test shares (same database, simulator and agent)."""
    return dict(
        DATABASE_URL=fresh_database_url,
        API_TOKEN=API_TOKEN,
        OKX_BASE_URL=okxsim.base,
        OKX_WS_PUBLIC_URL=okxsim.ws_url,
        OKX_API_KEY=SIM_KEY,
        OKX_API_SECRET=SIM_SECRET,
        OKX_PASSPHRASE=SIM_PASSPHRASE,
        OKX_INST_IDS=f"{BTC},{ETH}",
        AGENT_BASE_URL=agent.base_url,
        AGENT_TIMEOUT_SECS="20",
        SCHEDULER_LEADER_POLL_SECS="0.5",
        LOG_LEVEL="INFO",
    )


@pytest.fixture
def start_api(api_env: dict[str, str], tmp_path: Path) -> Callable[..., contextlib.AbstractContextManager[Api]]:
    """`with start_api(STRATEGY_VOL_TRIGGER_ENABLED="true", ...) as api:` starts `python -m api_server`."""
    counter = iter(range(1, 1000))

    @contextlib.contextmanager
    def start(**overrides: str) -> Iterator[Api]:
        port = free_port()
        env = base_env(**{**api_env, "API_PORT": str(port), **overrides})
        log_path = tmp_path / f"api-{next(counter)}.log"
        base = f"http://127.0.0.1:{port}"
        with running([PYTHON, "-m", "api_server"], env, f"{base}/api/health", log_path) as proc:
            api = Api(base, proc, log_path)
            try:
                yield api
            finally:
                api.close()

    return start


def wait_leader(api: Api, timeout: float = 10.0) -> dict[str, Any]:
    return wait_until(lambda: (s := api.status())["isLeader"] and s, timeout, what="leadership")


def wait_price(api: Api, inst_id: str, price: str, timeout: float = 10.0) -> None:
    """Until the API's ticker book holds `price` for `inst_id` (the feed delivered it)."""
    from decimal import Decimal

    wait_until(
        lambda: (p := api.instrument(inst_id)["price"]) is not None and Decimal(p) == Decimal(price),
        timeout,
        what=f"{inst_id} price {price}",
    )
