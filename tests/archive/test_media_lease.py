"""Media processing is leased: a job that holds an item is left alone, an item whose job died
is taken up when its lease runs out (after its last kept step), a lease is renewed while a
step runs, and an item that kills its consumer every time is given up."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest

from archive.jobs import process_media, resume_stalled_work
from archive.models import Media
from archive.services import leases, media_processing
from core import clock as app_clock
from core import jobs
from core.extensions import db
from core.transactions import snapshot
from tests.fixtures.archive import (
    archive_settings,
    create_record,
    image_bytes,
    korean_page,
    multipage_tiff,
    upload,
    use_archive_settings,
)


@pytest.fixture(autouse=True)
def _empty_schedule():
    """Take-ups the sweep asks for at a lease's end wait in the (in-memory) schedule."""
    jobs.huey.storage.flush_schedule()
    yield
    jobs.huey.storage.flush_schedule()


def _waiting_again(media_id: int) -> None:
    """Put a processed item back to waiting for processing, as a retry would, without the job
    that a retry queues (here, a job that will die takes it)."""
    media = db.session.get(Media, media_id)
    media_processing.start_over(media)
    media.status = "processing"
    db.session.commit()


def _processed_item(client, archivist_headers, data=None) -> int:
    record = create_record()
    response = upload(client, record.id, data or image_bytes(), archivist_headers)
    assert db.session.get(Media, response.json["id"]).status == "ready"
    return response.json["id"]


def _take_ups_scheduled() -> list[tuple]:
    return [task.args for task in jobs.huey.scheduled() if task.name.endswith("process_media")]


def test_a_held_item_is_left_alone_until_its_lease_runs_out(client, clock, archivist_headers):
    media_id = _processed_item(client, archivist_headers)
    _waiting_again(media_id)
    lease = archive_settings().media_lease_seconds
    # A job takes the item, and its consumer dies before doing anything more.
    assert media_processing.claim(media_id, clock.now(), archive_settings()) is not None
    media = db.session.get(Media, media_id)
    assert media.lease_until == clock.now() + timedelta(seconds=lease)
    assert media.attempts == 1
    db.session.rollback()  # the jobs below write from sessions of their own

    process_media(media_id)  # another delivery of its job, while the lease holds
    resume_stalled_work()  # the sweep, while the lease holds
    db.session.expire_all()
    media = db.session.get(Media, media_id)
    assert (media.status, media.derivatives_done) == ("processing", False)
    # ... but the sweep asked for a take-up due when the lease runs out
    assert _take_ups_scheduled() == [(media_id,)]

    db.session.rollback()
    clock.advance(seconds=lease + 1)
    resume_stalled_work()
    db.session.expire_all()
    media = db.session.get(Media, media_id)
    assert (media.status, media.ocr_status) == ("ready", "done")
    assert (media.lease_until, media.attempts, media.derivatives_done) == (None, 0, True)


@pytest.mark.slow
def test_a_take_up_does_not_redo_kept_steps(app, client, clock, archivist_headers):
    pages = [korean_page(["첫째 쪽 시립박물관"]), korean_page(["둘째 쪽 스마트도서관"])]
    media_id = _processed_item(client, archivist_headers, multipage_tiff(pages))
    media = db.session.get(Media, media_id)
    first_page = dict(media.ocr_pages[0], text="이미 읽은 쪽")
    thumbnail = Path(app.config["MEDIA_DIR"], media.thumbnail_path)
    os.utime(thumbnail, ns=(1_000_000_000, 1_000_000_000))
    # As a job leaves it when its consumer dies while reading page 2: derivatives and page 1
    # kept, its lease not yet run out.
    _waiting_again(media_id)
    media = db.session.get(Media, media_id)
    media.derivatives_done, media.ocr_pages = True, [first_page]
    media.lease_until, media.attempts = clock.now() + timedelta(seconds=5), 0
    db.session.commit()

    clock.advance(seconds=6)
    resume_stalled_work()
    db.session.expire_all()
    media = db.session.get(Media, media_id)
    assert (media.status, media.ocr_status) == ("ready", "done")
    assert media.ocr_pages[0] == first_page  # not read again
    assert "스마트도서관" in media.ocr_pages[1]["text"]  # read by the take-up
    assert "이미 읽은 쪽" in media.ocr_text and "스마트도서관" in media.ocr_text
    assert thumbnail.stat().st_mtime_ns == 1_000_000_000  # not made again


def test_an_item_that_kills_its_consumer_every_time_is_given_up(
    client, clock, archivist, archivist_headers, monkeypatch
):
    settings = use_archive_settings(monkeypatch, media_max_attempts=2)
    media_id = _processed_item(client, archivist_headers)
    _waiting_again(media_id)
    for _ in range(2):  # taken, and the consumer dies before the item's first step is kept
        assert media_processing.claim(media_id, clock.now(), settings) is not None
        clock.advance(seconds=settings.media_lease_seconds + 1)
    resume_stalled_work()
    db.session.expire_all()
    media = db.session.get(Media, media_id)
    assert media.status == "failed"
    assert "stopped 2 times" in media.failure_reason
    assert (media.lease_until, media.attempts) == (None, 0)

    url = f"/api/archive/records/{media.record_id}/media/{media_id}/retry"
    assert client.post(url, headers=archivist_headers).status_code == 202
    assert db.session.get(Media, media_id).status == "ready"


def test_retry_leaves_held_processing_alone_and_takes_up_a_lapsed_lease(
    client, clock, archivist_headers
):
    media_id = _processed_item(client, archivist_headers)
    _waiting_again(media_id)
    settings = archive_settings()
    assert media_processing.claim(media_id, clock.now(), settings) is not None
    record_id = db.session.get(Media, media_id).record_id
    url = f"/api/archive/records/{record_id}/media/{media_id}/retry"
    refused = client.post(url, headers=archivist_headers)
    assert refused.status_code == 409
    assert "being processed" in refused.json["message"]
    clock.advance(seconds=settings.media_lease_seconds + 1)
    assert client.post(url, headers=archivist_headers).status_code == 202
    assert db.session.get(Media, media_id).status == "ready"


def _lease_until(media_id: int):
    with snapshot():
        return db.session.get(Media, media_id).lease_until


def test_the_lease_is_renewed_while_a_step_runs(client, archivist_headers, monkeypatch):
    media_id = _processed_item(client, archivist_headers)
    _waiting_again(media_id)
    seconds = 1  # renewed every third of a second
    settings = use_archive_settings(monkeypatch, media_lease_seconds=seconds)
    assert media_processing.claim(media_id, app_clock.now(), settings) is not None
    claimed = _lease_until(media_id)
    active = Media.status == "processing"
    with leases.kept(Media, media_id, seconds=seconds, clock=app_clock.now, active=active):
        time.sleep(2.5 * seconds)  # a step more than twice as long as the lease
        renewed = _lease_until(media_id)
    assert renewed > claimed
    assert leases.held(renewed, app_clock.now())
    time.sleep(seconds)
    assert _lease_until(media_id) == renewed  # the renewals stopped with the step
