"""The daily LLM budget and the limit on concurrent LLM turns.

Before EVERY model call the call's worst-case cost is reserved in PostgreSQL under an advisory lock:
spent today (settled costs, plus open reservations) + this reservation must fit `LLM_DAILY_BUDGET_USD`,
so parallel chats or analyses (in one process or several on the same database) cannot pass it
together. After the call the reservation is settled with the real cost. A process that dies mid-call
leaves its reservation counted for the day (spending is never under-counted).

The reservation: the prompt's tokens (about four characters per token) at the input price plus
`LLM_MAX_TOKENS` (or `DEFAULT_OUTPUT_RESERVE_TOKENS`) at the output price, at the hour's price.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool

from agent.llm import LlmError, PriceTable, Usage

DEFAULT_OUTPUT_RESERVE_TOKENS = 2048
BUDGET_LOCK_KEY = 0x41695472  # "AiTr": one advisory lock for every budget check on this database


class BudgetExhausted(LlmError):
    reason = "budget"


def day_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def estimate_prompt_tokens(transcript: list[dict[str, Any]], tools: list[dict[str, Any]]) -> int:
    chars = len(json.dumps(transcript, ensure_ascii=False, default=str)) + len(json.dumps(tools, ensure_ascii=False))
    return chars // 4 + 1


@dataclass
class BudgetGuard:
    pool: AsyncConnectionPool
    prices: PriceTable
    provider: str
    model: str
    daily_budget_usd: float
    max_output_tokens: int | None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def reservation_usd(self, prompt_tokens: int, when: datetime) -> float:
        price = self.prices.price(self.model, when)
        if price is None:
            return 0.0
        output = self.max_output_tokens or DEFAULT_OUTPUT_RESERVE_TOKENS
        return (prompt_tokens * price.input_per_mtok + output * price.output_per_mtok) / 1_000_000

    async def reserve(self, run_id: str | None, session_id: str, prompt_tokens: int) -> int:
        """Reserve one call's cost or raise BudgetExhausted; returns the reservation's row id."""
        now = self.clock()
        reserve = self.reservation_usd(prompt_tokens, now)
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute("select pg_advisory_xact_lock(%s)", (BUDGET_LOCK_KEY,))
            cur = await conn.execute(
                """select coalesce(sum(case when settled then cost_usd else greatest(cost_usd, reserved_usd) end), 0)
                   from agent_llm_usage where at >= %s""",
                (day_start(now),),
            )
            row = await cur.fetchone()
            spent = float(row[0]) if row else 0.0
            if spent >= self.daily_budget_usd or spent + reserve > self.daily_budget_usd:  # 0 = no model calls
                raise BudgetExhausted(
                    f"budget exhausted: spent or reserved ${spent:.4f} of the daily LLM budget ${self.daily_budget_usd:.4f} "
                    f"(LLM_DAILY_BUDGET_USD) since 00:00 UTC; the next call would reserve ${reserve:.4f}"
                )
            cur = await conn.execute(
                """insert into agent_llm_usage (at, run_id, session_id, provider, model, input_tokens, cached_input_tokens,
                   output_tokens, cost_usd, reserved_usd, settled) values (%s, %s, %s, %s, %s, 0, 0, 0, 0, %s, false)
                   returning id""",
                (now, run_id, session_id, self.provider, self.model, reserve),
            )
            reserved = await cur.fetchone()
        assert reserved is not None
        return int(reserved[0])

    async def settle(self, reservation_id: int, usage: Usage | None) -> float:
        """Replace the reservation by the real cost (0 when the call produced no usage, e.g. it failed)."""
        usage = usage or Usage()
        cost = self.prices.cost(self.model, usage, self.clock())
        async with self.pool.connection() as conn:
            await conn.execute(
                """update agent_llm_usage set input_tokens = %s, cached_input_tokens = %s, output_tokens = %s,
                   reasoning_tokens = %s, cost_usd = %s, settled = true where id = %s""",
                (
                    usage.input_tokens,
                    usage.cached_input_tokens,
                    usage.output_tokens,
                    usage.reasoning_tokens,
                    cost,
                    reservation_id,
                ),
            )
        return cost


@dataclass
class TurnGate:
    """The loop's CallGate for one turn: reserve before each call, settle after, report usage to a sink."""

    guard: BudgetGuard
    run_id: str | None
    session_id: str
    tools: list[dict[str, Any]]
    on_settled: Callable[[Usage, float], Any] | None = None
    total_usd: float = 0.0  # the turn's cost, each call at its own hour's price

    async def before(self, transcript: list[dict[str, Any]]) -> int:
        return await self.guard.reserve(self.run_id, self.session_id, estimate_prompt_tokens(transcript, self.tools))

    async def after(self, ticket: int, usage: Usage | None) -> None:
        # Shielded: a cancelled turn (client gone, timeout) must still release or settle its reservation.
        cost = await asyncio.shield(self.guard.settle(ticket, usage))
        self.total_usd += cost
        if usage is not None and self.on_settled is not None:
            self.on_settled(usage, cost)


class TurnLimiter:
    """At most `limit` LLM turns (chat and analysis) at once in this process; a turn waits `wait_secs` for a slot."""

    def __init__(self, limit: int, wait_secs: float) -> None:
        self.limit = limit
        self.wait_secs = wait_secs
        self._slots = asyncio.Semaphore(limit)

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(self.wait_secs):
                await self._slots.acquire()
        except TimeoutError:
            # reason llm_error, not budget: the API alerts "LLM budget spent" on budget, and this is only busy.
            raise LlmError(
                f"too many concurrent LLM turns: {self.limit} already running (LLM_MAX_CONCURRENT_TURNS); "
                f"waited {self.wait_secs:g}s (LLM_TURN_WAIT_SECS)",
                "llm_error",
            ) from None
        try:
            yield
        finally:
            self._slots.release()
