"""The agent's /metrics: Prometheus text behind the bearer token, with request and LLM counters moving."""

from __future__ import annotations

import re

import httpx

from tests.agent.conftest import agent_settings, analysis_body, serve_agent
from tests.agent.scripted_llm import ScriptedModel, text_reply
from tests.agent.standin_api import StandInApi


def sample(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_metrics_need_the_token_and_count_requests_and_tokens(
    fresh_database_url: str, standin_api: StandInApi, model: ScriptedModel
) -> None:
    model.steps = [
        lambda body: text_reply(
            "Hold.\nConfidence: 40", usage={"prompt_tokens": 1000, "completion_tokens": 50, "total_tokens": 1050}
        )
    ]
    settings = agent_settings(fresh_database_url, standin_api.base_url, llm_base_url=model.base_url)
    async with serve_agent(settings) as client:
        async with httpx.AsyncClient(base_url=str(client.base_url)) as anonymous:
            assert (await anonymous.get("/metrics")).status_code == 401
            assert (await anonymous.get("/sessions")).status_code == 401
        before = (await client.get("/metrics")).text
        assert (await client.post("/analysis", json=analysis_body("run-m"))).json()["type"] == "analysis_result"
        after = (await client.get("/metrics")).text
    assert (
        sample(after, "aitrader_http_requests_total", route="/analysis", status="200")
        == sample(before, "aitrader_http_requests_total", route="/analysis", status="200") + 1
    )
    assert (
        sample(after, "aitrader_llm_tokens_total", kind="prompt")
        - sample(before, "aitrader_llm_tokens_total", kind="prompt")
        == 1000
    )
    assert (
        sample(after, "aitrader_llm_tokens_total", kind="completion")
        - sample(before, "aitrader_llm_tokens_total", kind="completion")
        == 50
    )
    assert sample(after, "aitrader_llm_cost_usd_total") > sample(before, "aitrader_llm_cost_usd_total")
    assert re.search(r'aitrader_http_requests_total\{.*status="401"', after)
