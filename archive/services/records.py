"""Record rules: create, change (new version), publish (once its checklist is green),
withdraw, delete — all audited; the archivists' list with its filters, and the vocabulary
already in use (subjects, places, collections) to suggest.

Harvesters (OAI-PMH, ``archive.services.oai``) see every record that was ever published: a
withdrawn one as deleted, and a deleted one through its tombstone, written here in the
transaction that deletes it (or that takes a published record's identifier away)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from archive.models import Media, Record, RecordSubject, RecordTombstone, clean_list
from archive.services.dates import overlap_clause, parse_date
from archive.services.documents import queue_index
from archive.services.media_files import forget_files
from core import audit, lookup
from core.errors import Conflict, DomainError, NotFound, RuleViolation
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
    """Refuse a change based on an older version (409), saying which fields changed since
    that version: each with its value then and its value now (``changes_since``)."""
    if expected is not None and expected != record.version:
        raise Conflict(
            f"Record {record.id} is at version {record.version}, not {expected}: "
            "someone changed it meanwhile. Reload and apply your change again.",
            errors={"version": [f"Current version is {record.version}."]},
            current_version=record.version,
            changes=changes_since(record, expected),
        )


# What a stale change reports as changed since the version it was based on.
SHOWN_CHANGES = (*EDITABLE, "visibility")


def changes_since(record: Record, version: int) -> list[dict]:
    """The fields changed since ``version`` of the record, read from its audit trail (every
    new version is audited with what it changed): ``[{"field", "seen", "stored"}, ...]``, the
    value at that version and the value stored now, in the order of ``SHOWN_CHANGES``."""
    entries = db.session.scalars(
        audit.entries_query(target_type="archive_record", target_id=str(record.id))
    )
    seen: dict = {}
    for entry in reversed(list(entries)):  # oldest first: the first ``before`` is what was seen
        if (entry.after or {}).get("version", 0) <= version or not entry.before:
            continue
        for name, value in entry.before.items():
            seen.setdefault(name, value)
    stored = snapshot(record)
    return [
        {"field": name, "seen": seen[name], "stored": stored[name]}
        for name in SHOWN_CHANGES
        if name in seen and seen[name] != stored[name]
    ]


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


# What a record needs before the public may see it, in the order a checklist shows it.
CHECKLIST = ("title", "date", "rights", "content")


def publish_checklist(record: Record) -> dict[str, bool]:
    """Each item of the publishing checklist and whether the record meets it: a title, a
    readable date, a rights statement, and at least one image (not failed) or a
    transcription."""
    return {
        "title": bool((record.title or "").strip()),
        "date": bool((record.date_text or "").strip()) and record.date_parsed,
        "rights": bool(record.rights),
        "content": any(item.status != "failed" for item in record.media)
        or bool((record.transcription or "").strip()),
    }


# The field of the record each checklist item is about (where a form shows its message).
CHECKLIST_FIELDS = {"title": "title", "date": "date_text", "rights": "rights", "content": "media"}


def check_ready_to_publish(record: Record) -> None:
    """Refuse (422 ``not_ready_to_publish``) a record whose checklist is not all done,
    naming each missing item's field."""
    missing = [item for item, done in publish_checklist(record).items() if not done]
    if missing:
        raise RuleViolation(
            f"Record {record.identifier} is not ready to publish: missing {', '.join(missing)}",
            code="not_ready_to_publish",
            errors={CHECKLIST_FIELDS[item]: ["Required to publish."] for item in missing},
        )


def publish(actor, record: Record, *, now: datetime, checklist: bool = True) -> Record:
    """Make the record public: refused when it already is (409) or its checklist is not
    green (422 ``not_ready_to_publish``). A CSV import that publishes (``checklist=False``)
    publishes the records it updates as it creates new ones: as given."""
    if record.is_published:
        raise Conflict(f"Record {record.identifier} is already published")
    if checklist:
        check_ready_to_publish(record)
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


@dataclass(frozen=True)
class Outcome:
    """What a bulk action did to one record: done, or refused with the refusal."""

    record_id: int
    identifier: str | None
    refusal: DomainError | None = None


BULK_ACTIONS = {"publish": publish, "withdraw": withdraw}


def change_many(actor, record_ids, action: str, *, now: datetime) -> list[Outcome]:
    """Publish or withdraw each of the records: each one as its own action would (its checks,
    its new version, its audit entry); one refused does not stop the others. A refusal comes
    before anything of its record is written, so the records done are kept as they are."""
    change = BULK_ACTIONS[action]
    outcomes = []
    for record_id in dict.fromkeys(record_ids):
        record = lookup.find(Record, record_id)
        if record is None:
            refusal = NotFound(f"Record {record_id} not found")
            outcomes.append(Outcome(record_id, None, refusal))
            continue
        try:
            change(actor, record, now=now)
        except (Conflict, RuleViolation) as refusal:
            outcomes.append(Outcome(record_id, record.identifier, refusal))
        else:
            outcomes.append(Outcome(record_id, record.identifier))
    return outcomes


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
STAFF_FILTERS = {
    "visibility": "published",
    "date_unparsed": None,
    "media_status": None,
    "ocr_status": None,
    "rights_missing": None,
}


def collection_names(column):
    """The names in a record's ``collections`` (a JSON array), as a table with a ``value``
    column; each database has its own function for it (both refer to the row beside it)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.json_array_elements_text(column).table_valued("value")
    return func.json_each(column).table_valued("value")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


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
    if filters.get("ocr_status"):
        query = query.where(
            Record.id.in_(select(Media.record_id).where(Media.ocr_status == filters["ocr_status"]))
        )
    if filters.get("rights_missing"):
        query = query.where(Record.rights.is_(None))
    if filters.get("collection"):
        names = collection_names(Record.collections)
        query = query.where(
            select(names.c.value).where(names.c.value == filters["collection"]).exists()
        )
    if filters.get("q", "").strip():
        pattern = f"%{_escape_like(filters['q'].strip().lower())}%"
        query = query.where(
            or_(
                *(
                    func.lower(column).like(pattern, escape="\\")
                    for column in (Record.identifier, Record.title, Record.alt_title)
                )
            )
        )
    return query.order_by(Record.id.desc())


@dataclass(frozen=True)
class Vocabulary:
    """The subjects, places and collections records use, by name: suggestions for the next."""

    subjects: list[str]
    places: list[str]
    collections: list[str]


def vocabulary(limit: int = 1000) -> Vocabulary:
    """Every subject, place and collection in use (up to ``limit`` of each), by name."""
    subjects = select(RecordSubject.name).distinct().order_by(RecordSubject.name).limit(limit)
    places = (
        select(Record.place)
        .where(Record.place.is_not(None))
        .distinct()
        .order_by(Record.place)
        .limit(limit)
    )
    names = collection_names(Record.collections)
    collections = (
        select(names.c.value)
        .select_from(Record)
        .join(names, true())
        .distinct()
        .order_by(names.c.value)
        .limit(limit)
    )
    return Vocabulary(
        list(db.session.scalars(subjects)),
        list(db.session.scalars(places)),
        [str(name) for name in db.session.scalars(collections)],
    )
