"""What the trading API shows without its token, against a real API (simulator + API processes):

* `/api/health` is liveness only (`status`); the details (live/simulated, instruments, the feed's last error, the
  agent's reachability) need the token.
* `/api/hello` (the benchmark's baseline route) needs the token.
* The Swagger page loads its scripts and styles from the API itself: no third-party or inline script.
* `/api/stream` serves at most API_STREAM_MAX_CLIENTS clients; one more gets 503 in the error shape, and a closed
  stream frees its place.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.faults.processes import wait_until
from tests.stack import API_TOKEN, Api, api_env, api_server, okxsim

MAX_STREAMS = 2


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> Iterator[Api]:
    logs = tmp_path_factory.mktemp("exposure-logs")
    with (
        okxsim(logs) as sim,
        api_server(logs, api_env(sim, module_database_url, API_STREAM_MAX_CLIENTS=str(MAX_STREAMS))) as running,
    ):
        yield running


def test_health_without_the_token_is_liveness_only(api: Api) -> None:
    public = httpx.get(api.url + "/api/health", timeout=10)
    assert public.status_code == 200
    assert public.json() in ({"status": "ok"}, {"status": "degraded"}), public.text
    for variant in ({"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": API_TOKEN}):
        assert set(httpx.get(api.url + "/api/health", headers=variant, timeout=10).json()) == {"status"}
    detailed = httpx.get(api.url + "/api/health", headers=api.headers, timeout=10).json()
    assert {"status", "uptimeSecs", "database", "okx", "agent"} <= set(detailed), detailed
    assert detailed["okx"]["instIds"] == ["BTC-USDT-SWAP"] and "simulated" in detailed["okx"]


def test_the_benchmark_hello_route_needs_the_token(api: Api) -> None:
    assert httpx.get(api.url + "/api/hello", timeout=10).status_code == 401
    assert httpx.get(api.url + "/api/hello", headers=api.headers, timeout=10).json() == {"hello": "world"}


def test_the_docs_page_loads_only_its_own_assets(api: Api) -> None:
    page = httpx.get(api.url + "/api/schema/swagger", timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    html = page.text
    sources = re.findall(r"""<(?:script|link)\b[^>]*\b(?:src|href)=["']([^"']+)""", html)
    assert len(sources) >= 4, html
    assert all(s.startswith("/api/schema/assets/") for s in sources), sources
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    inline = [
        m for m in re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S) if "src=" not in m[0] or m[1].strip()
    ]
    assert not inline, inline  # nothing a `script-src 'self'` policy would block
    for source in sources:
        asset = httpx.get(api.url + source, timeout=10)
        assert asset.status_code == 200, source
        assert asset.headers["content-type"].split(";")[0] in ("text/css", "text/javascript", "image/png"), source
    init = httpx.get(api.url + "/api/schema/assets/init.js", timeout=10).text
    assert "/api/schema/openapi.json" in init and "SwaggerUIBundle(" in init
    bundle = httpx.get(api.url + "/api/schema/assets/swagger-ui-bundle.js", timeout=10)
    assert len(bundle.content) > 100_000
    # Only the fixed asset list is served: nothing else of the package or the disk.
    for probe in ("index.html", "swagger-ui.js.map", "..%2F..%2F__init__.py", "%2e%2e%2fapi_server%2fsettings.py"):
        assert httpx.get(api.url + "/api/schema/assets/" + probe, timeout=10).status_code in (404, 401), probe


@contextlib.contextmanager
def open_stream(client: httpx.Client) -> Iterator[httpx.Response]:
    with client.stream("GET", "/api/stream") as response:
        yield response


def test_event_streams_are_bounded_with_a_clear_refusal(api: Api) -> None:
    with (
        httpx.Client(base_url=api.url, headers=api.headers, timeout=httpx.Timeout(10, read=30)) as client,
        contextlib.ExitStack() as streams,
    ):
        held = [streams.enter_context(open_stream(client)) for _ in range(MAX_STREAMS)]
        assert [r.status_code for r in held] == [200] * MAX_STREAMS
        refused = client.get("/api/stream")
        assert refused.status_code == 503, refused.text
        body = refused.json()
        assert (
            body["status_code"] == 503
            and "too many open event streams" in body["detail"]
            and body["limit"] == MAX_STREAMS
        )
        # A stream still delivers events while the next one is refused.
        first = next(held[0].iter_lines())
        assert first.startswith(("event:", ":", "data:")), first
        held[1].close()

        def accepted() -> bool:
            with client.stream("GET", "/api/stream") as again:
                return again.status_code == 200

        # The server drops the closed stream's subscription at its next write (a ticker or the 10 s keepalive).
        assert wait_until(accepted, 30, interval=0.5, what="a stream place freed by closing one")
