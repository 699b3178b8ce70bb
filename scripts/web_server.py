"""The web app as `make run` serves it: `frontend/dist` plus a reverse proxy of `/api/` to the trading API and
`/agent/` to the agent (streamed, so SSE passes through unbuffered). Production uses nginx (`nginx/`) instead.

It behaves like the nginx site where security is concerned: the same security headers on every answer (read from
nginx's own config, so the two cannot drift apart) and only the agent routes the web app and MCP clients use."""

from __future__ import annotations

import argparse
import asyncio
import re
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
NGINX_LOCATIONS = ROOT / "nginx" / "snippets" / "locations.conf.template"
# The agent paths published under /agent/ (as nginx/snippets/locations.conf.template): the web app's and MCP's.
AGENT_PUBLISHED = re.compile(
    r"^/(health|usage|sessions|sessions/(?!\.+$)[A-Za-z0-9_.:-]+|mcp-tokens|mcp-tokens/(?!\.+$)[A-Za-z0-9_.-]+|chat|mcp/?)$"
)


def security_headers(locations_template: Path = NGINX_LOCATIONS) -> dict[str, str]:
    """The `add_header NAME "VALUE" always;` lines of the nginx site (its server level)."""
    text = locations_template.read_text(encoding="utf-8")
    headers = dict(re.findall(r'^\s*add_header\s+([A-Za-z-]+)\s+"([^"]*)"\s+always;', text, re.MULTILINE))
    if "Content-Security-Policy" not in headers:
        raise RuntimeError(f"no security headers found in {locations_template}")
    return headers


HOP_HEADERS = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "upgrade",
    "proxy-authorization",
    "host",
    "content-length",
}


def build_app(dist: Path, api_url: str, agent_url: str) -> web.Application:
    headers = security_headers()

    @web.middleware
    async def add_security_headers(request: web.Request, handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = exc
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response

    async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
        # Streamed answers are sent before the middleware sees them: set the headers as they go out.
        for name, value in headers.items():
            response.headers.setdefault(name, value)

    app = web.Application(client_max_size=1024 * 1024, middlewares=[add_security_headers])
    app.on_response_prepare.append(on_prepare)

    async def on_startup(app: web.Application) -> None:
        app["session"] = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=5), auto_decompress=False
        )

    async def on_cleanup(app: web.Application) -> None:
        await app["session"].close()

    async def proxy(request: web.Request, upstream: str, strip: str) -> web.StreamResponse:
        path = request.rel_url.path[len(strip) :] if strip else request.rel_url.path
        url = upstream + path + (("?" + request.rel_url.query_string) if request.rel_url.query_string else "")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        body = await request.read()
        try:
            async with app["session"].request(
                request.method, url, headers=headers, data=body or None, allow_redirects=False
            ) as up:
                resp = web.StreamResponse(
                    status=up.status, headers={k: v for k, v in up.headers.items() if k.lower() not in HOP_HEADERS}
                )
                await resp.prepare(request)
                async for chunk in up.content.iter_any():
                    await resp.write(chunk)
                await resp.write_eof()
                return resp
        except aiohttp.ClientConnectionError:
            return web.json_response({"status_code": 502, "detail": f"upstream {upstream} unreachable"}, status=502)

    async def api(request: web.Request) -> web.StreamResponse:
        return await proxy(request, api_url, "")

    async def agent(request: web.Request) -> web.StreamResponse:
        if not AGENT_PUBLISHED.match(request.rel_url.path[len("/agent") :]):
            return web.json_response({"status_code": 404, "detail": "not found"}, status=404)
        return await proxy(request, agent_url, "/agent")

    async def spa(request: web.Request) -> web.StreamResponse:
        rel = request.match_info.get("tail", "")
        target = (dist / rel).resolve()
        if rel and target.is_file() and dist.resolve() in target.parents:
            return web.FileResponse(target)
        index = dist / "index.html"
        if not index.is_file():
            return web.Response(status=503, text="web app not built: run `make run` (it builds frontend/dist)")
        return web.FileResponse(index, headers={"Cache-Control": "no-cache"})

    app.router.add_route("*", "/api/{tail:.*}", api)
    app.router.add_route("*", "/agent/{tail:.*}", agent)
    app.router.add_get("/{tail:.*}", spa)
    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--dist", default=str(Path(__file__).resolve().parent.parent / "frontend" / "dist"))
    parser.add_argument("--api", default="http://127.0.0.1:8000")
    parser.add_argument("--agent", default="http://127.0.0.1:8001")
    args = parser.parse_args()
    web.run_app(
        build_app(Path(args.dist), args.api.rstrip("/"), args.agent.rstrip("/")),
        host=args.host,
        port=args.port,
        print=lambda *_: None,
    )


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main()
