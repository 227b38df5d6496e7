"""gunicorn, adapted: refusals in the API's JSON error shape, and a finished connection closed
at once when nothing is left unread.

gunicorn answers some requests itself, before the app sees them (a request line or headers
too long, a malformed request): by default with an HTML page. Clients of this service read one
JSON error shape everywhere, so ``write_json_error`` answers those in it too.


gunicorn 27 ends every response of a sync worker with a *lingering close* (RFC 9112 §9.6): it
half-closes, then waits up to 2 s, reading, until the client closes its side too. That keeps
the kernel from answering request bytes the app never read with a reset, which could destroy
the response before the client has read it. But a sync worker serves one connection at a
time, so every response also costs the worker the client's reaction time: a round trip over
the internet (tens of ms, so a couple of workers top out at a few dozen requests a second),
and in a booking rush on this host about 15% of the workers' time, waiting for busy clients.

A reset can only happen if bytes the app did not read are waiting. So when nothing is waiting
(the request was read to its end, as for every JSON request), the socket is closed at once:
the response and the FIN are already on their way and nothing will provoke a reset. When
something is waiting (an upload refused before its body was read), gunicorn's lingering
close runs as before.

``gunicorn.conf.py`` installs it in every gunicorn started from the project directory.
"""

from __future__ import annotations

import contextlib
import json
import socket

from gunicorn import util

_lingering_close = util.close_graceful


def unread_bytes_waiting(sock: socket.socket) -> bool:
    """True if the peer has sent bytes this side has not read (the peer's FIN is not one).

    Asked without waiting: a socket with a timeout would otherwise wait for data first."""
    prior = sock.gettimeout()
    try:
        sock.setblocking(False)
        return bool(sock.recv(1, socket.MSG_PEEK))
    except BlockingIOError:
        return False  # nothing waiting, the peer still open
    except OSError:
        return False  # reset or gone: nothing to protect
    finally:
        with contextlib.suppress(OSError):
            sock.settimeout(prior)


def close_promptly(sock: socket.socket, timeout: float = 2.0, max_drain: int = 65536) -> None:
    """gunicorn's ``close_graceful`` without the wait when no unread bytes could cause a reset."""
    if unread_bytes_waiting(sock):
        _lingering_close(sock, timeout, max_drain)
        return
    with contextlib.suppress(OSError):
        sock.close()  # sends FIN after the response: nothing unread, so no reset


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's ``write_error`` in the one JSON error shape (``core.errors``)."""
    code = "_".join(reason.lower().replace("-", " ").split()) or "bad_request"
    body = json.dumps({"code": code, "status": status_int, "message": mesg or reason}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


def install() -> None:
    """Used by gunicorn's workers from here on (they call these ``util`` functions by name)."""
    util.close_graceful = close_promptly
    util.write_error = write_json_error
