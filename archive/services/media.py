"""Media rules: find a media item as its reader may see it, ingest a file, correct its text,
retry, delete. The processing the media job runs is ``media_processing``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from archive.models import Media, Record
from archive.services import background, imaging, media_processing, records, storage
from archive.services.documents import queue_index
from archive.services.media_files import forget_files
from archive.settings import ArchiveSettings
from core import audit, lookup
from core.errors import (
    Conflict,
    DomainError,
    NotFound,
    PayloadTooLarge,
    RuleViolation,
    UnsupportedMedia,
)
from core.extensions import db


def media_snapshot(media: Media) -> dict:
    return {
        "record_id": media.record_id,
        "sha256": media.sha256,
        "original_filename": media.original_filename,
        "mime": media.mime,
        "status": media.status,
        "ocr_status": media.ocr_status,
    }


def media_of(record: Record, media_id: int) -> Media:
    media = lookup.find(Media, media_id)
    if media is None or media.record_id != record.id:
        raise NotFound(f"Media {media_id} of record {record.id} not found")
    return media


def get_media(record_id: int, media_id: int) -> Media:
    """A record's media item, whatever its state (for archivists), or 404."""
    return media_of(records.get_record(record_id), media_id)


def visible_media(record_id: int, media_id: int, may_see_unpublished: bool) -> Media:
    """A media item as its reader may see it: the public sees the ready media of published
    records; anything else does not exist for them (404)."""
    media = media_of(records.visible_record(record_id, may_see_unpublished), media_id)
    if media.status != "ready" and not may_see_unpublished:
        raise NotFound(f"Media {media_id} of record {record_id} not found")
    return media


def media_file(media: Media, kind: str, media_dir: str) -> Path:
    """The file of one of the media item's versions (``thumbnail``, ``display``,
    ``original``) on disk, or 404 when it is not made yet or has gone missing."""
    relpath = getattr(media, f"{kind}_path")
    if not relpath:
        raise NotFound(f"Media {media.id} has no such file (yet)")
    path = storage.absolute(media_dir, relpath)
    if not path.is_file():
        raise NotFound(f"The file of media {media.id} is missing")
    return path


def stage_upload(stream, settings: ArchiveSettings) -> storage.Staged:
    try:
        return storage.stage_stream(stream, settings.media_dir, settings.max_upload_bytes)
    except storage.TooLarge as error:
        raise PayloadTooLarge(
            f"The file is larger than the limit of {error.limit} bytes",
            errors={"file": [f"Larger than {error.limit} bytes."]},
            limit=error.limit,
        ) from error


def upload(
    actor, record: Record, stream, filename: str | None, *, now: datetime, settings: ArchiveSettings
) -> Media:
    """Add an uploaded file (a binary ``stream``) to a record: ``stage_upload``, then
    ``ingest``."""
    staged = stage_upload(stream, settings)
    return ingest(actor, record, staged, filename, now=now, settings=settings)


@dataclass(frozen=True)
class Uploaded:
    """One file of several uploaded at once: its media item, or why it was refused."""

    filename: str | None
    media: Media | None = None
    refusal: DomainError | None = None


def upload_each(
    actor, record: Record, files, *, now: datetime, settings: ArchiveSettings
) -> list[Uploaded]:
    """Add several files (``(binary stream, file name)`` pairs) to a record, each as
    ``upload`` would; a file refused (too large, not an image, too many pixels) is reported
    and the others are still added. A refusal comes before anything of its file is written."""
    outcomes = []
    for stream, filename in files:
        try:
            media = upload(actor, record, stream, filename, now=now, settings=settings)
        except (PayloadTooLarge, UnsupportedMedia, RuleViolation) as refusal:
            outcomes.append(Uploaded(filename, refusal=refusal))
        else:
            outcomes.append(Uploaded(filename, media=media))
    return outcomes


def check_image(path: Path, settings: ArchiveSettings) -> imaging.ImageInfo:
    """The file's real type and size, or the reason it is refused (415 or 422)."""
    try:
        return imaging.inspect(
            path, max_pixels=settings.max_image_pixels, max_pages=settings.max_pages
        )
    except imaging.ImageRejected as error:
        if error.kind == "unsupported":
            raise UnsupportedMedia(
                error.message, errors={"file": [error.message]}, reason=error.kind
            ) from error
        raise RuleViolation(
            error.message,
            errors={"file": [error.message]},
            code="image_too_large" if error.kind == "too_large" else "corrupt_image",
        ) from error


