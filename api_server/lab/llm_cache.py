"""LLM answer cache: the provider's raw answer stored under sha256 of the canonical JSON of (model, messages, tools).

A rerun of a backtest sends the same requests (the market it sees is the same, the memory it keeps is the same),
so every answer comes from the cache: reproducible, and free. Keys leave out everything that does not change
the answer's meaning (stream options, timeouts); they keep the model, so another model is another answer.
The cache sits under the openai client as an httpx transport, so it works for any OpenAI-compatible provider.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
from psycopg_pool import AsyncConnectionPool


def cache_key(model: str, messages: Any, tools: Any) -> str:
    canonical = json.dumps(
        {"model": model, "messages": messages, "tools": tools or []},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class LlmCache:
    """In memory for the run, and in PostgreSQL (`lab_llm_cache`) when a pool is given."""

    def __init__(self, pool: AsyncConnectionPool | None = None) -> None:
        self.pool = pool
        self._memory: dict[str, tuple[bytes, str]] = {}
        self.hits = 0
        self.misses = 0

    async def get(self, key: str) -> tuple[bytes, str] | None:
        held = self._memory.get(key)
        if held is None and self.pool is not None:
            async with self.pool.connection() as conn:
                cur = await conn.execute("select response, content_type from lab_llm_cache where key = %s", (key,))
                row = await cur.fetchone()
            if row is not None:
                values = list(row.values()) if isinstance(row, dict) else list(row)
                held = (bytes(values[0]), values[1])
                self._memory[key] = held
        if held is None:
            self.misses += 1
        else:
            self.hits += 1
        return held

    async def put(self, key: str, model: str, content: bytes, content_type: str) -> None:
        self._memory[key] = (content, content_type)
        if self.pool is not None:
            async with self.pool.connection() as conn:
                await conn.execute(
                    "insert into lab_llm_cache (key, model, response, content_type) values (%s, %s, %s, %s)"
                    " on conflict (key) do nothing",
                    (key, model, content, content_type),
                )


class CachingTransport(httpx.AsyncBaseTransport):
    """Answers `POST …/chat/completions` from the cache; stores successful answers of the inner transport."""

    def __init__(self, inner: httpx.AsyncBaseTransport, cache: LlmCache) -> None:
        self.inner = inner
        self.cache = cache

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or not request.url.path.endswith("/chat/completions"):
            return await self.inner.handle_async_request(request)
        body = json.loads(await request.aread())
        key = cache_key(body.get("model", ""), body.get("messages"), body.get("tools"))
        held = await self.cache.get(key)
        if held is not None:
            return httpx.Response(200, content=held[0], headers={"content-type": held[1], "x-lab-cache": "hit"})
        response = await self.inner.handle_async_request(request)
        content = await response.aread()
        if response.status_code == 200:
            await self.cache.put(
                key, body.get("model", ""), content, response.headers.get("content-type", "application/json")
            )
        return httpx.Response(response.status_code, content=content, headers=dict(response.headers))

    async def aclose(self) -> None:
        await self.inner.aclose()
