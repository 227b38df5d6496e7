"""Record rules: create, change (new version), publish, withdraw, delete — all audited.

Harvesters (OAI-PMH, ``archive.services.oai``) see every record that was ever published: a
withdrawn one as deleted, and a deleted one through its tombstone, written here in the
transaction that deletes it (or that takes a published record's identifier away)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from archive.models import Media, Record, RecordSubject, RecordTombstone, clean_list
from archive.services.dates import overlap_clause, parse_date
from archive.services.documents import queue_index
from archive.services.media_files import forget_files
from core import audit, lookup
from core.errors import Conflict, NotFound, RuleViolation
from core.extensions import db

# Fields an archivist writes (everything else is derived or kept by the system).
EDITABLE = (
    "identifier",
    "title",
    "alt_title",
    "description",
    "creator",
    "contributor",
    "date_text",
    "type",
    "subjects",
    "place",
    "collections",
    "language",
    "rights",
    "source",
    "transcription",
)
TEXT_FIELDS = set(EDITABLE) - {"subjects", "collections", "type", "identifier", "title"}


def snapshot(record: Record) -> dict:
    """The audited state of a record."""
    data = {name: getattr(record, name) for name in EDITABLE}
    data["subjects"] = list(record.subjects)
    data["collections"] = list(record.collections or [])
    data.update(
        visibility=record.visibility,
        version=record.version,
        year_from=record.year_from,
        year_to=record.year_to,
        date_parsed=record.date_parsed,
    )
    return data


def _actor_id(actor) -> int | None:
    return getattr(actor, "id", None)


def get_record(record_id: int) -> Record:
    return lookup.get(Record, record_id)


def visible_record(record_id: int, may_see_unpublished: bool) -> Record:
    """Unpublished records do not exist for the public (404, not 403: no probing)."""
    record = lookup.find(Record, record_id)
    if record is None or (not record.is_published and not may_see_unpublished):
        raise NotFound(f"Record {record_id} not found")
    return record


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


def as_seen(record: Record, may_see_unpublished: bool):
    """The record itself for archivists, its public view for everyone else."""
    return record if may_see_unpublished else PublicView(record)


def find_by_identifier(identifier: str) -> Record | None:
    return db.session.scalar(select(Record).filter_by(identifier=identifier))


def _bury(identifier: str, collections, now: datetime) -> None:
    """Harvesters knew a record under ``identifier`` and it is gone: keep its tombstone (a
    newer one replaces an older one of the same identifier)."""
    tombstone = db.session.scalar(select(RecordTombstone).filter_by(identifier=identifier))
    if tombstone is None:
        tombstone = RecordTombstone(identifier=identifier)
        db.session.add(tombstone)
    tombstone.datestamp = now
    tombstone.collections = list(collections or [])


def _unbury(identifier: str) -> None:
    """A record harvesters see holds ``identifier`` again: its old tombstone goes."""
    db.session.execute(delete(RecordTombstone).where(RecordTombstone.identifier == identifier))


def _check_identifier_free(identifier: str, record_id: int | None) -> None:
    query = select(Record.id).filter_by(identifier=identifier)
    if record_id is not None:
        query = query.where(Record.id != record_id)
    if db.session.scalar(query) is not None:
        raise Conflict(
            f"A record with identifier {identifier} already exists",
            errors={"identifier": ["Already used by another record."]},
        )


def _set_subjects(record: Record, names) -> None:
    wanted = clean_list(names)
    existing = {row.name: row for row in record.subject_rows}
    rows = []
    for position, name in enumerate(wanted):
        row = existing.get(name) or RecordSubject(name=name)
        row.position = position
        rows.append(row)
    record.subject_rows = rows


def _apply(record: Record, data: dict) -> None:
    for name, value in data.items():
        if name not in EDITABLE:
            raise RuleViolation(f"{name} cannot be set", errors={name: ["Unknown field."]})
        if name == "subjects":
            _set_subjects(record, value)
        elif name == "collections":
            record.collections = clean_list(value)
        elif name in TEXT_FIELDS:
            setattr(record, name, value.strip() or None if isinstance(value, str) else value)
        else:
            setattr(record, name, value.strip() if isinstance(value, str) else value)
    if not (record.title or "").strip():
        raise RuleViolation("A record needs a title", errors={"title": ["Must not be blank."]})
    if "date_text" in data:
        parsed = parse_date(record.date_text)
        record.year_from, record.year_to = parsed.year_from, parsed.year_to
        record.date_parsed = parsed.parsed


def create_record(actor, data: dict, *, now: datetime, visibility: str = "draft") -> Record:
    _check_identifier_free(data["identifier"], None)
    record = Record(
        visibility=visibility,
        version=1,
        collections=[],
        date_parsed=True,
        created_by_id=_actor_id(actor),
        updated_by_id=_actor_id(actor),
        created_at=now,
        updated_at=now,
        published_at=now if visibility == "published" else None,
    )
    _apply(record, data)
    db.session.add(record)
    try:
        db.session.flush()
    except IntegrityError as error:  # created by someone else since the check above
        raise Conflict(
            f"A record with identifier {data['identifier']} already exists",
            errors={"identifier": ["Already used by another record."]},
        ) from error
    if record.is_published:
        _unbury(record.identifier)
    audit.record(
        actor, "archive.record.create", "archive_record", record.id, now=now, after=snapshot(record)
    )
    queue_index(record.id)
    return record


def _changes(before: dict, after: dict) -> tuple[dict, dict]:
    keys = [key for key in after if before.get(key) != after.get(key) and key != "version"]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def _bump(actor, record: Record, before: dict, action: str, now: datetime) -> bool:
    """New version and an audit entry when something changed; False when nothing did."""
    old, new = _changes(before, snapshot(record))
    if not new:
        return False
    record.version += 1
    record.updated_at = now
    record.updated_by_id = _actor_id(actor)
    old["version"], new["version"] = record.version - 1, record.version
    record_id = record.id
    try:
        db.session.flush()
    except StaleDataError as error:
        raise Conflict(
            f"Record {record_id} was changed by someone else meanwhile. Reload and apply "
            "your change again.",
            errors={"version": ["Changed concurrently."]},
        ) from error
    audit.record(actor, action, "archive_record", record.id, now=now, before=old, after=new)
    queue_index(record.id)
    return True


def check_version(record: Record, expected: int | None) -> None:
    if expected is not None and expected != record.version:
        raise Conflict(
            f"Record {record.id} is at version {record.version}, not {expected}: "
            "someone changed it meanwhile. Reload and apply your change again.",
            errors={"version": [f"Current version is {record.version}."]},
            current_version=record.version,
        )


def update_record(
    actor, record: Record, data: dict, *, now: datetime, expected_version: int | None = None
) -> bool:
    """Apply changes; True when the record changed (and got a new version)."""
    check_version(record, expected_version)
    old_identifier = record.identifier
    if "identifier" in data and data["identifier"] != old_identifier:
        _check_identifier_free(data["identifier"], record.id)
    before = snapshot(record)
    _apply(record, data)
    changed = _bump(actor, record, before, "archive.record.update", now)
    if record.identifier != old_identifier and record.published_at is not None:
        # Harvesters knew it under the old identifier: that one is deleted for them.
        _bury(old_identifier, before["collections"], now)
        _unbury(record.identifier)
    return changed


def publish(actor, record: Record, *, now: datetime) -> Record:
    if record.is_published:
        raise Conflict(f"Record {record.identifier} is already published")
    before = snapshot(record)
    record.visibility = "published"
    record.published_at = now
    _bump(actor, record, before, "archive.record.publish", now)
    _unbury(record.identifier)
    return record


def withdraw(actor, record: Record, *, now: datetime) -> Record:
    if not record.is_published:
        raise Conflict(
            f"Only published records can be withdrawn; {record.identifier} is {record.visibility}"
        )
    before = snapshot(record)
    record.visibility = "withdrawn"
    _bump(actor, record, before, "archive.record.withdraw", now)
    return record


def delete_record(actor, record: Record, *, now: datetime, media_dir: str) -> None:
    record_id = record.id
    audit.record(
        actor,
        "archive.record.delete",
        "archive_record",
        record_id,
        now=now,
        before=snapshot(record),
    )
    if record.published_at is not None:  # harvesters knew it: they are told it is deleted
        _bury(record.identifier, record.collections, now)
    media = list(record.media)
    db.session.delete(record)
    db.session.flush()
    for item in media:
        forget_files(item, media_dir)
    queue_index(record_id)


# Filters only archivists may use: the public always lists published records.
STAFF_FILTERS = {"visibility": "published", "date_unparsed": None, "media_status": None}


def collection_names(column):
    """The names in a record's ``collections`` (a JSON array), as a table with a ``value``
    column; each database has its own function for it (both refer to the row beside it)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.json_array_elements_text(column).table_valued("value")
    return func.json_each(column).table_valued("value")


def list_records(filters: dict, *, may_see_unpublished: bool = True):
    """A select of records matching the filters, newest first; for the public, only
    published records and without the archivists' filters."""
    if not may_see_unpublished:
        filters = {**filters, **STAFF_FILTERS}
    query = select(Record)
    if filters.get("visibility"):
        query = query.where(Record.visibility == filters["visibility"])
    if filters.get("type"):
        query = query.where(Record.type == filters["type"])
    if filters.get("identifier"):
        query = query.where(Record.identifier == filters["identifier"])
    if filters.get("place"):
        query = query.where(Record.place == filters["place"])
    if filters.get("subject"):
        query = query.where(
            Record.id.in_(
                select(RecordSubject.record_id).where(RecordSubject.name == filters["subject"])
            )
        )
    if filters.get("date_unparsed"):
        query = query.where(Record.date_parsed.is_(False))
    if filters.get("year_from") is not None or filters.get("year_to") is not None:
        query = query.where(
            overlap_clause(
                Record.year_from, Record.year_to, filters.get("year_from"), filters.get("year_to")
            )
        )
    if filters.get("media_status"):
        query = query.where(
            Record.id.in_(select(Media.record_id).where(Media.status == filters["media_status"]))
        )
    return query.order_by(Record.id.desc())
