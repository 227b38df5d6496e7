"""Writing the search index: the records a transaction changed, or every record at once.

Whoosh (the default): only the job consumer (``index_records``, ``index_record``) and the
reindex command write the index, never a web worker. PostgreSQL (``SEARCH_BACKEND=postgres``,
``archive.search.pg_index``): the records a transaction changed (``documents.queue_index``)
have their terms written by that transaction itself, just before it commits
(``write_changed_records``). What the index sees of a record is ``documents.record_document``.
"""

from __future__ import annotations

import time

from sqlalchemy import event, select
from sqlalchemy.orm import Session, selectinload

from archive.models import Record
from archive.search import index, pg_index
from archive.services.documents import CHANGED_RECORDS, record_document
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


def needs_rebuild(settings) -> bool:
    """No index yet, or one built by an older version with other fields."""
    if settings.search_backend == "postgres":
        return postgres_problem() is not None
    base = settings.index_dir
    return index.current_path(base) is None or index.is_stale(base)


def reindex(settings) -> dict:
    """``archive reindex``: rebuild the index of the configured backend from the records."""
    if settings.search_backend == "postgres":
        return reindex_postgres()
    return reindex_all(settings.index_dir, limitmb=settings.search_index_limitmb)


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


# --- the PostgreSQL search: written in the record's own transaction ---


def write_records(session, record_ids, *, bulk: bool = False) -> int:
    """Write the search terms of ``record_ids`` as the records now are (removing those that
    no longer exist), in the session's transaction. The records' rows are locked first, in id
    order: two transactions writing the terms of one record (an OCR result and a corrected
    text of another page) then write one after the other, the second from what the first
    committed, never both from an older state."""
    wanted = sorted(set(record_ids))
    written = 0
    for start in range(0, len(wanted), BATCH):
        ids = wanted[start : start + BATCH]
        records = session.scalars(
            select(Record)
            .where(Record.id.in_(ids))
            .order_by(Record.id)
            .with_for_update(of=Record)
            .options(selectinload(Record.media), selectinload(Record.subject_rows))
            .execution_options(populate_existing=True)
        ).all()
        found = {record.id for record in records}
        documents = [record_document(record) for record in records]
        gone = [i for i in ids if i not in found]
        pg_index.write(session, documents, delete_ids=gone, bulk=bulk)
        written += len(documents)
    return written


@event.listens_for(Session, "before_commit")
def write_changed_records(session) -> None:
    """The terms of the records this transaction changed, written before it commits (a
    failure here fails the commit: the record and its terms go together or not at all)."""
    if session.in_nested_transaction():
        return
    changed = session.info.pop(CHANGED_RECORDS, None)
    if changed:
        write_records(session, changed)


@event.listens_for(Session, "after_soft_rollback")
def _forget_changed_records(session, previous_transaction) -> None:
    if not previous_transaction.nested:
        session.info.pop(CHANGED_RECORDS, None)


def reindex_postgres(*, batch: int = BATCH) -> dict:
    """Rebuild the PostgreSQL search tables from the records, a batch of records per
    transaction (each committed here: searches keep answering, from the old terms of the
    records not yet rewritten), then remove what belongs to no record, mark the tables
    current and VACUUM ANALYZE them. Changes made meanwhile write their own terms, under the
    same row locks."""
    started = time.monotonic()
    last_id, count = 0, 0
    while True:
        ids = db.session.scalars(
            select(Record.id).where(Record.id > last_id).order_by(Record.id).limit(batch)
        ).all()
        if not ids:
            break
        count += write_records(db.session, ids, bulk=True)
        db.session.commit()
        db.session.expunge_all()
        last_id = ids[-1]
    removed = pg_index.remove_missing(db.session, select(Record.id))
    pg_index.new_generation(db.session, layout=pg_index.LAYOUT)
    db.session.commit()
    pg_index.vacuum(db.engine)
    return {
        "records": count,
        "caught_up": 0,
        "removed": removed,
        "seconds": round(time.monotonic() - started, 2),
    }


def postgres_problem() -> str | None:
    """Why the PostgreSQL search tables cannot answer for every record, or None."""
    return pg_index.problem(db.session)
