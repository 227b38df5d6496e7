"""Where a booking request's time goes: statements, round trips and time per step.

Seeds the booking rush's data (fewer residents and past days), then sends bookings through
the whole app in this process (Flask's test client: the same views, auth, idempotency and
transactions as under gunicorn, without HTTP) and counts, per request of each kind:

- SQL statements (SQLAlchemy's ``before_cursor_execute``), pool checkouts and pings;
- round trips to PostgreSQL, read from libpq's own trace of the messages sent (every
  ``Query`` and every ``Sync`` waits for the server's answer), BEGIN/COMMIT/ROLLBACK included;
- wall time spent in each step of the path (auth, idempotency, the snapshot check, the write
  transaction and its parts, the commit), measured by wrapping those functions.

Kinds: ``winner`` (a place is free), ``loser`` (the slot is full), ``replay`` (a retry of a
winner with its Idempotency-Key).

    .venv/bin/python bench/booking_path.py [--database-url URL] [--requests N]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from booking_rush import _settings, seed
from support import cpu_probe_ms

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

# (module, attribute) of the steps timed: each is wrapped where the booking path looks it up.
STEPS = {
    "auth_token_lookup": [("core.auth", "_load")],
    "snapshot_check": [("facilities.services.booking", "refuse_if_visibly_full")],
    "idempotency_lookup": [("facilities.services.booking", "answered")],
    "end_snapshot": [("facilities.services.booking", "_end_snapshot")],
    "write_transaction": [("facilities.services.booking", "run_once")],
    "create_booking": [("facilities.services.booking", "create_booking")],
    "lock_user": [("facilities.services.capacity", "lock_user")],
    "lock_slot": [("facilities.services.capacity", "lock_slot")],
    "waitlist_and_holds": [("facilities.services.booking", "waitlist")],
    "limits": [("facilities.services.user_rules", "check_limits")],
    "insert_booking": [("facilities.services.capacity", "add_booking")],
    "notification": [("facilities.services.notices", "notify")],
    # The commit, with the after-commit jobs it queues (an event of the commit).
    "commit": [("sqlalchemy.orm.session", "Session.commit")],
}


class Counters:
    def __init__(self):
        self.values = Counter()
        self.seconds = defaultdict(float)

    def timed(self, name, fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            began = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - began

        return run


def _wrap_steps(counters: Counters) -> None:
    for step, places in STEPS.items():
        for module_name, attribute in places:
            module = importlib.import_module(module_name)
            owner, _, name = attribute.rpartition(".")
            target = getattr(module, owner) if owner else module
            if not hasattr(target, name):
                continue
            value = getattr(target, name)
            if step == "waitlist_and_holds":  # the module: wrap its function used here
                value.settle_for_booking = counters.timed(step, value.settle_for_booking)
                continue
            setattr(target, name, counters.timed(step, value))


def _round_trips(trace: Path) -> Counter:
    """Messages the client sent that wait for an answer: a simple ``Query`` (BEGIN, COMMIT,
    ROLLBACK, a ping) or the ``Sync`` closing an extended-protocol statement."""
    sent = Counter()
    for line in trace.read_text(errors="replace").splitlines():
        fields = line.split("\t")
        if fields and fields[0] not in ("F", "B"):  # a timestamp first
            fields = fields[1:]
        if len(fields) > 2 and fields[0] == "F":
            sent[fields[2]] += 1
    return sent


def measure(app, data: dict, kind: str, count: int, trace_dir: Path) -> dict:
    from sqlalchemy import event

    from core.extensions import db

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        from psycopg import pq  # only PostgreSQL's driver is traced

    counters = Counters()
    tokens = data["tokens"]
    with app.app_context():
        engine = db.engine
        postgres = engine.dialect.name == "postgresql"
        engine.dispose()
        traces: list[Path] = []
        traced: list = []
        handles: list = []

        @event.listens_for(engine, "connect")
        def _trace(dbapi_connection, _record):
            if postgres:
                path = trace_dir / f"{kind}-{len(traces)}.trace"
                traces.append(path)
                traced.append(dbapi_connection.pgconn)
                handle = open(path, "w")  # noqa: SIM115  (kept open: libpq writes to its fd)
                handles.append(handle)
                dbapi_connection.pgconn.trace(handle.fileno())
                dbapi_connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)

        @event.listens_for(engine, "before_cursor_execute")
        def _statement(_conn, _cursor, statement, _params, _context, _many):
            counters.values["statements"] += 1
            verb = statement.lstrip().split(None, 1)[0].upper()
            counters.values[f"statements_{verb.lower()}"] += 1

        @event.listens_for(engine, "checkout")
        def _checkout(*_args):
            counters.values["pool_checkouts"] += 1

        ping = engine.dialect.do_ping

        def counted_ping(dbapi_connection):
            counters.values["pings"] += 1
            return ping(dbapi_connection)

        engine.dialect.do_ping = counted_ping
        # One connection made before counting: its start-up messages are not the requests'.
        with engine.connect() as warm:
            warm.exec_driver_sql("SELECT 1")
        before_trace = Counter()
        for pgconn in traced:  # libpq writes its trace buffered: flushed when untraced
            pgconn.untrace()
        for path in traces:
            before_trace += _round_trips(path)
        for pgconn, path in zip(traced, traces, strict=True):
            handles.append(open(path, "a"))  # noqa: SIM115
            pgconn.trace(handles[-1].fileno())
            pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        counters.values.clear()

    client = app.test_client()
    slot = data["hot_rink"] if kind != "loser" else data["hot_sheets"][0]
    share = tokens[:count] if kind != "replay" else tokens[:count]
    _wrap_steps(counters)
    began = time.perf_counter()
    cpu_began = time.process_time()
    statuses = Counter()
    for raw in share:
        response = client.post(
            "/api/bookings",
            json={"slot_id": slot, "party": {"adult": 1}},
            headers={"Authorization": f"Bearer {raw}", "Idempotency-Key": f"path-{raw[:12]}"},
        )
        statuses[response.status_code] += 1
    wall = time.perf_counter() - began
    cpu = time.process_time() - cpu_began
    sent = Counter()
    for pgconn in traced:
        pgconn.untrace()
    for path in traces:
        sent += _round_trips(path)
    sent -= before_trace
    event.remove(engine, "connect", _trace)
    event.remove(engine, "before_cursor_execute", _statement)
    event.remove(engine, "checkout", _checkout)
    engine.dialect.do_ping = ping
    per = {name: round(value / count, 2) for name, value in sorted(counters.values.items())}
    if sent:
        per["round_trips"] = round((sent["Query"] + sent["Sync"]) / count, 2)
        per["simple_queries (BEGIN/COMMIT/ROLLBACK/ping)"] = round(sent["Query"] / count, 2)
    return {
        "requests": count,
        "statuses": {str(k): v for k, v in statuses.items()},
        "per_request": per,
        "ms_per_request": round(wall * 1000 / count, 3),
        "cpu_ms_per_request_this_process": round(cpu * 1000 / count, 3),
        "step_ms_per_request": {
            name: round(seconds * 1000 / count, 3)
            for name, seconds in sorted(counters.seconds.items(), key=lambda kv: -kv[1])
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="a DISPOSABLE database")
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()

    probe = cpu_probe_ms()
    workdir = Path(tempfile.mkdtemp(prefix="booking-path-"))
    os.environ.update(_settings(workdir, args.database_url))
    os.environ["JOBS_IMMEDIATE"] = "0"  # as served: after-commit jobs are queued, not run
    try:
        data = seed(max(3 * args.requests, 300), 14)
        from core.app import create_app

        app = create_app()
        results = {}
        # Winners first (the rink has 150 places, each books one), replays of them, then
        # losers on a sheet a warm-up request took.
        warm = app.test_client()
        warm.post(
            "/api/bookings",
            json={"slot_id": data["hot_sheets"][0], "party": {"adult": 1}},
            headers={"Authorization": f"Bearer {data['tokens'][-1]}"},
        )
        winners = min(args.requests, 140)
        results["winner"] = measure(app, data, "winner", winners, workdir)
        results["replay"] = measure(app, data, "replay", winners, workdir)
        data["tokens"] = data["tokens"][winners:]
        results["loser"] = measure(app, data, "loser", args.requests, workdir)
    finally:
        with contextlib.suppress(Exception):
            shutil.rmtree(workdir, ignore_errors=True)
    print(
        json.dumps(
            {
                "database": "postgresql" if args.database_url else "sqlite",
                "cpu_probe_ms": probe,
                "load_average": os.getloadavg(),
                **results,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
