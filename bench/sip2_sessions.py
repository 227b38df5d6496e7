"""SIP2 sessions benchmark: many self-check machines on the SIP2 server at once.

Seeds a temporary SQLite database through the app: S kiosks (default 50), each with its own
device key, 30 copies in its slots and 3 patrons (card + PIN). Starts ``flask --app wsgi
library sip2-serve`` on a free loopback port. Then every machine runs in its own thread with
its own TCP session: login (93) and status (99), then for the given duration rounds of a
patron at the machine: patron information (63), two checkouts (11), then, for a patron back
with books, checkins (09), and the end of the patron session (35); between messages a think
time of 1-2 s (machines are paced by people). The machines are switched on at moments spread
over the first think time rather than in the same millisecond. A share of checkouts is sent
twice with the same sequence number (a machine that missed the answer), half of those on a
new connection. Every message is encoded and every answer decoded by the third-party
``pysip2`` codec. Afterwards the database is checked: no copy with two open loans, as many
loans as checkouts answered ok.

Prints one JSON object: p50/p95/p99 (ms, as the machines wait for the answer) over all
messages, over the patron's messages (63, 11, 09) and per message; messages per second; the
server's CPU per message (all its processes, from /proc) and, from what each server process
logs as it stops, per command its CPU and time in the server; duplicate loans; the load
average before and after (the machine is shared: figures from a loaded moment say so).

    .venv/bin/python bench/sip2_sessions.py [--sessions 50] [--duration 60] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import support

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from pysip2 import (  # noqa: E402
    CheckinRequest,
    EndPatronSessionRequest,
    LoginRequest,
    PatronInformationRequest,
    SCStatusRequest,
)

from library.sip2.server import Usage  # noqa: E402
from tests.library.sip2_client import INSTITUTION, Sip2Client, sip_now  # noqa: E402

PIN = "4821"
COPIES = 30
PATRONS = 3
# The patron's messages: what a person at the machine waits for.
PATRON_MESSAGES = ("patron_information", "checkout", "checkin")
COMMAND_NAMES = {
    "93": "login",
    "99": "status",
    "63": "patron_information",
    "11": "checkout",
    "09": "checkin",
    "35": "end_session",
}


def seed(count: int) -> list[dict]:
    return support.seed_kiosk_fleet(
        support.FleetPlan(
            kiosks=count,
            titles=40,
            slots=60,
            copies=COPIES,
            patrons=PATRONS,
            pin=PIN,
            kiosk_code="S-{k:03d}",
            kiosk_name="자가대출기 {k}",
            barcode="S{k:03d}-{c:03d}",
            card="SIP-{k:03d}-{p}",
            patron_name="김독자{p}",
        )
    )


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = {}
        self.outcomes: dict[str, dict[str, int]] = {}
        self.retries = self.retry_mismatches = 0
        self.errors: list[str] = []

    def record(self, kind: str, ms: float, ok: bool) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(ms)
            counts = self.outcomes.setdefault(kind, {"ok": 0, "refused": 0})
            counts["ok" if ok else "refused"] += 1


def _timed(stats: Stats, kind: str, client: Sip2Client, message):
    """Send a message and record how long the machine waited for the answer: from sending
    its bytes to reading the answer's, the machine's own encoding and decoding left out."""
    frame = client.frame(message)
    began = time.perf_counter()
    raw = client.send_raw(frame)
    ms = (time.perf_counter() - began) * 1000
    answer = client.decode(raw)
    ok = (
        getattr(answer, "ok", "1") == "1"
        and getattr(answer, "valid_patron", "Y") != "N"
        and getattr(answer, "end_session", "Y") == "Y"
    )
    stats.record(kind, ms, ok)
    return answer


def run_machine(port, machine, deadline, stats: Stats, args, rng: random.Random) -> None:
    def think():
        time.sleep(rng.uniform(args.think_min, args.think_max))

    try:
        time.sleep(rng.uniform(0, args.think_max))  # switched on when it is, not all at once
        client = Sip2Client(port)
        assert _timed(stats, "login", client, _login(machine)).ok == "1"
        _timed(stats, "status", client, _status())
        shelf = list(machine["barcodes"])
        borrowed: dict[str, list[str]] = {card: [] for card in machine["cards"]}
        while time.monotonic() < deadline:
            card = rng.choice(machine["cards"])
            think()
            _timed(stats, "patron_information", client, _info(client, card))
            if borrowed[card] and rng.random() < 0.5:
                for barcode in list(borrowed[card]):
                    think()
                    if _timed(stats, "checkin", client, _checkin(client, barcode)).ok == "1":
                        borrowed[card].remove(barcode)
                        shelf.append(barcode)
                think()
                _timed(stats, "end_session", client, _end(card))
                continue
            for _ in range(2):
                if not shelf or len(borrowed[card]) >= 4:
                    break
                barcode = shelf.pop(rng.randrange(len(shelf)))
                think()
                message = client.checkout_message(card, barcode, PIN)
                frame = client.frame(message)
                began = time.perf_counter()
                raw = client.send_raw(frame)
                ms = (time.perf_counter() - began) * 1000
                answer = client.decode(raw)
                stats.record("checkout", ms, answer.ok == "1")
                if answer.ok == "1":
                    borrowed[card].append(barcode)
                else:
                    shelf.append(barcode)
                if rng.random() < args.retry_share:
                    if rng.random() < 0.5:  # reconnect first, as after a lost connection
                        client.close()
                        client = Sip2Client(port)
                        client.request(_login(machine))
                    began = time.perf_counter()
                    again = client.send_raw(frame)
                    stats.record("checkout_retry", (time.perf_counter() - began) * 1000, True)
                    with stats.lock:
                        stats.retries += 1
                        stats.retry_mismatches += _same(client.decode(again)) != _same(answer)
            think()
            _timed(stats, "end_session", client, _end(card))
        client.close()
    except Exception as error:
        with stats.lock:
            stats.errors.append(f"{machine['code']}: {type(error).__name__}: {error}")


def _same(answer) -> tuple:
    """What a replayed checkout answer must repeat (the answer's own date is when it is sent)."""
    return (answer.ok, answer.item_identifier, answer.due_date, answer.screen_message)


def _login(machine):
    return LoginRequest(
        uid_algorithm="0",
        pwd_algorithm="0",
        login_user_id=machine["code"],
        login_password=machine["key"],
    )


def _status():
    return SCStatusRequest(status_code="0", max_print_width="040", protocol_version="2.00")


def _info(client, card):
    return PatronInformationRequest(
        language="000",
        transaction_date=sip_now(),
        summary=" " * 10,
        institution_id=INSTITUTION,
        patron_identifier=card,
        patron_password=PIN,
    )


def _checkin(client, barcode):
    return CheckinRequest(
        no_block="N",
        transaction_date=sip_now(),
        return_date=sip_now(),
        current_location="",
        institution_id=INSTITUTION,
        item_identifier=barcode,
        terminal_password="",
    )


def _end(card):
    return EndPatronSessionRequest(
        transaction_date=sip_now(), institution_id=INSTITUTION, patron_identifier=card
    )


def server_usage(log_path: Path) -> dict:
    """Per command, from the lines the server's processes log as they stop: messages, CPU ms
    per message, and ms per message in the server (CPU and waiting for the GIL, the database
    and its write lock; the machines' wait adds the network and the scheduler)."""
    totals: dict[str, list[float]] = {}
    for line in log_path.read_text().splitlines():
        if Usage.LOG_PREFIX in line:
            report = json.loads(re.search(r"\{.*\}", line).group(0))
            for command, usage in report.items():
                entry = totals.setdefault(COMMAND_NAMES.get(command, command), [0, 0.0, 0.0])
                entry[0] += usage["messages"]
                entry[1] += usage["cpu_s"]
                entry[2] += usage["in_server_s"]
    return {
        name: {
            "messages": n,
            "cpu_ms_per_message": round(cpu * 1000 / n, 2),
            "in_server_ms_per_message": round(wall * 1000 / n, 2),
        }
        for name, (n, cpu, wall) in sorted(totals.items())
    }


def check_database(ok_checkouts: int) -> dict:
    from sqlalchemy import func, select

    from core.app import create_app
    from core.extensions import db
    from library.models import Loan

    app = create_app()
    with app.app_context():
        doubled = db.session.scalar(
            select(func.count()).select_from(
                select(Loan.copy_id)
                .where(Loan.returned_at.is_(None))
                .group_by(Loan.copy_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
        loans = db.session.scalar(select(func.count()).select_from(Loan))
    return {
        "copies_with_two_open_loans": doubled,
        "loans": loans,
        "checkouts_answered_ok": ok_checkouts,
        "loans_beyond_answers": loans - ok_checkouts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--think-min", type=float, default=1.0, help="seconds")
    parser.add_argument("--think-max", type=float, default=2.0, help="seconds")
    parser.add_argument("--retry-share", type=float, default=0.1, help="checkouts sent twice")
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--quick", action="store_true", help="15 seconds of load")
    args = parser.parse_args()
    if args.quick:
        args.duration = 15.0

    probe = support.cpu_probe_ms()
    # The 50 machines share this interpreter, where real ones share nothing: a thread whose
    # answer has arrived must not wait Python's 5 ms for the GIL to note the time.
    sys.setswitchinterval(0.0005)
    workdir = Path(tempfile.mkdtemp(prefix="sip2-sessions-"))
    settings = support.bench_settings(workdir, SIP2_IDLE_TIMEOUT="120")
    os.environ.update(settings)
    server = log = None
    try:
        machines = seed(args.sessions)
        port = support.free_port()
        log = open(workdir / "sip2.log", "w")  # noqa: SIM115
        server = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "library", "sip2-serve"]
            + ["--port", str(port), "--workers", str(args.workers)],
            cwd=PROJECT_ROOT,
            env={**os.environ, **settings},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        _wait_for(port, server, workdir)
        while len(support.children(server.pid)) < args.workers and args.workers > 1:
            time.sleep(0.1)  # the master listens before it forks its workers
        processes = [server.pid, *support.children(server.pid)]
        load_before = os.getloadavg()
        cpu_before = support.cpu_seconds(processes)
        stats = Stats()
        started = time.monotonic()
        deadline = started + args.duration
        threads = [
            threading.Thread(
                target=run_machine, args=(port, m, deadline, stats, args, random.Random(i))
            )
            for i, m in enumerate(machines)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        server_cpu = support.cpu_seconds(processes) - cpu_before
        load_after = os.getloadavg()
        server.terminate()
        server.wait(timeout=30)
        log.flush()
        served = [ms for kind, v in stats.latencies.items() for ms in v]
        patrons_wait = [ms for kind in PATRON_MESSAGES for ms in stats.latencies.get(kind, [])]
        result = {
            "sessions": args.sessions,
            "cpu_probe_ms": probe,
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after],
            "database": "sqlite",
            "server": f"sip2-serve, {args.workers} processes, a thread per connection",
            "duration_s": round(elapsed, 1),
            "think_s": [args.think_min, args.think_max],
            "messages": len(served),
            "messages_per_s": round(len(served) / elapsed, 1),
            "server_cpu_ms_per_message": round(server_cpu * 1000 / max(1, len(served)), 1),
            "server_cpu_share_of_a_core": round(server_cpu / elapsed, 2),
            "p50_ms": support.percentile(served, 50),
            "p95_ms": support.percentile(served, 95),
            "p99_ms": support.percentile(served, 99),
            "patron_messages": {
                "count": len(patrons_wait),
                "p50_ms": support.percentile(patrons_wait, 50),
                "p95_ms": support.percentile(patrons_wait, 95),
                "p99_ms": support.percentile(patrons_wait, 99),
            },
            "server_by_message": server_usage(workdir / "sip2.log"),
            "by_message": {
                kind: {
                    "count": len(v),
                    **stats.outcomes[kind],
                    "mean_ms": round(sum(v) / len(v), 1),
                    "p50_ms": support.percentile(v, 50),
                    "p95_ms": support.percentile(v, 95),
                    "p99_ms": support.percentile(v, 99),
                }
                for kind, v in sorted(stats.latencies.items())
            },
            "retries": stats.retries,
            "retries_with_other_answer": stats.retry_mismatches,
            "client_errors": len(stats.errors),
            "first_errors": stats.errors[:3],
            "server_exit": server.returncode,
        }
        server = None
        result |= check_database(stats.outcomes.get("checkout", {}).get("ok", 0))
        print(json.dumps(result, ensure_ascii=False))
    finally:
        if server is not None:
            server.kill()
            server.wait()
        if log is not None:
            log.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_for(port: int, process: subprocess.Popen, workdir: Path) -> None:
    import socket

    deadline = time.monotonic() + 120
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((workdir / "sip2.log").read_text()[-3000:]) from None
            time.sleep(0.2)


if __name__ == "__main__":
    main()
