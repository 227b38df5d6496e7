"""Media processing whose job consumer is killed mid-way is taken up by the next consumer when
the dead one's lease runs out, after its last kept step: every scan ends processed, no page
is read twice (but the one the kill interrupted), no derivative is made twice, none is stuck."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from PIL import Image
from sqlalchemy import select

from archive.models import Media
from core.extensions import db
from core.transactions import snapshot
from tests.archive.consumers import kill_consumer, observe, wait_until
from tests.fixtures.archive import create_record, korean_page, multipage_tiff
from tests.fixtures.users import auth_headers

pytestmark = pytest.mark.slow
SCANS = 3
PAGES = 3
LEASE_SECONDS = 3
KOREAN = ("의정부 향토문화 기록", "회룡사 절에서 바라본 도봉산")


def _marker(scan: int, page: int) -> str:
    return f"Uijeongbu archive sheet {scan}-{page}"


def _scan(scan: int) -> bytes:
    """A TIFF of PAGES A4 pages at 150 dpi, each about two seconds of Tesseract."""
    pages = [
        korean_page([KOREAN[0], _marker(scan, page), KOREAN[1]] * 2, size=(1240, 1754))
        for page in range(1, PAGES + 1)
    ]
    return multipage_tiff(pages)


def _logging_tesseract(tmp_path: Path) -> tuple[Path, Path]:
    """The real Tesseract, run through a script that first logs the SHA-256 of the page image
    it is given, one line per page read (calls such as --list-langs are not pages)."""
    log = tmp_path / "pages-read.log"
    script = tmp_path / "tesseract"
    script.write_text(
        "#!/bin/sh\n"
        f'case "$1" in -*) ;; *) sha256sum "$1" | cut -c1-64 >> "{log}" ;; esac\n'
        'exec tesseract "$@"\n'
    )
    script.chmod(0o755)
    return script, log


def _state(ids) -> dict[int, dict]:
    items = db.session.scalars(select(Media).where(Media.id.in_(ids))).all()
    return {
        media.id: {
            "status": media.status,
            "derivatives_done": media.derivatives_done,
            "pages": list(media.ocr_pages or []),
            "lease_until": media.lease_until,
            "attempts": media.attempts,
            "processed_at": media.processed_at,
            "thumbnail_path": media.thumbnail_path,
            "display_path": media.display_path,
        }
        for media in items
    }


def _mid_way(state: dict) -> list[int]:
    return [
        media_id
        for media_id, item in state.items()
        if item["status"] == "processing" and 0 < len(item["pages"]) < PAGES
    ]


def _derivative_times(state: dict, media_dir: Path) -> dict[str, int]:
    return {
        relpath: os.stat(media_dir / relpath).st_mtime_ns
        for item in state.values()
        if item["derivatives_done"]
        for relpath in (item["thumbnail_path"], item["display_path"])
    }


def test_a_killed_consumer_leaves_no_scan_unprocessed_and_redoes_nothing(
    live_server_with_queue, archivist, test_settings, tmp_path
):
    server, queue = live_server_with_queue
    tesseract, pages_read = _logging_tesseract(tmp_path)
    queue.env["ARCHIVE_MEDIA_LEASE_SECONDS"] = str(LEASE_SECONDS)
    queue.env["ARCHIVE_TESSERACT_CMD"] = str(tesseract)
    media_dir = Path(test_settings["MEDIA_DIR"])
    record_id = create_record(archivist).id
    headers = auth_headers(archivist)
    db.session.rollback()  # hold no SQLite lock while the server and the consumer work
    ids = []
    for scan in range(1, SCANS + 1):
        response = requests.post(
            server(f"/api/archive/records/{record_id}/media"),
            files={"file": (f"scan-{scan}.tif", _scan(scan), "image/tiff")},
            headers=headers,
            timeout=60,
        )
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    markers = {media_id: scan for scan, media_id in enumerate(ids, start=1)}

    queue.start_consumer()
    # Killed with a scan done, one mid-way (a page or more kept) and one not begun.
    wait_until(
        lambda: _state(ids),
        lambda state: _mid_way(state) and state[ids[0]]["status"] == "ready",
        180,
    )
    killed_at = kill_consumer(queue)
    at_kill = observe(lambda: _state(ids))
    [interrupted] = _mid_way(at_kill)
    assert at_kill[interrupted]["derivatives_done"]
    assert at_kill[interrupted]["lease_until"] is not None
    assert at_kill[ids[-1]]["derivatives_done"] is False
    made_before = _derivative_times(at_kill, media_dir)
    finished_before = {i: s["processed_at"] for i, s in at_kill.items() if s["status"] == "ready"}

    # Started at once: its start-up sweep asks for a take-up when the dead one's lease ends.
    queue.start_consumer()
    wait_until(
        lambda: _state([interrupted])[interrupted],
        lambda item: item["lease_until"] != at_kill[interrupted]["lease_until"],
        120,
    )
    taken_up_after = time.monotonic() - killed_at
    final = wait_until(
        lambda: _state(ids),
        lambda state: all(item["status"] != "processing" for item in state.values()),
        300,
    )
    # With the old rule (stuck for 30 minutes) it would not have been taken up at all here.
    assert taken_up_after < 60, taken_up_after
    print(
        f"\ntaken up {taken_up_after:.1f} s after the kill (lease {LEASE_SECONDS} s), "
        f"{len(at_kill[interrupted]['pages'])} of {PAGES} pages kept at the kill, "
        f"all done {time.monotonic() - killed_at:.1f} s after it"
    )

    with snapshot():
        items = {m.id: m for m in db.session.scalars(select(Media).where(Media.id.in_(ids)))}
        for media_id, media in items.items():
            assert media.status == "ready", media.failure_reason
            assert media.ocr_status == "done"
            assert (media.lease_until, media.attempts) == (None, 0)
            assert [page["page"] for page in media.ocr_pages] == list(range(1, PAGES + 1))
            for number, page in enumerate(media.ocr_pages, start=1):
                assert _marker(markers[media_id], number) in page["text"], page
            assert all(word in media.ocr_text for word in ("의정부", "회룡사", "도봉산"))
            assert media.ocr_confidence > 60
            with Image.open(media_dir / media.thumbnail_path) as thumbnail:
                assert max(thumbnail.size) <= 256
            with Image.open(media_dir / media.display_path) as shown:
                assert max(shown.size) <= 1600

    # Kept steps are not done again: the pages kept before the kill stay as they were, the
    # derivatives made before it were not written again, the scans done before it untouched.
    assert (
        final[interrupted]["pages"][: len(at_kill[interrupted]["pages"])]
        == (at_kill[interrupted]["pages"])
    )
    assert _derivative_times(at_kill, media_dir) == made_before
    assert {i: final[i]["processed_at"] for i in finished_before} == finished_before
    # Tesseract read every page once; only the page the kill interrupted may have been read
    # twice (its text was not kept before the consumer died).
    reads = Counter(pages_read.read_text().split())
    assert len(reads) == SCANS * PAGES
    assert sum(reads.values()) - len(reads) <= 1, reads
