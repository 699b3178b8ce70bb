"""The web app as `make run` serves it: `frontend/dist` plus a reverse proxy of `/api/` to the trading API and
`/agent/` to the agent (streamed, so SSE passes through unbuffered). Production uses nginx (`nginx/`) instead."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import aiohttp
from aiohttp import web

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-authorization", "host", "content-length"}


def build_app(dist: Path, api_url: str, agent_url: str) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)

    async def on_startup(app: web.Application) -> None:
        app["session"] = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=5), auto_decompress=False)

    async def on_cleanup(app: web.Application) -> None:
        await app["session"].close()

    async def proxy(request: web.Request, upstream: str, strip: str) -> web.StreamResponse:
        path = request.rel_url.path[len(strip):] if strip else request.rel_url.path
        url = upstream + path + (("?" + request.rel_url.query_string) if request.rel_url.query_string else "")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        body = await request.read()
        try:
            async with app["session"].request(request.method, url, headers=headers, data=body or None, allow_redirects=False) as up:
                resp = web.StreamResponse(status=up.status, headers={k: v for k, v in up.headers.items() if k.lower() not in HOP_HEADERS})
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
    web.run_app(build_app(Path(args.dist), args.api.rstrip("/"), args.agent.rstrip("/")), host=args.host, port=args.port, print=lambda *_: None)


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main()
