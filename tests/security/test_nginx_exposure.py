"""nginx publishes only the agent routes the web app and MCP clients use, and bounds long-lived streams per client
and in total (real nginx in front of stand-in upstreams; the project's rendered config)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import httpx
import pytest

from tests.deploy.nginx_harness import running_nginx, write_web_dist
from tests.deploy.test_nginx import NGINX, upstreams  # noqa: F401  (fixture)

pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed and `apt-get install -y nginx` was not possible"
)

PUBLISHED = [
    ("GET", "/agent/health", "/health"),
    ("GET", "/agent/usage", "/usage"),
    ("GET", "/agent/sessions?limit=3", "/sessions?limit=3"),
    ("GET", "/agent/sessions/chat-1a2b", "/sessions/chat-1a2b"),
    ("POST", "/agent/mcp", "/mcp"),
    ("POST", "/agent/mcp/", "/mcp/"),
    ("GET", "/agent/mcp-tokens", "/mcp-tokens"),
    ("POST", "/agent/mcp-tokens", "/mcp-tokens"),
    ("DELETE", "/agent/mcp-tokens/ci-bot", "/mcp-tokens/ci-bot"),
]
HIDDEN = [
    ("POST", "/agent/analysis"),
    ("GET", "/agent/offline/v1/models"),
    ("POST", "/agent/offline/v1/chat/completions"),
    ("GET", "/agent/docs"),
    ("GET", "/agent/openapi.json"),
    ("GET", "/agent/metrics"),
    ("GET", "/agent/"),
    ("GET", "/agent/sessions/../analysis"),
    ("GET", "/agent/sessions/x/../../analysis"),
    ("GET", "/agent/%61nalysis"),
    ("GET", "/agent/healthz"),
    ("GET", "/agent/mcpx"),
    ("GET", "/agent//analysis"),
    ("GET", "/agent/chat/../analysis"),
    ("GET", "/agent/mcp-tokens/a/b"),
    ("GET", "/agent/sessions/a/b"),
]


@pytest.fixture
def web_root(tmp_path: Path) -> Path:
    return write_web_dist(tmp_path / "dist")


async def test_only_the_web_app_and_mcp_routes_of_the_agent_are_published(
    upstreams, web_root: Path, tmp_path: Path
) -> None:  # noqa: F811
    _, api_addr, agent, agent_addr = upstreams
    with running_nginx(
        NGINX, tmp_path / "nginx", web_root=web_root, api_upstream=api_addr, agent_upstream=agent_addr
    ) as nginx:
        async with httpx.AsyncClient(base_url=nginx.url, timeout=5) as client:
            for method, path, upstream_path in PUBLISHED:
                answer = await client.request(method, path, json={} if method == "POST" else None)
                assert answer.status_code == 200, (path, answer.status_code)
                assert agent.seen[-1]["method"] == method
                assert agent.seen[-1]["path"] == upstream_path, (path, agent.seen[-1])
            agent.seen.clear()
            for method, path in HIDDEN:
                answer = await client.request(method, path, json={} if method == "POST" else None)
                assert answer.status_code in (400, 404), (path, answer.status_code, answer.text)
                if answer.status_code == 404:
                    assert answer.json()["status_code"] == 404
            assert agent.seen == [], agent.seen


async def hold_streams(
    client: httpx.AsyncClient, method: str, path: str, count: int, stack: contextlib.AsyncExitStack
) -> list[int]:
    statuses = []
    for _ in range(count):
        response = await stack.enter_async_context(client.stream(method, path))
        statuses.append(response.status_code)
    return statuses


@pytest.mark.parametrize(
    "limits",
    [{"STREAMS_PER_CLIENT": "2", "STREAMS_TOTAL": "50"}, {"STREAMS_PER_CLIENT": "20", "STREAMS_TOTAL": "2"}],
    ids=["per-client", "total"],
)
async def test_streams_are_bounded_per_client_and_in_total(
    upstreams, web_root: Path, tmp_path: Path, limits: dict
) -> None:  # noqa: F811
    api, api_addr, agent, agent_addr = upstreams
    with running_nginx(
        NGINX, tmp_path / "nginx", web_root=web_root, api_upstream=api_addr, agent_upstream=agent_addr, **limits
    ) as nginx:
        async with httpx.AsyncClient(base_url=nginx.url, timeout=10, limits=httpx.Limits(max_connections=50)) as client:
            async with contextlib.AsyncExitStack() as stack:
                held = await hold_streams(client, "GET", "/api/stream", 2, stack)
                assert held == [200, 200]
                for method, path in (("GET", "/api/stream"), ("POST", "/agent/chat"), ("POST", "/agent/mcp")):
                    refused = await client.request(method, path, json={} if method == "POST" else None)
                    assert refused.status_code == 429, (path, refused.status_code)
                    assert refused.json()["status_code"] == 429
                # Ordinary requests are not streams: still served.
                assert (await client.get("/api/health")).status_code == 200
            api.release_stream.set()
            # Closed streams free their places.
            await asyncio.sleep(0.2)
            api.release_stream.clear()
            async with contextlib.AsyncExitStack() as stack:
                assert await hold_streams(client, "GET", "/api/stream", 2, stack) == [200, 200]
                api.release_stream.set()
    assert "limiting connections" in nginx.error_log()


def test_every_agent_route_the_web_app_calls_is_published_and_the_two_servers_agree() -> None:
    """A new agent call in the web app fails here until nginx and `make run`'s web server publish it."""
    import importlib.util
    import re

    from tests.helpers import REPO_ROOT

    spec = importlib.util.spec_from_file_location("aitrader_web_server", REPO_ROOT / "scripts" / "web_server.py")
    web_server = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(web_server)
    sources = [
        p for p in (REPO_ROOT / "frontend" / "src").rglob("*.ts*") if "schema-" not in p.name and ".test." not in p.name
    ]
    called = {
        m.group(1)
        for p in sources
        for m in re.finditer(r"\bagent\.(?:get|post|put|delete|url)\(\s*'([^']+)'", p.read_text())
    }
    assert {"/health", "/chat", "/sessions"} <= called, called
    concrete = {re.sub(r"\{[^}]+\}", "sample-1", path) for path in called}
    assert not [p for p in concrete if not web_server.AGENT_PUBLISHED.match(p)], concrete
    template = (REPO_ROOT / "nginx" / "snippets" / "locations.conf.template").read_text()
    for path in concrete:
        exact = f"location = /agent{path} " in template
        pattern = any(re.match(rx, f"/agent{path}") for rx in re.findall(r"location ~ (\^/agent\S+) \{", template))
        assert exact or pattern, f"nginx does not publish /agent{path}"
    # nginx's published list (checked live above) and the web server's rule are the same set.
    for _, path, upstream in PUBLISHED:
        assert web_server.AGENT_PUBLISHED.match(upstream.split("?")[0]), path
