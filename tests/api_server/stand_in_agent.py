"""A stand-in for the agent's `POST /analysis` (CONTRACT §5) on a real socket, served from its own thread.

Tests and the latency benchmark point the trading API's `AGENT_BASE_URL` at it. It records every call (with
the moment it arrived), counts calls in progress at once (the API must never send two concurrently), checks
the bearer token, and answers as told: an `analysis_result`, an `analysis_error`, an HTTP 500, after a delay,
or only once released (`hold()` / `release()`), so a test can keep an analysis "running" as long as it needs.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.helpers import free_port

MODES = ("result", "analysis_error", "http500")


@dataclass
class AgentCall:
    run_id: str
    inst_id: str
    source: str
    trigger: dict[str, Any]
    authorization: str
    received_at: float  # time.time()
    received_perf: float  # time.perf_counter(), for latency measurements in the same process
    answered_at: float | None = None


@dataclass
class StandInAgent:
    token: str
    mode: str = "result"
    delay_secs: float = 0.0
    calls: list[AgentCall] = field(default_factory=list)
    max_concurrent: int = 0
    concurrent_violations: int = 0
    unauthorized: int = 0
    decision: dict[str, Any] | None = None  # sent with every analysis_result when set
    failed_calls: list[dict[str, Any]] = field(default_factory=list)  # toolCalls of an analysis_error
    failed_orders: list[dict[str, Any]] = field(default_factory=list)  # orders of an analysis_error
    failed_reason: str | None = None  # reason of an analysis_error (sent when set)

    def __post_init__(self) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._active = 0
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gate: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None

    # -- control (from the test's thread) -------------------------------------------------------------
    def set_mode(self, mode: str, delay_secs: float | None = None) -> None:
        assert mode in MODES, mode
        self.mode = mode
        if delay_secs is not None:
            self.delay_secs = delay_secs

    def hold(self) -> None:
        """Calls from now on wait until `release()` (effective when this returns)."""
        self._in_loop(lambda: self._gate.clear())  # type: ignore[union-attr]

    def release(self) -> None:
        self._in_loop(lambda: self._gate.set())  # type: ignore[union-attr]

    def _in_loop(self, fn) -> None:
        assert self._loop is not None

        async def run() -> None:
            fn()

        asyncio.run_coroutine_threadsafe(run(), self._loop).result(5)

    @property
    def active(self) -> int:
        with self._lock:
            return self._active

    def wait_for_calls(self, count: int, timeout: float = 10.0) -> list[AgentCall]:
        """Block until at least `count` calls arrived; returns the calls so far."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.calls) >= count, timeout):
                raise TimeoutError(f"stand-in agent got {len(self.calls)} calls, expected {count} within {timeout}s")
            return list(self.calls)

    def wait_for_answers(self, count: int, timeout: float = 10.0) -> list[AgentCall]:
        with self._changed:
            ok = self._changed.wait_for(
                lambda: sum(1 for c in self.calls if c.answered_at is not None) >= count, timeout
            )
            if not ok:
                raise TimeoutError(f"stand-in agent answered fewer than {count} calls within {timeout}s")
            return list(self.calls)

    def snapshot(self) -> list[AgentCall]:
        with self._lock:
            return list(self.calls)

    # -- server ------------------------------------------------------------------------------------------
    async def _analysis(self, request: web.Request) -> web.Response:
        received_perf = time.perf_counter()
        received_at = time.time()
        auth = request.headers.get("Authorization", "")
        if auth != f"Bearer {self.token}":
            with self._lock:
                self.unauthorized += 1
            return web.json_response({"detail": "missing or invalid bearer token"}, status=401)
        body = json.loads(await request.read())
        call = AgentCall(
            run_id=body["runId"],
            inst_id=body["instId"],
            source=body["source"],
            trigger=body.get("trigger") or {},
            authorization=auth,
            received_at=received_at,
            received_perf=received_perf,
        )
        with self._changed:
            self._active += 1
            self.max_concurrent = max(self.max_concurrent, self._active)
            if self._active > 1:
                self.concurrent_violations += 1
            self.calls.append(call)
            self._changed.notify_all()
        try:
            assert self._gate is not None
            await self._gate.wait()
            if self.delay_secs:
                await asyncio.sleep(self.delay_secs)
            mode = self.mode
            if mode == "http500":
                return web.Response(status=500, text="stand-in agent: internal error")
            if mode == "analysis_error":
                error = {
                    "type": "analysis_error",
                    "runId": call.run_id,
                    "instId": call.inst_id,
                    "error": "model unavailable (stand-in)",
                    "toolCalls": self.failed_calls,
                    "orders": self.failed_orders,
                    "provider": "offline",
                    "model": "stand-in",
                }
                if self.failed_reason is not None:
                    error["reason"] = self.failed_reason
                return web.json_response(error)
            result = {
                "type": "analysis_result",
                "runId": call.run_id,
                "instId": call.inst_id,
                "summary": f"stand-in analysis of {call.inst_id} ({call.source}) at {call.trigger.get('price')}",
                "confidence": 60,
                "toolCalls": [{"name": "get_ticker", "arguments": {"instId": call.inst_id}}],
                "orders": [],
                "provider": "offline",
                "model": "stand-in",
                "usage": {
                    "inputTokens": 10,
                    "cachedInputTokens": 0,
                    "outputTokens": 5,
                    "modelCalls": 1,
                    "costUsd": 0.0,
                },
            }
            if self.decision is not None:
                result["decision"] = {**self.decision, "instId": call.inst_id}
            return web.json_response(result)
        finally:
            with self._changed:
                self._active -= 1
                call.answered_at = time.time()
                self._changed.notify_all()

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "service": "stand-in agent"})

    async def _serve(self) -> None:
        self._gate = asyncio.Event()
        self._gate.set()
        self._stop = asyncio.Event()
        app = web.Application()
        app.router.add_post("/analysis", self._analysis)
        app.router.add_get("/health", self._health)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await runner.cleanup()

    def _thread_main(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._loop.close()

    def start(self) -> StandInAgent:
        self._thread = threading.Thread(target=self._thread_main, name="stand-in-agent", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("stand-in agent did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._gate.set)  # type: ignore[union-attr]
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(10)

    def __enter__(self) -> StandInAgent:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
