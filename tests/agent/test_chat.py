"""POST /chat: Server-Sent Events as they happen, sessions stored, a disconnect cancels the model call."""

from __future__ import annotations

import asyncio
import json

from tests.agent.chat_events import read_events
from tests.agent.conftest import agent_settings, serve_agent
from tests.agent.scripted_llm import Reply, ScriptedModel, text_reply, tool_calls_reply
from tests.agent.standin_api import StandInApi


async def test_chat_streams_tool_calls_results_text_and_final(
    fresh_database_url: str, standin_api: StandInApi, model: ScriptedModel
) -> None:
    model.steps = [
        lambda body: tool_calls_reply([("k1", "get_ticker", '{"instId":"ETH-USDT-SWAP"}')]),
        lambda body: text_reply("ETH is at 60000 USDT right now.", pieces=4),
        lambda body: (
            text_reply("Earlier I said 60000.")
            if "ETH is at 60000 USDT right now." in json.dumps(body["messages"])
            else Reply(status=400, error={"error": {"message": "history missing"}})
        ),
    ]
    settings = agent_settings(fresh_database_url, standin_api.base_url, llm_base_url=model.base_url)
    async with serve_agent(settings) as client:
        events = await read_events(client, {"message": "What is ETH doing?", "instId": "ETH-USDT-SWAP"})
        kinds = [k for k, _ in events]
        assert kinds[0] == "session" and kinds[-1] == "final"
        assert kinds.index("tool_call") < kinds.index("tool_result") < kinds.index("delta")
        assert set(kinds) == {"session", "tool_call", "tool_result", "delta", "final"}
        session_id = events[0][1]["sessionId"]
        tool_call = dict(events)["tool_call"]
        assert tool_call["name"] == "get_ticker" and json.loads(tool_call["arguments"]) == {"instId": "ETH-USDT-SWAP"}
        assert set(tool_call) == {"id", "name", "arguments"} and tool_call["id"] == "k1"
        tool_result = dict(events)["tool_result"]
        assert (tool_result["id"], tool_result["name"], tool_result["isError"]) == ("k1", "get_ticker", False)
        assert '"last":"60000.0"' in tool_result["result"]
        assert all(set(d) == {"text"} for k, d in events if k == "delta")
        assert "".join(d["text"] for k, d in events if k == "delta") == "ETH is at 60000 USDT right now."
        final = dict(events)["final"]
        assert final["content"] == "ETH is at 60000 USDT right now." and final["sessionId"] == session_id
        assert set(final) == {"sessionId", "content", "provider", "model", "usage"}

        again = await read_events(client, {"message": "And before?", "sessionId": session_id})
        assert again[0][1]["sessionId"] == session_id and again[-1] == ("final", again[-1][1])
        assert again[-1][1]["content"] == "Earlier I said 60000."

        stored = (await client.get(f"/sessions/{session_id}")).json()
        assert (
            stored["kind"] == "chat" and stored["title"] == "What is ETH doing?" and stored["instId"] == "ETH-USDT-SWAP"
        )
        assert [m["role"] for m in stored["messages"]] == [
            "user",
            "assistant",
            "tool",
            "assistant",
            "user",
            "assistant",
        ]
        assert stored["messageCount"] == 6
        call_turn, result_turn = stored["messages"][1], stored["messages"][2]
        assert call_turn["toolCalls"] == [{"id": "k1", "name": "get_ticker", "arguments": '{"instId":"ETH-USDT-SWAP"}'}]
        assert (result_turn["toolCallId"], result_turn["name"]) == ("k1", "get_ticker")
        assert set(stored["messages"][0]) == {
            "id",
            "role",
            "content",
            "toolCalls",
            "toolCallId",
            "name",
            "runId",
            "createdAt",
        }
        listed = (await client.get("/sessions", params={"kind": "chat"})).json()
        assert [s["id"] for s in listed] == [session_id]
        assert set(listed[0]) == {"id", "title", "instId", "kind", "createdAt", "updatedAt", "messageCount"}
        assert (await client.get("/sessions/chat:nothing")).status_code == 404
        assert (await client.get("/sessions", params={"kind": "other"})).status_code == 400
        empty = await client.post("/chat", json={"message": ""})
        assert empty.status_code == 400 and empty.json()["field"] == "message"


async def test_chat_error_is_an_event(fresh_database_url: str, standin_api: StandInApi, model: ScriptedModel) -> None:
    model.steps = [lambda body: Reply(status=401, error={"error": {"message": "Authentication Fails"}})]
    settings = agent_settings(fresh_database_url, standin_api.base_url, llm_base_url=model.base_url)
    async with serve_agent(settings) as client:
        events = await read_events(client, {"message": "hello"})
    assert events[-1][0] == "error" and "HTTP 401" in events[-1][1]["error"]


async def test_client_disconnect_cancels_the_model_call(
    fresh_database_url: str, standin_api: StandInApi, model: ScriptedModel
) -> None:
    slow = text_reply("word " * 40, pieces=40)
    slow.delay_between = 0.2
    model.steps = [lambda body: slow]
    settings = agent_settings(fresh_database_url, standin_api.base_url, llm_base_url=model.base_url)
    async with serve_agent(settings) as client:
        events = await read_events(client, {"message": "talk slowly"}, stop_after="delta")
        assert events[-1][0] == "delta"
        for _ in range(50):  # the model server sees its stream cut well before the 8 s it would take
            if model.disconnects:
                break
            await asyncio.sleep(0.1)
        assert model.disconnects == 1
        session_id = events[0][1]["sessionId"]
        stored = (await client.get(f"/sessions/{session_id}")).json()
        assert [m["role"] for m in stored["messages"]] == ["user"]  # no half answer stored
