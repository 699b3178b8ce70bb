"""`python -m api_server` (`make api`): serve the trading API with granian on API_HOST:API_PORT."""

from __future__ import annotations

import sys

from granian import Granian
from granian.constants import Interfaces

from api_server.settings import load_settings
from shared.envfile import SettingsError
from shared.serve import ensure_port_free


def main() -> None:
    try:
        settings = load_settings()
    except SettingsError as exc:
        sys.exit(f"configuration error: {exc}")
    ensure_port_free(settings.api_host, settings.api_port, "API_PORT")
    Granian(
        "api_server.asgi:app",
        address=settings.api_host,
        port=settings.api_port,
        interface=Interfaces.ASGI,
        workers=1,
        log_access=False,
    ).serve()


if __name__ == "__main__":
    main()
