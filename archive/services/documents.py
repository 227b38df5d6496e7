"""The searchable document of a record: what the search index sees.

Contract between records/media and search:

- ``record_document(record)`` below is the only view of a record the index uses.
- Whenever a record or the text of its media changes (create, update, publish, withdraw,
  delete, OCR finished, text corrected, CSV import), the change asks for the
  ``index_records`` job (``archive.jobs``) after commit (``queue_index`` below, through
  ``archive.services.background``): one job per transaction with every record it changed
  (an import queues index work per batch, not per record). That job re-reads the records
  and (re)indexes them, or removes from the index those that no longer exist. Only the job
  consumer writes the index.
- With ``SEARCH_BACKEND=postgres`` there is no job: ``queue_index`` gathers the records and
  ``indexing`` writes their terms in the same transaction, just before it commits, so every
  app server's search sees the change exactly when the record's own change is committed.
- Visibility is part of the document: the index holds every record and search filters on it.
"""

from __future__ import annotations

import weakref

from archive.services import background
from core.extensions import db

# Session key: the records whose search terms this transaction writes before it commits.
CHANGED_RECORDS = "archive_search_changed"
# Database engines of the apps whose search is in PostgreSQL (set at start-up).
_in_transaction: weakref.WeakSet = weakref.WeakSet()


def index_in_transaction(engine, enabled: bool = True) -> None:
    """Write the search terms of records changed through ``engine`` in their own transaction
    (``SEARCH_BACKEND=postgres``), or leave them to the index job (Whoosh)."""
    if enabled:
        _in_transaction.add(engine)
    else:
        _in_transaction.discard(engine)


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
        "thumbnail_url": record.thumbnail_url,
        "updated_at": record.updated_at,
    }


def queue_index(record_id: int) -> None:
    """Reindex the record once the current transaction commits: one job for all the records
    of a transaction (an import's batch is indexed with one commit of the index). On the
    PostgreSQL search, the record's terms are written before this transaction commits."""
    if db.session.get_bind() in _in_transaction:
        db.session.info.setdefault(CHANGED_RECORDS, set()).add(record_id)
    else:
        background.index_records.after_commit_gathered(record_id)
