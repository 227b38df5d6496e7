"""OAI-PMH harvest benchmark: N published records (default 50,000) harvested through
ListRecords, page after page, by a third-party harvester (oaipmh-scythe) and then over plain
HTTP (each page parsed with lxml: the server's pace, less the harvester's own), from a fresh
instance served by gunicorn (``--preload``, one worker, so every page is served by the process
being measured).

The records are inserted in bulk into a temporary SQLite database (plus some withdrawn records
and tombstones, which the harvest sees as deleted headers). While the harvest runs, the
worker's resident memory is sampled every 100 ms: it should stay flat, since every page is read
after the last one by its (datestamp, id) position and nothing of a harvest is kept on the
server. Prints one JSON object.

    .venv/bin/python bench/oai_harvest.py [--records N] [--page-size P] [--quick]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from support import children, cpu_probe_ms, cpu_seconds, start_gunicorn, stop_gunicorn

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SEED = 20261201
PLACES = ["의정부동", "호원동", "장암동", "신곡동", "용현동", "민락동", "가능동", "녹양동"]
WORDS = ["회룡사", "망월사", "중랑천", "행복로", "제일시장", "경전철", "관아", "향교", "장터"]
TYPES = ["photo", "document", "map", "book", "object", "audio", "video"]
COLLECTIONS = ["유리건판", "향토사료", "시민기증"]
RIGHTS = ["KOGL-1", "KOGL-2", "CC-BY-4.0", "CC0", None]


def generate(count: int):
    """Deterministic published records (one in a hundred withdrawn) with their subjects."""
    rng = random.Random(SEED)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for n in range(1, count + 1):
        when = start + timedelta(seconds=17 * n)
        words = rng.sample(WORDS, 3)
        year = rng.randint(1890, 2020)
        yield (
            {
                "identifier": f"UJB-OAI-{n:06d}",
                "title": f"{words[0]} {words[1]} 기록 {n}",
                "alt_title": "議政府 官衙" if n % 50 == 0 else None,
                "description": f"{rng.choice(PLACES)}의 {words[2]} 풍경을 담은 자료. " * 4,
                "creator": "의정부시",
                "date_text": f"{year}",
                "year_from": year,
                "year_to": year,
                "type": rng.choice(TYPES),
                "place": rng.choice(PLACES),
                "collections": [rng.choice(COLLECTIONS)],
                "rights": rng.choice(RIGHTS),
                "visibility": "withdrawn" if n % 100 == 0 else "published",
                "version": 1,
                "date_parsed": True,
                "published_at": when,
                "created_at": when,
                "updated_at": when,
            },
            words,
        )


def _seed(count: int, tombstones: int) -> float:
    # Imported here: the app's modules load only after the environment above is set.
    from sqlalchemy import insert, select

    from archive.models import Record, RecordSubject, RecordTombstone
    from core.extensions import db

    started = time.monotonic()
    rows, tags = [], []

    def flush():
        db.session.execute(insert(Record), rows)
        ids = dict(
            db.session.execute(
                select(Record.identifier, Record.id).where(
                    Record.identifier.in_([row["identifier"] for row in rows])
                )
            ).all()
        )
        db.session.execute(
            insert(RecordSubject),
            [
                {"record_id": ids[row["identifier"]], "name": name, "position": i}
                for row, names in zip(rows, tags, strict=True)
                for i, name in enumerate(names)
            ],
        )
        db.session.commit()
        rows.clear()
        tags.clear()

    for row, words in generate(count):
        rows.append(row)
        tags.append(words)
        if len(rows) >= 2000:
            flush()
    if rows:
        flush()
    when = datetime(2025, 6, 1, tzinfo=UTC)
    db.session.execute(
        insert(RecordTombstone),
        [
            {
                "identifier": f"UJB-GONE-{n:06d}",
                "datestamp": when + timedelta(seconds=n),
                "collections": [COLLECTIONS[n % 3]],
            }
            for n in range(tombstones)
        ],
    )
    db.session.commit()
    return time.monotonic() - started


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Sampler(threading.Thread):
    """The worker's RSS every ``every`` seconds until stopped."""

    def __init__(self, pid: int, every: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.every, self.samples = pid, every, []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.samples.append(_rss_mb(self.pid))
            self.done.wait(self.every)


def _scythe_harvest(url: str, warm_up: bool = False) -> tuple[int, int]:
    """ListRecords by oaipmh-scythe, every page: (items, deleted headers)."""
    # Imported here: only the harvest needs it (and after the environment is set).
    from oaipmh_scythe import Scythe
    from oaipmh_scythe.config import HTTPConfig

    with Scythe(url, http_config=HTTPConfig(timeout=120)) as scythe:
        if warm_up:
            scythe.identify()
            return 0, 0
        seen = deleted = 0
        for record in scythe.list_records(ignore_deleted=False):
            seen += 1
            deleted += record.deleted
        return seen, deleted


OAI = "{http://www.openarchives.org/OAI/2.0/}"


def _plain_harvest(url: str, warm_up: bool = False) -> tuple[int, int]:
    """ListRecords over plain HTTP, each page parsed with lxml: (items, deleted headers)."""
    # Imported here: only the harvest needs them (and after the environment is set).
    import requests
    from lxml import etree

    session = requests.Session()
    params = {"verb": "ListRecords", "metadataPrefix": "oai_dc"}
    seen = deleted = 0
    while True:
        response = session.get(url, params=params, timeout=120)
        response.raise_for_status()
        doc = etree.fromstring(response.content)
        headers = doc.findall(f".//{OAI}header")
        seen += len(headers)
        deleted += sum(header.get("status") == "deleted" for header in headers)
        token = doc.find(f".//{OAI}resumptionToken")
        if warm_up or token is None or not token.text:
            return seen, deleted
        params = {"verb": "ListRecords", "resumptionToken": token.text}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="2,000 records")
    args = parser.parse_args()
    if args.quick:
        args.records = 2000
    tombstones = max(1, args.records // 100)

    workdir = Path(tempfile.mkdtemp(prefix="bench-oai-"))
    env = {
        "APP_ENV": "testing",
        "SECRET_KEY": "bench-secret",
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
        "MEDIA_DIR": str(workdir / "media"),
        "INDEX_DIR": str(workdir / "index"),
        "JOBS_DB_PATH": str(workdir / "jobs.db"),
        "JOBS_IMMEDIATE": "1",
        "INSTANCE_DIR": str(workdir),
        "OAI_PAGE_SIZE": str(args.page_size),
    }
    os.environ.update(env)
    sys.path.insert(0, str(PROJECT_ROOT))
    logging.getLogger("httpx2").setLevel(logging.WARNING)  # not a line per page
    server = None
    try:
        from flask_migrate import upgrade

        from core.app import create_app

        app = create_app()
        with app.app_context():
            upgrade()
            seed_seconds = _seed(args.records, tombstones)

        server = start_gunicorn(env, workdir, workers=1, extra_args=["--log-level", "warning"])
        (worker,) = children(server.process.pid)
        url = server.url + "/oai"
        expected = args.records + tombstones
        harvests = {}
        for name, harvest in (("scythe", _scythe_harvest), ("plain_http", _plain_harvest)):
            harvest(url, warm_up=True)  # the worker's first requests are not part of it
            rss_start = _rss_mb(worker)
            sampler = Sampler(worker)
            sampler.start()
            began, cpu_before = time.perf_counter(), cpu_seconds([worker])
            seen, deleted = harvest(url)
            seconds = time.perf_counter() - began
            worker_cpu = cpu_seconds([worker]) - cpu_before
            sampler.done.set()
            sampler.join()
            rss_end = _rss_mb(worker)
            samples = sampler.samples or [rss_start]
            if seen != expected:
                raise SystemExit(f"{name} harvested {seen} items, expected {expected}")
            pages = -(-seen // args.page_size)
            harvests[name] = {
                "items": seen,
                "deleted_headers": deleted,
                "requests": pages,
                "seconds": round(seconds, 1),
                "records_per_s": round(seen / seconds, 1),
                "ms_per_page": round(seconds * 1000 / pages, 1),
                # CPU the serving worker spent: the server's own cost, apart from the
                # harvester's and from other work on the machine.
                "worker_cpu_seconds": round(worker_cpu, 1),
                "worker_cpu_ms_per_page": round(worker_cpu * 1000 / pages, 1),
                "worker_rss_mb": {
                    "start": round(rss_start, 1),
                    "max": round(max(samples), 1),
                    "end": round(rss_end, 1),
                    "first_quarter_max": round(max(samples[: max(1, len(samples) // 4)]), 1),
                    "samples": len(samples),
                },
            }
        result = {
            "records": args.records,
            "tombstones": tombstones,
            "page_size": args.page_size,
            "seed_seconds": round(seed_seconds, 1),
            "harvests": harvests,
            "cpu_probe_ms": cpu_probe_ms(),
        }
        print(json.dumps(result, ensure_ascii=False))
    finally:
        if server is not None:
            stop_gunicorn(server)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
