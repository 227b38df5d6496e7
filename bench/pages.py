"""Page benchmark: server time per page on the demo data (target: p95 under 100 ms).

Seeds a fresh instance folder as `make run` does (migrations, then the demo data of every
domain), signs a resident in, and asks each main page ``--rounds`` times inside the app (the
time the server spends on a page: routing, the service call, the template), after two
warm-up rounds. Prints one JSON object: p50 and p95 per page, and the worst p95.

    .venv/bin/python bench/pages.py [--rounds 60] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from support import cpu_probe_ms, demo_instance, percentile

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TARGET_P95_MS = 100.0
PASSWORD = "푸른 하늘 은하수 하얀 쪽배"


def _first_link(client, path: str, pattern: str) -> str | None:
    """A page's first link matching ``pattern``: the pages to measure are found as a
    resident finds them, by following links."""
    page = client.get(path).get_data(as_text=True)
    found = re.search(f'(?<=href="){pattern}(?=")', page)
    return found.group(0) if found else None


def _pages(client) -> dict[str, str]:
    pages = {
        "home": "/",
        "facilities": "/facilities",
        "library_search": "/library?q=%ED%95%9C%EA%B0%95",  # 한강
        "archive_search": "/archive?q=%EC%9D%98%EC%A0%95%EB%B6%80",  # 의정부
        "archive_browse": "/archive",
        "collections": "/archive/collections",
        "bookings": "/bookings",
        "library_me": "/library/me",
        "profile": "/profile",
    }
    followed = {
        "facility": ("/facilities", r"/facilities/\d+"),
        "title": ("/library?q=%ED%95%9C%EA%B0%95", r"/library/titles/\d+"),
        "record": ("/archive", r"/archive/records/[^\"?#/]+"),
    }
    for name, (path, pattern) in followed.items():
        if link := _first_link(client, path, pattern):
            pages[name] = link
    return pages


def _sign_up(client) -> None:
    page = client.get("/register").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    answer = client.post(
        "/register",
        data={
            "name": "김민지",
            "email": "bench@example.kr",
            "password": PASSWORD,
            "csrf_token": token,
        },
    )
    assert answer.status_code == 302, answer.status_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--quick", action="store_true", help="15 rounds")
    args = parser.parse_args()
    rounds = 15 if args.quick else args.rounds
    with tempfile.TemporaryDirectory() as folder:
        os.environ.update(demo_instance(Path(folder), SECRET_KEY="bench"))
        sys.path.insert(0, str(PROJECT_ROOT))
        from core.app import create_app  # after the environment names the instance

        app = create_app()
        client = app.test_client()
        _sign_up(client)
        pages = _pages(client)
        timings: dict[str, list[float]] = {name: [] for name in pages}
        statuses: dict[str, int] = {}
        for round_number in range(rounds + 2):
            for name, path in pages.items():
                began = time.perf_counter()
                answer = client.get(path)
                elapsed = (time.perf_counter() - began) * 1000
                statuses[name] = answer.status_code
                if round_number >= 2:  # the first two warm the caches and templates
                    timings[name].append(elapsed)
    figures = {
        name: {"p50_ms": percentile(values, 50), "p95_ms": percentile(values, 95)}
        for name, values in timings.items()
    }
    worst = max(figures.values(), key=lambda f: f["p95_ms"])["p95_ms"]
    print(
        json.dumps(
            {
                "benchmark": "pages",
                "rounds": rounds,
                "cpu_probe_ms": cpu_probe_ms(),
                "pages": figures,
                "statuses": statuses,
                "worst_p95_ms": worst,
                "target_p95_ms": TARGET_P95_MS,
                "target_met": worst < TARGET_P95_MS
                and all(status == 200 for status in statuses.values()),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
