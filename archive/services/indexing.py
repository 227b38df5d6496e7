"""Writing the search index: the records a transaction changed, or every record at once.

Only the job consumer (``index_records``, ``index_record``) and the reindex command write the
index, never a web worker; what the index sees of a record is ``documents.record_document``.
"""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from archive.models import Record
from archive.search import index
from archive.services.documents import record_document
from core.extensions import db

BATCH = 256


def index_record(record_id: int, index_dir: str) -> None:
    """(Re)index one record, or remove it from the index when it no longer exists."""
    record = db.session.get(Record, record_id)
    if record is None:
        index.update_documents(index_dir, [], delete_ids=[record_id])
    else:
        index.update_documents(index_dir, [record_document(record)])


def index_records(record_ids: list[int], index_dir: str) -> None:
    """(Re)index many records with one commit of the index; those gone leave it."""
    wanted = sorted(set(record_ids))
    documents, found = [], set()
    for start in range(0, len(wanted), BATCH):
        records = db.session.scalars(
            select(Record)
            .where(Record.id.in_(wanted[start : start + BATCH]))
            .options(selectinload(Record.media), selectinload(Record.subject_rows))
        ).all()
        documents += [record_document(record) for record in records]
        found.update(record.id for record in records)
    index.update_documents(index_dir, documents, delete_ids=[i for i in wanted if i not in found])


def all_documents(batch: int = BATCH):
    """Every record's document, read in id order a batch at a time (steady memory)."""
    last_id = 0
    while True:
        records = db.session.scalars(
            select(Record)
            .where(Record.id > last_id)
            .order_by(Record.id)
            .limit(batch)
            .options(selectinload(Record.media), selectinload(Record.subject_rows))
        ).all()
        if not records:
            return
        for record in records:
            yield record_document(record)
        last_id = records[-1].id
        db.session.expunge_all()


def needs_rebuild(base: str) -> bool:
    """No index yet, or one built by an older version with other fields."""
    return index.current_path(base) is None or index.is_stale(base)


def reindex_all(base: str, *, limitmb: int) -> dict:
    """Build a new index generation from the database, swap it in, then catch up with
    records changed or deleted while it was being built (their jobs wrote the old one)."""
    started = time.monotonic()
    since = db.session.scalar(select(db.func.max(Record.updated_at)))
    count = index.rebuild(base, all_documents(), limitmb=limitmb)
    changed = []
    if since is not None:
        changed = db.session.scalars(select(Record).where(Record.updated_at > since)).all()
    existing = set(db.session.scalars(select(Record.id)))
    gone = index.indexed_ids(base) - existing
    if changed or gone:
        index.update_documents(base, [record_document(r) for r in changed], delete_ids=gone)
    return {
        "records": count,
        "caught_up": len(changed),
        "removed": len(gone),
        "seconds": round(time.monotonic() - started, 2),
    }
