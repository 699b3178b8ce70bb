"""`python -m agent`: validate settings, refuse a busy port, serve the agent app with uvicorn."""

from __future__ import annotations

import sys

import uvicorn

from shared.envfile import SettingsError
from shared.logging_setup import configure_logging
from shared.serve import port_is_free


def main() -> int:
    from agent.settings import load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"agent: {exc}", file=sys.stderr)
        return 2
    secrets = [settings.api_token.get_secret_value()]
    if settings.deepseek_api_key is not None:
        secrets.append(settings.deepseek_api_key.get_secret_value())
    configure_logging(settings.log_level, settings.log_format, secrets=secrets)
    if not port_is_free(settings.agent_host, settings.agent_port):
        print(
            f"agent: port {settings.agent_host}:{settings.agent_port} is already in use (AGENT_PORT)", file=sys.stderr
        )
        return 3
    from agent.app import create_app

    config = uvicorn.Config(
        create_app(settings),
        host=settings.agent_host,
        port=settings.agent_port,
        log_config=None,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=5,
        access_log=False,
    )
    uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
