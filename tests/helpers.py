"""Helpers for tests that start real processes on real sockets."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
from aiohttp import web

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "okx"
PYTHON = sys.executable


# Ports for child services come from below the kernel's ephemeral range (32768-60999 on Linux): bind(0) and
# outgoing connections never take these, so a port found free here cannot be grabbed by the kernel for
# someone else between this check and the child's bind (the race a bind(0)-then-release probe has). Each
# process of the test run starts at its own offset and never hands out a port twice.
_PORT_RANGE = (20000, 32000)
_handed_out: set[int] = set()
_next_port = _PORT_RANGE[0] + (os.getpid() * 37) % (_PORT_RANGE[1] - _PORT_RANGE[0])


def free_port() -> int:
    global _next_port
    span = _PORT_RANGE[1] - _PORT_RANGE[0]
    for _ in range(span):
        port = _next_port
        _next_port = _PORT_RANGE[0] + (_next_port + 1 - _PORT_RANGE[0]) % span
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port in the test range")


def wait_for_http(url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError as exc:
            last = exc
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout}s: {last}")


def wait_until(
    predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition", interval: float = 0.05
) -> Any:
    """Poll `predicate` until it returns something truthy (returned), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def base_env(**extra: str) -> dict[str, str]:
    """A clean environment for a child service: no `.env` from the repo, only what the test gives."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OKX", "API_", "AGENT_", "STRATEGY_", "DEEPSEEK", "LLM_", "BALANCE_", "INITIAL_"))
    }
    env["AITRADER_ENV_FILE"] = "/dev/null"
    env["PYTHONUNBUFFERED"] = "1"
    env.update({k: str(v) for k, v in extra.items()})
    return env


@contextlib.contextmanager
def running(
    args: list[str], env: dict[str, str], health_url: str, log_path: Path, timeout: float = 30.0
) -> Iterator[subprocess.Popen]:
    """Start a service process, wait for its health URL, stop it (SIGTERM, then SIGKILL) afterwards."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "ab")
    proc = subprocess.Popen(args, env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_http(health_url, timeout, proc)
        yield proc
    finally:
        stop_process(proc)
        log.close()


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def with_database(server_url: str, dbname: str) -> str:
    """The same server URL pointing at another database."""
    return urlunsplit(urlsplit(server_url)._replace(path="/" + dbname))


@contextlib.contextmanager
def scratch_database(server_url: str, prefix: str = "t") -> Iterator[str]:
    """A new empty database on the server of `server_url`, dropped (even with open connections) afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    try:
        yield with_database(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


async def serve_app(app: web.Application, **runner_options) -> tuple[web.AppRunner, int]:
    """Serve an aiohttp stand-in on 127.0.0.1; the kernel picks the port (no race with another free_port user)."""
    runner = web.AppRunner(app, access_log=None, **runner_options)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]
