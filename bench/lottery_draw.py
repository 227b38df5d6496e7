"""Lottery benchmark: the last minute of an application window, then the draw.

Seeds a temporary database (SQLite, or a disposable PostgreSQL one with ``--database-url``)
through the app's services: an ice rink, 40 lottery programmes (25 places each) whose window
closes a few minutes from now, residents with bearer tokens (half of them verified city
residents), and most of the applications (each resident applies to 4 programmes). Starts
gunicorn (``--preload``, 2 workers, one job consumer, as ``make run`` serves) and sends the
rest of the applications (2,000) from 64 clients spread over the window's last minute
(``--seconds 0``: all as fast as the clients can);
checks that every application answered 201 is stored and none is missing. Then draws every
lottery as the job does at the window's close (in this process, timed in wall and CPU time),
and recomputes every published draw from its published seed and applications with a separate
implementation of the documented procedure (hashlib/hmac only) and with ``lotteries.verify``.
Prints one JSON object.

    .venv/bin/python bench/lottery_draw.py [--applications N] [--rush R] [--clients C]
        [--database-url postgresql://.../lottery_bench]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from support import (
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
PROGRAMMES_PER_RESIDENT = 4


def _app():
    from core.app import create_app

    return create_app({"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST_KIB": 1024})


def seed(app, programmes_count: int, applications: int, rush: int) -> dict:
    """Programmes, residents and tokens, and all applications but the ``rush`` ones."""
    from flask_migrate import upgrade
    from sqlalchemy import insert, select

    from core.extensions import db
    from core.models import ApiToken, User, UserRole
    from core.security import Passwords, new_token, token_hash
    from facilities.services import catalog, enrolments, programmes

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            # --database-url names a disposable database: start from an empty schema.
            with db.engine.connect() as connection:
                connection.execute(db.text("DROP SCHEMA IF EXISTS public CASCADE"))
                connection.execute(db.text("CREATE SCHEMA public"))
                connection.commit()
        upgrade()
        now = datetime.now(UTC)
        facility = catalog.create_facility(
            "bench", {"name": "벤치 아이스링크", "kind": "ice_rink"}, now
        )
        rink = catalog.add_resource("bench", facility, {"name": "메인 링크", "capacity": 150}, now)
        residents = -(-applications // PROGRAMMES_PER_RESIDENT)
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
                for i in range(residents + 1)
            ],
        )
        user_ids = list(db.session.scalars(select(User.id).order_by(User.id)))
        manager_id, user_ids = user_ids[0], user_ids[1:]
        db.session.execute(
            insert(UserRole),
            [{"user_id": manager_id, "role": "facility_manager"}]
            + [{"user_id": uid, "role": "resident"} for uid in user_ids],
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
        db.session.commit()
        manager = db.session.get(User, manager_id)
        # The window closes a little after the rush; the draw runs at that moment.
        closes = (now + timedelta(minutes=20)).replace(microsecond=0)
        term = date.today().replace(day=1) + timedelta(days=62)
        programme_ids = []
        for i in range(programmes_count):
            programme = programmes.create_programme(
                manager,
                {
                    "facility_id": facility.id,
                    "resource_id": rink.id,
                    "title": f"스케이트 강습 {i + 1}반",
                    "level": ("beginner", "intermediate", "advanced")[i % 3],
                    "min_age": 7,
                    "max_age": 99,
                    "term_start": term,
                    "term_end": term + timedelta(days=27),
                    "weekdays": [i % 7],
                    "start_time": f"{8 + i % 12:02d}:00",
                    "duration_minutes": 50,
                    "capacity": 25,
                    "min_enrolment": 5,
                    "prices": {"adult": 120000, "child": 80000},
                    "rink_places": 3,
                    "enrolment": "lottery",
                    "window_opens_at": now - timedelta(days=6),
                    "window_closes_at": closes,
                },
                now,
            )
            programme_ids.append(programme.id)
        db.session.commit()
        # (resident, programme) pairs: each resident applies to 4 different programmes.
        pairs = [
            (index, programme_ids[(index * PROGRAMMES_PER_RESIDENT + k) % programmes_count])
            for index in range(residents)
            for k in range(PROGRAMMES_PER_RESIDENT)
        ][:applications]
        early, late = pairs[: applications - rush], pairs[applications - rush :]
        began = time.perf_counter()
        users = {uid: db.session.get(User, uid) for uid in user_ids}
        for count, (index, programme_id) in enumerate(early, start=1):
            enrolments.apply(
                users[user_ids[index]],
                programme_id,
                category="adult",
                birth_year=1980 + index % 30,
                now=now,
            )
            if count % 500 == 0:
                db.session.commit()
        db.session.commit()
        return {
            "tokens": tokens,
            "late": late,
            "closes": closes,
            "programme_ids": programme_ids,
            "early_seconds": round(time.perf_counter() - began, 1),
            "early": len(early),
        }


def _post(base: str, path: str, body: dict, token: str) -> int:
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        connection.request(
            "POST",
            path,
            body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        response = connection.getresponse()
        answer = response.read()
        number = json.loads(answer).get("number") if response.status == 201 else None
        return response.status, number
    finally:
        connection.close()


def last_minute(base: str, data: dict, clients: int, seconds: float) -> dict:
    """The rush's applications from ``clients`` clients released together: spread evenly
    over ``seconds`` (each sent at its moment, however late the ones before are answered), or
    as fast as the clients can when ``seconds`` is 0."""
    calls = [
        (data["tokens"][index], programme_id, 1980 + index % 30)
        for index, programme_id in data["late"]
    ]
    gap = seconds / max(len(calls), 1)
    timed = [(i * gap, *call) for i, call in enumerate(calls)]
    shares = [timed[i::clients] for i in range(clients)]
    barrier = threading.Barrier(clients)
    results: list[tuple[int, int | None, float]] = []
    lock = threading.Lock()

    def client(share):
        mine = []
        barrier.wait()
        start = time.perf_counter()
        for at, token, programme_id, year in share:
            time.sleep(max(0.0, start + at - time.perf_counter()))
            began = time.perf_counter()
            status, number = _post(
                base,
                f"/api/programmes/{programme_id}/applications",
                {"category": "adult", "birth_year": year},
                token,
            )
            mine.append((status, number, (time.perf_counter() - began) * 1000))
        with lock:
            results.extend(mine)

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(client, shares))
    return {"results": results, "seconds": round(time.perf_counter() - began, 2)}


def recompute(published: dict) -> list[int]:
    """The documented procedure (draw-v1), written again with hashlib and hmac only."""
    seed = published["seed"]
    assert hashlib.sha256(seed.encode("ascii")).hexdigest() == published["commitment"]
    key = bytes.fromhex(seed)
    groups = published["priority_groups"]

    def value(app):
        return min(
            int.from_bytes(
                hmac.new(key, f"{app['number']}:{k}".encode(), hashlib.sha256).digest(), "big"
            )
            for k in range(1, app["tickets"] + 1)
        )

    ordered = sorted(
        published["published_applications"],
        key=lambda a: (groups.index(a["group"]), value(a), a["number"]),
    )
    return [a["number"] for a in ordered]


def draw_and_verify(app, data: dict, stored_numbers: set[int]) -> dict:
    from sqlalchemy import func, select

    from core import jobs
    from core.extensions import db
    from facilities.models import Application, Lottery
    from facilities.programme_schemas import LotterySchema
    from facilities.services import lotteries

    with app.app_context():
        # Delivering the draw's notifications is the job consumer's work, as in production:
        # queue it instead of running it inside this process's commit.
        jobs.huey.immediate = False
        stored = db.session.scalar(select(func.count()).select_from(Application))
        missing = sorted(stored_numbers - set(db.session.scalars(select(Application.id))))
        db.session.commit()
        wall, cpu = time.perf_counter(), time.process_time()
        drawn = lotteries.run_due(data["closes"], limit=1000)
        db.session.commit()
        draw_seconds = time.perf_counter() - wall
        draw_cpu = time.process_time() - cpu
        ids = db.session.scalars(select(Lottery.id).order_by(Lottery.id)).all()
        began = time.perf_counter()
        published = [
            json.loads(
                json.dumps(LotterySchema().dump(lotteries.lottery_details(i, data["closes"])))
            )
            for i in ids
        ]
        identical = sum(1 for p in published if recompute(p) == p["order"])
        recompute_seconds = time.perf_counter() - began
        verified = sum(1 for i in ids if lotteries.verify(i)["ok"])
        placed = db.session.scalar(
            select(func.count()).where(Application.status.in_(("held", "enrolled")))
        )
        return {
            "applications_stored": stored,
            "answered_201_but_missing": len(missing),
            "lotteries_drawn": drawn,
            "draw_seconds": round(draw_seconds, 2),
            "draw_cpu_seconds": round(draw_cpu, 2),
            "places_given": placed,
            "published_orders_recomputed_identically": identical,
            "recompute_seconds": round(recompute_seconds, 2),
            "lotteries_verified_by_service": verified,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programmes", type=int, default=40)
    parser.add_argument("--applications", type=int, default=10_000)
    parser.add_argument(
        "--rush", type=int, default=2_000, help="applications sent over HTTP in the last minute"
    )
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument(
        "--seconds",
        type=float,
        default=60,
        help="spread the last-minute applications over this many seconds (0: all at once)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--database-url",
        default=None,
        help="a DISPOSABLE PostgreSQL database instead of a temporary SQLite file "
        "(its public schema is dropped)",
    )
    args = parser.parse_args()
    args.rush = min(args.rush, args.applications)

    probe = cpu_probe_ms()
    workdir = Path(tempfile.mkdtemp(prefix="lottery-draw-"))
    settings = bench_settings(workdir, args.database_url)
    os.environ.update(settings)  # before the app is imported: core.config reads it
    server = consumer = None
    try:
        app = _app()
        began = time.perf_counter()
        data = seed(app, args.programmes, args.applications, args.rush)
        seed_seconds = round(time.perf_counter() - began, 1)
        served_env = {**os.environ, "JOBS_IMMEDIATE": "0"}
        consumer = start_consumer(served_env)
        server = start_gunicorn(
            served_env, workdir, args.workers, extra_args=["--log-level", "warning"]
        )
        workers = children(server.process.pid)
        cpu_before = cpu_seconds(workers)
        rush = last_minute(server.url, data, args.clients, args.seconds)
        rush_cpu = cpu_seconds(workers) - cpu_before
        load_after_rush = os.getloadavg()
        stop_gunicorn(server, wait=45)
        server = None
        stop_consumer(consumer)
        consumer = None
        numbers = {number for status, number, _ in rush["results"] if status == 201}
        outcome = draw_and_verify(app, data, numbers)
    finally:
        if server is not None:
            stop_gunicorn(server, wait=45)
        stop_consumer(consumer)
        shutil.rmtree(workdir, ignore_errors=True)

    latencies = [ms for _, _, ms in rush["results"]]
    codes: dict[str, int] = {}
    for status, _, _ in rush["results"]:
        codes[str(status)] = codes.get(str(status), 0) + 1
    print(
        json.dumps(
            {
                "database": "postgresql" if args.database_url else "sqlite",
                "programmes": args.programmes,
                "applications": args.applications,
                "cpu_probe_ms": probe,
                "seed_seconds": seed_seconds,
                "applications_seeded_in_process": data["early"],
                "last_minute_applications": len(latencies),
                "last_minute_clients": args.clients,
                "last_minute_spread_seconds": args.seconds,
                "gunicorn_workers": args.workers,
                "last_minute_status_counts": codes,
                "last_minute_seconds": rush["seconds"],
                "last_minute_worker_cpu_seconds": round(rush_cpu, 2),
                "application_p50_ms": percentile(latencies, 50),
                "application_p99_ms": percentile(latencies, 99),
                "application_mean_ms": round(statistics.fmean(latencies), 1),
                **outcome,
                "load_average_after_rush": [round(x, 2) for x in load_after_rush],
                "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
