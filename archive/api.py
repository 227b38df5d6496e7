"""Records and media over HTTP. Archivists manage everything; the public reads published
records and their images."""

from __future__ import annotations

from flask import current_app, g, jsonify, send_file

from archive import media as media_service
from archive import records as record_service
from archive import storage
from archive.models import Media, Record
from archive.schemas import (
    MediaSchema,
    MediaUpdateSchema,
    RecordCreateSchema,
    RecordQuerySchema,
    RecordSchema,
    RecordUpdateSchema,
    UploadSchema,
)
from archive.settings import ArchiveSettings
from core.auth import current_user
from core.clock import now
from core.errors import NotFound
from core.extensions import db
from core.http import Blueprint

blp = Blueprint(
    "archive", __name__, url_prefix="/api/archive", description="Local-culture archive records"
)
STAFF = ("archivist",)


def settings() -> ArchiveSettings:
    return ArchiveSettings.from_config(current_app.config)


def is_archivist() -> bool:
    user = current_user()
    return user is not None and user.has_any_role(STAFF)


class PublicView:
    """A published record as the public sees it: only media that are ready, no staff ids."""

    def __init__(self, record: Record):
        self._record = record

    def __getattr__(self, name):
        return getattr(self._record, name)

    @property
    def media(self):
        return [item for item in self._record.media if item.status == "ready"]

    # Which staff account wrote a record is internal.
    created_by_id = None
    updated_by_id = None


def _shown(record: Record):
    return record if is_archivist() else PublicView(record)


def _readable_record(record_id: int) -> Record:
    return record_service.visible_record(record_id, is_archivist())


# --- records -----------------------------------------------------------------------------


@blp.get("/records")
@blp.arguments(RecordQuerySchema, location="query")
@blp.response(200, RecordSchema(many=True))
@blp.paginate()
def list_records(query, pagination_parameters):
    """Records, newest first. The public sees published records; archivists see all and may
    filter by visibility, unreadable dates or media status."""
    if not is_archivist():
        query = {**query, "visibility": "published", "date_unparsed": None, "media_status": None}
    stmt = record_service.list_records(query)
    pagination_parameters.item_count = record_service.count(stmt)
    p = pagination_parameters
    found = db.session.scalars(stmt.offset(p.first_item).limit(p.page_size)).all()
    return [_shown(record) for record in found]


@blp.post("/records")
@blp.auth(*STAFF)
@blp.arguments(RecordCreateSchema)
@blp.response(201, RecordSchema)
@blp.errors(409)
def create_record(data):
    """Describe a new record (a draft until published)."""
    record = record_service.create_record(g.user, data, now=now())
    db.session.commit()
    return record


@blp.get("/records/<int:record_id>")
@blp.response(200, RecordSchema)
@blp.errors(404)
def get_record(record_id):
    """One record: published for everyone, any for archivists."""
    return _shown(_readable_record(record_id))


@blp.patch("/records/<int:record_id>")
@blp.auth(*STAFF)
@blp.arguments(RecordUpdateSchema)
@blp.response(200, RecordSchema)
@blp.errors(404, 409)
def update_record(data, record_id):
    """Change a record; a real change makes a new version. Send ``version`` to refuse the
    change (409) when someone else changed the record meanwhile."""
    record = record_service.get_record(record_id)
    expected = data.pop("version", None)
    record_service.update_record(g.user, record, data, now=now(), expected_version=expected)
    db.session.commit()
    return record


@blp.delete("/records/<int:record_id>")
@blp.auth(*STAFF)
@blp.response(204)
@blp.errors(404)
def delete_record(record_id):
    """Delete a record with its media files."""
    record = record_service.get_record(record_id)
    record_service.delete_record(g.user, record, now=now(), media_dir=settings().media_dir)
    db.session.commit()


@blp.post("/records/<int:record_id>/publish")
@blp.auth(*STAFF)
@blp.response(200, RecordSchema)
@blp.errors(404, 409)
def publish_record(record_id):
    """Make a draft or withdrawn record public."""
    record = record_service.publish(g.user, record_service.get_record(record_id), now=now())
    db.session.commit()
    return record


@blp.post("/records/<int:record_id>/withdraw")
@blp.auth(*STAFF)
@blp.response(200, RecordSchema)
@blp.errors(404, 409)
def withdraw_record(record_id):
    """Take a published record out of public view."""
    record = record_service.withdraw(g.user, record_service.get_record(record_id), now=now())
    db.session.commit()
    return record


# --- media -------------------------------------------------------------------------------


@blp.get("/records/<int:record_id>/media")
@blp.response(200, MediaSchema(many=True))
@blp.errors(404)
def list_media(record_id):
    """The record's media (the public sees those ready)."""
    return _shown(_readable_record(record_id)).media


