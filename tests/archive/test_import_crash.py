"""An import whose job consumer is killed mid-run is taken up again by the next consumer when
the dead one's lease runs out, where its last batch ended, and finishes with every row
accounted for, none twice."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from archive.models import ImportRun, Record
from core.extensions import db
from tests.archive.consumers import kill_consumer, observe, wait_until
from tests.fixtures.users import auth_headers

pytestmark = pytest.mark.slow
ROWS = 3000
LEASE_SECONDS = 3


def _run(import_id: int) -> dict:
    run = db.session.get(ImportRun, import_id)
    return {
        "status": run.status,
        "line": run.resume_after_line,
        "created": run.created,
        "failed": run.failed,
    }


def test_a_killed_consumer_loses_no_row(live_server_with_queue, archivist, test_settings):
    server, queue = live_server_with_queue
    queue.env["ARCHIVE_IMPORT_LEASE_SECONDS"] = str(LEASE_SECONDS)
    headers = auth_headers(archivist)
    db.session.rollback()
    lines = ["identifier,title,type"] + [f"CRASH-{i},기록 {i},photo" for i in range(ROWS)]
    response = requests.post(
        server("/api/archive/imports"),
        files={"file": ("big.csv", "\n".join(lines).encode(), "text/csv")},
        headers=headers,
        timeout=60,
    )
    assert response.status_code == 202, response.text
    import_id = response.json()["id"]

    queue.start_consumer()
    at_kill = wait_until(lambda: _run(import_id), lambda s: s["line"] > 0, 120)
    killed_at = kill_consumer(queue)
    stopped = observe(lambda: _run(import_id))
    assert stopped["status"] == "running"
    assert 0 < stopped["line"] < ROWS + 1, (at_kill, stopped)

    # Started at once: its start-up sweep asks for a take-up when the dead one's lease ends.
    queue.start_consumer()
    taken_up = wait_until(lambda: _run(import_id), lambda s: s["line"] != stopped["line"], 60)
    taken_up_after = time.monotonic() - killed_at
    assert taken_up_after < 30, taken_up  # not at a later sweep, a minute on
    print(f"\ntaken up {taken_up_after:.1f} s after the kill (lease {LEASE_SECONDS} s)")
    finished = wait_until(lambda: _run(import_id), lambda s: s["status"] != "running", 300)
    assert finished == {"status": "done", "line": ROWS + 1, "created": ROWS, "failed": 0}
    stored = observe(
        lambda: db.session.scalar(
            select(func.count(Record.id)).where(Record.identifier.like("CRASH-%"))
        )
    )
    assert stored == ROWS
    media_dir = Path(test_settings["MEDIA_DIR"])
    assert not (media_dir / "imports" / str(import_id)).exists()
