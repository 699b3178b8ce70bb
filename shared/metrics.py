"""Prometheus metrics for both services: a pure-ASGI request-latency middleware, the `/metrics` answer, and the
named metric objects the services update (OKX calls, WebSocket feed, triggers, runs, LLM usage, snapshots).

Every builder takes a `CollectorRegistry`: each service owns its registry, so the trading API and the agent can live in
one test process without "Duplicated timeseries" errors, and a test can read exactly one service's numbers.

Wiring (one line per service):
    registry = CollectorRegistry()
    app = MetricsMiddleware(asgi_app, http_metrics(registry))          # outermost, so 404s and errors count too
    ... a `GET /metrics` handler answering `render_metrics(registry)` (or mount `metrics_asgi_app(registry)`).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Seconds. HTTP answers are fast except the ones waiting on OKX or a model; runs take up to AGENT_TIMEOUT_SECS.
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
OKX_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
RUN_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)

UNMATCHED_ROUTE = "<unmatched>"
OTHER_ROUTE = "<other>"
MAX_RAW_ROUTES = 64  # distinct bucketed raw paths kept as labels; beyond that they are counted as OTHER_ROUTE
MAX_RAW_SEGMENTS = 4

_ID_SEGMENT = re.compile(
    r"^(?:\d+|[0-9a-fA-F]{8,}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[A-Za-z0-9_-]{20,})$"
)


# --------------------------------------------------------------------------------------------- route labels
def bucket_raw_path(path: str, max_segments: int = MAX_RAW_SEGMENTS) -> str:
    """A low-cardinality label for a path no router template matched: id-like segments become `{id}`,
    and only the first `max_segments` segments are kept (`/a/b/c/d/e` -> `/a/b/c/d/...`)."""
    segments = [s for s in path.split("/") if s]
    kept = ["{id}" if _ID_SEGMENT.match(s) else s for s in segments[:max_segments]]
    label = "/" + "/".join(kept)
    if len(segments) > max_segments:
        label += "/..."
    return label


def route_template(scope: Mapping[str, Any]) -> str | None:
    """The matched route's template as the framework recorded it in the scope, or None.

    Litestar sets `scope["path_template"]`; Starlette/FastAPI set `scope["route"]` (an object with `.path`,
    or `.path_format`), and a mount prefixes its `root_path`."""
    template = scope.get("path_template")
    if isinstance(template, str) and template:
        return template
    route = scope.get("route")
    if route is not None:
        path = getattr(route, "path_format", None) or getattr(route, "path", None)
        if isinstance(path, str) and path:
            root = scope.get("root_path") or ""
            return path if not root or path.startswith(root) else root.rstrip("/") + path
    return None


class RouteLabeler:
    """Chooses the `route` label of one request. Thread-safe: the set of raw labels is shared by all requests."""

    def __init__(self, max_raw_routes: int = MAX_RAW_ROUTES) -> None:
        self.max_raw_routes = max_raw_routes
        self._raw_seen: set[str] = set()
        self._lock = threading.Lock()

    def label(self, scope: Mapping[str, Any], status: int) -> str:
        template = route_template(scope)
        if template:
            return template
        if status == 404 or status == 405:
            # Scanners probe thousands of paths: they all share one label.
            return UNMATCHED_ROUTE
        bucketed = bucket_raw_path(str(scope.get("path", "")))
        with self._lock:
            if bucketed in self._raw_seen:
                return bucketed
            if len(self._raw_seen) < self.max_raw_routes:
                self._raw_seen.add(bucketed)
                return bucketed
        return OTHER_ROUTE


# --------------------------------------------------------------------------------------------- HTTP middleware
@dataclass(frozen=True)
class HttpMetrics:
    requests: Counter  # labels: method, route, status
    duration: Histogram  # labels: method, route, status
    in_flight: Gauge


def http_metrics(registry: CollectorRegistry) -> HttpMetrics:
    return HttpMetrics(
        requests=Counter(
            "aitrader_http_requests", "HTTP requests answered", ["method", "route", "status"], registry=registry
        ),
        duration=Histogram(
            "aitrader_http_request_duration_seconds",
            "HTTP request latency until the last body byte (until the first byte for text/event-stream answers)",
            ["method", "route", "status"],
            buckets=HTTP_BUCKETS,
            registry=registry,
        ),
        in_flight=Gauge(
            "aitrader_http_requests_in_flight",
            "HTTP requests being answered (open SSE streams included)",
            registry=registry,
        ),
    )


class MetricsMiddleware:
    """Pure ASGI middleware recording every HTTP request's latency by method, route template and status.

    Wrap the whole application (outermost) so routing failures (404) and unhandled errors (500) are counted.
    A Server-Sent-Events answer lives as long as the client stays connected, so for `text/event-stream` the latency
    recorded is the time to the response start. Paths in `exclude` (the scrape itself) are not recorded."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: HttpMetrics,
        *,
        exclude: Iterable[str] = ("/metrics",),
        labeler: RouteLabeler | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.exclude = frozenset(exclude)
        self.labeler = labeler or RouteLabeler()
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.exclude:
            await self.app(scope, receive, send)
            return
        started = self.clock()
        status = 500
        recorded = False
        streaming = False

        def record() -> None:
            nonlocal recorded
            if recorded:
                return
            recorded = True
            labels = (scope.get("method", "GET"), self.labeler.label(scope, status), str(status))
            self.metrics.requests.labels(*labels).inc()
            self.metrics.duration.labels(*labels).observe(max(0.0, self.clock() - started))

        async def send_wrapper(message: Message) -> None:
            nonlocal status, streaming
            if message["type"] == "http.response.start":
                status = int(message["status"])
                for name, value in message.get("headers") or ():
                    if name.lower() == b"content-type" and value.lower().startswith(b"text/event-stream"):
                        streaming = True
                        record()
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                record()

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.in_flight.dec()
            # An exception before the answer started counts as 500; a client gone mid-stream keeps its status.
            record()