@blp.post("/records/<int:record_id>/media")
@blp.auth(*STAFF)
@blp.arguments(UploadSchema, location="files")
@blp.response(202, MediaSchema)
@blp.errors(404, 413, 415)
def upload_media(files, record_id):
    """Add a scan (multipart field ``file``: JPEG, PNG, TIFF incl. multi-page, WebP).
    Answers 202 with status ``processing``; thumbnails and OCR follow in the background.
    Refused: larger than the limit (413), not an accepted image (415), damaged or a
    decompression bomb (422). A refused file is not kept."""
    record = record_service.get_record(record_id)
    upload = files["file"]
    config = settings()
    staged = media_service.stage_upload(upload.stream, config)
    media = media_service.ingest(
        g.user, record, staged, upload.filename, now=now(), settings=config
    )
    return _accepted(media)


def _accepted(media: Media):
    """202 with the state at acceptance: the job may finish before the answer is sent
    (immediate queue), but the client learns the outcome by reading the media again."""
    body = MediaSchema().dump(media)
    db.session.commit()
    return jsonify(body), 202


def _readable_media(record_id: int, media_id: int) -> Media:
    record = _readable_record(record_id)
    media = media_service.get_media(record, media_id)
    if media.status != "ready" and not is_archivist():
        raise NotFound(f"Media {media_id} of record {record_id} not found")
    return media


@blp.get("/records/<int:record_id>/media/<int:media_id>")
@blp.response(200, MediaSchema)
@blp.errors(404)
def get_media(record_id, media_id):
    """One media item with its processing state and text."""
    return _readable_media(record_id, media_id)


@blp.patch("/records/<int:record_id>/media/<int:media_id>")
@blp.auth(*STAFF)
@blp.arguments(MediaUpdateSchema)
@blp.response(200, MediaSchema)
@blp.errors(404)
def correct_media_text(data, record_id, media_id):
    """Correct the OCR text (the corrected text is what search indexes); null clears it."""
    media = media_service.get_media(record_service.get_record(record_id), media_id)
    media_service.correct_text(g.user, media, data["corrected_text"], now=now())
    db.session.commit()
    return media


@blp.delete("/records/<int:record_id>/media/<int:media_id>")
@blp.auth(*STAFF)
@blp.response(204)
@blp.errors(404)
def delete_media(record_id, media_id):
    """Remove a media item (its files go once no other item shares the same bytes)."""
    media = media_service.get_media(record_service.get_record(record_id), media_id)
    media_service.delete_media(g.user, media, now=now(), settings=settings())
    db.session.commit()


@blp.post("/records/<int:record_id>/media/<int:media_id>/retry")
@blp.auth(*STAFF)
@blp.response(202, MediaSchema)
@blp.errors(404, 409)
def retry_media(record_id, media_id):
    """Process a failed media item again (derivatives and OCR)."""
    media = media_service.get_media(record_service.get_record(record_id), media_id)
    media_service.retry(g.user, media, now=now())
    return _accepted(media)


def _send(media: Media, relpath: str | None, mimetype: str, **kwargs):
    if not relpath:
        raise NotFound(f"Media {media.id} has no such file (yet)")
    path = storage.absolute(settings().media_dir, relpath)
    if not path.is_file():
        raise NotFound(f"The file of media {media.id} is missing")
    response = send_file(path, mimetype=mimetype, conditional=True, etag=True, **kwargs)
    response.headers["X-Content-Type-Options"] = "nosniff"
    if not media.record.is_published:  # shared caches must not keep unpublished images
        response.headers["Cache-Control"] = "private, no-cache"
    return response


@blp.get("/records/<int:record_id>/media/<int:media_id>/thumbnail")
@blp.response(200, description="JPEG, at most 256 px, without metadata")
@blp.errors(404)
def thumbnail(record_id, media_id):
    """Thumbnail (public when the record is published)."""
    media = _readable_media(record_id, media_id)
    return _send(media, media.thumbnail_path, "image/jpeg", max_age=3600)


@blp.get("/records/<int:record_id>/media/<int:media_id>/display")
@blp.response(200, description="JPEG, at most 1600 px, without metadata")
@blp.errors(404)
def display(record_id, media_id):
    """Display image (public when the record is published)."""
    media = _readable_media(record_id, media_id)
    return _send(media, media.display_path, "image/jpeg", max_age=3600)


@blp.get("/records/<int:record_id>/media/<int:media_id>/original")
@blp.auth(*STAFF)
@blp.response(200, description="The original file, byte for byte")
@blp.errors(404)
def original(record_id, media_id):
    """The original as uploaded (archivists; it may carry EXIF and GPS data)."""
    media = media_service.get_media(record_service.get_record(record_id), media_id)
    return _send(
        media,
        media.original_path,
        media.mime,
        download_name=media.original_filename or f"{media.sha256}",
        as_attachment=True,
    )
