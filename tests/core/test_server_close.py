"""Finished connections are closed without waiting for the client, unless unread bytes wait."""

import socket
import threading

import pytest
import requests

from core.server import close_promptly

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


@pytest.fixture
def connection():
    """A real loopback TCP connection: (server side, client side)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    yield server, client
    client.close()
    server.close()


def read_to_end(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received


def close_in_background(sock: socket.socket) -> threading.Thread:
    # A long linger: if the close waits for the client, it is still waiting when checked.
    thread = threading.Thread(target=close_promptly, args=(sock,), kwargs={"timeout": 30})
    thread.start()
    return thread


@pytest.mark.parametrize("timeout", [None, 30.0], ids=["blocking", "with_timeout"])
def test_a_request_read_to_its_end_is_closed_without_waiting_for_the_client(connection, timeout):
    server, client = connection
    server.settimeout(timeout)  # gunicorn's sockets are blocking; a timeout must not make it wait
    client.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
    server.recv(4096)
    server.sendall(RESPONSE)
    closing = close_in_background(server)
    closing.join(timeout=10)
    assert not closing.is_alive()  # the client has not closed its side
    assert read_to_end(client) == RESPONSE  # all of it, then the end: no reset


def test_unread_request_bytes_get_the_lingering_close(connection):
    server, client = connection
    client.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n")
    client.sendall(b"x" * 5000)  # a body the app refused without reading
    server.recv(60)
    server.sendall(RESPONSE)
    closing = close_in_background(server)
    # The response survives (no reset), and the close waits for the client to finish.
    assert read_to_end(client) == RESPONSE
    assert closing.is_alive()
    client.close()
    closing.join(timeout=10)
    assert not closing.is_alive()


@pytest.mark.slow
def test_gunicorn_workers_do_not_wait_for_clients_that_keep_the_connection(live_server):
    host, port = live_server.url.removeprefix("http://").split(":")
    kept = []
    try:
        # One connection per worker (4), each answered and then left open by the client.
        for _ in range(4):
            sock = socket.create_connection((host, int(port)))
            sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_to_end(sock).startswith(b"HTTP/1.1 200")
            kept.append(sock)
        # With lingering closes all four workers would still wait 2 s for those clients.
        assert requests.get(live_server("/api/health"), timeout=1).status_code == 200
    finally:
        for sock in kept:
            sock.close()
