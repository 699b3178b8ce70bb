"""Start-up helpers shared by the service entry points."""

from __future__ import annotations

import socket
import sys


def ensure_port_free(host: str, port: int, variable: str) -> None:
    """granian does not refuse a port already in use (two servers would share it): check first."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        # As servers do: sockets of a previous run still in TIME_WAIT must not block a restart.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            sys.exit(f"port {host}:{port} ({variable}) is not free: {exc.strerror}")


def exit_on_settings_error(exc: Exception) -> None:
    sys.exit(f"configuration error: {exc}")