def ingest(
    actor,
    record: Record,
    staged: storage.Staged,
    filename: str | None,
    *,
    now: datetime,
    settings: ArchiveSettings,
) -> Media:
    """Add a staged file to a record. Refused files are deleted; accepted ones are moved
    to their content address, unchanged, and processed by the media job after commit."""
    try:
        info = check_image(staged.path, settings)
    except BaseException:
        staged.path.unlink(missing_ok=True)
        raise
    relpath = storage.original_relpath(staged.sha256, info.extension)
    storage.keep_original(staged, settings.media_dir, relpath, db.session)
    media = Media(
        record=record,
        sha256=staged.sha256,
        original_path=relpath,
        original_filename=(Path(filename).name[:255] if filename else None),
        mime=info.mime,
        byte_size=staged.size,
        width=info.width,
        height=info.height,
        page_count=info.pages,
        status="processing",
        ocr_status="pending",
        created_by_id=getattr(actor, "id", None),
        created_at=now,
        updated_at=now,
    )
    db.session.add(media)
    db.session.flush()
    audit.record(
        actor, "archive.media.add", "archive_media", media.id, now=now, after=media_snapshot(media)
    )
    schedule_processing(media)
    return media


def schedule_processing(media: Media) -> None:
    background.process_media.after_commit(media.id)


def correct_text(actor, media: Media, text: str | None, *, now: datetime) -> Media:
    """Set (or with None, clear) the archivist's correction of the OCR text."""
    before = {"corrected_text": media.corrected_text}
    media.corrected_text = text
    media.corrected_by_id = getattr(actor, "id", None) if text is not None else None
    media.corrected_at = now if text is not None else None
    media.updated_at = now
    db.session.flush()
    audit.record(
        actor,
        "archive.media.correct_text",
        "archive_media",
        media.id,
        now=now,
        before=before,
        after={"corrected_text": text},
    )
    queue_index(media.record_id)
    return media


def retry(actor, media: Media, *, now: datetime) -> Media:
    """Process again: after a failure or after OCR was unavailable, from the start; or take
    up processing whose job died (``media_processing.is_stalled``) after its last kept step.
    Processing that a job holds, or that waits for its job, is left alone (409)."""
    if media.status == "processing":
        if not media_processing.is_stalled(media, now):
            raise Conflict(
                f"Media {media.id} is being processed (or waits for its job); only failed "
                "or stuck processing can be retried",
                errors={"status": [media.status]},
            )
    elif media.status == "failed" or media.ocr_status in ("failed", "unavailable"):
        media_processing.start_over(media)
    else:
        raise Conflict(
            f"Media {media.id} is {media.status}; only failed or stuck processing can be retried",
            errors={"status": [media.status]},
        )
    media.status = "processing"
    media.failure_reason = None
    media.updated_at = now
    db.session.flush()
    audit.record(actor, "archive.media.retry", "archive_media", media.id, now=now)
    schedule_processing(media)
    return media


def rerun_ocr(actor, media: Media, *, now: datetime) -> Media:
    """Read the text of a processed item again (a better Tesseract, a fixed page): its OCR
    starts over after commit, its images are kept, and an archivist's correction stays the
    text searched until it is cleared. A failed item is processed again from the start; one
    being processed is left alone (409)."""
    if media.status == "processing":
        raise Conflict(
            f"Media {media.id} is being processed; its text can be read again once it ends",
            errors={"status": [media.status]},
        )
    if media.status == "failed":
        media_processing.start_over(media)
    else:
        media_processing.read_again(media)
    media.status = "processing"
    media.failure_reason = None
    media.updated_at = now
    db.session.flush()
    audit.record(actor, "archive.media.rerun_ocr", "archive_media", media.id, now=now)
    schedule_processing(media)
    return media


def delete_media(actor, media: Media, *, now: datetime, settings: ArchiveSettings) -> None:
    audit.record(
        actor,
        "archive.media.delete",
        "archive_media",
        media.id,
        now=now,
        before=media_snapshot(media),
    )
    record_id = media.record_id
    db.session.delete(media)
    db.session.flush()
    forget_files(media, settings.media_dir)
    queue_index(record_id)
