"""The SIP2 server: TCP, one thread and one ``Session`` per connection, each message answered
inside its own app context (its own database session and unit of work).

A connection idle for ``SIP2_IDLE_TIMEOUT`` seconds is closed. A frame longer than the codec
allows is answered (a refusal, or 96) and skipped up to its CR: no frame goes unanswered.
Stopping (SIGTERM, SIGINT, ``stop()``) closes the listening socket, lets every connection
finish the message it is on, and waits for them. TLS is a terminator's job in front (README).
Each process then logs what its messages cost, by command (``Usage``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import socketserver
import sys
import threading
import time

from flask import Flask

from core.extensions import db
from library.sip2 import codec
from library.sip2.handlers import Session

log = logging.getLogger(__name__)

# How long a thread may keep the GIL while another waits for it. A message's SQLite
# statements each let the GIL go and want it back at once; at Python's 5 ms, a thread holding
# the database's write lock waited up to 5 ms after every statement while other connections'
# threads ran, and every writer of every process waited with it. At 0.5 ms the SIP2 bench's
# time in the server and its p99 halved, at the same CPU per message.
GIL_SWITCH_INTERVAL_S = 0.0005


class _Connection(socketserver.BaseRequestHandler):
    server: Sip2Server

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(self.server.idle_timeout or None)  # 0: never idle out
        self.server.opened(sock)
        session, buffer, skipping = Session(), b"", False
        try:
            while True:
                try:
                    chunk = sock.recv(65536)
                except (TimeoutError, OSError):
                    return  # idle too long, or the peer went away
                if not chunk:
                    return
                buffer += chunk
                if skipping:
                    if b"\r" not in buffer:
                        buffer = b""
                        continue
                    buffer, skipping = buffer.partition(b"\r")[2], False
                while b"\r" in buffer:
                    frame, _, buffer = buffer.partition(b"\r")
                    sock.sendall(self.server.answer(session, frame))
                if len(buffer) > codec.MAX_FRAME_BYTES:
                    sock.sendall(self.server.answer(session, buffer))
                    buffer, skipping = b"", True
        except OSError:
            return
        finally:
            self.server.closed(sock)


class Usage:
    """What this process's messages cost, by command: how many, the CPU time of the threads
    answering them and their time in the server (the CPU plus waiting for the GIL, the
    database and its write lock). Logged when the process stops; bench/sip2_sessions.py reads
    it to say where the server's time goes."""

    LOG_PREFIX = "sip2: answered by process"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_command: dict[str, list[float]] = {}

    def add(self, command: str | None, cpu_s: float, wall_s: float) -> None:
        with self._lock:
            entry = self._by_command.setdefault(command or "??", [0, 0.0, 0.0])
            entry[0] += 1
            entry[1] += cpu_s
            entry[2] += wall_s

    def report(self) -> dict[str, dict[str, float]]:
        with self._lock:
            return {
                command: {"messages": n, "cpu_s": round(cpu, 4), "in_server_s": round(wall, 4)}
                for command, (n, cpu, wall) in sorted(self._by_command.items())
            }

    def log(self) -> None:
        log.info("%s %d: %s", self.LOG_PREFIX, os.getpid(), json.dumps(self.report()))


class Sip2Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = False
    block_on_close = True

    def __init__(self, app: Flask, host: str, port: int, idle_timeout: float):
        self.app, self.idle_timeout = app, idle_timeout
        self.usage = Usage()
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        super().__init__((host, port), _Connection)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def answer(self, session: Session, frame: bytes) -> bytes:
        cpu, began = time.thread_time(), time.perf_counter()
        with self.app.app_context():
            data = session.answer(frame)
        self.usage.add(
            codec.peek_command(codec.strip_frame(frame)),
            time.thread_time() - cpu,
            time.perf_counter() - began,
        )
        return data

    def opened(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.add(sock)

    def closed(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)

    def stop(self) -> None:
        """Stop accepting, end every connection after its current message, wait for them."""
        self.shutdown()
        self.finish()

    def finish(self) -> None:
        with self._lock:
            for sock in list(self._open):
                with contextlib.suppress(OSError):  # recv ends; an answer being sent still goes
                    sock.shutdown(socket.SHUT_RD)
        self.server_close()


def serve(
    app: Flask, host: str, port: int, idle_timeout: float, workers: int = 1, ready=print
) -> None:
    """Serve until SIGTERM or SIGINT, then stop gracefully. With several ``workers`` the
    listening socket is opened once and that many processes (forked, as gunicorn forks its
    preloaded app) accept connections from it, each with its threads."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)  # this process serves SIP2 only
    server = Sip2Server(app, host, port, idle_timeout)
    if workers <= 1:
        ready(f"SIP2 server on {host}:{server.port}")
        _run(server)
        return
    # Every process waits for the same socket; the ones that lose a connection to another
    # must find nothing to accept rather than block in accept() (and miss a stop).
    server.socket.setblocking(False)
    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # a worker: its own database connections, then serve
            code = 1
            try:
                with app.app_context():
                    db.engine.dispose(close=False)
                _run(server)
                code = 0
            finally:
                os._exit(code)
        children.append(pid)

    def forward(signum, _frame):
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    ready(f"SIP2 server on {host}:{server.port} ({workers} processes)")
    failed = False
    try:
        for child in children:
            _, status = os.waitpid(child, 0)
            failed = failed or os.waitstatus_to_exitcode(status) != 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.server_close()
    if failed:
        raise SystemExit(1)


def _run(server: Sip2Server) -> None:
    def on_signal(signum, _frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.finish()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.usage.log()
