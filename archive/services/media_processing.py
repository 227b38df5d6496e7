"""Processing of a media item, run by the media job: derivatives, then OCR page by page.

Processing is leased (``archive.services.leases``): the job claims the item, and a heartbeat
renews the claim while it works. Each finished step is kept with the item, in a short
transaction of its own: the derivatives (``derivatives_done``), then every OCR page as soon as
it is read (``ocr_pages``). A job consumer that dies (``kill -9`` included) loses only the step
it was in: once its lease runs out, the archive's sweep queues the item again and the job that
takes it up goes on after the last kept step. An item whose processing dies
``media_max_attempts`` times in a row without finishing a step is marked failed.

The slow work (images, Tesseract) runs with no transaction open: SQLite has one write lock for
the whole database, and the OCR of a long TIFF takes minutes.

Two jobs work on one item only if its holder stalled past its lease (a paused process) and
another took it over. A step is kept only if it follows the progress stored (the next page of
an item still processing); a job that finds the progress gone on without it stops there, so
no step is kept twice.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from archive.models import Media
from archive.services import background, leases, ocr, storage
from archive.services.documents import queue_index
from archive.services.media_files import make_derivatives
from archive.settings import ArchiveSettings
from core.extensions import db

log = logging.getLogger(__name__)

# An item no job has claimed for this long lost its queued job (a queue lost with its
# consumer) and is queued again. Items waiting behind a long queue are not lost, so the wait
# allowed is long, and each is queued again at most once per this period.
WAIT_LIMIT = timedelta(minutes=30)


@dataclass
class _Work:
    """What the job needs of the item, read when it claims it: no ORM object outlives the
    claim's transaction, so nothing is loaded again (in a transaction) during the slow work."""

    media_id: int
    original_path: str
    derivatives_done: bool
    pages: list[dict]


def process_waiting(
    media_id: int, *, clock: Callable[[], datetime], settings: ArchiveSettings
) -> None:
    """Process a media item waiting for it, or take up one whose job died after its last
    kept step; nothing when it was deleted, is finished, or another job holds it. Commits
    each step; ``clock`` gives the time."""
    work = claim(media_id, clock(), settings)
    if work is None:
        return
    with leases.kept(
        Media,
        media_id,
        seconds=settings.media_lease_seconds,
        clock=clock,
        active=Media.status == "processing",
    ):
        _process(work, clock, settings)


def claim(media_id: int, now: datetime, settings: ArchiveSettings) -> _Work | None:
    """Take the item for this job (committed): None when it is not waiting for processing,
    another job's lease on it has not run out, or its processing died too often (it is
    marked failed)."""
    media = leases.claim(
        Media,
        media_id,
        now=now,
        seconds=settings.media_lease_seconds,
        claimable=lambda found: found.status == "processing",
    )
    if media is None:
        return None
    media.attempts += 1
    if media.attempts > settings.media_max_attempts:
        _fail(
            media,
            f"Processing stopped {settings.media_max_attempts} times in a row without finishing "
            "a step (the job running it died each time)",
            now,
        )
        db.session.commit()
        return None
    work = _Work(media.id, media.original_path, media.derivatives_done, list(media.ocr_pages or []))
    db.session.commit()  # the lease is seen by every other job from now on
    return work


def _process(work: _Work, clock: Callable[[], datetime], settings: ArchiveSettings) -> None:
    """Derivatives, then OCR. A failure leaves the item visibly failed with its reason; a
    missing Tesseract leaves it ready (the image is usable) with the OCR marked unavailable."""
    if not work.derivatives_done:
        try:
            paths = make_derivatives(work.media_id, work.original_path, settings)
        except Exception as error:
            log.exception("derivatives of media %s failed", work.media_id)
            _stop(work, clock(), f"Derivatives could not be made: {type(error).__name__}: {error}")
            return
        if not _keep_derivatives(work, paths, clock(), settings):
            return
    reason = ocr.problem(settings.tesseract_cmd, settings.ocr_lang)
    if reason:
        _finish(work, clock(), ocr_status="unavailable", ocr_message=f"OCR skipped: {reason}")
        return
    reading = ocr.read_pages(
        storage.absolute(settings.media_dir, work.original_path),
        start=len(work.pages),
        command=settings.tesseract_cmd,
        languages=settings.ocr_lang,
        psm=settings.ocr_psm,
        timeout=settings.ocr_timeout,
    )
    with contextlib.closing(reading):  # the original stays open while pages are left
        while True:
            try:
                page = next(reading, None)
            except Exception as error:
                log.exception("OCR of media %s failed", work.media_id)
                message = f"{type(error).__name__}: {error}"[:2000]
                _stop(work, clock(), f"OCR failed: {message}", ocr_message=message)
                return
            if page is None:
                break
            if not _keep_page(work, page, clock(), settings):
                return
    _finish(work, clock(), ocr_status="done")


