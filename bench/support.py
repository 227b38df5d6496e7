"""Shared by the benchmark scripts: free ports, percentiles, and a gunicorn they start and stop."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` from 0 to 100), rounded to 0.1; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return round(ordered[index], 1)


def cpu_probe_ms() -> float:
    """Time of a fixed pure-Python workload, best of five, in ms.

    This machine's speed drifts by a third or more over an hour (shared host); printing this
    beside the figures tells runs on a slow moment from regressions."""
    best = float("inf")
    for _ in range(5):
        began = time.perf_counter()
        total = 0
        for i in range(300_000):
            total += i * i % 7
        best = min(best, time.perf_counter() - began)
    return round(best * 1000, 1)


def _stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (which may hold spaces): state,
    parent id, ... (utime and stime at 11 and 12); None once the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def cpu_seconds(pids: Sequence[int]) -> float:
    """User plus system CPU time used so far by these processes, in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for fields in filter(None, map(_stat, pids)):
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``, from /proc/*/stat (the kernel's per-thread
    ``children`` lists can miss some, as its documentation warns)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(entry.name)) and int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: object


def start_gunicorn(
    env: dict[str, str],
    workdir: Path,
    workers: int,
    timeout: float = 120,
    extra_args: Sequence[str] = (),
    app: str = "wsgi:app",
) -> Server:
    """gunicorn (``--preload``) on a free loopback port with ``env``; waits for /api/health.

    ``extra_args`` are further gunicorn options (e.g. ``["--log-level", "warning"]``); ``app``
    another WSGI app to serve the same way (a benchmark's own)."""
    port = free_port()
    log = open(workdir / "gunicorn.log", "w")  # noqa: SIM115  (closed by stop_gunicorn)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--no-control-socket", "--preload"]
        + ["--workers", str(workers), "--bind", f"127.0.0.1:{port}", *extra_args, app],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(server.url + "/api/health", timeout=1) as response:
                if response.status == 200:
                    return server
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop_gunicorn(server)
            raise RuntimeError((workdir / "gunicorn.log").read_text()[-3000:])
        time.sleep(0.2)


def stop_gunicorn(server: Server, wait: float = 30) -> None:
    """Stop gunicorn; workers stuck at exit are killed by id rather than waited for.

    Waits up to ``wait`` seconds for a clean exit. Safe to call more than once."""
    workers = children(server.process.pid) if server.process.poll() is None else []
    server.process.terminate()
    try:
        server.process.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        for worker in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker, signal.SIGKILL)
        server.process.kill()
        server.process.wait()
    server.log.close()


def demo_instance(instance: Path, **settings: str) -> dict[str, str]:
    """A fresh instance folder set up as ``make run`` does (migrations, then every domain's
    demo data), in development mode; returns the environment that serves it."""
    env = {
        **os.environ,
        "APP_ENV": "development",
        "INSTANCE_DIR": str(instance),
        "JOBS_IMMEDIATE": "1",
        **settings,
    }
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    for command in (["db", "upgrade"], ["seed-demo"]):
        subprocess.run(flask + command, cwd=PROJECT_ROOT, env=env, check=True, capture_output=True)
    return env


def start_consumer(env: dict[str, str]) -> subprocess.Popen:
    """One job consumer (``flask jobs worker``), as ``make run`` serves beside gunicorn."""
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker"],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_consumer(consumer: subprocess.Popen | None) -> None:
    if consumer is not None:
        consumer.terminate()
        consumer.wait(timeout=30)


def bench_settings(workdir: Path, database_url: str | None = None, **extra: str) -> dict[str, str]:
    """A throwaway instance in ``workdir`` (SQLite there, or the disposable PostgreSQL
    ``database_url``): jobs run at once while seeding; the benches serve with a real queue
    and consumer."""
    return {
        "APP_ENV": "testing",
        "SECRET_KEY": "bench-secret-key",
        "DATABASE_URL": database_url or f"sqlite:///{workdir / 'bench.db'}",
        "MEDIA_DIR": str(workdir / "media"),
        "INDEX_DIR": str(workdir / "index"),
        "JOBS_DB_PATH": str(workdir / "jobs.db"),
        "JOBS_IMMEDIATE": "1",
        "INSTANCE_DIR": str(workdir / "instance"),
        **extra,
    }


@dataclass
class FleetPlan:
    """What ``seed_kiosk_fleet`` makes, and how its codes, barcodes and cards are named."""

    kiosks: int
    titles: int
    slots: int
    copies: int
    patrons: int
    pin: str
    kiosk_code: str  # "S-{k:03d}": k counts from 1
    kiosk_name: str
    barcode: str  # "S{k:03d}-{c:03d}"
    card: str  # "SIP-{k:03d}-{p}"
    patron_name: str  # "김독자{p}"


def seed_kiosk_fleet(plan: FleetPlan) -> list[dict]:
    """Migrate the instance in the environment, then make kiosks through the services (keys
    hashed as in production), each with its slots stocked and its patrons, copies and patrons
    in bulk with one shared PIN hash (hashing thousands of PINs with Argon2 would only slow
    the seeding). Returns each kiosk's code, key, barcodes and cards."""
    from datetime import UTC, datetime

    from flask_migrate import upgrade
    from sqlalchemy import insert

    from core.app import create_app
    from core.extensions import db
    from core.settings import settings_of
    from library.models import Copy, Patron
    from library.services import catalogue, kiosks
    from library.settings import LibrarySettings

    app = create_app()
    fleet = []
    with app.app_context():
        upgrade()
        now = datetime.now(UTC)
        pin_hash = settings_of(LibrarySettings).passwords.hash(plan.pin)
        titles = [
            catalogue.create_title("bench", _bench_title(n), now=now) for n in range(plan.titles)
        ]
        for k in range(1, plan.kiosks + 1):
            kiosk, key = kiosks.create_kiosk(
                "bench",
                code=plan.kiosk_code.format(k=k),
                name=plan.kiosk_name.format(k=k),
                slot_count=plan.slots,
                now=now,
            )
            barcodes = [plan.barcode.format(k=k, c=c) for c in range(1, plan.copies + 1)]
            db.session.execute(
                insert(Copy),
                [
                    {
                        "barcode": b,
                        "title_id": titles[((k - 1) * 7 + c) % len(titles)].id,
                        "status": "in_kiosk",
                        "kiosk_id": kiosk.id,
                        "slot": c + 1,
                        "changed_at": now,
                        "created_at": now,
                    }
                    for c, b in enumerate(barcodes)
                ],
            )
            cards = [plan.card.format(k=k, p=p) for p in range(1, plan.patrons + 1)]
            db.session.execute(
                insert(Patron),
                [
                    {
                        "card_number": card,
                        "name": plan.patron_name.format(p=p),
                        "pin_hash": pin_hash,
                        "failed_pin_attempts": 0,
                        "created_at": now,
                    }
                    for p, card in enumerate(cards, start=1)
                ],
            )
            fleet.append({"code": kiosk.code, "key": key, "barcodes": barcodes, "cards": cards})
        db.session.commit()
    return fleet


def _bench_title(n: int) -> dict:
    first12 = f"97911{n + 1:07d}"
    check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12)) % 10) % 10
    return {
        "isbn": first12 + str(check),
        "title": f"벤치 도서 {n + 1}",
        "author": "저자",
        "publisher": None,
        "year": 2020,
        "kdc": "813.7",
    }


def empty_postgres(url: str) -> str:
    """Drop and create the public schema of the PostgreSQL database ``url`` (a database kept
    for benchmarks: everything in it is lost); returns the URL for the app's config."""
    from sqlalchemy import create_engine, text

    for prefix in ("postgres://", "postgresql://"):  # the psycopg 3 driver, as the app uses
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url
