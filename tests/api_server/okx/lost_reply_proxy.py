"""A real aiohttp proxy in front of the real OKX simulator that executes requests and loses their replies.

Stand-in for the simulator's own lost-reply fault (being added by the sim-rest engineer): a request that
matches `drop` is forwarded to the simulator byte for byte (so the simulator checks the signature and
EXECUTES it), then the proxy aborts the client's TCP connection instead of answering — exactly what a
client sees when OKX filled an order and the reply was lost (a connection reset). Everything else passes
through unchanged. `dropped` lists what was executed and not answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from tests.helpers import serve_app

HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


@dataclass
class LostReplyProxy:
    upstream: str
    drop: dict[tuple[str, str], int] = field(default_factory=dict)  # (method, path) -> how many replies to lose
    dropped: list[tuple[str, str, int]] = field(default_factory=list)  # (method, path, upstream status)
    forwarded: list[tuple[str, str]] = field(default_factory=list)

    async def start(self) -> LostReplyProxy:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._session = aiohttp.ClientSession(auto_decompress=False)
        self._runner, port = await serve_app(app)
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        await self._session.close()
        await self._runner.cleanup()

    def lose_next(self, method: str, path: str, count: int = 1) -> None:
        self.drop[(method, path)] = count

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        url = self.upstream + request.raw_path  # the raw target: the signature covers it verbatim
        async with self._session.request(
            request.method, url, data=body or None, headers=headers, allow_redirects=False
        ) as upstream:
            status = upstream.status
            payload = await upstream.read()
            content_type = upstream.headers.get("Content-Type", "application/json")
        key = (request.method, request.path)
        self.forwarded.append(key)
        if self.drop.get(key, 0) > 0:
            self.drop[key] -= 1
            self.dropped.append((request.method, request.path, status))
            if request.transport is not None:
                request.transport.abort()  # executed upstream; the reply never reaches the client
            return web.Response(status=500)
        return web.Response(status=status, body=payload, headers={"Content-Type": content_type})


# -- as a process (for tests that start the trading API as a subprocess) --------------------------------
# python -m tests.api_server.okx.lost_reply_proxy UPSTREAM PORT
# control: POST /_proxy/lose {"method", "path", "count"}; GET /_proxy/dropped; DELETE /_proxy/lose (clear)
async def _serve(upstream: str, port: int) -> None:
    import asyncio

    proxy = LostReplyProxy(upstream)
    proxy._session = aiohttp.ClientSession(auto_decompress=False)

    async def lose(request: web.Request) -> web.Response:
        body = await request.json()
        proxy.lose_next(body["method"], body["path"], int(body.get("count", 1)))
        return web.json_response({"armed": [list(k) + [v] for k, v in proxy.drop.items()]})

    async def clear(request: web.Request) -> web.Response:
        proxy.drop.clear()
        return web.json_response({"armed": []})

    async def dropped(request: web.Request) -> web.Response:
        return web.json_response(
            {"dropped": [list(d) for d in proxy.dropped], "forwarded": [list(f) for f in proxy.forwarded]}
        )

    app = web.Application()
    app.router.add_post("/_proxy/lose", lose)
    app.router.add_delete("/_proxy/lose", clear)
    app.router.add_get("/_proxy/dropped", dropped)
    app.router.add_route("*", "/{tail:.*}", proxy._handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    import asyncio
    import sys

    asyncio.run(_serve(sys.argv[1], int(sys.argv[2])))
