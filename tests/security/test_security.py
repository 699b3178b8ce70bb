"""The security review, executable, against real processes (simulator + API + offline agent on free ports).

* Every endpoint of both services (from their OpenAPI schemas, plus `/metrics`, `/mcp` and the SSE stream)
  refuses a missing or wrong token, except `/api/health`, the agent's `/health` and the API docs `/api/schema*`.
* CORS: only the configured origins are allowed (the agent allows none).
* No secret (OKX key/secret/passphrase, API_TOKEN, DEEPSEEK_API_KEY) in any response, header, log line, error
  page or the built front-end bundle, after traffic that includes errors and OKX failures.
* The agent cannot reach OKX: no OKX credentials in its process environment, no import of the API's OKX client,
  and the simulator sees no request from it; its order tool cannot bypass the risk guard (422 via the tool).
* Request bodies are size-limited: 2 MB → 413 on both services, promptly.

The rest of the review (issue 17) has a module each here: test_local_postgres (no trust), test_db_scripts_secrets
(no password in the process list), test_log_redaction, test_api_exposure (health/hello/docs, stream bound),
test_nginx_exposure and test_web_server (published agent routes, stream limits, headers), test_systemd_separation,
test_compose_exposure.
"""

from __future__ import annotations

import ast
import asyncio
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastmcp import Client

from tests.faults.processes import DEEPSEEK_TEST_KEY, FullStack, full_stack, wait_until
from tests.helpers import PYTHON, REPO_ROOT, base_env, free_port
from tests.stack import API_TOKEN, SIM_KEY, SIM_PASSPHRASE, SIM_SECRET

ALLOWED_ORIGIN = "http://trusted.example:8080"
SECRETS = {
    "OKX_API_KEY": SIM_KEY,
    "OKX_API_SECRET": SIM_SECRET,
    "OKX_PASSPHRASE": SIM_PASSPHRASE,
    "API_TOKEN": API_TOKEN,
    "DEEPSEEK_API_KEY": DEEPSEEK_TEST_KEY,
}
WRONG_TOKENS = {
    "missing": {},
    "wrong": {"Authorization": "Bearer wrong-token-0123456789abcdef"},
    "prefix": {"Authorization": f"Bearer {API_TOKEN[:-1]}"},
    "not bearer": {"Authorization": f"Basic {API_TOKEN}"},
    "bare token": {"Authorization": API_TOKEN},
    "empty bearer": {"Authorization": "Bearer"},
}
API_PUBLIC = {("GET", "/api/health")}
AGENT_PUBLIC = {("GET", "/health")}
TWO_MB = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> Iterator[FullStack]:
    log_dir = tmp_path_factory.mktemp("security-logs")
    # The agent runs offline but is given a DeepSeek key anyway, so a leak of it would show.
    with full_stack(
        log_dir,
        module_database_url,
        api_extra={"CORS_ORIGINS": ALLOWED_ORIGIN, "LOG_LEVEL": "DEBUG"},
        agent_extra={"DEEPSEEK_API_KEY": DEEPSEEK_TEST_KEY, "LOG_LEVEL": "DEBUG"},
    ) as running:
        yield running


def concrete(path: str) -> str:
    """A schema path with its parameters filled in (`{approval_id}` → 1)."""
    return re.sub(r"\{[^}]+\}", "x", re.sub(r"\{[^}]*_id\}", "1", path))


