"""The production nginx config, run for real (`nginx -p DIR -c FILE`) in front of stand-in upstreams (aiohttp apps
on free ports playing the trading API and the agent): static app, pass-through, prefix stripping, unbuffered SSE,
upstream keepalive, security headers, rate limiting, body size limit, upstream-down answer, TLS template."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from tests.deploy.nginx_harness import check_config, nginx_binary, render_into, running_nginx, write_web_dist
from tests.helpers import free_port, stop_process

NGINX = nginx_binary()
pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed and `apt-get install -y nginx` was not possible"
)

SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy")


class StandIn:
    """A stand-in upstream: records what it received and streams SSE under the test's control."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: list[dict] = []
        self.release_stream = asyncio.Event()
        self.stream_finished = False

    def app(self) -> web.Application:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        body = await request.read()
        self.seen.append(
            {
                "path": request.path_qs,
                "method": request.method,
                "version": f"{request.version.major}.{request.version.minor}",
                "headers": dict(request.headers),
                "peer_port": peer[1] if peer else None,
                "body_len": len(body),
            }
        )
        if request.path.endswith(("/stream", "/chat")):
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
            await resp.prepare(request)
            await resp.write(b'event: ticker\ndata: {"n": 1}\n\n')
            # The second event is sent only after the client has seen the first: a buffering proxy would hold the
            # first one back until the upstream finishes, and this wait would then time out.
            try:
                await asyncio.wait_for(self.release_stream.wait(), 5)
            except TimeoutError:
                pass
            await resp.write(b'event: ticker\ndata: {"n": 2}\n\n')
            self.stream_finished = True
            await resp.write_eof()
            return resp
        return web.json_response({"service": self.name, "path": request.path_qs})


