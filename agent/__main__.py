"""`python -m agent`: validate settings, refuse a busy port, serve the agent app with uvicorn."""

from __future__ import annotations

import json
import logging
import socket
import sys

import uvicorn

from shared.envfile import SettingsError


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": self.formatTime(record), "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(fmt: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)


def port_is_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def main() -> int:
    from agent.settings import load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"agent: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_format, settings.log_level)
    if not port_is_free(settings.agent_host, settings.agent_port):
        print(f"agent: port {settings.agent_host}:{settings.agent_port} is already in use (AGENT_PORT)", file=sys.stderr)
        return 3
    from agent.app import create_app

    config = uvicorn.Config(
        create_app(settings), host=settings.agent_host, port=settings.agent_port, log_config=None,
        log_level=settings.log_level.lower(), timeout_graceful_shutdown=5, access_log=False,
    )
    uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
