"""``flask --app wsgi archive reindex``: rebuild the search index from the database."""

from __future__ import annotations

import time

import click
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.extensions import db

BATCH = 256


def all_documents(batch: int = BATCH):
    """Every record's document, read in id order a batch at a time (steady memory)."""
    from archive.documents import record_document
    from archive.models import Record

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


def reindex_all(base: str, *, limitmb: int) -> dict:
    """Build a new index generation from the database, swap it in, then catch up with
    records changed or deleted while it was being built (their jobs wrote the old one)."""
    from archive.documents import record_document
    from archive.models import Record
    from archive.search import index

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
    db.session.rollback()
    return {
        "records": count,
        "caught_up": len(changed),
        "removed": len(gone),
        "seconds": round(time.monotonic() - started, 2),
    }


@click.command("reindex")
def reindex_command():
    """Rebuild the search index from the database (a fresh copy, swapped in when complete)."""
    summary = reindex_all(
        current_app.config["INDEX_DIR"], limitmb=current_app.config["SEARCH_INDEX_LIMITMB"]
    )
    click.echo(
        f"indexed {summary['records']} records in {summary['seconds']} s "
        f"(caught up {summary['caught_up']}, removed {summary['removed']})"
    )
