"""The API's agent client (CONTRACT §5) against the stand-in agent and a closed port, over real sockets:
every failure ends the wait at once with a readable reason; `analysis_error` is its own answer type."""

from __future__ import annotations

import time

import aiohttp
import msgspec
import pytest

from api_server.scheduler.agent_client import (
    AgentCallFailed,
    AgentClient,
    AnalysisError,
    AnalysisRequest,
    AnalysisResult,
    AnalysisTrigger,
    decode_answer,
)
from tests.api_server.stand_in_agent import StandInAgent
from tests.helpers import free_port

TOKEN = "agent-client-test-token-0123456789"


def _request(run_id: str = "run-1") -> AnalysisRequest:
    return AnalysisRequest(
        runId=run_id,
        instId="BTC-USDT-SWAP",
        source="volatility",
        trigger=AnalysisTrigger(price="50400", baseline="50000", deviationBps=80.0),
    )


@pytest.fixture
def stand_in():
    with StandInAgent(TOKEN) as agent:
        yield agent


async def test_result_is_decoded_and_request_carries_contract_body(stand_in: StandInAgent) -> None:
    async with aiohttp.ClientSession() as session:
        answer = await AgentClient(session, stand_in.base_url, TOKEN, 5).analyse(_request())
    assert isinstance(answer, AnalysisResult)
    assert answer.runId == "run-1" and answer.summary.startswith("stand-in analysis")
    assert answer.usage is not None and answer.usage.outputTokens == 5
    call = stand_in.snapshot()[0]
    assert call.authorization == f"Bearer {TOKEN}"
    assert (call.source, call.trigger) == ("volatility", {"price": "50400", "baseline": "50000", "deviationBps": 80.0})


async def test_analysis_error_is_an_answer_not_a_wait(stand_in: StandInAgent) -> None:
    stand_in.set_mode("analysis_error")
    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        answer = await AgentClient(session, stand_in.base_url, TOKEN, 30).analyse(_request())
    assert isinstance(answer, AnalysisError)
    assert answer.error == "model unavailable (stand-in)"
    assert time.monotonic() - started < 2


async def test_http_500_fails_at_once(stand_in: StandInAgent) -> None:
    stand_in.set_mode("http500")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(AgentCallFailed, match="HTTP 500"):
            await AgentClient(session, stand_in.base_url, TOKEN, 30).analyse(_request())


async def test_wrong_token_is_a_refusal_with_the_status(stand_in: StandInAgent) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(AgentCallFailed, match="HTTP 401"):
            await AgentClient(session, stand_in.base_url, "not-the-token-0123456789", 30).analyse(_request())
    assert stand_in.unauthorized == 1


async def test_timeout_ends_the_wait_with_the_setting_named(stand_in: StandInAgent) -> None:
    stand_in.set_mode("result", delay_secs=2.0)
    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        with pytest.raises(AgentCallFailed, match="AGENT_TIMEOUT_SECS"):
            await AgentClient(session, stand_in.base_url, TOKEN, 0.3).analyse(_request())
    assert time.monotonic() - started < 1.5


async def test_refused_connection_fails_at_once() -> None:
    port = free_port()  # nothing listens there
    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        with pytest.raises(AgentCallFailed, match="unreachable"):
            await AgentClient(session, f"http://127.0.0.1:{port}", TOKEN, 30).analyse(_request())
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    "body, problem",
    [
        (b"not json", "unreadable"),
        (b'{"type": "something_else", "runId": "r", "instId": "BTC-USDT-SWAP"}', "unreadable"),
        (b'{"type": "analysis_result", "runId": "r", "instId": "BTC-USDT-SWAP"}', "summary"),
        (b'{"type": "analysis_error", "runId": "r", "instId": "BTC-USDT-SWAP"}', "error"),
    ],
)
def test_malformed_answers_name_the_problem(body: bytes, problem: str) -> None:
    with pytest.raises(AgentCallFailed, match=problem):
        decode_answer(body)


def test_both_answer_cases_round_trip() -> None:
    error = AnalysisError(runId="r", instId="BTC-USDT-SWAP", error="boom")
    assert decode_answer(msgspec.json.encode(error)) == error
    result = AnalysisResult(runId="r", instId="BTC-USDT-SWAP", summary="ok", confidence=55)
    decoded = decode_answer(msgspec.json.encode(result))
    assert isinstance(decoded, AnalysisResult) and decoded.confidence == 55 and decoded.toolCalls == []
