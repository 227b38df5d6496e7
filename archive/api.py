"""Records and media over HTTP. Archivists manage everything; the public reads published
records and their images."""

from __future__ import annotations

from flask import g, send_file

from archive.models import Media
from archive.schemas import (
    MediaSchema,
    MediaUpdateSchema,
    RecordCreateSchema,
    RecordQuerySchema,
    RecordSchema,
    RecordUpdateSchema,
    StaleRecordErrorSchema,
    UnsupportedUploadErrorSchema,
    UploadSchema,
    UploadTooLargeErrorSchema,
)
from archive.services import media as media_service
from archive.services import records as record_service
from archive.settings import ArchiveSettings
from core.auth import current_user
from core.clock import now
from core.http import Blueprint, paginated
from core.settings import settings_of

blp = Blueprint(
    "archive", __name__, url_prefix="/api/archive", description="Local-culture archive records"
)
STAFF = ("archivist",)


def is_archivist() -> bool:
    user = current_user()
    return user is not None and user.has_any_role(STAFF)


# --- records -----------------------------------------------------------------------------


@blp.get("/records")
@blp.arguments(RecordQuerySchema, location="query")
@blp.response(200, RecordSchema(many=True))
@blp.paginate()
def list_records(query, pagination_parameters):
    """Records, newest first. The public sees published records; archivists see all and may
    filter by visibility, unreadable dates or media status."""
    staff = is_archivist()
    stmt = record_service.list_records(query, may_see_unpublished=staff)
    found = paginated(stmt, pagination_parameters)
    return [record_service.as_seen(record, staff) for record in found]


@blp.post("/records")
@blp.auth(*STAFF)
@blp.arguments(RecordCreateSchema)
@blp.response(201, RecordSchema)
@blp.errors(409)
def create_record(data):
    """Describe a new record (a draft until published)."""
    return record_service.create_record(g.user, data, now=now())


@blp.get("/records/<int:record_id>")
@blp.response(200, RecordSchema)
@blp.errors(404)
def get_record(record_id):
    """One record: published for everyone, any for archivists."""
    staff = is_archivist()
    return record_service.as_seen(record_service.visible_record(record_id, staff), staff)


@blp.patch("/records/<int:record_id>")
@blp.auth(*STAFF)
@blp.arguments(RecordUpdateSchema)
@blp.response(200, RecordSchema)
@blp.errors(404, 409, detailed={409: StaleRecordErrorSchema})
def update_record(data, record_id):
    """Change a record; a real change makes a new version. Send ``version`` to refuse the
    change (409) when someone else changed the record meanwhile."""
    record = record_service.get_record(record_id)
    expected = data.pop("version", None)
    record_service.update_record(g.user, record, data, now=now(), expected_version=expected)
    return record


@blp.delete("/records/<int:record_id>")
@blp.auth(*STAFF)
@blp.response(204)
@blp.errors(404)
def delete_record(record_id):
    """Delete a record with its media files."""
    record = record_service.get_record(record_id)
    media_dir = settings_of(ArchiveSettings).media_dir
    record_service.delete_record(g.user, record, now=now(), media_dir=media_dir)


@blp.post("/records/<int:record_id>/publish")
@blp.auth(*STAFF)
@blp.response(200, RecordSchema)
@blp.errors(404, 409, 422)
def publish_record(record_id):
    """Make a draft or withdrawn record public. Refused (422 ``not_ready_to_publish``, each
    missing item named in ``errors``) unless it has a title, a readable date, a rights
    statement, and at least one image or a transcription."""
    return record_service.publish(g.user, record_service.get_record(record_id), now=now())


@blp.post("/records/<int:record_id>/withdraw")
@blp.auth(*STAFF)
@blp.response(200, RecordSchema)
@blp.errors(404, 409)
def withdraw_record(record_id):
    """Take a published record out of public view."""
    return record_service.withdraw(g.user, record_service.get_record(record_id), now=now())


# --- media -------------------------------------------------------------------------------


@blp.get("/records/<int:record_id>/media")
@blp.response(200, MediaSchema(many=True))
@blp.errors(404)
def list_media(record_id):
    """The record's media (the public sees those ready)."""
    staff = is_archivist()
    return record_service.as_seen(record_service.visible_record(record_id, staff), staff).media


