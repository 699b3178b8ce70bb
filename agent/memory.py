"""Conversation memory in PostgreSQL: sessions (one per instrument for analyses, one per chat) and messages.

Any agent process can serve any request: history is read from the database on every turn. What the
model sees of the past is trimmed to a token budget: the newest turns are kept whole, older ones are
folded into one short digest line each, and the oldest are dropped once the digest is full too.
Tool traffic and reasoning are stored for reading (tool calls and results) or not at all (reasoning);
only user turns and final assistant answers are replayed to the model.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

DIGEST_CHARS_PER_TURN = 160
MESSAGE_OVERHEAD_TOKENS = 4


def estimate_tokens(text: str) -> int:
    """About four characters per token (close enough for budgeting; no tokenizer dependency)."""
    return MESSAGE_OVERHEAD_TOKENS + (len(text) + 3) // 4


def analysis_session_id(inst_id: str) -> str:
    return f"analysis:{inst_id}"


@dataclass(frozen=True)
class Turn:
    role: str  # "user" or "assistant"
    text: str
    at: str = ""


def trim_history(turns: Sequence[Turn], budget_tokens: int) -> list[dict[str, str]]:
    """Newest turns whole while they fit; then a digest of older turns in what is left; the rest dropped.

    The result (messages for the model) never exceeds `budget_tokens` by `estimate_tokens`, keeps the
    order, and its replayed turns start with a user turn. The digest is one system message.
    """
    kept: list[Turn] = []
    used = 0
    index = len(turns) - 1
    while index >= 0 and used + estimate_tokens(turns[index].text) <= budget_tokens:
        kept.append(turns[index])
        used += estimate_tokens(turns[index].text)
        index -= 1
    kept.reverse()
    while kept and kept[0].role != "user":
        used -= estimate_tokens(kept.pop(0).text)
        index += 1  # that turn goes to the digest instead
    older = turns[: index + 1]
    messages: list[dict[str, str]] = []
    if older:
        header = f"Earlier conversation ({len(older)} older turn(s), newest last, oldest omitted when too long):"
        remaining = budget_tokens - used - estimate_tokens(header)
        lines: list[str] = []
        for turn in reversed(older):
            line = f"- {turn.at} {turn.role}: {' '.join(turn.text.split())[:DIGEST_CHARS_PER_TURN]}"
            cost = (len(line) + 1 + 3) // 4  # the line plus its newline, rounded up
            if cost > remaining:
                break
            lines.append(line)
            remaining -= cost
        if lines:
            messages.append({"role": "system", "content": header + "\n" + "\n".join(reversed(lines))})
    messages.extend({"role": t.role, "content": t.text} for t in kept)
    return messages


def history_tokens(messages: Sequence[dict[str, str]]) -> int:
    return sum(estimate_tokens(m["content"]) for m in messages)


class MemoryStore:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def ensure_session(self, session_id: str, kind: str, inst_id: str | None, title: str) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                """insert into agent_sessions (id, kind, inst_id, title) values (%s, %s, %s, %s)
                   on conflict (id) do update set updated_at = now()""",
                (session_id, kind, inst_id, title),
            )

    async def new_chat_session(self, inst_id: str | None, title: str) -> str:
        session_id = f"chat:{uuid.uuid4().hex}"
        await self.ensure_session(session_id, "chat", inst_id, title[:120])
        return session_id

    async def session_exists(self, session_id: str) -> bool:
        async with self.pool.connection() as conn:
            cur = await conn.execute("select 1 from agent_sessions where id = %s", (session_id,))
            return await cur.fetchone() is not None

    async def append(self, session_id: str, messages: Sequence[dict[str, Any]], run_id: str | None = None) -> None:
        """Store messages in order in one transaction; `brief` (optional) is what history replays instead of content."""
        if not messages:
            return
        async with self.pool.connection() as conn, conn.transaction():
            async with conn.cursor() as cur:
                await cur.executemany(
                    """insert into agent_messages
                       (session_id, run_id, role, content, brief, tool_calls, tool_call_id, tool_name, tokens)
                       values (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                    [
                        (
                            session_id,
                            run_id,
                            m["role"],
                            m.get("content") or "",
                            m.get("brief"),
                            Jsonb(m["tool_calls"]) if m.get("tool_calls") else None,
                            m.get("tool_call_id"),
                            m.get("name"),
                            estimate_tokens(m.get("brief") or m.get("content") or ""),
                        )
                        for m in messages
                    ],
                )
            await conn.execute("update agent_sessions set updated_at = now() where id = %s", (session_id,))

    async def turns(self, session_id: str, limit: int = 400) -> list[Turn]:
        """User turns and final assistant answers, oldest first (the newest `limit`)."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                """select role, coalesce(brief, content) as text, created_at from (
                       select * from agent_messages
                       where session_id = %s and role in ('user', 'assistant') and tool_calls is null
                             and coalesce(brief, content) <> ''
                       order by id desc limit %s) newest
                   order by id""",
                (session_id, limit),
            )
            rows = await cur.fetchall()
        return [Turn(role, text, created.strftime("%Y-%m-%d %H:%M")) for role, text, created in rows]

    async def history(self, session_id: str, budget_tokens: int) -> list[dict[str, str]]:
        return trim_history(await self.turns(session_id), budget_tokens)

    async def list_sessions(self, kind: str | None, inst_id: str | None, limit: int) -> list[dict[str, Any]]:
        async with self.pool.connection() as conn:
            async with conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(
                    """select s.id, s.kind, s.inst_id, s.title, s.created_at, s.updated_at,
                              (select count(*) from agent_messages m where m.session_id = s.id) as message_count
                       from agent_sessions s
                       where (%(kind)s::text is null or s.kind = %(kind)s) and (%(inst)s::text is null or s.inst_id = %(inst)s)
                       order by s.updated_at desc limit %(limit)s""",
                    {"kind": kind, "inst": inst_id, "limit": limit},
                )
                rows = await cur.fetchall()
        return [_session_json(r) for r in rows]

    async def read_session(self, session_id: str, limit: int) -> dict[str, Any] | None:
        async with self.pool.connection() as conn:
            async with conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(
                    """select id, kind, inst_id, title, created_at, updated_at,
                              (select count(*) from agent_messages m where m.session_id = s.id) as message_count
                       from agent_sessions s where id = %s""",
                    (session_id,),
                )
                session = await cur.fetchone()
                if session is None:
                    return None
                await cur.execute(
                    """select * from (select id, run_id, role, content, tool_calls, tool_call_id, tool_name, tokens, created_at
                       from agent_messages where session_id = %s order by id desc limit %s) newest order by id""",
                    (session_id, limit),
                )
                messages = await cur.fetchall()
        result = _session_json(session)
        result["messages"] = [
            {
                "id": m["id"],
                "role": m["role"],
                "content": m["content"],
                "toolCalls": _tool_calls_json(m["tool_calls"]),
                "toolCallId": m["tool_call_id"],
                "name": m["tool_name"],
                "runId": m["run_id"],
                "createdAt": _iso(m["created_at"]),
            }
            for m in messages
        ]
        return result

    async def usage_summary(self, since: datetime) -> dict[str, Any]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                """select count(*) filter (where settled), coalesce(sum(input_tokens), 0), coalesce(sum(cached_input_tokens), 0),
                          coalesce(sum(output_tokens), 0), coalesce(sum(reasoning_tokens), 0),
                          coalesce(sum(cost_usd) filter (where settled), 0),
                          coalesce(sum(greatest(reserved_usd, cost_usd)) filter (where not settled), 0)
                   from agent_llm_usage where at >= %s""",
                (since,),
            )
            calls, inp, cached, out, reasoning, cost, reserved = await cur.fetchone()  # type: ignore[misc]
        return {
            "since": since.isoformat(),
            "calls": calls,
            "inputTokens": int(inp),
            "cachedInputTokens": int(cached),
            "outputTokens": int(out),
            "reasoningTokens": int(reasoning),
            "costUsd": float(cost),
            "reservedUsd": float(reserved),
        }

    async def run_usage(self, run_id: str) -> list[dict[str, Any]]:
        async with self.pool.connection() as conn:
            async with conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(
                    """select provider, model, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, cost_usd, at
                       from agent_llm_usage where run_id = %s and settled order by id""",
                    (run_id,),
                )
                rows = await cur.fetchall()
        return [{**r, "cost_usd": float(r["cost_usd"]), "at": _iso(r["at"])} for r in rows]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _tool_calls_json(stored: Any) -> list[dict[str, str]] | None:
    """Stored OpenAI-style calls ({id, type, function: {name, arguments}}) as {id, name, arguments}."""
    if not stored:
        return None
    calls = []
    for call in stored:
        function = call.get("function") or {}
        calls.append(
            {"id": call.get("id", ""), "name": function.get("name", ""), "arguments": function.get("arguments") or ""}
        )
    return calls


def _session_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "kind": row["kind"],
        "instId": row["inst_id"],
        "title": row["title"],
        "createdAt": _iso(row["created_at"]),
        "updatedAt": _iso(row["updated_at"]),
        "messageCount": row["message_count"],
    }


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
