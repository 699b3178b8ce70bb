"""`make run`'s web server (scripts/web_server.py, a real process) sends the same security headers as the nginx site
on every kind of answer, and publishes the same agent routes as nginx: only the web app's and MCP's."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.deploy.nginx_harness import running_nginx, write_web_dist
from tests.deploy.test_nginx import NGINX, upstreams  # noqa: F401  (fixture)
from tests.helpers import PYTHON, REPO_ROOT, free_port, stop_process
from tests.security.test_nginx_exposure import HIDDEN, PUBLISHED

SECURITY_HEADERS = (
    "content-security-policy",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
    "permissions-policy",
    "cross-origin-opener-policy",
)


async def start_web_server(dist: Path, api_addr: str, agent_addr: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            PYTHON,
            str(REPO_ROOT / "scripts" / "web_server.py"),
            "--port",
            str(port),
            "--dist",
            str(dist),
            "--api",
            f"http://{api_addr}",
            "--agent",
            f"http://{agent_addr}",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(timeout=1) as client:
        for _ in range(100):
            if proc.poll() is not None:
                raise AssertionError(proc.stderr.read().decode())
            try:
                await client.get(url + "/index.html")
                return proc, url
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
    raise AssertionError("web_server.py did not start")


def headers_of(response: httpx.Response) -> dict[str, str]:
    return {name: response.headers.get(name) for name in SECURITY_HEADERS}


async def test_same_security_headers_and_agent_routes_as_nginx(upstreams, tmp_path: Path) -> None:  # noqa: F811
    api, api_addr, agent, agent_addr = upstreams
    dist = write_web_dist(tmp_path / "dist")
    proc, url = await start_web_server(dist, api_addr, agent_addr)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            answers = {
                "index": await client.get("/"),
                "deep link": await client.get("/positions/BTC-USDT-SWAP"),
                "asset": await client.get("/assets/app-3f2a1c.js"),
                "api": await client.get("/api/market/tickers"),
                "agent": await client.get("/agent/health"),
                "hidden agent route": await client.post("/agent/analysis", json={}),
            }
            async with client.stream("GET", "/api/stream") as sse:
                answers["sse"] = sse
                api.release_stream.set()
            expected = headers_of(answers["index"])
            assert all(expected.values()), expected
            assert (
                "frame-ancestors 'none'" in expected["content-security-policy"]
                and "script-src 'self'" in expected["content-security-policy"]
            )
            for label, answer in answers.items():
                assert headers_of(answer) == expected, label

            # The agent: only what nginx publishes.
            for method, path, upstream_path in PUBLISHED:
                answer = await client.request(method, path, json={} if method == "POST" else None)
                assert answer.status_code == 200 and agent.seen[-1]["path"] == upstream_path, (path, answer.status_code)
            agent.seen.clear()
            for method, path in HIDDEN + [("GET", "/agent/sessions/.."), ("GET", "/agent/sessions/%2e%2e")]:
                answer = await client.request(method, path, json={} if method == "POST" else None)
                # (a client may normalise `/agent/sessions/..` to `/agent`, which is the web app's index)
                assert answer.status_code in (400, 404) or "AiTrader test page" in answer.text, (
                    path,
                    answer.status_code,
                )
                assert headers_of(answer) == expected, path
            assert agent.seen == [], agent.seen
    finally:
        stop_process(proc)

    if NGINX is None:
        pytest.skip("nginx is not installed: the headers were checked against web_server.py's own, not nginx's")
    with running_nginx(
        NGINX, tmp_path / "nginx", web_root=dist, api_upstream=api_addr, agent_upstream=agent_addr
    ) as nginx:
        nginx_index = httpx.get(nginx.url + "/", timeout=5)
    assert headers_of(nginx_index) == expected
