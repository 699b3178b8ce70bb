"""Memory: trimming to a token budget (pure) and the PostgreSQL store behind the session endpoints."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg_pool import AsyncConnectionPool

from agent.memory import MemoryStore, Turn, estimate_tokens, history_tokens, trim_history
from shared.migrate import apply_migrations

turns_strategy = st.lists(
    st.builds(
        Turn,
        role=st.sampled_from(["user", "assistant"]),
        text=st.text(min_size=1, max_size=600),
        at=st.just("2026-01-01 00:00"),
    ),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(turns_strategy, st.integers(min_value=50, max_value=3000))
def test_trimmed_history_fits_the_budget_and_keeps_the_newest(turns: list[Turn], budget: int) -> None:
    messages = trim_history(turns, budget)
    assert history_tokens(messages) <= budget
    replayed = [m for m in messages if m["role"] != "system"]
    if replayed:
        assert replayed[0]["role"] == "user"
        tail = [{"role": t.role, "content": t.text} for t in turns[-len(replayed) :]]
        assert replayed == tail  # a suffix of the conversation, in order
    assert sum(1 for m in messages if m["role"] == "system") <= 1


def test_old_turns_are_summarised_then_dropped() -> None:
    turns = [Turn("user" if i % 2 == 0 else "assistant", f"turn {i} " + "x" * 400, f"d{i}") for i in range(20)]
    messages = trim_history(turns, 600)
    digest = messages[0]
    assert digest["role"] == "system" and digest["content"].startswith("Earlier conversation")
    assert "turn 0 " not in digest["content"]  # the oldest did not fit even as a digest line
    assert messages[-1]["content"].startswith("turn 19")
    assert trim_history(turns, 100000) == [{"role": t.role, "content": t.text} for t in turns]


def test_estimate_tokens_grows_with_text() -> None:
    assert estimate_tokens("") < estimate_tokens("x" * 40) < estimate_tokens("x" * 400)


async def test_store_round_trip_in_postgres(fresh_database_url: str) -> None:
    apply_migrations(fresh_database_url)
    async with AsyncConnectionPool(fresh_database_url, min_size=1, max_size=2, open=False) as pool:
        store = MemoryStore(pool)
        await store.ensure_session("analysis:ETH-USDT-SWAP", "analysis", "ETH-USDT-SWAP", "ETH analyses")
        await store.append(
            "analysis:ETH-USDT-SWAP",
            [
                {"role": "user", "content": "long context " * 50, "brief": "trigger schedule"},
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {"id": "c1", "type": "function", "function": {"name": "get_ticker", "arguments": "{}"}}
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "name": "get_ticker", "content": '{"last":"1"}'},
                {"role": "assistant", "content": "Hold.\nConfidence: 50"},
            ],
            run_id="r1",
        )
        chat_id = await store.new_chat_session(None, "what is BTC doing?")
        await store.append(chat_id, [{"role": "user", "content": "what is BTC doing?"}])

        assert await store.turns("analysis:ETH-USDT-SWAP") == [
            Turn("user", "trigger schedule", (await store.turns("analysis:ETH-USDT-SWAP"))[0].at),
            Turn("assistant", "Hold.\nConfidence: 50", (await store.turns("analysis:ETH-USDT-SWAP"))[1].at),
        ]
        listed = await store.list_sessions(None, None, 10)
        assert {s["id"] for s in listed} == {"analysis:ETH-USDT-SWAP", chat_id}
        assert [s["id"] for s in await store.list_sessions("analysis", "ETH-USDT-SWAP", 10)] == [
            "analysis:ETH-USDT-SWAP"
        ]
        session = await store.read_session("analysis:ETH-USDT-SWAP", 100)
        assert [m["role"] for m in session["messages"]] == ["user", "assistant", "tool", "assistant"]
        assert session["messages"][1]["toolCalls"] == [{"id": "c1", "name": "get_ticker", "arguments": "{}"}]
        assert (session["messages"][2]["toolCallId"], session["messages"][2]["name"]) == ("c1", "get_ticker")
        assert session["messages"][0]["content"].startswith("long context") and session["messages"][0]["runId"] == "r1"
        assert await store.read_session("missing", 10) is None
