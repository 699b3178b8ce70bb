"""`python -m agent` as a real process: start-up checks, MCP over HTTP, memory across restarts and processes."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastmcp import Client

from tests.agent.conftest import analysis_body
from tests.agent.scripted_llm import Reply, ScriptedModel, final_reply, status_reply
from tests.agent.standin_api import TOKEN, StandInApi
from tests.helpers import PYTHON, base_env, free_port, running


def agent_env(database_url: str, api: StandInApi, port: int, model: ScriptedModel | None = None) -> dict[str, str]:
    extra = {
        "AGENT_HOST": "127.0.0.1",
        "AGENT_PORT": str(port),
        "API_TOKEN": TOKEN,
        "API_BASE_URL": api.base_url,
        "DATABASE_URL": database_url,
        "LLM_RETRY_BASE_SECS": "0.01",
        "LOG_FORMAT": "json",
    }
    if model is not None:
        extra.update({"DEEPSEEK_API_KEY": "sk-scripted", "DEEPSEEK_BASE_URL": model.base_url})
    return base_env(**extra)


def test_bad_setting_stops_start_up_naming_the_variable(fresh_database_url: str) -> None:
    env = base_env(API_TOKEN="t", DATABASE_URL=fresh_database_url, OKX_TICKER_BAR="2m", AGENT_PORT=str(free_port()))
    done = subprocess.run([PYTHON, "-m", "agent"], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "OKX_TICKER_BAR" in done.stderr


def test_busy_port_is_refused(fresh_database_url: str) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = base_env(API_TOKEN="t", DATABASE_URL=fresh_database_url, AGENT_PORT=str(port))
        done = subprocess.run([PYTHON, "-m", "agent"], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 3 and "AGENT_PORT" in done.stderr and "in use" in done.stderr


async def test_mcp_over_http_with_a_real_client(
    fresh_database_url: str, standin_api: StandInApi, log_dir: Path
) -> None:
    port = free_port()
    env = agent_env(fresh_database_url, standin_api, port)
    with running([PYTHON, "-m", "agent"], env, f"http://127.0.0.1:{port}/health", log_dir / "agent.log"):
        made = subprocess.run(
            [PYTHON, "-m", "agent.mcp_tokens", "create", "claude-code", "--scopes", "read,trade"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert made.returncode == 0, made.stderr
        mcp_token = made.stdout.strip().splitlines()[-1]
        assert mcp_token.startswith("aitm_")
        listed = subprocess.run(
            [PYTHON, "-m", "agent.mcp_tokens", "list"], env=env, capture_output=True, text=True, timeout=60
        )
        assert "claude-code\tread,trade" in listed.stdout and mcp_token not in listed.stdout
        async with Client(f"http://127.0.0.1:{port}/mcp", auth=mcp_token) as client:
            names = {t.name for t in await client.list_tools()}
            assert {"get_ticker", "get_candles", "place_order", "close_position"} <= names
            ticker = await client.call_tool("get_ticker", {"instId": "BTC-USDT-SWAP"})
            assert ticker.structured_content["last"] == str(standin_api.price)
        for refused in ("wrong-token", TOKEN):  # the master API_TOKEN is not an MCP token
            with pytest.raises(Exception):
                async with Client(f"http://127.0.0.1:{port}/mcp", auth=refused) as client:
                    await client.list_tools()
        revoked = subprocess.run(
            [PYTHON, "-m", "agent.mcp_tokens", "revoke", "claude-code"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert revoked.returncode == 0, revoked.stderr
        with pytest.raises(Exception):
            async with Client(f"http://127.0.0.1:{port}/mcp", auth=mcp_token) as client:
                await client.list_tools()
    log_text = (log_dir / "agent.log").read_text()
    assert TOKEN not in log_text and "sk-scripted" not in log_text and mcp_token not in log_text


def history_checker(expected_answers: list[str], answer: str):
    def step(body: dict[str, Any]) -> Reply:
        replayed = [m["content"] for m in body["messages"] if m["role"] == "assistant"]
        if replayed != expected_answers:
            return status_reply(400, f"history mismatch: {replayed}")
        return final_reply(answer)

    return step


async def test_memory_survives_restart_and_is_shared_by_two_processes(
    fresh_database_url: str, standin_api: StandInApi, model: ScriptedModel, log_dir: Path
) -> None:
    a1, a2, a3, a4 = (f"Answer {i}.\nConfidence: {i}0" for i in range(1, 5))
    model.steps = [
        history_checker([], a1),
        history_checker([a1], a2),
        history_checker([a1, a2], a3),
        history_checker([a1, a2, a3], a4),
    ]
    port_a, port_b = free_port(), free_port()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    health = "http://127.0.0.1:{}/health"
    async with httpx.AsyncClient(headers=headers, timeout=30) as http:
        with running(
            [PYTHON, "-m", "agent"],
            agent_env(fresh_database_url, standin_api, port_a, model),
            health.format(port_a),
            log_dir / "a1.log",
        ):
            first = (await http.post(f"http://127.0.0.1:{port_a}/analysis", json=analysis_body("run-1"))).json()
        assert first["type"] == "analysis_result" and first["confidence"] == 10

        # Restarted, and a second process on the same database: both serve the same history.
        with (
            running(
                [PYTHON, "-m", "agent"],
                agent_env(fresh_database_url, standin_api, port_a, model),
                health.format(port_a),
                log_dir / "a2.log",
            ),
            running(
                [PYTHON, "-m", "agent"],
                agent_env(fresh_database_url, standin_api, port_b, model),
                health.format(port_b),
                log_dir / "b.log",
            ),
        ):
            answers = []
            for run_id, port in (("run-2", port_a), ("run-3", port_b), ("run-4", port_a)):
                answers.append(
                    (await http.post(f"http://127.0.0.1:{port}/analysis", json=analysis_body(run_id))).json()
                )
            assert [a.get("confidence") for a in answers] == [20, 30, 40], answers
            seen_a = (await http.get(f"http://127.0.0.1:{port_a}/sessions/analysis:BTC-USDT-SWAP")).json()
            seen_b = (await http.get(f"http://127.0.0.1:{port_b}/sessions/analysis:BTC-USDT-SWAP")).json()
    assert seen_a["messages"] == seen_b["messages"]
    assert [m["runId"] for m in seen_a["messages"] if m["role"] == "user"] == ["run-1", "run-2", "run-3", "run-4"]
    assert json.loads(json.dumps(seen_a))["kind"] == "analysis"
