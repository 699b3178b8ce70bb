"""Who is calling the trading tools: the origin every trading call to the API carries (CONTRACT, interface 1).

`agent:run:<runId>` inside an analysis, `agent:chat:<sessionId>` inside a chat turn, `mcp:<tokenName>` for an
outside MCP client (set from its token at /mcp). The value lives in a context variable set by the caller,
never in a tool argument, so a model or an MCP client cannot choose it.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator

from shared.ids import ID_CHARS, RUN_ID_MAX

ORIGIN_HEADER = "X-AiTrader-Origin"
ORIGIN_RE = re.compile(rf"^(agent:run:|agent:chat:|mcp:){ID_CHARS}{{1,{RUN_ID_MAX}}}$")  # shared.ids rules

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("aitrader_origin", default=None)


def run_origin(run_id: str) -> str:
    return f"agent:run:{run_id}"


def chat_origin(session_id: str) -> str:
    return f"agent:chat:{session_id}"  # session ids are `chat:<32 hex>`, inside the header's 64 characters


def mcp_origin(token_name: str) -> str:
    return f"mcp:{token_name}"


def current_origin() -> str | None:
    return _current.get()


@contextlib.contextmanager
def acting_as(origin: str) -> Iterator[None]:
    if not ORIGIN_RE.match(origin):
        raise ValueError(f"malformed origin {origin!r}")
    token = _current.set(origin)
    try:
        yield
    finally:
        _current.reset(token)


def run_id_of(origin: str | None) -> str | None:
    """The strategy run id an analysis' orders still carry in the body (`runId`) for the API's records."""
    if origin and origin.startswith("agent:run:"):
        return origin.removeprefix("agent:run:")
    return None
