"""The files of media items on disk: derivatives made from the originals, the files of
deleted media, and the checks and rebuilds run over the whole collection."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select, update

from archive.models import Media
from archive.services import iiif_images, imaging, storage
from archive.settings import ArchiveSettings
from core.extensions import db
from core.transactions import snapshot


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
        storage.remove_folder_after_commit(
            db.session, iiif_images.pyramid_folder(media_dir, media.sha256)
        )


def make_derivatives(
    media_id: int, original_path: str, settings: ArchiveSettings
) -> tuple[str, str]:
    """Write the thumbnail and display image of a media item from its original; returns
    their paths (relative to MEDIA_DIR). Touches no database: processing runs it with no
    transaction open."""
    thumbnail = storage.derivative_relpath(media_id, "thumbnail")
    display = storage.derivative_relpath(media_id, "display")
    imaging.make_derivatives(
        storage.absolute(settings.media_dir, original_path),
        storage.absolute(settings.media_dir, thumbnail),
        storage.absolute(settings.media_dir, display),
        thumbnail_px=settings.thumbnail_px,
        display_px=settings.display_px,
    )
    return thumbnail, display


def _media_batches(query, size: int = 200):
    """Media in id order, a batch at a time, each read on a snapshot and let go by the session:
    the slow work done with them (images, hashes) holds no transaction open, so no writer
    waits for it (SQLite has one write lock for the whole database)."""
    last_id = 0
    while True:
        with snapshot():
            page = query.where(Media.id > last_id).order_by(Media.id).limit(size)
            items = db.session.scalars(page).all()
            db.session.expunge_all()  # keeps what was read when the snapshot ends
        if not items:
            return
        yield items
        last_id = items[-1].id


def regenerate_derivatives(
    settings: ArchiveSettings,
    *,
    record_id: int | None = None,
    on_failure: Callable[[Media, Exception], None] | None = None,
) -> tuple[int, int]:
    """Rebuild every thumbnail and display image (of one record's media, with
    ``record_id``) from the originals; returns (rebuilt, failed). A file that fails is
    reported through ``on_failure`` and the rest go on.

    The images of a batch are made with no transaction open, and their paths written in a
    short one after them, committed: the write lock is never held while images are made.
    Running it again rebuilds the same files, so a run that died is simply run again."""
    query = select(Media)
    if record_id is not None:
        query = query.where(Media.record_id == record_id)
    done = failed = 0
    for batch in _media_batches(query):
        made = []
        for media in batch:
            try:
                made.append((media.id, make_derivatives(media.id, media.original_path, settings)))
                done += 1
            except Exception as error:
                failed += 1
                if on_failure is not None:
                    on_failure(media, error)
        for media_id, (thumbnail, display) in made:
            db.session.execute(
                update(Media)
                .where(Media.id == media_id)
                .values(thumbnail_path=thumbnail, display_path=display)
            )
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
