"""The files of media items on disk: derivatives made from the originals, the files of
deleted media, and the checks and rebuilds run over the whole collection."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from archive.models import Media
from archive.services import imaging, storage
from archive.settings import ArchiveSettings
from core.extensions import db


def forget_files(media: Media, media_dir: str) -> None:
    """Remove a deleted media item's files after commit (a shared original stays while
    another media item still points at the same bytes)."""
    for relpath in (media.thumbnail_path, media.display_path):
        if relpath:
            storage.remove_after_commit(db.session, storage.absolute(media_dir, relpath))
    others = db.session.scalar(
        select(func.count())
        .select_from(Media)
        .where(Media.sha256 == media.sha256, Media.id != media.id)
    )
    if not others:
        storage.remove_after_commit(db.session, storage.absolute(media_dir, media.original_path))


def build_derivatives(media: Media, settings: ArchiveSettings) -> None:
    source = storage.absolute(settings.media_dir, media.original_path)
    thumbnail = storage.derivative_relpath(media.id, "thumbnail")
    display = storage.derivative_relpath(media.id, "display")
    imaging.make_derivatives(
        source,
        storage.absolute(settings.media_dir, thumbnail),
        storage.absolute(settings.media_dir, display),
        thumbnail_px=settings.thumbnail_px,
        display_px=settings.display_px,
    )
    media.thumbnail_path, media.display_path = thumbnail, display


def _media_batches(query, size: int = 200):
    """Media in id order, a batch at a time (the session is emptied between batches)."""
    last_id = 0
    while True:
        page = query.where(Media.id > last_id).order_by(Media.id).limit(size)
        items = db.session.scalars(page).all()
        if not items:
            return
        yield items
        last_id = items[-1].id
        db.session.expunge_all()


def regenerate_derivatives(
    settings: ArchiveSettings,
    *,
    record_id: int | None = None,
    on_failure: Callable[[Media, Exception], None] | None = None,
) -> tuple[int, int]:
    """Rebuild every thumbnail and display image (of one record's media, with
    ``record_id``) from the originals; returns (rebuilt, failed). A file that fails is
    reported through ``on_failure`` and the rest go on.

    Commits after every batch: rebuilding a whole collection in one transaction would hold
    the database's write lock (SQLite has only one) for as long as the images take."""
    query = select(Media)
    if record_id is not None:
        query = query.where(Media.record_id == record_id)
    done = failed = 0
    for batch in _media_batches(query):
        for media in batch:
            try:
                build_derivatives(media, settings)
                done += 1
            except Exception as error:
                failed += 1
                if on_failure is not None:
                    on_failure(media, error)
        db.session.commit()
    return done, failed


def verify_fixity(media_dir: str) -> dict:
    """Re-hash every original and compare with the SHA-256 recorded at ingest:
    ``{"checked": n, "missing": [...], "mismatched": [...]}``."""
    checked, missing, mismatched = 0, [], []
    for batch in _media_batches(select(Media)):
        for media in batch:
            checked += 1
            path = storage.absolute(media_dir, media.original_path)
            entry = {"media_id": media.id, "record_id": media.record_id, "path": str(path)}
            if not path.is_file():
                missing.append(entry)
                continue
            actual = storage.sha256_of(path)
            if actual != media.sha256:
                mismatched.append({**entry, "expected": media.sha256, "actual": actual})
    return {"checked": checked, "missing": missing, "mismatched": mismatched}
