"""A scripted OpenAI-compatible chat completions server over real HTTP (aiohttp) for agent tests.

Each request is answered by the next entry of a script: a function of the request body returning a
`Reply` (streamed chunks, a status with an error body, or a delay). Every request body is recorded.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.helpers import serve_app


@dataclass
class Reply:
    chunks: list[dict[str, Any]] = field(default_factory=list)  # chunk bodies ("choices"/"usage"); id etc. added
    status: int = 200
    error: dict[str, Any] | None = None
    delay_before: float = 0.0
    delay_between: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


Step = Callable[[dict[str, Any]], Reply]


def text_reply(text: str, pieces: int = 3, usage: dict[str, Any] | None = None, reasoning: str | None = None) -> Reply:
    size = max(1, len(text) // pieces + 1)
    chunks: list[dict[str, Any]] = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}
    ]
    if reasoning:
        chunks.append({"choices": [{"index": 0, "delta": {"reasoning_content": reasoning}, "finish_reason": None}]})
    for i in range(0, len(text), size):
        chunks.append({"choices": [{"index": 0, "delta": {"content": text[i : i + size]}, "finish_reason": None}]})
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    chunks.append(
        {"choices": [], "usage": usage or {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}}
    )
    return Reply(chunks=chunks)


def tool_calls_reply(
    calls: list[tuple[str, str, str]],
    split: int = 3,
    reasoning: str | None = None,
    usage: dict[str, Any] | None = None,
    interleave: bool = False,
) -> Reply:
    """calls: (id, name, raw arguments); arguments are cut into `split` fragments; `interleave` mixes calls."""
    chunks: list[dict[str, Any]] = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": None}, "finish_reason": None}]}
    ]
    if reasoning:
        for part in (reasoning[: len(reasoning) // 2], reasoning[len(reasoning) // 2 :]):
            chunks.append({"choices": [{"index": 0, "delta": {"reasoning_content": part}, "finish_reason": None}]})
    per_call: list[list[dict[str, Any]]] = []
    for index, (call_id, name, args) in enumerate(calls):
        frags = []
        size = max(1, len(args) // split + 1)
        pieces = [args[i : i + size] for i in range(0, len(args), size)] or [""]
        frags.append(
            {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": pieces[0]}}
        )
        for piece in pieces[1:]:
            frags.append({"index": index, "function": {"arguments": piece}})
        per_call.append(frags)
    if interleave:
        longest = max(len(f) for f in per_call)
        order = [f[i] for i in range(longest) for f in per_call if i < len(f)]
    else:
        order = [frag for frags in per_call for frag in frags]
    for frag in order:
        chunks.append({"choices": [{"index": 0, "delta": {"tool_calls": [frag]}, "finish_reason": None}]})
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    chunks.append(
        {"choices": [], "usage": usage or {"prompt_tokens": 200, "completion_tokens": 30, "total_tokens": 230}}
    )
    return Reply(chunks=chunks)


def decision_args(
    action: str = "hold", confidence: int = 50, inst_id: str = "BTC-USDT-SWAP", **fields: Any
) -> dict[str, Any]:
    return {
        "action": action,
        "instId": inst_id,
        "size": None,
        "entry": None,
        "stop": None,
        "target": None,
        "invalidation": None,
        "confidence": confidence,
        "reason": f"scripted {action}",
        **fields,
    }


def final_reply(
    text: str,
    decision: dict[str, Any] | None = None,
    call_id: str = "dec1",
    usage: dict[str, Any] | None = None,
    finish_reason: str = "tool_calls",
) -> Reply:
    """The analysis' last message: the answer text and a submit_decision call in one message (ends the loop)."""
    reply = tool_calls_reply([(call_id, "submit_decision", json.dumps(decision or decision_args()))], usage=usage)
    reply.chunks.insert(1, {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]})
    reply.chunks[-2] = {"choices": [{"index": 0, "delta": {}, "finish_reason": finish_reason}]}
    return reply


def status_reply(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(
        status=status, error={"error": {"message": message, "type": "scripted", "code": status}}, headers=headers or {}
    )


@dataclass
class ScriptedModel:
    steps: list[Step]
    requests: list[dict[str, Any]] = field(default_factory=list)
    disconnects: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self) -> ScriptedModel:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._handle)
        self._runner, self.port = await serve_app(app)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        index = len(self.requests)
        self.requests.append(body)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer(request, body, index)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: web.Request, body: dict[str, Any], index: int) -> web.StreamResponse:
        if index >= len(self.steps):
            return web.json_response({"error": {"message": f"script exhausted at request {index + 1}"}}, status=500)
        reply = self.steps[index](body)
        if reply.delay_before:
            await asyncio.sleep(reply.delay_before)
        if reply.status != 200:
            return web.json_response(reply.error or {}, status=reply.status, headers=reply.headers)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        try:
            for n, chunk in enumerate(reply.chunks):
                full = {
                    "id": f"chatcmpl-s{index}",
                    "object": "chat.completion.chunk",
                    "created": 1700000000,
                    "model": body.get("model", "scripted"),
                    **chunk,
                }
                await response.write(f"data: {json.dumps(full)}\n\n".encode())
                if reply.delay_between and n < len(reply.chunks) - 1:
                    await asyncio.sleep(reply.delay_between)
            await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            self.disconnects += 1
            raise
        return response


def always(reply_factory: Callable[[], Reply]) -> Step:
    return lambda body: reply_factory()


def assistant_turns_with_tools(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in body["messages"] if m.get("role") == "assistant" and m.get("tool_calls")]


def tool_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in body["messages"] if m.get("role") == "tool"]
