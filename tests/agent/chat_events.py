"""Reading /chat Server-Sent Events in tests."""

from __future__ import annotations

import json
from typing import Any

import httpx


async def read_events(
    client: httpx.AsyncClient, body: dict[str, Any], stop_after: str | None = None
) -> list[tuple[str, Any]]:
    events: list[tuple[str, Any]] = []
    async with client.stream("POST", "/chat", json=body) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        kind = None
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and kind:
                events.append((kind, json.loads(line.split(":", 1)[1].strip())))
                if kind == stop_after:
                    break
                kind = None
    return events
