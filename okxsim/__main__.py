"""`python -m okxsim`: check the port is free, serve until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import signal
import sys

from aiohttp import web

from okxsim.app import create_app
from okxsim.config import SimConfig, load_config
from shared.envfile import SettingsError
from shared.serve import port_is_free


async def serve(config: SimConfig) -> None:
    app = create_app(config)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port)
    await site.start()
    print(f"okxsim listening on http://{config.host}:{config.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> int:
    try:
        config = load_config()
    except SettingsError as exc:
        print(f"okxsim: {exc}", file=sys.stderr)
        return 2
    if not port_is_free(config.host, config.port):
        print(f"okxsim: port {config.port} on {config.host} is already in use (set OKXSIM_PORT)", file=sys.stderr)
        return 1
    asyncio.run(serve(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
