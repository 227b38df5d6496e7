"""Kiosk fleet benchmark: many smart-library kiosks talking to the server at once.

Seeds a temporary SQLite database directly through the app: K kiosks (default 50), each with
its own device key, 40 copies in its slots and 4 patrons of its own (card + PIN). Starts
gunicorn (``--preload``, 4 workers) on a free loopback port. Then every kiosk runs in its own
thread for the given duration: a heartbeat every ``--heartbeat-every`` seconds and, between
them, a checkout/return mix (a patron borrows a copy from the slots, later returns it) with a
short think time; a few requests are re-sent with the same transaction_id, as a kiosk does
after a timeout. Afterwards the database is checked for copies lent twice. Prints one JSON
object.

Each checkout verifies a PIN with Argon2id under the configured PIN profile
(``LIBRARY_PIN_ARGON2_*``, lighter than the account-password profile; see core/config.py).

    .venv/bin/python bench/kiosk_fleet.py [--kiosks 50] [--duration 20] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import support

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
PIN = "4821"
COPIES_PER_KIOSK = 40
PATRONS_PER_KIOSK = 4
SLOTS = 60


def seed(kiosk_count: int) -> list[dict]:
    return support.seed_kiosk_fleet(
        support.FleetPlan(
            kiosks=kiosk_count,
            titles=80,
            slots=SLOTS,
            copies=COPIES_PER_KIOSK,
            patrons=PATRONS_PER_KIOSK,
            pin=PIN,
            kiosk_code="B-{k:03d}",
            kiosk_name="벤치 키오스크 {k}",
            barcode="B{k:03d}-{c:03d}",
            card="BENCH-{k:03d}-{p}",
            patron_name="벤치",
        )
    )


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = {"heartbeat": [], "checkout": [], "return": []}
        self.statuses: dict[int, int] = {}
        self.transactions = 0
        self.retries = 0
        self.retry_mismatches = 0
        self.errors: list[str] = []

    def add(self, kind: str, ms: float, status: int) -> None:
        with self.lock:
            self.latencies[kind].append(ms)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if kind != "heartbeat" and status < 300:
                self.transactions += 1


def run_kiosk(base: str, kiosk: dict, deadline: float, stats: Stats, args, rng: random.Random):
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Kiosk {kiosk['key']}"
    in_slots = list(kiosk["barcodes"])
    lent: list[tuple[str, str]] = []  # (barcode, card)
    loans_per_card = dict.fromkeys(kiosk["cards"], 0)
    # Kiosks are not synchronised: each starts at its own moment within one think time.
    time.sleep(rng.uniform(0, args.think_ms / 1000))
    next_heartbeat = time.monotonic() + rng.uniform(0, args.heartbeat_every)

    def send(kind, path, body):
        started = time.perf_counter()
        try:
            response = session.post(base + path, json=body, timeout=60)
        except requests.RequestException as error:
            with stats.lock:
                stats.errors.append(f"{kind}: {type(error).__name__}")
            return None
        stats.add(kind, (time.perf_counter() - started) * 1000, response.status_code)
        return response

    while time.monotonic() < deadline:
        if time.monotonic() >= next_heartbeat:
            send("heartbeat", "/api/kiosk/heartbeat", {"faults": []})
            next_heartbeat = time.monotonic() + args.heartbeat_every
        can_lend = [c for c, n in loans_per_card.items() if n < 5]
        if lent and (not can_lend or not in_slots or rng.random() < 0.5):
            barcode, card = lent.pop(rng.randrange(len(lent)))
            kind, path = "return", "/api/kiosk/returns"
            body = {"barcode": barcode}
        else:
            card = rng.choice(can_lend)
            barcode = in_slots.pop(rng.randrange(len(in_slots)))
            kind, path = "checkout", "/api/kiosk/checkouts"
            body = {"card_number": card, "pin": PIN, "barcode": barcode}
        body |= {"transaction_id": str(uuid.uuid4()), "occurred_at": datetime.now(UTC).isoformat()}
        response = send(kind, path, body)
        if response is not None and rng.random() < args.retry_share:
            again = send(kind, path, body)  # the kiosk timed out and re-sends the same id
            with stats.lock:
                stats.retries += 1
                if again is None or again.text != response.text:
                    stats.retry_mismatches += 1
        ok = response is not None and response.status_code < 300
        if kind == "checkout":
            if ok:
                lent.append((barcode, card))
                loans_per_card[card] += 1
            else:
                in_slots.append(barcode)
        else:
            if ok:
                in_slots.append(barcode)
                loans_per_card[card] -= 1
            else:
                lent.append((barcode, card))
        time.sleep(rng.uniform(0.5, 1.5) * args.think_ms / 1000)


def check_database() -> dict:
    from sqlalchemy import func, select

    from core.app import create_app
    from core.extensions import db
    from library.models import Loan

    app = create_app()
    with app.app_context():
        open_per_copy = (
            select(Loan.copy_id, func.count().label("n"))
            .where(Loan.returned_at.is_(None))
            .group_by(Loan.copy_id)
            .subquery()
        )
        duplicates = db.session.scalar(
            select(func.count()).select_from(open_per_copy).where(open_per_copy.c.n > 1)
        )
        # Overlapping loans of one copy (an open one, or closed ones crossing in time).
        overlapping = db.session.scalar(
            select(func.count())
            .select_from(Loan)
            .join(
                other := Loan.__table__.alias("other"),
                (other.c.copy_id == Loan.copy_id)
                & (other.c.id > Loan.id)
                & (other.c.out_at < func.coalesce(Loan.returned_at, "9999-12-31"))
                & (Loan.out_at < func.coalesce(other.c.returned_at, "9999-12-31")),
            )
        )
        loans = db.session.scalar(select(func.count()).select_from(Loan))
    return {"duplicate_loans": duplicates + overlapping, "loans_in_database": loans}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kiosks", type=int, default=50)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--think-ms", type=float, default=2000.0, help="mean pause per kiosk")
    parser.add_argument("--heartbeat-every", type=float, default=5.0, help="seconds")
    parser.add_argument("--retry-share", type=float, default=0.05)
    parser.add_argument("--quick", action="store_true", help="8 seconds of load")
    args = parser.parse_args()
    if args.quick:
        args.duration = 8.0

    probe = support.cpu_probe_ms()
    workdir = Path(tempfile.mkdtemp(prefix="kiosk-fleet-"))
    settings = support.bench_settings(workdir)
    os.environ.update(settings)
    server = consumer = None
    try:
        fleet = seed(args.kiosks)
        served = {**settings, "JOBS_IMMEDIATE": "0"}
        consumer = support.start_consumer(served)
        server = support.start_gunicorn(served, workdir, args.workers, timeout=60)
        base = server.url

        stats = Stats()
        started = time.monotonic()
        deadline = started + args.duration
        threads = [
            threading.Thread(
                target=run_kiosk, args=(base, kiosk, deadline, stats, args, random.Random(i))
            )
            for i, kiosk in enumerate(fleet)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        everything = [ms for values in stats.latencies.values() for ms in values]
        result = {
            "kiosks": args.kiosks,
            "gunicorn_workers": args.workers,
            "cpu_probe_ms": probe,
            "database": "sqlite",
            "job_queue": "huey on SQLite, one consumer",
            "pin_hash": "Argon2id, the configured PIN profile",
            "duration_s": round(elapsed, 1),
            "think_ms": args.think_ms,
            "requests": len(everything),
            "transactions": stats.transactions,
            "transactions_per_s": round(stats.transactions / elapsed, 1),
            "requests_per_s": round(len(everything) / elapsed, 1),
            "p50_ms": support.percentile(everything, 50),
            "p99_ms": support.percentile(everything, 99),
            "by_kind": {
                kind: {
                    "count": len(v),
                    "p50_ms": support.percentile(v, 50),
                    "p99_ms": support.percentile(v, 99),
                }
                for kind, v in stats.latencies.items()
            },
            "status_counts": {str(k): v for k, v in sorted(stats.statuses.items())},
            "http_5xx": sum(v for k, v in stats.statuses.items() if k >= 500),
            "client_errors": len(stats.errors),
            "retries": stats.retries,
            "retries_with_other_answer": stats.retry_mismatches,
        }
        # Not waiting long on a worker stuck at exit: it is killed by id after 5 s.
        support.stop_gunicorn(server, wait=5)
        server = None
        result |= check_database()
        print(json.dumps(result, ensure_ascii=False))
    finally:
        if server is not None:
            support.stop_gunicorn(server, wait=5)
        support.stop_consumer(consumer)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
