"""Who asked for an order (its origin), decided by the caller (COMMON interface 1): the header
`X-AiTrader-Origin` carries `agent:run:<runId>`, `agent:chat:<sessionId>` or `mcp:<tokenName>`; no header is
`manual` (a person with the master token). Orders, approvals and risk refusals record the full string; every
origin but `manual` is an automated one (approval mode, the stop-loss rule)."""

from __future__ import annotations

import re

from api_server.errors import BadRequest
from shared.ids import ID_CHARS, RUN_ID_MAX

ORIGIN_HEADER = "X-AiTrader-Origin"
MANUAL = "manual"
ORIGIN_PREFIXES = ("agent:run:", "agent:chat:", "mcp:")
_ORIGIN_RE = re.compile(rf"^(agent:run:|agent:chat:|mcp:){ID_CHARS}{{1,{RUN_ID_MAX}}}$")


def parse_origin(header: str | None) -> str:
    """The header's origin, `manual` without one; anything else is a 400 naming the header."""
    if header is None:
        return MANUAL
    value = header.strip()
    if not _ORIGIN_RE.match(value):
        raise BadRequest(
            f"{ORIGIN_HEADER} must be one of {', '.join(p + '<id>' for p in ORIGIN_PREFIXES)} with an id of "
            f"1 to 64 letters, digits or _ . : -, got {header[:80]!r}",
            field=ORIGIN_HEADER,
        )
    return value


def origin_kind(origin: str) -> str:
    """What the pure risk rules distinguish: a person (`manual`) or an automated caller (`agent`)."""
    return MANUAL if origin == MANUAL else "agent"


def run_id_of(origin: str, body_run_id: str | None) -> str | None:
    """The strategy run an order belongs to: the body's runId, else the run named by an `agent:run:` origin."""
    if body_run_id:
        return body_run_id
    if origin.startswith("agent:run:"):
        return origin[len("agent:run:") :][:RUN_ID_MAX]
    return None