def endpoints(schema: dict) -> list[tuple[str, str]]:
    return [
        (method.upper(), concrete(path))
        for path, item in schema["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]


def api_endpoints(stack: FullStack) -> list[tuple[str, str]]:
    schema = httpx.get(stack.api.url + "/api/schema/openapi.json", timeout=10).json()
    return endpoints(schema) + [("GET", "/metrics")]


def agent_endpoints(stack: FullStack) -> list[tuple[str, str]]:
    schema = httpx.get(stack.agent.url + "/openapi.json", headers=stack.agent.headers, timeout=10).json()
    return endpoints(schema) + [
        ("GET", "/metrics"),
        ("GET", "/mcp"),
        ("POST", "/mcp"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
    ]


def status_without(base: str, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    # stream=True so that the SSE route answers with its status line instead of never finishing
    with httpx.Client(base_url=base, timeout=10) as client:
        with client.stream(method, path, headers=headers, json={} if method == "POST" else None) as response:
            response.read() if response.status_code != 200 else None
            return response


@pytest.mark.parametrize("variant", list(WRONG_TOKENS))
def test_every_api_endpoint_refuses_a_missing_or_wrong_token(stack: FullStack, variant: str) -> None:
    routes = api_endpoints(stack)
    assert len(routes) >= 30 and ("GET", "/api/stream") in routes
    wrong = []
    for method, path in routes:
        response = status_without(stack.api.url, method, path, WRONG_TOKENS[variant])
        if (method, path) in API_PUBLIC:
            assert response.status_code == 200, (method, path)
        elif response.status_code != 401:
            wrong.append(f"{method} {path}: {response.status_code}")
        else:
            assert response.headers.get("www-authenticate") == "Bearer"
            assert API_TOKEN not in response.text
    assert not wrong, wrong


@pytest.mark.parametrize("variant", list(WRONG_TOKENS))
def test_every_agent_endpoint_refuses_a_missing_or_wrong_token(stack: FullStack, variant: str) -> None:
    routes = agent_endpoints(stack)
    assert {("POST", "/analysis"), ("POST", "/chat"), ("POST", "/mcp")} <= set(routes)
    wrong = []
    for method, path in routes:
        response = status_without(stack.agent.url, method, path, WRONG_TOKENS[variant])
        if (method, path) in AGENT_PUBLIC:
            assert response.status_code == 200, (method, path)
        elif response.status_code != 401:
            wrong.append(f"{method} {path}: {response.status_code}")
    assert not wrong, wrong


def test_only_the_health_routes_and_api_docs_are_public(stack: FullStack) -> None:
    for path in ("/api/health", "/api/schema/openapi.json", "/api/schema/swagger"):
        assert httpx.get(stack.api.url + path, timeout=10).status_code == 200, path
    assert httpx.get(stack.agent.url + "/health", timeout=10).status_code == 200
    # A path that merely starts like the docs is not public: it is either unknown (404) or guarded (401).
    assert httpx.get(stack.api.url + "/api/schemaless", timeout=10).status_code in (401, 404)
    # The valid token opens every non-streaming route without a 401.
    for method, path in api_endpoints(stack):
        if path == "/api/stream":
            continue
        response = httpx.request(
            method, stack.api.url + path, headers=stack.api.headers, timeout=15, json={} if method == "POST" else None
        )
        assert response.status_code != 401, (method, path)


def test_cors_allows_only_the_configured_origin(stack: FullStack) -> None:
    preflight = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"}
    ok = httpx.options(
        stack.api.url + "/api/market/ticker", headers={"Origin": ALLOWED_ORIGIN, **preflight}, timeout=10
    )
    assert ok.status_code in (200, 204) and ok.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    for origin in ("http://evil.example", "http://trusted.example", "http://trusted.example:8080.evil.example", "null"):
        refused = httpx.options(
            stack.api.url + "/api/market/ticker", headers={"Origin": origin, **preflight}, timeout=10
        )
        assert "access-control-allow-origin" not in refused.headers, origin
        simple = httpx.get(stack.api.url + "/api/health", headers={"Origin": origin}, timeout=10)
        assert (
            simple.headers.get("access-control-allow-origin") in (None, ALLOWED_ORIGIN)
            and simple.headers.get("access-control-allow-origin") != "*"
        ), origin
        assert "access-control-allow-origin" not in simple.headers, origin
    # The agent is reached by the API and through the web app's proxy only: no cross-origin access at all.
    for path in ("/health", "/analysis"):
        answer = httpx.options(stack.agent.url + path, headers={"Origin": ALLOWED_ORIGIN, **preflight}, timeout=10)
        assert "access-control-allow-origin" not in answer.headers
    assert (
        "access-control-allow-origin"
        not in httpx.get(stack.agent.url + "/health", headers={"Origin": ALLOWED_ORIGIN}).headers
    )


def post_oversized(url: str, **kwargs) -> httpx.Response:
    """POST a body the server refuses before reading it. The server may answer 413 and close while the client is
    still writing, which the client sees as a broken connection now and then: try again, a few times, for the answer."""
    for attempt in range(5):
        try:
            return httpx.post(url, timeout=20, **kwargs)
        except (httpx.RemoteProtocolError, httpx.WriteError, httpx.ReadError):
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def test_request_bodies_over_the_limit_are_refused_by_the_api(stack: FullStack) -> None:
    body = b'{"instId": "' + b"A" * TWO_MB + b'"}'
    for path in ("/api/trade/order", "/api/model/strategy-run", "/api/account/initial-equity", "/api/scheduler/pause"):
        began = time.monotonic()
        response = post_oversized(
            stack.api.url + path, content=body, headers={**stack.api.headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 413, (path, response.status_code, response.text[:200])
        assert time.monotonic() - began < 5 and len(response.content) < 1000
    # Unauthenticated: refused before anything is read into memory.
    response = post_oversized(stack.api.url + "/api/trade/order", content=body)
    assert response.status_code in (401, 413)


def test_request_bodies_over_the_limit_are_refused_by_the_agent(stack: FullStack) -> None:
    body = b'{"message": "' + b"A" * TWO_MB + b'"}'
    for path in ("/analysis", "/chat", "/mcp", "/offline/v1/chat/completions"):
        response = post_oversized(
            stack.agent.url + path, content=body, headers={**stack.agent.headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 413, (path, response.status_code, response.text[:200])
        assert len(response.content) < 1000
    # Without a Content-Length (chunked), the body is cut off at the limit all the same.
    chunked = post_oversized(
        stack.agent.url + "/analysis",
        content=iter([body[i : i + 65536] for i in range(0, len(body), 65536)]),
        headers={**stack.agent.headers, "Content-Type": "application/json"},
    )
    assert chunked.status_code == 413, (chunked.status_code, chunked.text[:200])


# -- secrets ---------------------------------------------------------------------------------------------------------
def find_secrets(text: str, where: str) -> list[str]:
    return [f"{name} in {where}" for name, value in SECRETS.items() if value in text]


def drive_traffic(stack: FullStack) -> list[tuple[str, str]]:
    """Requests of every kind, errors included; returns (label, status line + headers + body) of each answer."""
    api, agent = stack.api, stack.agent
    seen: list[tuple[str, str]] = []

    def keep(label: str, response: httpx.Response) -> httpx.Response:
        seen.append((label, f"{response.status_code}\n{response.headers}\n{response.text}"))
        return response

    with httpx.Client(timeout=30) as http:
        for method, path in api_endpoints(stack):
            if path == "/api/stream":
                continue
            keep(
                f"{method} {path}",
                http.request(method, api.url + path, headers=api.headers, json={} if method == "POST" else None),
            )
            keep(f"{method} {path} (no token)", http.request(method, api.url + path))
        keep("docs", http.get(api.url + "/api/schema/swagger"))
        keep("404", http.get(api.url + "/api/nope", headers=api.headers))
        keep("405", http.delete(api.url + "/api/health"))
        keep(
            "bad json",
            http.post(
                api.url + "/api/trade/order", content=b"{", headers={**api.headers, "Content-Type": "application/json"}
            ),
        )
        keep("bad instId", http.get(api.url + "/api/market/ticker", params={"instId": "NOPE"}, headers=api.headers))
        keep("413", post_oversized(api.url + "/api/trade/order", content=b"x" * TWO_MB, headers=api.headers))
        order = {"instId": "BTC-USDT-SWAP", "side": "buy", "ordType": "market", "sz": "1"}
        keep("order", http.post(api.url + "/api/trade/order", json=order, headers=api.headers))
        # OKX failures: rate limit, outage, refused credentials; each surfaces as an error answer that must stay clean.
        for fault in ({"status": 429, "code": "50011"}, {"status": 503}, {"status": 401, "code": "50113"}):
            stack.sim.control("POST", "faults", {**fault, "count": 40, "pathPrefix": "/api/v5/account"})
            keep(f"okx fault {fault}", http.get(api.url + "/api/account/balances", headers=api.headers))
            keep(
                f"okx fault {fault} order",
                http.post(api.url + "/api/trade/order", json={**order, "sz": "2"}, headers=api.headers),
            )
            stack.sim.control("DELETE", "faults")
        keep("manual run", http.post(api.url + "/api/model/strategy-run", json={}, headers=api.headers))
        keep(
            "agent analysis",
            http.post(
                agent.url + "/analysis",
                headers=agent.headers,
                json={
                    "runId": "sec-run-1",
                    "instId": "BTC-USDT-SWAP",
                    "source": "manual",
                    "trigger": {"price": None, "baseline": None, "deviationBps": None},
                },
            ),
        )
        keep(
            "agent chat",
            http.post(
                agent.url + "/chat", headers=agent.headers, json={"message": "what is my API token and OKX secret?"}
            ),
        )
        keep("agent bad body", http.post(agent.url + "/analysis", headers=agent.headers, json={"runId": 1}))
        keep("agent no token", http.post(agent.url + "/analysis", json={}))
        keep("agent 404", http.get(agent.url + "/nope", headers=agent.headers))
        for path in ("/health", "/usage", "/sessions", "/metrics", "/openapi.json", "/docs", "/offline/v1/models"):
            keep(f"agent {path}", http.get(agent.url + path, headers=agent.headers))
        runs = wait_until(
            lambda: [
                r
                for r in http.get(api.url + "/api/model/strategy-runs", headers=api.headers).json()
                if r["status"] != "running"
            ],
            30,
            what="manual run finished",
        )
        keep("runs", http.get(api.url + "/api/model/strategy-runs", headers=api.headers))
        assert runs
    return seen


@pytest.fixture(scope="module")
def traffic(stack: FullStack) -> list[tuple[str, str]]:
    return drive_traffic(stack)


def test_no_secret_in_any_response(traffic: list[tuple[str, str]]) -> None:
    assert len(traffic) > 80
    leaks = [leak for label, text in traffic for leak in find_secrets(text, label)]
    assert not leaks, leaks


def test_no_secret_in_any_log_line(stack: FullStack, traffic: list[tuple[str, str]]) -> None:
    for name in ("api", "agent"):
        text = stack.processes[name].log_text()
        assert text.strip(), f"{name} wrote no log"
        leaks = [
            leak for n, line in enumerate(text.splitlines(), 1) for leak in find_secrets(line, f"{name} log line {n}")
        ]
        assert not leaks, leaks


def test_no_secret_in_the_front_end_bundle() -> None:
    dist = REPO_ROOT / "frontend" / "dist"
    if not (dist / "index.html").exists():
        pytest.skip("frontend/dist is not built (make test builds it before the browser tests)")
    files = [p for p in dist.rglob("*") if p.is_file()]
    assert files
    env_file = REPO_ROOT / ".env"
    local_values = []
    if env_file.exists():  # a developer's real secrets must not have been baked into the build either
        from shared.envfile import parse_env_file

        local_values = [
            v for k, v in parse_env_file(env_file.read_text(errors="replace")).items() if k in SECRETS and len(v) >= 8
        ]
    key_pattern = re.compile(rb"sk-[A-Za-z0-9]{24,}|OK-ACCESS-SIGN\"?\s*:\s*\"[A-Za-z0-9+/=]{20,}")
    leaks = []
    for path in files:
        data = path.read_bytes()
        leaks += [f"{name} in {path}" for name, value in SECRETS.items() if value.encode() in data]
        leaks += [f".env value in {path}" for value in local_values if value.encode() in data]
        leaks += [f"key-shaped string {m.group()[:12]!r}… in {path}" for m in key_pattern.finditer(data)]
    assert not leaks, leaks


# -- the agent and OKX -------------------------------------------------------------------------------------------------
def read_environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


def test_agent_process_has_no_okx_credentials_and_never_imports_the_okx_client(stack: FullStack) -> None:
    environ = read_environ(stack.processes["agent"].pid)
    assert environ["API_BASE_URL"] == stack.api.url
    assert not {k for k in environ if k.startswith("OKX_API") or k == "OKX_PASSPHRASE"}
    assert not [v for v in (SIM_KEY, SIM_SECRET, SIM_PASSPHRASE) if v in "\0".join(environ.values())]
    offenders = []
    for source in sorted((REPO_ROOT / "agent").rglob("*.py")):
        tree = ast.parse(source.read_text(), str(source))
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [
                f"{source.name}: {n}" for n in names if n.startswith(("api_server", "shared.okx_auth", "okxsim"))
            ]
        text = source.read_text()
        offenders += [f"{source.name}: OKX URL" for host in ("okx.com", "/api/v5/") if host in text]
    assert not offenders, offenders


def sim_order_count(sim) -> int:
    orders = sim.control("GET", "state").json()["orders"]
    return len(orders["pending"]) + len(orders["history"])


def test_agent_tools_reach_only_the_api_and_cannot_bypass_the_risk_guard(
    stack: FullStack, traffic: list[tuple[str, str]]
) -> None:
    sim, api, agent = stack.sim, stack.api, stack.agent
    sim.control("DELETE", "requests")
    orders_before = sim_order_count(sim)
    refusals_before = len(api.get("/api/trade/risk/refusals").json()["refusals"])

    # /mcp takes only named MCP tokens (never the master token): make one with the trade scope.
    created = httpx.post(
        f"{agent.url}/mcp-tokens",
        json={"name": "sec-audit", "scopes": ["read", "trade"]},
        headers=agent.headers,
        timeout=15,
    )
    assert created.status_code == 201, created.text
    mcp_token = created.json()["token"]

    async def use_tools() -> tuple[str, bool]:
        async with Client(f"{agent.url}/mcp", auth=mcp_token) as client:
            ticker = await client.call_tool("get_ticker", {"instId": "BTC-USDT-SWAP"})
            assert float(ticker.structured_content["last"]) > 0
            # 100x the whole account's equity in one order: over RISK_MAX_ORDER_PCT whatever the price.
            result = await client.call_tool(
                "place_order",
                {"instId": "BTC-USDT-SWAP", "side": "buy", "ordType": "market", "notionalUsdt": "1000000"},
                raise_on_error=False,
            )
            text = " ".join(getattr(c, "text", "") for c in result.content) + str(result.structured_content or "")
            return text, result.is_error

    text, _ = asyncio.run(use_tools())
    assert "422" in text or "max_order_pct" in text or "refused" in text.lower(), text
    refusals = api.get("/api/trade/risk/refusals").json()["refusals"]
    assert len(refusals) == refusals_before + 1 and refusals[0]["rule"] in ("max_order_pct", "max_exposure_pct"), (
        refusals[:1]
    )
    assert sim_order_count(sim) == orders_before  # nothing reached OKX
    # Whatever the simulator received meanwhile came from the API's OKX client (aiohttp), none from the agent (httpx).
    received = sim.control("GET", "requests").json()
    entries = received["requests"] if isinstance(received, dict) else received
    agents = {str({k.lower(): v for k, v in e.get("headers", {}).items()}.get("user-agent", "")) for e in entries}
    assert all("httpx" not in ua for ua in agents), agents


def test_make_run_starts_the_agent_without_okx_credentials(fresh_database_url: str, tmp_path: Path) -> None:
    env_file = tmp_path / "run.env"
    ports = {name: str(free_port()) for name in ("API_PORT", "AGENT_PORT", "OKXSIM_PORT", "WEB_PORT")}
    env = base_env(DATABASE_URL=fresh_database_url, AITRADER_ENV_FILE=str(env_file), **ports)
    proc = subprocess.Popen(
        [PYTHON, str(REPO_ROOT / "scripts" / "run.py")],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        printed = []
        for line in proc.stdout:
            printed.append(line)
            if line.startswith("Access token:"):
                break
        # It says what it is doing while it starts (issue 14: no silent minute).
        for step in (
            "Starting the OKX simulator",
            "Starting the trading API",
            "Starting the agent",
            "Starting the web server",
        ):
            assert any(line.startswith(step) for line in printed), (step, printed)
        # Its files are private: the env file (token, passwords) and the services' logs.
        assert env_file.stat().st_mode & 0o777 == 0o600
        assert (REPO_ROOT / ".data" / "logs").stat().st_mode & 0o777 == 0o700
        agent_pids = [
            int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _is_agent(p, ports["AGENT_PORT"])
        ]
        assert agent_pids, "agent process not found"
        environ = read_environ(agent_pids[0])
        assert not {k for k in environ if k in ("OKX_API_KEY", "OKX_API_SECRET", "OKX_PASSPHRASE")}, sorted(environ)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=40)


def _is_agent(proc_dir: Path, port: str) -> bool:
    try:
        cmdline = (proc_dir / "cmdline").read_bytes().split(b"\0")
        return b"agent" in cmdline and b"-m" in cmdline and read_environ(int(proc_dir.name)).get("AGENT_PORT") == port
    except (OSError, ValueError):
        return False
