import socket

import pytest

from shared.serve import ensure_port_free


def test_busy_port_is_refused_naming_the_variable():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(SystemExit, match="API_PORT"):
            ensure_port_free("127.0.0.1", port, "API_PORT")


def test_a_port_left_in_time_wait_by_a_crashed_server_is_free():
    # A server that accepted a connection and closed first leaves TIME_WAIT sockets on its port.
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = server.accept()
    conn.close()  # the server side closes first: its end goes to TIME_WAIT
    client.close()
    server.close()
    ensure_port_free("127.0.0.1", port, "API_PORT")  # no SystemExit