@blp.post("/records/<int:record_id>/media")
@blp.auth(*STAFF)
@blp.arguments(UploadSchema, location="files")
@blp.response(202, MediaSchema)
@blp.errors(
    404,
    413,
    415,
    detailed={413: UploadTooLargeErrorSchema, 415: UnsupportedUploadErrorSchema},
)
def upload_media(files, record_id):
    """Add a scan (multipart field ``file``: JPEG, PNG, TIFF incl. multi-page, WebP).
    Answers 202 with status ``processing``; thumbnails and OCR follow in the background.
    Refused: larger than the limit (413), not an accepted image (415), damaged or a
    decompression bomb (422). A refused file is not kept."""
    # The answer is the state at acceptance: it is serialized before the unit of work
    # commits, so before the job runs (at once, with an immediate queue); the client learns
    # the outcome by reading the media again.
    upload = files["file"]
    return media_service.upload(
        g.user,
        record_service.get_record(record_id),
        upload.stream,
        upload.filename,
        now=now(),
        settings=settings_of(ArchiveSettings),
    )


@blp.get("/records/<int:record_id>/media/<int:media_id>")
@blp.response(200, MediaSchema)
@blp.errors(404)
def get_media(record_id, media_id):
    """One media item with its processing state and text."""
    return media_service.visible_media(record_id, media_id, is_archivist())


@blp.patch("/records/<int:record_id>/media/<int:media_id>")
@blp.auth(*STAFF)
@blp.arguments(MediaUpdateSchema)
@blp.response(200, MediaSchema)
@blp.errors(404)
def correct_media_text(data, record_id, media_id):
    """Correct the OCR text (the corrected text is what search indexes); null clears it."""
    media = media_service.get_media(record_id, media_id)
    return media_service.correct_text(g.user, media, data["corrected_text"], now=now())


@blp.delete("/records/<int:record_id>/media/<int:media_id>")
@blp.auth(*STAFF)
@blp.response(204)
@blp.errors(404)
def delete_media(record_id, media_id):
    """Remove a media item (its files go once no other item shares the same bytes)."""
    media = media_service.get_media(record_id, media_id)
    media_service.delete_media(g.user, media, now=now(), settings=settings_of(ArchiveSettings))


@blp.post("/records/<int:record_id>/media/<int:media_id>/retry")
@blp.auth(*STAFF)
@blp.response(202, MediaSchema)
@blp.errors(404, 409)
def retry_media(record_id, media_id):
    """Process a failed media item again (derivatives and OCR)."""
    return media_service.retry(g.user, media_service.get_media(record_id, media_id), now=now())


@blp.post("/records/<int:record_id>/media/<int:media_id>/ocr")
@blp.auth(*STAFF)
@blp.response(202, MediaSchema)
@blp.errors(404, 409)
def rerun_ocr(record_id, media_id):
    """Read a processed item's text again (its images are kept; a correction stays the text
    searched until cleared); a failed item is processed again from the start. One being
    processed → 409."""
    return media_service.rerun_ocr(g.user, media_service.get_media(record_id, media_id), now=now())


def _send(media: Media, kind: str, mimetype: str, **kwargs):
    path = media_service.media_file(media, kind, settings_of(ArchiveSettings).media_dir)
    response = send_file(path, mimetype=mimetype, conditional=True, etag=True, **kwargs)
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Caches keep an image but ask again (ETag, a cheap 304) before each use: the moment a
    # record is withdrawn its images answer 404 everywhere, instead of living on for an hour
    # in shared caches. Unpublished images stay out of shared caches altogether.
    audience = "public" if media.record.is_published else "private"
    response.headers["Cache-Control"] = f"{audience}, no-cache"
    return response


@blp.get("/records/<int:record_id>/media/<int:media_id>/thumbnail")
@blp.response(200, description="JPEG, at most 256 px, without metadata")
@blp.errors(404)
def thumbnail(record_id, media_id):
    """Thumbnail (public when the record is published)."""
    media = media_service.visible_media(record_id, media_id, is_archivist())
    return _send(media, "thumbnail", "image/jpeg")


@blp.get("/records/<int:record_id>/media/<int:media_id>/display")
@blp.response(200, description="JPEG, at most 1600 px, without metadata")
@blp.errors(404)
def display(record_id, media_id):
    """Display image (public when the record is published)."""
    media = media_service.visible_media(record_id, media_id, is_archivist())
    return _send(media, "display", "image/jpeg")


@blp.get("/records/<int:record_id>/media/<int:media_id>/original")
@blp.auth(*STAFF)
@blp.response(200, description="The original file, byte for byte")
@blp.errors(404)
def original(record_id, media_id):
    """The original as uploaded (archivists; it may carry EXIF and GPS data)."""
    media = media_service.get_media(record_id, media_id)
    return _send(
        media,
        "original",
        media.mime,
        download_name=media.original_filename or f"{media.sha256}",
        as_attachment=True,
    )