# --------------------------------------------------------------------------------------------- /metrics
def render_metrics(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The scrape answer: (body, content type) in the Prometheus text format, for a framework's own handler."""
    return generate_latest(registry), CONTENT_TYPE_LATEST


class MetricsEndpoint:
    """A tiny ASGI app answering GET/HEAD with the registry's metrics. A class, not a function, so Starlette's
    `Route("/metrics", MetricsEndpoint(registry))` treats it as an ASGI app; Litestar can `asgi`-mount it too."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        method = scope.get("method")
        if method not in ("GET", "HEAD"):
            body, status, ctype = b'{"status_code":405,"detail":"method: use GET"}', 405, b"application/json"
        else:
            data, content_type = render_metrics(self.registry)
            body, status, ctype = data, 200, content_type.encode()
        headers = [
            (b"content-type", ctype),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})


def metrics_asgi_app(registry: CollectorRegistry) -> MetricsEndpoint:
    return MetricsEndpoint(registry)


# --------------------------------------------------------------------------------------------- domain metrics
@dataclass(frozen=True)
class OkxMetrics:
    requests: Counter  # labels: endpoint (path without query), outcome (see OKX_OUTCOMES)
    retries: Counter  # labels: endpoint, reason (e.g. timeout, http_5xx, rate_limited, code_50011)
    duration: Histogram  # labels: endpoint


OKX_OUTCOMES = ("ok", "okx_error", "rate_limited", "http_error", "timeout", "network_error")


def okx_metrics(registry: CollectorRegistry) -> OkxMetrics:
    return OkxMetrics(
        requests=Counter(
            "aitrader_okx_requests",
            f"OKX REST requests by final outcome ({', '.join(OKX_OUTCOMES)})",
            ["endpoint", "outcome"],
            registry=registry,
        ),
        retries=Counter(
            "aitrader_okx_retries",
            "OKX REST retries of a temporary failure, by reason",
            ["endpoint", "reason"],
            registry=registry,
        ),
        duration=Histogram(
            "aitrader_okx_request_duration_seconds",
            "OKX REST request latency (one attempt)",
            ["endpoint"],
            buckets=OKX_BUCKETS,
            registry=registry,
        ),
    )


class FeedAgeCollector(Collector):
    """`aitrader_ticker_feed_age_seconds{instId}`: seconds since the newest ticker of each instrument, computed at
    scrape time from `last_ticker_times()` -> {instId: unix seconds of the newest ticker (None = none yet)}."""

    def __init__(
        self, last_ticker_times: Callable[[], Mapping[str, float | None]], clock: Callable[[], float] = time.time
    ) -> None:
        self.last_ticker_times = last_ticker_times
        self.clock = clock

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "aitrader_ticker_feed_age_seconds",
            "Seconds since the newest ticker of each instrument (+Inf before the first one)",
            labels=["instId"],
        )
        now = self.clock()
        for inst_id, at in sorted(self.last_ticker_times().items()):
            family.add_metric([inst_id], float("inf") if at is None else max(0.0, now - at))
        yield family

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return []


@dataclass(frozen=True)
class FeedMetrics:
    reconnects: Counter  # labels: reason (stale, closed, error, refused)
    connected: Gauge  # 1 while the WebSocket is subscribed, 0 otherwise
    rest_polls: Counter  # REST fallback ticker polls while the WebSocket is down


def feed_metrics(
    registry: CollectorRegistry, last_ticker_times: Callable[[], Mapping[str, float | None]] | None = None
) -> FeedMetrics:
    """WebSocket feed metrics; with `last_ticker_times` also registers the feed-age gauge (see FeedAgeCollector)."""
    if last_ticker_times is not None:
        registry.register(FeedAgeCollector(last_ticker_times))
    return FeedMetrics(
        reconnects=Counter(
            "aitrader_ws_reconnects", "OKX public WebSocket reconnects, by reason", ["reason"], registry=registry
        ),
        connected=Gauge(
            "aitrader_ws_connected", "1 while the OKX public WebSocket is connected and subscribed", registry=registry
        ),
        rest_polls=Counter(
            "aitrader_ws_rest_fallback_polls", "REST ticker polls made while the WebSocket is down", registry=registry
        ),
    )


@dataclass(frozen=True)
class StrategyMetrics:
    triggers: Counter  # labels: source (volatility, schedule, manual), instId
    runs: Counter  # labels: source, status (succeeded, failed, skipped)
    run_duration: Histogram  # labels: source, status


def strategy_metrics(registry: CollectorRegistry) -> StrategyMetrics:
    return StrategyMetrics(
        triggers=Counter(
            "aitrader_strategy_triggers",
            "Strategy triggers, by source and instrument",
            ["source", "instId"],
            registry=registry,
        ),
        runs=Counter(
            "aitrader_strategy_runs",
            "Finished strategy runs, by source and final status",
            ["source", "status"],
            registry=registry,
        ),
        run_duration=Histogram(
            "aitrader_strategy_run_duration_seconds",
            "Strategy run duration from trigger to result",
            ["source", "status"],
            buckets=RUN_BUCKETS,
            registry=registry,
        ),
    )


@dataclass(frozen=True)
class SnapshotMetrics:
    writes: Counter  # labels: outcome (written, skipped, failed)


def snapshot_metrics(registry: CollectorRegistry) -> SnapshotMetrics:
    return SnapshotMetrics(
        writes=Counter(
            "aitrader_balance_snapshots",
            "Balance readings by outcome: written, skipped (below both thresholds), failed",
            ["outcome"],
            registry=registry,
        )
    )


@dataclass(frozen=True)
class LlmMetrics:
    requests: Counter  # labels: model, outcome (ok, error, timeout)
    tokens: Counter  # labels: model, kind (prompt, completion, cached_prompt)
    cost: Counter  # labels: model; US dollars
    duration: Histogram  # labels: model


def llm_metrics(registry: CollectorRegistry) -> LlmMetrics:
    return LlmMetrics(
        requests=Counter(
            "aitrader_llm_requests",
            "LLM chat-completion requests, by model and outcome",
            ["model", "outcome"],
            registry=registry,
        ),
        tokens=Counter(
            "aitrader_llm_tokens",
            "LLM tokens used, by model and kind (prompt, completion, cached_prompt)",
            ["model", "kind"],
            registry=registry,
        ),
        cost=Counter(
            "aitrader_llm_cost_usd", "Estimated LLM cost in US dollars, by model", ["model"], registry=registry
        ),
        duration=Histogram(
            "aitrader_llm_request_duration_seconds",
            "LLM request latency",
            ["model"],
            buckets=RUN_BUCKETS,
            registry=registry,
        ),
    )


def record_llm_usage(
    metrics: LlmMetrics,
    model: str,
    *,
    prompt_tokens: int,
    completion_tokens: int,
    cost_usd: float,
    cached_prompt_tokens: int = 0,
) -> None:
    """Add one completion's usage (the `usage` block of an OpenAI-compatible answer) and its estimated cost."""
    if min(prompt_tokens, completion_tokens, cached_prompt_tokens) < 0 or cost_usd < 0:
        raise ValueError("token counts and cost must not be negative")
    metrics.tokens.labels(model, "prompt").inc(prompt_tokens)
    metrics.tokens.labels(model, "completion").inc(completion_tokens)
    if cached_prompt_tokens:
        metrics.tokens.labels(model, "cached_prompt").inc(cached_prompt_tokens)
    metrics.cost.labels(model).inc(cost_usd)


# --------------------------------------------------------------------------------------------- per-service bundles
@dataclass(frozen=True)
class ApiServiceMetrics:
    registry: CollectorRegistry
    http: HttpMetrics
    okx: OkxMetrics
    feed: FeedMetrics
    strategy: StrategyMetrics
    snapshots: SnapshotMetrics


def api_service_metrics(
    registry: CollectorRegistry | None = None, last_ticker_times: Callable[[], Mapping[str, float | None]] | None = None
) -> ApiServiceMetrics:
    """Every metric of the trading API, in its own registry (a new one unless given)."""
    registry = registry if registry is not None else CollectorRegistry()
    return ApiServiceMetrics(
        registry=registry,
        http=http_metrics(registry),
        okx=okx_metrics(registry),
        feed=feed_metrics(registry, last_ticker_times),
        strategy=strategy_metrics(registry),
        snapshots=snapshot_metrics(registry),
    )


@dataclass(frozen=True)
class AgentServiceMetrics:
    registry: CollectorRegistry
    http: HttpMetrics
    llm: LlmMetrics
    analyses: StrategyMetrics  # the agent's view of runs: analyses by source and result


def agent_service_metrics(registry: CollectorRegistry | None = None) -> AgentServiceMetrics:
    """Every metric of the agent, in its own registry (a new one unless given)."""
    registry = registry if registry is not None else CollectorRegistry()
    return AgentServiceMetrics(
        registry=registry, http=http_metrics(registry), llm=llm_metrics(registry), analyses=strategy_metrics(registry)
    )
