"""shared/metrics.py: the ASGI middleware on a real Litestar and a real FastAPI app served by uvicorn on real sockets
in one process (each with its own registry), scraped over HTTP; plus the pure labelling helpers and domain metrics."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from litestar import Litestar, Response, get
from litestar.response import ServerSentEvent
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from starlette.responses import StreamingResponse
from starlette.routing import Route

from shared.metrics import (
    OTHER_ROUTE,
    UNMATCHED_ROUTE,
    FeedAgeCollector,
    MetricsMiddleware,
    RouteLabeler,
    agent_service_metrics,
    api_service_metrics,
    bucket_raw_path,
    metrics_asgi_app,
    record_llm_usage,
    render_metrics,
)
from tests.helpers import free_port


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape keyed by (name, sorted labels)."""
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(scrape: dict, name: str, **labels: str) -> float:
    return scrape.get((name, tuple(sorted(labels.items()))), 0.0)


@contextlib.asynccontextmanager
async def serve(app) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


def litestar_app(registry: CollectorRegistry, http_metrics) -> MetricsMiddleware:
    @get("/api/items/{item_id:int}", sync_to_thread=False)
    def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @get("/api/boom", sync_to_thread=False)
    def boom() -> None:
        raise RuntimeError("handler failure")

    async def events():
        yield "first"
        await asyncio.sleep(0.3)
        yield "second"

    @get("/api/stream")
    async def stream() -> ServerSentEvent:
        return ServerSentEvent(events())

    @get("/metrics", sync_to_thread=False)
    def metrics() -> Response:
        body, content_type = render_metrics(registry)
        return Response(body, media_type=content_type)

    return MetricsMiddleware(Litestar([item, boom, stream, metrics], debug=False), http_metrics)


def fastapi_app(registry: CollectorRegistry, http_metrics) -> MetricsMiddleware:
    app = FastAPI()

    @app.get("/sessions/{session_id}")
    async def session(session_id: str) -> dict[str, str]:
        return {"id": session_id}

    @app.post("/chat")
    async def chat() -> StreamingResponse:
        async def chunks():
            yield b"data: one\n\n"
            yield b"data: two\n\n"

        return StreamingResponse(chunks(), media_type="text/event-stream")

    app.router.routes.append(Route("/metrics", metrics_asgi_app(registry)))
    return MetricsMiddleware(app, http_metrics)


