"""Booking rush benchmark: many residents race for the same sessions the moment they open.

Seeds a temporary SQLite database directly through the app: an ice rink (150 places) and a
curling centre with 6 sheets, N residents (default 1,000) with bearer tokens, a year of past
bookings, and slots for the coming weeks. Starts gunicorn (``--preload``, 2 workers, as
``make run`` does) on a free loopback port, with one job consumer. Then C concurrent clients
(default 64), released together by a barrier, book the hot sessions (the rink's and the six
sheets' evening session 13 days ahead) - every resident tries once - while other clients keep
reading availability. Afterwards it measures availability alone for a 14-day window, checks
the database for overbooking, and prints one JSON object. The app is served through
``bench/apps/counted_wsgi.py``, which counts the SQL statements and transactions its workers
send.

With ``--database-url`` (a disposable PostgreSQL database) the same invocation then runs two
reference endpoints through the same gunicorn settings, clients, residents and barrier, each on
the hot sessions put back as they were: the bare endpoint (``bench/apps/bare_booking.py``: one
conditional UPDATE and one INSERT per booking, psycopg and no framework) and the stack's floor
(``bench/apps/floor_booking.py``: the same work, the caller's token looked up in the database,
as a Flask view on a Flask-SQLAlchemy session).
It prints the three runs' throughput, latencies, database work and overbooking checks, and the
ratios of the app's throughput to both and of the floor's to the bare endpoint's. A rush lasts
about a second, so ``--rounds`` (default 3) runs the three in turn that many times, the app's
later rushes without readers, and prints each round and the median of each ratio. The
reference runs have no readers (they serve no availability): compare with ``--readers 0`` for
like with like. The load average is printed at the start and the end: the machine is shared.

    .venv/bin/python bench/booking_rush.py [--residents N] [--clients C] [--workers W]
        [--readers R] [--quick] [--database-url postgresql://... [--rounds N]]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from support import (
    Server,
    bench_settings,
    children,
    cpu_probe_ms,
    cpu_seconds,
    percentile,
    start_consumer,
    start_gunicorn,
    stop_consumer,
    stop_gunicorn,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
SEED = 20261125
PAYMENT_SECRET = "bench-payment-secret"


def _request(base: str, method: str, path: str, body=None, headers=None) -> tuple[int, bytes]:
    """One HTTP request on a fresh connection (gunicorn's sync workers close it anyway).

    The standard library keeps the clients' own CPU use low, so the figures are the server's.
    """
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        sent = dict(headers or {})
        if payload is not None:
            sent["Content-Type"] = "application/json"
        connection.request(method, path, body=payload, headers=sent)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _settings(workdir: Path, database_url: str | None) -> dict[str, str]:
    return bench_settings(workdir, database_url, PAYMENT_CALLBACK_SECRET=PAYMENT_SECRET)


def seed(residents: int, past_days: int) -> dict:
    """Everything through the app and its services, in this process, before the server."""
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from core.app import create_app
    from core.extensions import db
    from core.models import ApiToken, User, UserRole
    from core.security import Passwords, new_token, token_hash
    from facilities.models import Booking, Slot
    from facilities.services import catalog, slots
    from facilities.services.catalog import parse_time
    from facilities.services.local_time import local_date, local_to_utc

    rng = random.Random(SEED)
    app = create_app({"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST_KIB": 1024})
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            # --database-url names a disposable database: start from an empty schema.
            with db.engine.connect() as connection:
                connection.execute(db.text("DROP SCHEMA IF EXISTS public CASCADE"))
                connection.execute(db.text("CREATE SCHEMA public"))
                connection.commit()
        upgrade()
        now = datetime.now(UTC)
        rink_facility = catalog.create_facility(
            "bench", {"name": "벤치 아이스링크", "kind": "ice_rink"}, now
        )
        rink = catalog.add_resource(
            "bench", rink_facility, {"name": "메인 링크", "capacity": 150}, now
        )
        catalog.create_template(
            "bench",
            rink,
            {
                "name": "자유 스케이팅",
                "weekdays": list(range(7)),
                "start_times": ["10:00", "12:00", "14:00", "16:00", "18:00", "20:00"],
                "duration_minutes": 90,
                "buffer_after_minutes": 30,
                "base_price": 5000,
            },
            now,
        )
        curling = catalog.create_facility(
            "bench",
            {"name": "벤치 컬링센터", "kind": "curling_centre", "rules": {"max_party": 8}},
            now,
        )
        sheets = []
        for letter in "ABCDEF":
            sheet = catalog.add_resource("bench", curling, {"name": f"{letter}시트"}, now)
            sheets.append(sheet)
            catalog.create_template(
                "bench",
                sheet,
                {
                    "name": f"{letter}시트",
                    "weekdays": list(range(7)),
                    "start_times": ["10:00", "13:00", "16:00", "19:00"],
                    "duration_minutes": 120,
                    "buffer_after_minutes": 30,
                    "base_price": 40000,
                },
                now,
            )
        db.session.commit()
        slots.generate(20, now)
        db.session.commit()

        # Residents and their tokens, in bulk (the login endpoint is rate limited per address).
        password_hash = Passwords(1, 1024, 1).hash("bench password 1234")
        db.session.execute(
            insert(User),
            [
                {
                    "email": f"resident{i}@bench.happyhub.kr",
                    "password_hash": password_hash,
                    "name": f"주민{i}",
                    "is_active": True,
                    "created_at": now,
                    "resident_verified_at": now if i % 2 else None,
                }
                for i in range(residents)
            ],
        )
        user_ids = list(db.session.scalars(db.select(User.id).order_by(User.id)))
        db.session.execute(
            insert(UserRole), [{"user_id": uid, "role": "resident"} for uid in user_ids]
        )
        tokens = [new_token() for _ in user_ids]
        db.session.execute(
            insert(ApiToken),
            [
                {
                    "user_id": uid,
                    "token_hash": token_hash(raw),
                    "created_at": now,
                    "expires_at": now + timedelta(hours=6),
                }
                for uid, raw in zip(user_ids, tokens, strict=True)
            ],
        )

        # A year of past sessions and bookings.
        tz = "Asia/Seoul"
        today = local_date(now, tz)
        past_slots, past_bookings = [], []
        plan = [(rink, 150, 5000, 90, ["10:00", "12:00", "14:00", "16:00", "18:00", "20:00"])]
        plan += [(s, 1, 40000, 120, ["10:00", "13:00", "16:00", "19:00"]) for s in sheets]
        for back in range(past_days, 0, -1):
            day = today - timedelta(days=back)
            for resource, capacity, price, minutes, starts in plan:
                for hhmm in starts:
                    begins = local_to_utc(day, parse_time(hhmm), tz)
                    past_slots.append(
                        {
                            "facility_id": resource.facility_id,
                            "resource_id": resource.id,
                            "starts_at": begins,
                            "ends_at": begins + timedelta(minutes=minutes),
                            "local_date": day,
                            "capacity": capacity,
                            "booked": 0,
                            "base_price": price,
                            "status": "open",
                        }
                    )
        db.session.execute(insert(Slot), past_slots)
        stored = db.session.execute(
            db.select(
                Slot.id,
                Slot.resource_id,
                Slot.facility_id,
                Slot.starts_at,
                Slot.ends_at,
                Slot.local_date,
                Slot.capacity,
                Slot.base_price,
            ).where(Slot.starts_at < now)
        ).all()
        booked_by_slot = {}
        for row in stored:
            exclusive = row.capacity == 1
            if exclusive:
                groups = [1] if rng.random() < 0.7 else []
            else:
                groups = [rng.randint(1, 3) for _ in range(rng.randint(10, 50))]
            people = rng.sample(user_ids, len(groups))
            taken = 0
            for uid, size in zip(people, groups, strict=True):
                status = rng.choices(["checked_in", "no_show", "cancelled"], [85, 5, 10])[0]
                units = 1 if exclusive else size
                if status == "checked_in":
                    taken += units
                past_bookings.append(
                    {
                        "slot_id": row.id,
                        "user_id": uid,
                        "facility_id": row.facility_id,
                        "starts_at": row.starts_at,
                        "ends_at": row.ends_at,
                        "local_date": row.local_date,
                        "is_exclusive": exclusive,
                        "party": {"adult": size},
                        "party_size": size,
                        "units": units,
                        "status": status,
                        "price": row.base_price * (1 if exclusive else size),
                        "price_lines": [],
                        "refund_amount": None,
                        "is_offer": False,
                        "created_at": row.starts_at - timedelta(days=3),
                        "confirmed_at": row.starts_at - timedelta(days=3),
                    }
                )
            booked_by_slot[row.id] = taken
        for start in range(0, len(past_bookings), 5000):
            db.session.execute(insert(Booking), past_bookings[start : start + 5000])
        db.session.execute(
            db.update(Slot),
            [{"id": sid, "booked": n} for sid, n in booked_by_slot.items() if n],
        )
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            # A live server's tables have statistics (autovacuum gathers them soon after bulk
            # changes); without them the planner guesses on the year of bookings just loaded.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(db.text("ANALYZE"))

        # The hot sessions: the evening session 13 days ahead, already open for booking.
        target_day = today + timedelta(days=13)
        hot_rink = db.session.scalar(
            db.select(Slot).where(
                Slot.resource_id == rink.id,
                Slot.starts_at == local_to_utc(target_day, parse_time("18:00"), tz),
            )
        )
        hot_sheets = db.session.scalars(
            db.select(Slot).where(
                Slot.resource_id.in_([s.id for s in sheets]),
                Slot.starts_at == local_to_utc(target_day, parse_time("19:00"), tz),
            )
        ).all()
        return {
            "tokens": tokens,
            "rink_facility": rink_facility.id,
            "curling_facility": curling.id,
            "hot_rink": hot_rink.id,
            "hot_sheets": [s.id for s in hot_sheets],
            # Sessions a day earlier that warm the workers up: the rink at 10:00, a sheet at 13:00.
            "warm_slots": [
                db.session.scalar(
                    db.select(Slot.id).where(
                        Slot.resource_id == resource.id,
                        Slot.starts_at
                        == local_to_utc(target_day - timedelta(days=1), parse_time(hhmm), tz),
                    )
                )
                for resource, hhmm in ((rink, "10:00"), (sheets[0], "13:00"))
            ],
            "past_bookings": len(past_bookings),
            "past_slots": len(past_slots),
            "window": (today.isoformat(), (today + timedelta(days=13)).isoformat()),
        }


def stop_server(server: Server) -> None:
    stop_gunicorn(server, wait=45)


def rush(base: str, data: dict, clients: int, readers: int, round_number: int = 1) -> dict:
    rng = random.Random(SEED + 1)
    tokens = data["tokens"]
    # Every resident tries once: most want the rink (1-4 people), some a curling sheet.
    attempts = []
    for raw in tokens:
        if rng.random() < 0.8:
            body = {"slot_id": data["hot_rink"], "party": {"adult": rng.randint(1, 4)}}
        else:
            body = {"slot_id": rng.choice(data["hot_sheets"]), "party": {"adult": 4}}
        attempts.append((raw, body))
    shares = [attempts[i::clients] for i in range(clients)]
    barrier = threading.Barrier(clients + readers)
    stop_reading = threading.Event()
    results: list[tuple[int, float]] = []
    first_wave: list[float] = []
    reads: list[tuple[int, float]] = []
    lock = threading.Lock()
    first, last = data["window"]
    # Each round's requests are new ones (a key of an earlier round would be replayed).
    key_prefix = "rush-" if round_number == 1 else f"rush{round_number}-"

    def client(share):
        mine = []
        barrier.wait()
        for raw, body in share:
            began = time.perf_counter()
            status, _ = _request(
                base,
                "POST",
                "/api/bookings",
                body,
                {"Authorization": f"Bearer {raw}", "Idempotency-Key": key_prefix + raw[:12]},
            )
            mine.append((status, (time.perf_counter() - began) * 1000))
        with lock:
            results.extend(mine)
            if mine:
                first_wave.append(mine[0][1])

    def reader(index):
        facility = data["rink_facility"] if index % 2 else data["curling_facility"]
        path = f"/api/facilities/{facility}/availability?from={first}&to={last}"
        mine = []
        barrier.wait()
        while not stop_reading.is_set():
            began = time.perf_counter()
            status, _ = _request(base, "GET", path)
            mine.append((status, (time.perf_counter() - began) * 1000))
        with lock:
            reads.extend(mine)

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients + readers) as pool:
        read_jobs = [pool.submit(reader, i) for i in range(readers)]
        book_jobs = [pool.submit(client, share) for share in shares]
        for job in book_jobs:
            job.result()
        stop_reading.set()
        for job in read_jobs:
            job.result()
    elapsed = time.perf_counter() - began
    return {
        "bookings": results,
        "reads": reads,
        "first_wave": first_wave,
        "seconds": round(elapsed, 2),
    }


def warm_up(base: str, data: dict, workers: int) -> list[float]:
    """Serve the rush's kinds of request first, as a live server has before the opening minute.

    Bookings that win (a rink session) and that lose (a sheet already taken), with
    Idempotency-Keys, and availability reads; sent by two clients per worker at once, so every
    worker gets some (one client alone may be served by the same worker every time, and a
    worker's very first booking costs tens of ms). Returns the winning bookings' latencies."""
    first, last = data["window"]
    rink_slot, sheet_slot = data["warm_slots"]
    tokens = data["tokens"][-(workers * 8) :]
    latencies: list[float] = []

    def client(share):
        for raw in share:
            for slot_id in (rink_slot, sheet_slot):
                body = {"slot_id": slot_id, "party": {"adult": 1}}
                key = f"warm-{slot_id}-{raw[:12]}"
                headers = {"Authorization": f"Bearer {raw}", "Idempotency-Key": key}
                began = time.perf_counter()
                _request(base, "POST", "/api/bookings", body, headers)
                if slot_id == rink_slot:
                    latencies.append((time.perf_counter() - began) * 1000)
            for facility in (data["rink_facility"], data["curling_facility"]):
                path = f"/api/facilities/{facility}/availability?from={first}&to={last}"
                _request(base, "GET", path)

    clients = workers * 2
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(client, [tokens[i::clients] for i in range(clients)]))
    return latencies


def availability_alone(base: str, data: dict, threads: int, rounds: int) -> list[tuple]:
    first, last = data["window"]
    out: list[tuple[int, float]] = []
    lock = threading.Lock()

    def run(index):
        facility = data["rink_facility"] if index % 2 else data["curling_facility"]
        path = f"/api/facilities/{facility}/availability?from={first}&to={last}"
        mine = []
        for _ in range(rounds):
            began = time.perf_counter()
            status, raw = _request(base, "GET", path)
            elapsed = (time.perf_counter() - began) * 1000
            mine.append((status, elapsed, facility, len(json.loads(raw))))
        with lock:
            out.extend(mine)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(run, range(threads)))
    return out


def wait_for_delivery(timeout: float) -> dict:
    """Wait until the consumer has sent every notification (the rush's bookings notified)."""
    from sqlalchemy import func, select

    from core.app import create_app
    from core.extensions import db
    from core.models import Notification

    app = create_app()
    began = time.perf_counter()
    with app.app_context():
        while True:
            counts = dict(
                db.session.execute(
                    select(Notification.status, func.count()).group_by(Notification.status)
                ).all()
            )
            db.session.rollback()
            if not counts.get("pending") or time.perf_counter() - began > timeout:
                break
            time.sleep(0.1)
    return {
        "notifications_sent": counts.get("sent", 0),
        "notifications_unsent": sum(n for status, n in counts.items() if status != "sent"),
        "notifications_all_sent_after_s": round(time.perf_counter() - began, 1),
    }


def check_database(data: dict) -> dict:
    from sqlalchemy import func, select

    from core.app import create_app
    from core.extensions import db
    from facilities.models import ACTIVE_STATUSES, Booking, Slot

    app = create_app()
    with app.app_context():
        hot = [data["hot_rink"], *data["hot_sheets"]]
        rows = []
        for slot_id in hot:
            slot = db.session.get(Slot, slot_id)
            units = db.session.scalar(
                select(func.coalesce(func.sum(Booking.units), 0)).where(
                    Booking.slot_id == slot_id, Booking.status.in_(ACTIVE_STATUSES)
                )
            )
            count = db.session.scalar(
                select(func.count(Booking.id)).where(
                    Booking.slot_id == slot_id, Booking.status.in_(ACTIVE_STATUSES)
                )
            )
            rows.append((slot.capacity, slot.booked, units, count))
        db.session.rollback()
    rink_capacity, rink_booked, rink_units, rink_bookings = rows[0]
    return {
        "rink_capacity": rink_capacity,
        "rink_places_booked": rink_units,
        "rink_bookings": rink_bookings,
        "sheet_capacity": sum(r[0] for r in rows[1:]),
        "sheet_bookings": sum(r[3] for r in rows[1:]),
        "overbooked_slots": sum(1 for cap, _, units, _ in rows if units > cap),
        "counter_matches_bookings": all(booked == units for _, booked, units, _ in rows),
    }


def _counts(base: str, method: str = "GET") -> dict:
    """The served app's database counters (bench/apps/counted_wsgi.py and the references)."""
    status, raw = _request(base, method, "/bench/counts")
    assert status == 200, status
    return json.loads(raw)


def database_backends(database_url: str | None) -> list[int]:
    """The PostgreSQL server processes serving this database's connections (the workers'
    pools, opened by the warm-up), whose CPU time counts for the rush too."""
    if not database_url:
        return []
    import psycopg

    with psycopg.connect(database_url) as connection:
        return [
            pid
            for (pid,) in connection.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ]


def reset_hot_slots(data: dict) -> None:
    """Put the hot sessions back as they were before the rush (no bookings, no places
    taken), so each reference endpoint's run races for the same places."""
    from sqlalchemy import delete, update

    from core.app import create_app
    from core.extensions import db
    from facilities.models import Booking, Slot

    hot = [data["hot_rink"], *data["hot_sheets"]]
    with create_app().app_context():
        db.session.execute(delete(Booking).where(Booking.slot_id.in_(hot)))
        db.session.execute(update(Slot).where(Slot.id.in_(hot)).values(booked=0))
        db.session.commit()


COUNTED_APP = "bench.apps.counted_wsgi:app"
FLOOR_APP = "bench.apps.floor_booking:app"
BARE_APP = "bench.apps.bare_booking:app"


def _round_figures(app: dict, floor: dict, bare: dict) -> dict:
    """One round's three rushes, side by side: throughput, p99, workers' CPU and ratios."""
    runs = {"app": app, "floor": floor, "bare": bare}
    per_second = {name: run["bookings_per_second"] for name, run in runs.items()}
    return {
        **{f"{name}_bookings_per_second": n for name, n in per_second.items()},
        **{f"{name}_p99_ms": run["booking_p99_ms"] for name, run in runs.items()},
        **{
            f"{name}_worker_cpu_ms_per_request": round(
                run["rush_cpu_seconds"]["workers"] * 1000 / run["booking_requests"], 2
            )
            for name, run in runs.items()
        },
        "overbooked_slots": sum(run["overbooked_slots"] for run in runs.values()),
        "app_to_bare": round(per_second["app"] / per_second["bare"], 3),
        "floor_to_bare": round(per_second["floor"] / per_second["bare"], 3),
        "app_to_floor": round(per_second["app"] / per_second["floor"], 3),
    }


def figures(outcome: dict, counts: dict) -> dict:
    """What both runs report alike: throughput, latencies, and database work per booking."""
    booking_ms = [ms for _, ms in outcome["bookings"]]
    codes: dict[str, int] = {}
    for code, _ in outcome["bookings"]:
        codes[str(code)] = codes.get(str(code), 0) + 1
    requests = len(booking_ms)
    return {
        "booking_requests": requests,
        "booking_status_counts": codes,
        "rush_seconds": outcome["seconds"],
        "bookings_per_second": round(requests / outcome["seconds"], 1),
        "booking_p50_ms": percentile(booking_ms, 50),
        "booking_p95_ms": percentile(booking_ms, 95),
        "booking_p99_ms": percentile(booking_ms, 99),
        # Every request of the rush, readers' included, counted in the server's workers.
        "sql_statements_per_booking": round(counts["statements"] / requests, 2),
        "transactions_begun_per_booking": round(counts["begins"] / requests, 2),
        "pings_per_booking": round(counts["pings"] / requests, 2),
    }


def reference_run(
    env: dict, workdir: Path, data: dict, args, app: str, round_number: int = 1
) -> dict:
    """The same rush (clients, residents, barrier, gunicorn settings) against a reference
    endpoint (bench/apps/bare_booking.py, floor_booking.py), or the app again in a later
    round, on the same PostgreSQL database, after the hot slots are reset. No readers: the
    references have no availability to read."""
    reset_hot_slots(data)
    reference_env = {**env, "BARE_DATABASE_URL": args.database_url}
    server = start_gunicorn(
        reference_env,
        workdir,
        args.workers,
        extra_args=["--log-level", "warning"],
        app=app,
    )
    try:
        warm_up(server.url, data, args.workers)
        watched = {
            "workers": children(server.process.pid),
            "postgres_backends": database_backends(args.database_url),
        }
        before = {name: cpu_seconds(pids) for name, pids in watched.items()}
        _counts(server.url, "POST")
        outcome = rush(server.url, data, args.clients, readers=0, round_number=round_number)
        counts = _counts(server.url)
        rush_cpu = {name: cpu_seconds(pids) - before[name] for name, pids in watched.items()}
    finally:
        stop_server(server)
    return {
        **figures(outcome, counts),
        **check_database(data),
        "rush_cpu_seconds": {k: round(v, 2) for k, v in rush_cpu.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument(
        "--readers", type=int, default=2, help="clients reading availability during the rush"
    )
    parser.add_argument("--past-days", type=int, default=365)
    # As `make run` serves it: one sync worker per core (4 workers burnt ~40% more CPU on the
    # same rush, switching between processes).
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="200 residents, 30 past days")
    parser.add_argument(
        "--database-url",
        default=None,
        help="a DISPOSABLE PostgreSQL database to use instead of a temporary SQLite file "
        "(its public schema is dropped); the reference endpoints are run on it too",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="with --database-url: rushes of the app, the floor and the bare endpoint in turn",
    )
    args = parser.parse_args()
    if args.quick:
        args.residents, args.past_days, args.clients = 200, 30, 32
    args.residents = max(args.residents, args.clients)

    probe = cpu_probe_ms()
    load_at_start = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="booking-rush-"))
    settings = _settings(workdir, args.database_url)
    os.environ.update(settings)  # before the app is imported: core.config reads it
    env = {k: v for k, v in os.environ.items()}
    server = consumer = None
    bare = floor = None
    rounds: list[dict] = []
    try:
        began = time.perf_counter()
        data = seed(args.residents, args.past_days)
        seed_seconds = round(time.perf_counter() - began, 1)
        # Served as in production: web workers enqueue notifications on the SQLite job queue
        # and one consumer delivers them (seeding above ran the jobs in-process).
        served_env = {**env, "JOBS_IMMEDIATE": "0"}
        consumer = start_consumer(served_env)
        # The app as wsgi.py serves it, with its database work counted (bench/apps/counted_wsgi.py).
        server = start_gunicorn(
            served_env,
            workdir,
            args.workers,
            extra_args=["--log-level", "warning"],
            app=COUNTED_APP,
        )
        warm = warm_up(server.url, data, args.workers)
        workers = children(server.process.pid)
        watched = {
            "workers": workers,
            "consumer": [consumer.pid],
            "postgres_backends": database_backends(args.database_url),
        }
        before = {name: cpu_seconds(pids) for name, pids in watched.items()}
        before["bench_clients"] = time.process_time()
        _counts(server.url, "POST")
        outcome = rush(server.url, data, args.clients, args.readers)
        counts = _counts(server.url)
        rush_cpu = {name: cpu_seconds(pids) - before[name] for name, pids in watched.items()}
        rush_cpu["bench_clients"] = time.process_time() - before["bench_clients"]
        alone = availability_alone(server.url, data, threads=4, rounds=50)
        delivery = wait_for_delivery(timeout=30)
        stop_server(server)
        server = None
        checked = check_database(data)
        if args.database_url:
            floor = reference_run(served_env, workdir, data, args, FLOOR_APP)
            bare = reference_run(served_env, workdir, data, args, BARE_APP)
            first_app = {**figures(outcome, counts), **checked, "rush_cpu_seconds": rush_cpu}
            rounds = [_round_figures(first_app, floor, bare)]
            for number in range(2, args.rounds + 1):
                runs = [
                    reference_run(served_env, workdir, data, args, name, number)
                    for name in (COUNTED_APP, FLOOR_APP, BARE_APP)
                ]
                rounds.append(_round_figures(*runs))
    finally:
        if server is not None:
            stop_server(server)
        stop_consumer(consumer)
        shutil.rmtree(workdir, ignore_errors=True)

    booking_ms = [ms for _, ms in outcome["bookings"]]
    all_codes = [c for c, _ in outcome["bookings"]] + [c for c, _ in outcome["reads"]]
    all_codes += [row[0] for row in alone]
    slots_per_window = sorted({(row[2], row[3]) for row in alone})
    app_figures = figures(outcome, counts)
    comparison = {}
    if bare is not None:
        per_second = app_figures["bookings_per_second"]
        comparison = {
            "bare_endpoint": bare,
            "floor_endpoint": floor,
            # The app's booking throughput as a share of the bare endpoint's, in one run.
            "throughput_ratio_app_to_bare": round(per_second / bare["bookings_per_second"], 3),
            # What Flask and SQLAlchemy alone leave of the bare endpoint's throughput, and
            # how much of that the app keeps.
            "throughput_ratio_floor_to_bare": round(
                floor["bookings_per_second"] / bare["bookings_per_second"], 3
            ),
            "throughput_ratio_app_to_floor": round(per_second / floor["bookings_per_second"], 3),
            # Every round (the first is the one above), and the median of each ratio: one
            # rush lasts about a second, so a single one is at the mercy of the machine.
            "rounds": rounds,
            **{
                f"{name}_median": statistics.median(r[name] for r in rounds)
                for name in ("app_to_bare", "floor_to_bare", "app_to_floor")
            },
        }
    print(
        json.dumps(
            {
                "database": "postgresql" if args.database_url else "sqlite",
                "job_queue": "huey on SQLite, one consumer",
                "residents": args.residents,
                "clients": args.clients,
                "readers": args.readers,
                "gunicorn_workers": args.workers,
                "cpu_probe_ms": probe,
                "load_average_at_start": [round(x, 2) for x in load_at_start],
                "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
                "past_slots": data["past_slots"],
                "past_bookings": data["past_bookings"],
                "seed_seconds": seed_seconds,
                **app_figures,
                **checked,
                **delivery,
                "http_5xx": sum(1 for c in all_codes if c >= 500),
                # CPU seconds each party used during the rush (2 cores: at most 2 per second).
                "rush_cpu_seconds": {k: round(v, 2) for k, v in rush_cpu.items()},
                # Winning bookings while warming up (two clients per worker, no rush).
                "warm_booking_p50_ms": percentile(warm[len(warm) // 2 :], 50),
                "booking_mean_ms": round(statistics.fmean(booking_ms), 1),
                # Each client's first request: the 64 that hit the server at the opening instant.
                "opening_wave_p50_ms": percentile(outcome["first_wave"], 50),
                "opening_wave_p99_ms": percentile(outcome["first_wave"], 99),
                "availability_p95_ms_during_rush": percentile(
                    [ms for _, ms in outcome["reads"]], 95
                ),
                "availability_requests_during_rush": len(outcome["reads"]),
                "availability_p95_ms": percentile([row[1] for row in alone], 95),
                "availability_p50_ms": percentile([row[1] for row in alone], 50),
                "availability_window_days": 14,
                "availability_slots_returned": {str(f): n for f, n in slots_per_window},
                **comparison,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
