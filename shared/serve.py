"""Start-up helpers shared by the service entry points."""

from __future__ import annotations

import socket
import sys


def port_is_free(host: str, port: int) -> bool:
    """True when a server could listen on host:port now.

    granian does not refuse a port already in use (two servers would share it), so every entry point checks first.
    SO_REUSEADDR as servers set it: sockets of a previous run still in TIME_WAIT must not block a restart, while a
    port another server listens on is still refused.
    """
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def ensure_port_free(host: str, port: int, variable: str) -> None:
    if not port_is_free(host, port):
        sys.exit(f"port {host}:{port} ({variable}) is not free: address already in use")
