"""Named MCP tokens with scopes (`read`, `trade`, `lab`) for outside MCP clients at /mcp (CONTRACT interface 4).

Only the SHA-256 of a token is stored; the token itself is shown once, when created. The master
`API_TOKEN` is never accepted at /mcp. A token's name becomes the origin of its trading calls
(`mcp:<name>`).

    python -m agent.mcp_tokens create NAME --scopes read,trade
    python -m agent.mcp_tokens list
    python -m agent.mcp_tokens revoke NAME
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import re
import secrets
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

SCOPES = ("read", "trade", "lab")
NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,48}$")
TOKEN_PREFIX = "aitm_"


class TokenRequestError(ValueError):
    """A bad name or scope list; `field` names it (the one error shape)."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_scopes(value: str | list[str]) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value)
    scopes = list(dict.fromkeys(s.strip().lower() for s in items if s.strip()))
    if not scopes:
        raise TokenRequestError("scopes", f"give at least one scope of {', '.join(SCOPES)}")
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise TokenRequestError("scopes", f"unknown scope(s) {', '.join(unknown)}; use {', '.join(SCOPES)}")
    if "read" not in scopes:
        scopes.insert(0, "read")  # every token can list and call the read-only tools
    return scopes


def check_name(name: str) -> str:
    if not NAME_RE.match(name or ""):
        raise TokenRequestError(
            "name", "name must be 1-48 letters, digits, '_', '.' or '-' (it becomes the origin mcp:<name>)"
        )
    return name


@dataclass(frozen=True)
class McpCaller:
    name: str
    scopes: tuple[str, ...]


class McpTokenStore:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def create(self, name: str, scopes: list[str]) -> dict[str, Any]:
        """A new token (shown once). A revoked name may be reused; a live one may not (409)."""
        check_name(name)
        scopes = parse_scopes(scopes)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                """insert into agent_mcp_tokens (name, token_sha256, scopes) values (%s, %s, %s)
                   on conflict (name) do update set token_sha256 = excluded.token_sha256, scopes = excluded.scopes,
                       created_at = now(), last_used_at = null, revoked_at = null
                   where agent_mcp_tokens.revoked_at is not null
                   returning created_at""",
                (name, token_hash(token), scopes),
            )
            row = await cur.fetchone()
        if row is None:
            raise TokenRequestError("name", f"an MCP token named {name!r} exists; revoke it first")
        return {"name": name, "scopes": scopes, "token": token, "createdAt": row[0].isoformat()}

    async def list(self) -> list[dict[str, Any]]:
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                "select name, scopes, created_at, last_used_at, revoked_at from agent_mcp_tokens order by name"
            )
            rows = await cur.fetchall()
        return [
            {
                "name": r["name"],
                "scopes": list(r["scopes"]),
                "createdAt": _iso(r["created_at"]),
                "lastUsedAt": _iso(r["last_used_at"]),
                "revokedAt": _iso(r["revoked_at"]),
            }
            for r in rows
        ]

    async def revoke(self, name: str) -> bool:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "update agent_mcp_tokens set revoked_at = now() where name = %s and revoked_at is null", (name,)
            )
            return cur.rowcount == 1

    async def verify(self, token: str) -> McpCaller | None:
        """The live token's name and scopes, or None. Looked up by hash; compared again in constant time."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        digest = token_hash(token)
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                """update agent_mcp_tokens set last_used_at = now() where token_sha256 = %s and revoked_at is null
                   returning name, scopes, token_sha256""",
                (digest,),
            )
            row = await cur.fetchone()
        if row is None or not hmac.compare_digest(row[2], digest):
            return None
        return McpCaller(row[0], tuple(row[1]))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def _main(argv: list[str]) -> int:
    from agent.settings import load_settings
    from shared.migrate import apply_migrations

    parser = argparse.ArgumentParser(prog="python -m agent.mcp_tokens", description="Named MCP tokens for /mcp")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="create a token (printed once)")
    create.add_argument("name")
    create.add_argument("--scopes", default="read", help="comma-separated: read, trade, lab (default read)")
    sub.add_parser("list", help="list tokens (never their values)")
    revoke = sub.add_parser("revoke", help="revoke a token by name")
    revoke.add_argument("name")
    args = parser.parse_args(argv)
    settings = load_settings()
    await asyncio.to_thread(apply_migrations, settings.database_url)
    async with AsyncConnectionPool(settings.database_url, min_size=1, max_size=1, open=False) as pool:
        store = McpTokenStore(pool)
        try:
            if args.command == "create":
                made = await store.create(args.name, parse_scopes(args.scopes))
                print(f"MCP token {made['name']} (scopes {','.join(made['scopes'])}); shown once, keep it secret:")
                print(made["token"])
            elif args.command == "list":
                for t in await store.list():
                    state = f"revoked {t['revokedAt']}" if t["revokedAt"] else f"last used {t['lastUsedAt'] or 'never'}"
                    print(f"{t['name']}\t{','.join(t['scopes'])}\tcreated {t['createdAt']}\t{state}")
            elif not await store.revoke(args.name):
                print(f"no live MCP token named {args.name!r}", file=sys.stderr)
                return 1
            else:
                print(f"revoked {args.name}")
        except TokenRequestError as exc:
            print(f"error: {exc.field}: {exc}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(_main(sys.argv[1:])))