async def start(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"127.0.0.1:{port}"


@pytest.fixture
async def upstreams() -> AsyncIterator[tuple[StandIn, str, StandIn, str]]:
    api, agent = StandIn("api"), StandIn("agent")
    api_runner, api_addr = await start(api.app())
    agent_runner, agent_addr = await start(agent.app())
    try:
        yield api, api_addr, agent, agent_addr
    finally:
        await api_runner.cleanup()
        await agent_runner.cleanup()


@pytest.fixture
def web_root(tmp_path: Path) -> Path:
    return write_web_dist(tmp_path / "dist")


def assert_security_headers(resp: httpx.Response) -> None:
    for name in SECURITY_HEADERS:
        assert name in resp.headers, f"{name} missing on {resp.request.url} ({resp.status_code})"
    assert "frame-ancestors 'none'" in resp.headers["content-security-policy"]
    assert "default-src 'self'" in resp.headers["content-security-policy"]
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["x-frame-options"] == "DENY"
    assert "server" not in resp.headers or "nginx/" not in resp.headers["server"]  # no version disclosed


async def test_app_api_agent_and_headers(upstreams, web_root: Path, tmp_path: Path) -> None:
    api, api_addr, agent, agent_addr = upstreams
    with running_nginx(
        NGINX, tmp_path / "nginx", web_root=web_root, api_upstream=api_addr, agent_upstream=agent_addr
    ) as nginx:
        async with httpx.AsyncClient(base_url=nginx.url, timeout=5) as client:
            index = await client.get("/")
            assert index.status_code == 200 and "AiTrader test page" in index.text
            assert index.headers["cache-control"] == "no-cache"
            assert_security_headers(index)

            # Client-side routes fall back to the app; hashed assets are cached for good.
            deep = await client.get("/positions/BTC-USDT-SWAP")
            assert deep.status_code == 200 and "AiTrader test page" in deep.text
            asset = await client.get("/assets/app-3f2a1c.js")
            assert asset.status_code == 200 and "max-age=" in asset.headers["cache-control"]
            assert_security_headers(asset)
            assert (await client.get("/assets/missing.js")).status_code == 404

            # /api/* passes through unchanged, query string included.
            health = await client.get("/api/health?verbose=1", headers={"Authorization": "Bearer t0ken-for-the-test"})
            assert health.status_code == 200
            assert health.json() == {"service": "api", "path": "/api/health?verbose=1"}
            assert_security_headers(health)
            received = api.seen[-1]
            assert received["headers"]["Authorization"] == "Bearer t0ken-for-the-test"
            assert received["headers"]["X-Forwarded-For"] == "127.0.0.1"
            assert received["headers"]["X-Forwarded-Proto"] == "http"
            assert received["version"] == "1.1"

            # /agent/* reaches the agent without the prefix.
            agent_health = await client.get("/agent/health")
            assert agent_health.json() == {"service": "agent", "path": "/health"}
            sessions = await client.get("/agent/sessions/s-1?limit=5")
            assert sessions.json() == {"service": "agent", "path": "/sessions/s-1?limit=5"}
            # Only what the web app and MCP clients use is published (tests/security/test_nginx_exposure.py).
            posted = await client.post("/agent/analysis", json={"instId": "BTC-USDT-SWAP"})
            assert posted.status_code == 404 and all(seen["path"] != "/analysis" for seen in agent.seen)
            # Metrics are not published through the site.
            assert (await client.get("/agent/metrics")).status_code == 404
            assert all(seen["path"] != "/metrics" for seen in agent.seen)

            # Upstream keepalive: sequential requests reuse one connection to the API.
            api.seen.clear()
            for _ in range(4):
                assert (await client.get("/api/health")).status_code == 200
            ports = {seen["peer_port"] for seen in api.seen}
            assert len(ports) == 1, f"nginx opened {len(ports)} upstream connections for 4 sequential requests"

            # Bodies above client_max_body_size are refused by nginx, never reach the service.
            api.seen.clear()
            too_big = await client.post("/api/trade/order", content=b"x" * (2 * 1024 * 1024))
            assert too_big.status_code == 413
            assert api.seen == []


@pytest.mark.parametrize("path, upstream_path", [("/api/stream", "/api/stream"), ("/agent/chat", "/chat")])
async def test_sse_is_delivered_incrementally(
    upstreams, web_root: Path, tmp_path: Path, path: str, upstream_path: str
) -> None:
    api, api_addr, agent, agent_addr = upstreams
    stand_in = api if path.startswith("/api/") else agent
    with running_nginx(
        NGINX, tmp_path / "nginx", web_root=web_root, api_upstream=api_addr, agent_upstream=agent_addr
    ) as nginx:
        async with httpx.AsyncClient(base_url=nginx.url, timeout=10) as client:
            method = "GET" if path == "/api/stream" else "POST"
            async with client.stream(method, path) as resp:
                assert resp.status_code == 200
                assert resp.headers["content-type"].startswith("text/event-stream")
                chunks = resp.aiter_text()
                first = await asyncio.wait_for(chunks.__anext__(), 3)
                # The first event arrived while the upstream is still holding the stream open.
                assert '"n": 1' in first and not stand_in.stream_finished
                stand_in.release_stream.set()
                rest = first
                async for chunk in chunks:
                    rest += chunk
            assert '"n": 2' in rest and stand_in.stream_finished
            assert stand_in.seen[-1]["path"] == upstream_path


async def test_rate_limit_answers_429_with_json_and_headers(upstreams, web_root: Path, tmp_path: Path) -> None:
    api, api_addr, agent, agent_addr = upstreams
    with running_nginx(
        NGINX,
        tmp_path / "nginx",
        web_root=web_root,
        api_upstream=api_addr,
        agent_upstream=agent_addr,
        API_RATE="2r/s",
        API_BURST="3",
    ) as nginx:
        async with httpx.AsyncClient(base_url=nginx.url, timeout=5) as client:
            answers = await asyncio.gather(*(client.get("/api/health") for _ in range(25)))
            statuses = [r.status_code for r in answers]
            limited = [r for r in answers if r.status_code == 429]
            assert statuses.count(200) >= 1 and len(limited) >= 10, statuses
            assert set(statuses) <= {200, 429}
            assert limited[0].json()["status_code"] == 429
            assert_security_headers(limited[0])
            # Only the admitted requests reached the service; the static app is not limited.
            assert len(api.seen) == statuses.count(200)
            static = [(await client.get("/")).status_code for _ in range(10)]
            assert static == [200] * 10
    assert "limiting requests" in nginx.error_log()


async def test_upstream_down_answers_502_json(web_root: Path, tmp_path: Path) -> None:
    closed = f"127.0.0.1:{free_port()}"
    with running_nginx(
        NGINX, tmp_path / "nginx", web_root=web_root, api_upstream=closed, agent_upstream=closed
    ) as nginx:
        async with httpx.AsyncClient(base_url=nginx.url, timeout=10) as client:
            resp = await client.get("/api/health")
            assert resp.status_code == 502
            assert resp.json()["status_code"] == 502
            assert_security_headers(resp)


def make_self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


async def test_tls_template_passes_nginx_t_and_serves_https(upstreams, web_root: Path, tmp_path: Path) -> None:
    api, api_addr, agent, agent_addr = upstreams
    cert, key = make_self_signed(tmp_path)
    prefix = tmp_path / "nginx-tls"
    https_port, http_port = free_port(), free_port()
    conf = render_into(
        prefix,
        site="aitrader-tls.conf",
        LISTEN=f"127.0.0.1:{http_port}",
        TLS_LISTEN=f"127.0.0.1:{https_port}",
        TLS_CERT=str(cert),
        TLS_KEY=str(key),
        WEB_ROOT=str(web_root),
        API_UPSTREAM=api_addr,
        AGENT_UPSTREAM=agent_addr,
        ACME_ROOT=str(tmp_path / "acme"),
    )
    checked = check_config(NGINX, prefix, conf)
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr

    # A missing certificate is caught by `nginx -t`.
    bad = render_into(
        tmp_path / "nginx-bad",
        site="aitrader-tls.conf",
        TLS_CERT=str(tmp_path / "nope.pem"),
        TLS_KEY=str(key),
        LISTEN=f"127.0.0.1:{free_port()}",
        TLS_LISTEN=f"127.0.0.1:{free_port()}",
    )
    assert check_config(NGINX, tmp_path / "nginx-bad", bad).returncode != 0

    proc = subprocess.Popen(
        [NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "logs" / "error.log"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        async with httpx.AsyncClient(verify=False, timeout=5) as client:
            resp = None
            for _ in range(100):
                try:
                    resp = await client.get(f"https://127.0.0.1:{https_port}/")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
            assert resp is not None, "nginx never answered on the TLS port"
            assert resp.status_code == 200 and "AiTrader test page" in resp.text
            assert resp.headers["strict-transport-security"].startswith("max-age=")
            assert_security_headers(resp)
            api_resp = await client.get(f"https://127.0.0.1:{https_port}/api/health")
            assert api_resp.json()["service"] == "api"
            assert api.seen[-1]["headers"]["X-Forwarded-Proto"] == "https"
            redirect = await client.get(f"http://127.0.0.1:{http_port}/positions?x=1")
            assert redirect.status_code == 301
            assert redirect.headers["location"] == "https://127.0.0.1/positions?x=1"
    finally:
        stop_process(proc)


def test_render_refuses_values_that_would_inject_config(tmp_path: Path) -> None:
    import render

    with pytest.raises(render.RenderError, match="LISTEN"):
        render.render_all(tmp_path, {"LISTEN": "80; include /etc/passwd"})
    with pytest.raises(render.RenderError, match="API_RATE"):
        render.render_all(tmp_path, {"API_RATE": "fast"})
    with pytest.raises(render.RenderError, match="unknown setting"):
        render.render_all(tmp_path, {"NOT_A_SETTING": "1"})
    # The command line reports the same problems with exit status 2.
    result = subprocess.run(
        ["python3", str(Path(render.__file__)), "--out", str(tmp_path / "o"), "--set", "MAX_BODY=huge"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "MAX_BODY" in result.stderr
    written = render.render_all(tmp_path / "defaults")
    assert json.dumps(sorted(p.name for p in written.values())) == json.dumps(
        ["aitrader-tls.conf", "aitrader.conf", "nginx.conf"]
    )
    assert (
        "{{" not in written["aitrader.conf"].read_text() and "#@include" not in written["aitrader-tls.conf"].read_text()
    )
