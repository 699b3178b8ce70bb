"""One chat turn as events (shapes in `agent.schemas`): session, reasoning and delta (text pieces), tool_call,
tool_result, then final or error. Trading tools act as `agent:chat:<sessionId>` (so approval mode applies).

Cancelling the consumer (client disconnect) cancels the model call in flight.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from agent.llm import LlmError, LoopState
from agent.origin import acting_as, chat_origin
from agent.prompt import CHAT_SYSTEM_PROMPT
from agent.schemas import ChatRequest

if TYPE_CHECKING:
    from agent.service import AgentService

log = logging.getLogger("aitrader.agent")


async def chat_turn(service: AgentService, request: ChatRequest) -> AsyncIterator[dict[str, Any]]:
    settings = service.settings
    if request.sessionId and await service.memory.session_exists(request.sessionId):
        session_id = request.sessionId
    else:
        session_id = await service.memory.new_chat_session(request.instId, request.message)
    yield {"event": "session", "data": {"sessionId": session_id}}
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    async def on_event(kind: str, data: dict[str, Any]) -> None:
        await queue.put({"event": kind, "data": data})

    async def work() -> None:
        try:
            async with service.turns.turn():
                history = await service.memory.history(session_id, settings.agent_memory_token_budget)
                text = request.message if not request.instId else f"[instrument {request.instId}] {request.message}"
                messages = [
                    {"role": "system", "content": CHAT_SYSTEM_PROMPT},
                    *history,
                    {"role": "user", "content": text},
                ]
                await service.memory.append(session_id, [{"role": "user", "content": text}])
                loop = service.tool_loop(
                    tools=service.tool_schemas,
                    run_tool=service.run_tool,
                    run_id=None,
                    session_id=session_id,
                    state=LoopState(),
                    on_event=on_event,
                )
                async with asyncio.timeout(settings.llm_total_timeout_secs):
                    with acting_as(chat_origin(session_id)):
                        outcome = await loop.run(messages)
                await service.memory.append(session_id, outcome.state.new_messages)
                report = service.usage_report(loop)
                await queue.put(
                    {
                        "event": "final",
                        "data": {
                            "sessionId": session_id,
                            "content": outcome.final_text,
                            "provider": settings.llm_provider,
                            "model": settings.model,
                            "usage": {
                                "inputTokens": report.inputTokens,
                                "cachedInputTokens": report.cachedInputTokens,
                                "outputTokens": report.outputTokens,
                                "reasoningTokens": report.reasoningTokens,
                                "costUsd": report.costUsd,
                            },
                        },
                    }
                )
        except TimeoutError:
            await queue.put(
                {
                    "event": "error",
                    "data": {"error": f"chat exceeded {settings.llm_total_timeout_secs:g}s", "reason": "timeout"},
                }
            )
        except LlmError as exc:
            await queue.put({"event": "error", "data": {"error": str(exc), "reason": exc.reason}})
        except Exception as exc:
            log.exception("chat turn failed")
            await queue.put(
                {
                    "event": "error",
                    "data": {
                        "error": f"agent internal error: {type(exc).__name__}: {exc}"[:500],
                        "reason": "llm_error",
                    },
                }
            )
        finally:
            await queue.put(None)

    task = asyncio.create_task(work())
    try:
        while (item := await queue.get()) is not None:
            yield item
    finally:
        if not task.done():
            task.cancel()
            log.info("chat session %s: client went away, model call cancelled", session_id)
        await asyncio.gather(task, return_exceptions=True)
