"""Real processes the reliability and security suites start, stop, kill and restart.

`ServiceProcess` is one service (`python -m okxsim|api_server|agent`) that can be killed (SIGKILL, as a crash)
and started again on the same port with the same environment. `DedicatedPostgres` is a PostgreSQL cluster of
its own (`scripts/pg.sh start NAME PORT DB`) that a fault test may stop and restart without touching the
session's shared server. `full_stack` starts simulator + API + offline agent on free ports.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.helpers import PYTHON, REPO_ROOT, base_env, free_port, stop_process, wait_for_http
from tests.stack import API_TOKEN, SIM_KEY, SIM_PASSPHRASE, SIM_SECRET, Api, Sim, api_env

DEEPSEEK_TEST_KEY = "sk-never-shown-0123456789abcdef"  # a secret planted in the environment to scan for


class ServiceProcess:
    """A service process with a fixed command, environment, health URL and log file; restartable."""

    def __init__(
        self,
        name: str,
        args: list[str],
        env: dict[str, str],
        health_url: str,
        log_path: Path,
        start_timeout: float = 60.0,
    ) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.health_url = health_url
        self.log_path = log_path
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen | None = None
        self._log = None
        self.starts = 0

    def start(self) -> ServiceProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.args, env=self.env, cwd=REPO_ROOT, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.starts += 1
        wait_for_http(self.health_url, self.start_timeout, self.proc)
        return self

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash, no clean shutdown."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self._close_log()

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
        self._close_log()

    def restart(self) -> float:
        """Start again (after a kill); returns the seconds until the health URL answered."""
        began = time.monotonic()
        self.start()
        return time.monotonic() - began

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def okxsim_process(log_dir: Path, **env: str) -> tuple[ServiceProcess, Sim]:
    port = free_port()
    e = base_env(
        OKXSIM_PORT=str(port),
        OKXSIM_API_KEY=SIM_KEY,
        OKXSIM_API_SECRET=SIM_SECRET,
        OKXSIM_PASSPHRASE=SIM_PASSPHRASE,
        OKXSIM_SEED="7",
        OKXSIM_TICK_MS="200",
        OKXSIM_INST_IDS="BTC-USDT-SWAP",
        **env,
    )
    url = f"http://127.0.0.1:{port}"
    return ServiceProcess(
        "okxsim", [PYTHON, "-m", "okxsim"], e, url + "/api/v5/public/time", log_dir / f"okxsim-{port}.log"
    ), Sim(url=url, port=port)


def api_process(log_dir: Path, sim: Sim, database_url: str, **env: str) -> tuple[ServiceProcess, Api]:
    e = api_env(sim, database_url, OKX_INST_IDS="BTC-USDT-SWAP", **env)
    port = int(e["API_PORT"])
    url = f"http://127.0.0.1:{port}"
    return ServiceProcess(
        "api", [PYTHON, "-m", "api_server"], base_env(**e), url + "/api/health", log_dir / f"api-{port}.log"
    ), Api(url=url, port=port, env=e)


@dataclass
class Agent:
    url: str
    port: int
    token: str = API_TOKEN

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def agent_process(
    log_dir: Path, api_url: str, database_url: str, port: int | None = None, **env: str
) -> tuple[ServiceProcess, Agent]:
    port = port or free_port()
    e = base_env(
        AGENT_HOST="127.0.0.1",
        AGENT_PORT=str(port),
        API_TOKEN=API_TOKEN,
        API_BASE_URL=api_url,
        DATABASE_URL=database_url,
        LLM_PROVIDER="offline",
        LLM_RETRY_BASE_SECS="0.01",
        API_TIMEOUT_SECS="5",
        OKX_INST_IDS="BTC-USDT-SWAP",
        **env,
    )
    url = f"http://127.0.0.1:{port}"
    return ServiceProcess("agent", [PYTHON, "-m", "agent"], e, url + "/health", log_dir / f"agent-{port}.log"), Agent(
        url=url, port=port
    )


@dataclass
class FullStack:
    sim: Sim
    api: Api
    agent: Agent
    processes: dict[str, ServiceProcess]


@contextlib.contextmanager
def full_stack(
    log_dir: Path, database_url: str, api_extra: dict[str, str] | None = None, agent_extra: dict[str, str] | None = None
) -> Iterator[FullStack]:
    """Simulator + API + offline agent, wired to each other, on free ports; everything stopped afterwards."""
    sim_proc, sim = okxsim_process(log_dir)
    agent_port = free_port()
    api_proc, api = api_process(
        log_dir, sim, database_url, AGENT_BASE_URL=f"http://127.0.0.1:{agent_port}", **(api_extra or {})
    )
    agent_proc, agent = agent_process(log_dir, api.url, database_url, port=agent_port, **(agent_extra or {}))
    started: list[ServiceProcess] = []
    try:
        for proc in (sim_proc, api_proc, agent_proc):
            proc.start()
            started.append(proc)
        yield FullStack(
            sim=sim, api=api, agent=agent, processes={"okxsim": sim_proc, "api": api_proc, "agent": agent_proc}
        )
    finally:
        for proc in reversed(started):
            proc.stop()


class DedicatedPostgres:
    """A PostgreSQL cluster only this test uses (so stopping it affects nobody else); removed afterwards."""

    def __init__(self, dbname: str = "aitrader_fault") -> None:
        self.name = f"pgfault-{uuid.uuid4().hex[:8]}"
        self.port = free_port()
        self.dbname = dbname
        self.url = ""

    def _pg(self, *args: str) -> str:
        done = subprocess.run(
            [str(REPO_ROOT / "scripts" / "pg.sh"), *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=90
        )
        if done.returncode != 0:
            raise RuntimeError(f"pg.sh {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def start(self) -> float:
        began = time.monotonic()
        self.url = self._pg("start", self.name, str(self.port), self.dbname).splitlines()[-1]
        return time.monotonic() - began

    def stop(self) -> None:
        self._pg("stop", self.name)

    def data_dir(self) -> Path:
        local = REPO_ROOT / ".data" / self.name
        if local.exists():
            return local
        for candidate in Path("/tmp").glob(f"aitrader-pg-*-{self.name}"):
            return candidate
        return local

    def remove(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.stop()
        shutil.rmtree(self.data_dir(), ignore_errors=True)

    def __enter__(self) -> DedicatedPostgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def wait_until(predicate, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll `predicate()` until it returns a truthy value; returns it (TimeoutError naming `what` otherwise)."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (httpx.HTTPError, OSError) as exc:
            last_exc = exc
        time.sleep(interval)
    raise TimeoutError(f"{what} not reached within {timeout}s" + (f" (last error: {last_exc})" if last_exc else ""))