async def test_two_services_in_one_process_record_by_route_template_and_status() -> None:
    api = api_service_metrics()
    agent = agent_service_metrics()
    async with (
        serve(litestar_app(api.registry, api.http)) as api_url,
        serve(fastapi_app(agent.registry, agent.http)) as agent_url,
    ):
        async with httpx.AsyncClient(timeout=5) as client:
            for i in range(5):
                assert (await client.get(f"{api_url}/api/items/{i}")).status_code == 200
            assert (await client.get(f"{api_url}/api/boom")).status_code == 500
            for path in ("/wp-admin", "/.env", "/api/nothing/1234"):
                assert (await client.get(api_url + path)).status_code == 404
            for sid in ("a1", "b2", "c3"):
                assert (await client.get(f"{agent_url}/sessions/{sid}")).status_code == 200
            chat = await client.post(f"{agent_url}/chat")
            assert chat.text == "data: one\n\ndata: two\n\n"

            # An SSE answer is counted as soon as it starts, while the stream is still open.
            async with client.stream("GET", f"{api_url}/api/stream") as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                async for _ in stream.aiter_bytes():
                    break
                during = samples((await client.get(f"{api_url}/metrics")).text)
                assert (
                    value(during, "aitrader_http_requests_total", method="GET", route="/api/stream", status="200") == 1
                )
                assert value(during, "aitrader_http_requests_in_flight") == 1

            api_scrape_resp = await client.get(f"{api_url}/metrics")
            agent_scrape_resp = await client.get(f"{agent_url}/metrics")

    assert api_scrape_resp.headers["content-type"].startswith("text/plain")
    api_scrape = samples(api_scrape_resp.text)
    agent_scrape = samples(agent_scrape_resp.text)

    # The route template, not the raw path: five different ids share one series.
    assert (
        value(api_scrape, "aitrader_http_requests_total", method="GET", route="/api/items/{item_id}", status="200") == 5
    )
    assert (
        value(
            api_scrape,
            "aitrader_http_request_duration_seconds_count",
            method="GET",
            route="/api/items/{item_id}",
            status="200",
        )
        == 5
    )
    assert value(api_scrape, "aitrader_http_requests_total", method="GET", route="/api/boom", status="500") == 1
    # Unrouted probes share one label whatever their path.
    assert value(api_scrape, "aitrader_http_requests_total", method="GET", route=UNMATCHED_ROUTE, status="404") >= 3
    assert not any("wp-admin" in str(key) or ".env" in str(key) for key in api_scrape)
    # The scrape itself is not recorded, and nothing is left in flight.
    assert not any(dict(labels).get("route") == "/metrics" for _, labels in api_scrape)
    assert value(api_scrape, "aitrader_http_requests_in_flight") == 0

    assert (
        value(agent_scrape, "aitrader_http_requests_total", method="GET", route="/sessions/{session_id}", status="200")
        == 3
    )
    assert value(agent_scrape, "aitrader_http_requests_total", method="POST", route="/chat", status="200") == 1
    # Each service's registry holds only its own traffic and its own domain metrics.
    assert not any(dict(labels).get("route", "").startswith("/api/") for _, labels in agent_scrape)
    assert not any(dict(labels).get("route", "").startswith("/sessions") for _, labels in api_scrape)
    assert "# TYPE aitrader_llm_tokens_total counter" in agent_scrape_resp.text
    assert "aitrader_llm_tokens" not in api_scrape_resp.text
    assert "# TYPE aitrader_okx_requests_total counter" in api_scrape_resp.text
    assert "aitrader_okx_requests" not in agent_scrape_resp.text


async def test_metrics_endpoint_refuses_other_methods() -> None:
    registry = CollectorRegistry()
    app = FastAPI()
    app.router.routes.append(Route("/metrics", metrics_asgi_app(registry), methods=["GET", "HEAD", "POST"]))
    async with serve(app) as url, httpx.AsyncClient(timeout=5) as client:
        resp = await client.post(f"{url}/metrics")
        head = await client.head(f"{url}/metrics")
    assert resp.status_code == 405 and "method" in resp.json()["detail"]
    assert head.status_code == 200 and head.content == b""


def test_domain_metrics_move() -> None:
    last_ticker = {"BTC-USDT-SWAP": 1000.0, "ETH-USDT-SWAP": None}
    m = api_service_metrics(last_ticker_times=lambda: last_ticker)
    m.okx.requests.labels("/api/v5/market/ticker", "ok").inc()
    m.okx.requests.labels("/api/v5/trade/order", "rate_limited").inc()
    m.okx.retries.labels("/api/v5/trade/order", "code_50011").inc(2)
    m.feed.reconnects.labels("stale").inc()
    m.strategy.triggers.labels("volatility", "BTC-USDT-SWAP").inc()
    m.strategy.runs.labels("volatility", "succeeded").inc()
    m.strategy.run_duration.labels("volatility", "succeeded").observe(12.5)
    m.snapshots.writes.labels("written").inc()
    m.snapshots.writes.labels("skipped").inc(3)
    scrape = samples(render_metrics(m.registry)[0].decode())
    assert value(scrape, "aitrader_okx_requests_total", endpoint="/api/v5/trade/order", outcome="rate_limited") == 1
    assert value(scrape, "aitrader_okx_retries_total", endpoint="/api/v5/trade/order", reason="code_50011") == 2
    assert value(scrape, "aitrader_ws_reconnects_total", reason="stale") == 1
    assert value(scrape, "aitrader_strategy_triggers_total", source="volatility", instId="BTC-USDT-SWAP") == 1
    assert value(scrape, "aitrader_strategy_run_duration_seconds_sum", source="volatility", status="succeeded") == 12.5
    assert value(scrape, "aitrader_balance_snapshots_total", outcome="skipped") == 3
    assert ("aitrader_ticker_feed_age_seconds", (("instId", "BTC-USDT-SWAP"),)) in scrape
    assert value(scrape, "aitrader_ticker_feed_age_seconds", instId="ETH-USDT-SWAP") == float("inf")


