"""The production nginx config in front of the real services: OKX simulator, trading API (`python -m api_server`)
and agent (`python -m agent`, offline model), started as the Dockerfiles and systemd units start them."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.deploy.nginx_harness import nginx_binary, running_nginx, write_web_dist
from tests.helpers import PYTHON, base_env, free_port, running

NGINX = nginx_binary()
TOKEN = "deploy-test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed and `apt-get install -y nginx` was not possible"
)


@pytest.fixture(scope="module")
def database_url(module_database_url: str) -> str:
    return module_database_url


@pytest.fixture(scope="module")
def system(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Simulator, API and agent as real processes on free ports, and nginx in front of them."""
    base = tmp_path_factory.mktemp("real")
    logs = base / "logs"
    sim_port, api_port, agent_port = free_port(), free_port(), free_port()
    sim = {
        "OKXSIM_API_KEY": "deploy-sim-key",
        "OKXSIM_API_SECRET": "deploy-sim-secret",
        "OKXSIM_PASSPHRASE": "deploy-sim-pass",
    }
    common = {
        "API_TOKEN": TOKEN,
        "DATABASE_URL": database_url,
        "API_BASE_URL": f"http://127.0.0.1:{api_port}",
        "AGENT_BASE_URL": f"http://127.0.0.1:{agent_port}",
    }
    with contextlib.ExitStack() as stack:
        stack.enter_context(
            running(
                [PYTHON, "-m", "okxsim"],
                base_env(OKXSIM_HOST="127.0.0.1", OKXSIM_PORT=str(sim_port), OKXSIM_TICK_MS="100", **sim),
                f"http://127.0.0.1:{sim_port}/api/v5/public/time",
                logs / "okxsim.log",
            )
        )
        stack.enter_context(
            running(
                [PYTHON, "-m", "api_server"],
                base_env(
                    API_HOST="127.0.0.1",
                    API_PORT=str(api_port),
                    OKX_BASE_URL=f"http://127.0.0.1:{sim_port}",
                    OKX_WS_PUBLIC_URL=f"ws://127.0.0.1:{sim_port}/ws/v5/public",
                    OKX_API_KEY=sim["OKXSIM_API_KEY"],
                    OKX_API_SECRET=sim["OKXSIM_API_SECRET"],
                    OKX_PASSPHRASE=sim["OKXSIM_PASSPHRASE"],
                    **common,
                ),
                f"http://127.0.0.1:{api_port}/api/health",
                logs / "api.log",
                timeout=60,
            )
        )
        stack.enter_context(
            running(
                [PYTHON, "-m", "agent"],
                base_env(AGENT_HOST="127.0.0.1", AGENT_PORT=str(agent_port), LLM_PROVIDER="offline", **common),
                f"http://127.0.0.1:{agent_port}/health",
                logs / "agent.log",
                timeout=60,
            )
        )
        web_root = write_web_dist(base / "dist")
        nginx = stack.enter_context(
            running_nginx(
                NGINX,
                base / "nginx",
                web_root=web_root,
                api_upstream=f"127.0.0.1:{api_port}",
                agent_upstream=f"127.0.0.1:{agent_port}",
                API_RATE="10r/s",
                API_BURST="10",
            )
        )
        yield {"web": nginx.url, "api": f"http://127.0.0.1:{api_port}", "agent": f"http://127.0.0.1:{agent_port}"}


def test_app_and_health_through_nginx(system: dict[str, str]) -> None:
    with httpx.Client(base_url=system["web"], timeout=10) as client:
        index = client.get("/")
        assert index.status_code == 200 and "AiTrader test page" in index.text
        assert client.get("/api/health").json() in ({"status": "ok"}, {"status": "degraded"})  # liveness only
        health = client.get("/api/health", headers=AUTH)
        assert health.status_code == 200
        body = health.json()
        assert body["database"]["ok"] is True and body["okx"]["simulator"] is True
        # The API's own auth still applies behind the proxy.
        assert client.get("/api/market/tickers").status_code == 401
        tickers = client.get("/api/market/tickers", headers=AUTH)
        assert tickers.status_code == 200, tickers.text
        # The agent, prefix stripped; its bearer guard applies too.
        agent_health = client.get("/agent/health", headers=AUTH)
        assert agent_health.status_code == 200 and agent_health.json()["service"] == "agent"


def test_api_stream_is_delivered_incrementally_through_nginx(system: dict[str, str]) -> None:
    arrivals: list[float] = []
    with httpx.Client(base_url=system["web"], timeout=10) as client:
        with client.stream("GET", "/api/stream", headers=AUTH) as resp:
            assert resp.status_code == 200
            assert resp.headers["content-type"].startswith("text/event-stream")
            started = time.monotonic()
            for line in resp.iter_lines():
                if line.startswith("event: ticker"):
                    arrivals.append(time.monotonic() - started)
                    if len(arrivals) >= 3:
                        break
                if time.monotonic() - started > 8:
                    break
    # The stream never ends, so each event seen here was passed on while the API kept the response open.
    assert len(arrivals) >= 3, arrivals
    assert arrivals[-1] > arrivals[0]  # spread over time, not one flushed block


def test_rate_limit_in_front_of_the_api(system: dict[str, str]) -> None:
    with httpx.Client(base_url=system["web"], timeout=10) as client, ThreadPoolExecutor(max_workers=16) as pool:
        time.sleep(1.5)  # let the earlier tests' requests drain from the limiter
        statuses = list(pool.map(lambda _: client.get("/api/health").status_code, range(48)))
    assert 429 in statuses and 200 in statuses, statuses
    assert set(statuses) <= {200, 429}


def test_metrics_move_after_traffic(system: dict[str, str]) -> None:
    with httpx.Client(timeout=10) as client:
        assert client.get(system["api"] + "/metrics").status_code == 401  # scraping needs the token too
        client.headers["Authorization"] = f"Bearer {TOKEN}"
        first = client.get(system["api"] + "/metrics")
        assert first.status_code == 200

        def health_count(text: str) -> float:
            total = 0.0
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    if sample.name == "aitrader_http_requests_total" and sample.labels.get("route") == "/api/health":
                        total += sample.value
            return total

        before = health_count(first.text)
        for _ in range(3):
            client.get(system["api"] + "/api/health")
        after = health_count(client.get(system["api"] + "/metrics").text)
        assert after - before == 3
