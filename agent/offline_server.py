"""The offline model's OpenAI-compatible endpoint (`/offline/v1`): chat completions, streamed or not, and `/models`.

The policy and the conversation protocol are in `agent.offline_model`; this module only speaks the wire format.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict

from agent.offline_model import OFFLINE_MODEL_NAME, Reply, respond

# ---------------------------------------------------------------- the OpenAI-compatible endpoint


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str = OFFLINE_MODEL_NAME
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None
    stream: bool = False
    stream_options: dict[str, Any] | None = None


def _approx_tokens(value: Any) -> int:
    return max(1, len(json.dumps(value, ensure_ascii=False, default=str)) // 4)


def _usage(request: ChatCompletionRequest, reply: Reply) -> dict[str, int]:
    prompt = _approx_tokens(request.messages) + _approx_tokens(request.tools or [])
    completion = _approx_tokens(reply.text or "") + _approx_tokens(reply.tool_calls or [])
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _tool_call_ids(reply: Reply, messages: list[dict[str, Any]]) -> list[str]:
    base = len(messages)
    return [f"call_offline_{base}_{i}" for i in range(len(reply.tool_calls or []))]


def _stream(request: ChatCompletionRequest, reply: Reply) -> Iterator[str]:
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:16]}"
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": OFFLINE_MODEL_NAME,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    if reply.tool_calls:
        if reply.text:  # the final summary may come with the decision call (content and tool calls in one message)
            yield chunk({"content": reply.text})
        for index, ((name, args), call_id) in enumerate(zip(reply.tool_calls, _tool_call_ids(reply, request.messages))):
            yield chunk(
                {
                    "tool_calls": [
                        {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
                    ]
                }
            )
            encoded = json.dumps(args, ensure_ascii=False)
            middle = len(encoded) // 2
            # Arguments in two fragments, as real servers split them.
            for fragment in (encoded[:middle], encoded[middle:]):
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
        yield chunk({}, "tool_calls")
    else:
        for piece in re.findall(r"\S+\s*|\s+", reply.text or ""):
            yield chunk({"content": piece})
        yield chunk({}, "stop")
    if (request.stream_options or {}).get("include_usage"):
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": OFFLINE_MODEL_NAME,
            "choices": [],
            "usage": _usage(request, reply),
        }
        yield f"data: {json.dumps(body)}\n\n"
    yield "data: [DONE]\n\n"


def _complete(request: ChatCompletionRequest, reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    finish = "stop"
    if reply.tool_calls:
        message["tool_calls"] = [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
            for (name, args), call_id in zip(reply.tool_calls, _tool_call_ids(reply, request.messages))
        ]
        finish = "tool_calls"
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:16]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": OFFLINE_MODEL_NAME,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": _usage(request, reply),
    }


def build_offline_router(default_inst: str) -> APIRouter:
    router = APIRouter()

    @router.post("/chat/completions", response_model=None)
    async def chat_completions(request: ChatCompletionRequest) -> StreamingResponse | JSONResponse:
        tool_names = {t.get("function", {}).get("name", "") for t in request.tools or []}
        reply = respond(request.messages, tool_names, default_inst)
        if request.stream:
            return StreamingResponse(_stream(request, reply), media_type="text/event-stream")
        return JSONResponse(_complete(request, reply))

    @router.get("/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": OFFLINE_MODEL_NAME, "object": "model", "owned_by": "aitrader"}]}

    return router
