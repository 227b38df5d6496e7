"""The searchable document of a record: what the search index sees.

Contract between records/media and search:

- ``record_document(record)`` below is the only view of a record the index uses.
- Whenever a record or the text of its media changes (create, update, publish, withdraw,
  delete, OCR finished, text corrected, CSV import), the change enqueues
  ``archive.search.jobs.index_record(record_id)`` after commit (``queue_index`` below, through
  ``core.jobs.after_commit``). That job re-reads the record and (re)indexes it, or removes it
  from the index when the record no longer exists. Only the job consumer writes the index.
- Visibility is part of the document: the index holds every record and search filters on it.
"""

from __future__ import annotations


def thumbnail_url(record) -> str | None:
    for media in record.media:
        if media.status == "ready" and media.thumbnail_path:
            return f"/api/archive/records/{record.id}/media/{media.id}/thumbnail"
    return None


def record_text(record) -> str:
    """The transcription, then each media item's corrected text (or its OCR text)."""
    parts = [record.transcription or ""]
    parts.extend(media.text or "" for media in record.media)
    return "\n\n".join(part.strip() for part in parts if part and part.strip())


def record_document(record) -> dict:
    """Keys: id, identifier, title, alt_title, description, creator, subjects (list[str]),
    place (str | None), collections (list[str]), type, year_from, year_to, date_text,
    visibility, text (transcription plus corrected-or-OCR text of every media item),
    thumbnail_url (str | None), updated_at."""
    return {
        "id": record.id,
        "identifier": record.identifier,
        "title": record.title,
        "alt_title": record.alt_title,
        "description": record.description,
        "creator": record.creator,
        "subjects": list(record.subjects),
        "place": record.place,
        "collections": list(record.collections or []),
        "type": record.type,
        "year_from": record.year_from,
        "year_to": record.year_to,
        "date_text": record.date_text,
        "visibility": record.visibility,
        "text": record_text(record),
        "thumbnail_url": thumbnail_url(record),
        "updated_at": record.updated_at,
    }


def queue_index(record_id: int) -> None:
    """Reindex the record once the current transaction commits (once per transaction)."""
    from archive.search.jobs import index_record
    from core.extensions import db
    from core.jobs import after_commit

    pending = db.session.info.get("after_commit", [])
    if any(job is index_record and args == (record_id,) for job, args, _ in pending):
        return
    after_commit(index_record, record_id)
