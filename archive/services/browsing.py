"""The public archive around search: a published record with the records related to it, the
collections and how many records each holds, the records published last. Only published
records take part: for everyone else a draft or withdrawn record does not exist."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, or_, select, true

from archive.models import Record, RecordSubject
from archive.services.records import PublicView, collection_names, find_by_identifier
from core.errors import NotFound
from core.extensions import db

RELATED_LIMIT = 6
RECENT_LIMIT = 4


@dataclass
class RecordPage:
    """A published record as the public sees it, and records that share something with it."""

    record: PublicView
    related: list[PublicView]


def published_record(identifier: str, *, related_limit: int = RELATED_LIMIT) -> RecordPage:
    """The published record with this identifier and its related records; 404 when there is
    none, or when it is not published (no probing for drafts)."""
    record = find_by_identifier(identifier)
    if record is None or not record.is_published:
        raise NotFound(f"Record {identifier} not found")
    related = related_records(record, limit=related_limit)
    return RecordPage(PublicView(record), [PublicView(r) for r in related])


def related_records(record: Record, *, limit: int = RELATED_LIMIT) -> list[Record]:
    """Other published records with a subject, the place or a collection of ``record``; those
    sharing the most come first, then the newest."""
    subjects = list(record.subjects)
    collections = list(record.collections or [])
    shares, score = [], []
    if subjects:
        shared = select(RecordSubject.record_id).where(RecordSubject.name.in_(subjects))
        shares.append(Record.id.in_(shared))
        score.append(
            select(func.count())
            .select_from(RecordSubject)
            .where(RecordSubject.record_id == Record.id, RecordSubject.name.in_(subjects))
            .scalar_subquery()
        )
    if record.place:
        shares.append(Record.place == record.place)
        score.append(case((Record.place == record.place, 1), else_=0))
    if collections:
        names = collection_names(Record.collections)
        in_common = (
            select(func.count())
            .select_from(names)
            .where(names.c.value.in_(collections))
            .scalar_subquery()
        )
        shares.append(in_common > 0)
        score.append(in_common)
    if not shares:
        return []
    query = (
        select(Record)
        .where(Record.visibility == "published", Record.id != record.id)
        .where(shares[0] if len(shares) == 1 else or_(*shares))
        .order_by(sum(score[1:], score[0]).desc(), Record.published_at.desc(), Record.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class Collection:
    name: str
    count: int


def collections() -> list[Collection]:
    """Every collection that holds a published record, with how many it holds, by name."""
    names = collection_names(Record.collections)
    rows = db.session.execute(
        select(names.c.value, func.count(func.distinct(Record.id)))
        .select_from(Record)
        .join(names, true())
        .where(Record.visibility == "published")
        .group_by(names.c.value)
    ).all()
    return sorted((Collection(str(name), count) for name, count in rows), key=lambda c: c.name)


def recently_published(limit: int = RECENT_LIMIT) -> list[PublicView]:
    """The records published last (the public view of each)."""
    query = (
        select(Record)
        .where(Record.visibility == "published")
        .order_by(Record.published_at.desc(), Record.id.desc())
        .limit(limit)
    )
    return [PublicView(record) for record in db.session.scalars(query)]