def _locked(media_id: int) -> Media | None:
    """The item as stored now, locked until this step's commit."""
    return db.session.scalar(
        select(Media)
        .where(Media.id == media_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _progressed(media: Media, now: datetime, settings: ArchiveSettings) -> None:
    """A step was kept: the count of attempts without one starts again, and the lease is
    renewed with it."""
    media.attempts = 0
    media.lease_until = leases.expiry(now, settings.media_lease_seconds)
    media.updated_at = now


def _released(media: Media) -> None:
    media.lease_until = None
    media.attempts = 0


def _keep_derivatives(work: _Work, paths, now: datetime, settings: ArchiveSettings) -> bool:
    """Keep the derivatives made; False when the job is to stop (the item is gone, or no
    longer processing)."""
    media = _locked(work.media_id)
    if media is None:
        # Deleted while its images were made: they belong to nothing now.
        for relpath in paths:
            storage.absolute(settings.media_dir, relpath).unlink(missing_ok=True)
        db.session.rollback()
        return False
    if media.status != "processing":
        db.session.rollback()
        return False
    media.thumbnail_path, media.display_path = paths
    media.derivatives_done = True
    _progressed(media, now, settings)
    db.session.commit()
    return True


def _keep_page(work: _Work, page: dict, now: datetime, settings: ArchiveSettings) -> bool:
    """Keep one page just read, if it is the next one the item lacks; False when the job is to
    stop (the item is gone, no longer processing, or another job kept this page)."""
    media = _locked(work.media_id)
    stored = (media.ocr_pages or []) if media is not None else []
    if media is None or media.status != "processing" or len(stored) != page["page"] - 1:
        db.session.rollback()
        return False
    media.ocr_pages = [*stored, page]  # a new list: the JSON column sees only assignments
    _progressed(media, now, settings)
    db.session.commit()
    work.pages.append(page)
    return True


def _finish(work: _Work, now: datetime, *, ocr_status: str, ocr_message: str | None = None):
    media = _locked(work.media_id)
    if media is None or media.status != "processing":
        db.session.rollback()
        return
    if ocr_status == "done":
        pages = media.ocr_pages or []
        media.ocr_text = ocr.text_of(pages)
        media.ocr_confidence = ocr.confidence_of(pages)
    media.ocr_status, media.ocr_message = ocr_status, ocr_message
    media.status = "ready"
    media.failure_reason = None
    media.processed_at = now
    media.updated_at = now
    _released(media)
    queue_index(media.record_id)
    db.session.commit()


def _stop(work: _Work, now: datetime, reason: str, *, ocr_message: str | None = None) -> None:
    """Mark the item failed with ``reason`` (and the OCR failed, with ``ocr_message``)."""
    media = _locked(work.media_id)
    if media is None or media.status != "processing":
        db.session.rollback()
        return
    if ocr_message is not None:
        media.ocr_status, media.ocr_message = "failed", ocr_message
    _fail(media, reason, now)
    db.session.commit()


def _fail(media: Media, reason: str, now: datetime) -> None:
    media.status = "failed"
    media.failure_reason = reason[:2000]
    media.updated_at = now
    _released(media)


# --- the use cases around it: starting over, and the sweep ---------------------------------


def start_over(media: Media) -> None:
    """Forget the progress of an earlier processing (a retry processes from the start)."""
    media.derivatives_done = False
    media.ocr_pages = None
    media.ocr_status, media.ocr_message = "pending", None
    _released(media)


def read_again(media: Media) -> None:
    """Forget the OCR pages read, keeping the images made: processing reads the text again."""
    media.ocr_pages = None
    media.ocr_status, media.ocr_message = "pending", None
    _released(media)


def is_stalled(media: Media, now: datetime) -> bool:
    """Processing whose job died: held by a lease that ran out, or claimed by no job for
    ``WAIT_LIMIT`` (its queued job was lost)."""
    if media.status != "processing":
        return False
    if media.lease_until is not None:
        return not leases.held(media.lease_until, now)
    return media.updated_at <= now - WAIT_LIMIT


def resume_stalled(now: datetime, settings: ArchiveSettings, *, horizon: timedelta) -> list[int]:
    """Queue again, after this transaction commits, the items whose job died (``is_stalled``),
    and, for the moment their lease runs out, the items whose lease runs out within
    ``horizon`` (before the next sweep). Returns the items queued at once."""
    found = leases.due(
        Media,
        active=Media.status == "processing",
        now=now,
        horizon=horizon,
        waiting_since=Media.updated_at,
        wait_limit=WAIT_LIMIT,
    )
    if found.waiting:
        # Touched now: an item waiting behind a long queue is queued again once per
        # WAIT_LIMIT, not at every sweep.
        db.session.execute(
            update(Media)
            .where(Media.id.in_(found.waiting))
            .values(updated_at=now)
            .execution_options(synchronize_session=False)
        )
    for media_id in found.lapsed + found.waiting:
        background.process_media.after_commit(media_id)
    for media_id, delay in found.expiring:
        background.process_media.after_commit_in(delay, media_id)
    return sorted(found.lapsed + found.waiting)