def test_feed_age_is_computed_at_scrape_time_from_the_clock() -> None:
    last = {"BTC-USDT-SWAP": 100.0}
    now = [103.5]
    registry = CollectorRegistry()
    registry.register(FeedAgeCollector(lambda: last, clock=lambda: now[0]))
    assert (
        value(samples(render_metrics(registry)[0].decode()), "aitrader_ticker_feed_age_seconds", instId="BTC-USDT-SWAP")
        == 3.5
    )
    now[0] = 110.0
    last["BTC-USDT-SWAP"] = 109.0
    assert (
        value(samples(render_metrics(registry)[0].decode()), "aitrader_ticker_feed_age_seconds", instId="BTC-USDT-SWAP")
        == 1.0
    )


def test_llm_usage_adds_tokens_and_cost() -> None:
    m = agent_service_metrics()
    record_llm_usage(
        m.llm, "deepseek-flash", prompt_tokens=1200, completion_tokens=300, cost_usd=0.0021, cached_prompt_tokens=1000
    )
    record_llm_usage(m.llm, "deepseek-flash", prompt_tokens=800, completion_tokens=100, cost_usd=0.0009)
    scrape = samples(render_metrics(m.registry)[0].decode())
    assert value(scrape, "aitrader_llm_tokens_total", model="deepseek-flash", kind="prompt") == 2000
    assert value(scrape, "aitrader_llm_tokens_total", model="deepseek-flash", kind="completion") == 400
    assert value(scrape, "aitrader_llm_tokens_total", model="deepseek-flash", kind="cached_prompt") == 1000
    assert value(scrape, "aitrader_llm_cost_usd_total", model="deepseek-flash") == pytest.approx(0.003)
    with pytest.raises(ValueError):
        record_llm_usage(m.llm, "deepseek-flash", prompt_tokens=-1, completion_tokens=0, cost_usd=0)


def test_two_registries_of_the_same_service_do_not_collide() -> None:
    first, second = api_service_metrics(), api_service_metrics()
    first.okx.requests.labels("/x", "ok").inc()
    assert 'aitrader_okx_requests_total{endpoint="/x"' not in render_metrics(second.registry)[0].decode()


segment = st.one_of(
    st.integers(min_value=0, max_value=10**12).map(str),
    st.uuids().map(str),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12),
)


@given(st.lists(segment, min_size=0, max_size=10))
def test_bucketed_paths_hide_ids_and_bound_depth(parts: list[str]) -> None:
    label = bucket_raw_path("/" + "/".join(parts))
    kept = [p for p in label.split("/") if p]
    assert len([p for p in kept if p != "..."]) <= 4
    assert not any(p.isdigit() for p in kept)
    assert bucket_raw_path(label) == label  # a label is its own bucket


def test_raw_route_labels_are_capped() -> None:
    labeler = RouteLabeler(max_raw_routes=3)
    labels = [labeler.label({"path": f"/static/file{i}.js"}, 200) for i in range(10)]
    assert labels[:3] == ["/static/file0.js", "/static/file1.js", "/static/file2.js"]
    assert set(labels[3:]) == {OTHER_ROUTE}
    assert labeler.label({"path": "/static/file1.js"}, 200) == "/static/file1.js"
    assert labeler.label({"path": "/anything/else"}, 404) == UNMATCHED_ROUTE
