"""The app as ``wsgi.py`` serves it, counting what its workers send to the database.

For ``bench/booking_rush.py``: counters in memory shared by every forked worker (made in the
preloaded master) add up SQL statements, transactions begun (a real BEGIN: the driver was
not in autocommit) and connection pings; ``GET /bench/counts`` answers them, and
``POST /bench/counts`` sets them to zero. Counting is one addition per event.
"""

from __future__ import annotations

import json
import multiprocessing

from sqlalchemy import event

from core.extensions import db
from wsgi import app as served

COUNTERS = {name: multiprocessing.Value("q", 0) for name in ("statements", "begins", "pings")}


def _add(name: str) -> None:
    counter = COUNTERS[name]
    with counter.get_lock():
        counter.value += 1


with served.app_context():
    engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(*_args):
        _add("statements")

    @event.listens_for(engine, "begin")
    def _begin(connection):
        if not getattr(connection.connection.dbapi_connection, "autocommit", False):
            _add("begins")

    _ping = engine.dialect.do_ping

    def _counted_ping(dbapi_connection):
        _add("pings")
        return _ping(dbapi_connection)

    engine.dialect.do_ping = _counted_ping


def app(environ, start_response):
    if environ.get("PATH_INFO") == "/bench/counts":
        if environ.get("REQUEST_METHOD") == "POST":
            for counter in COUNTERS.values():
                with counter.get_lock():
                    counter.value = 0
        body = json.dumps({name: counter.value for name, counter in COUNTERS.items()}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    return served(environ, start_response)
