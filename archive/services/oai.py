"""OAI-PMH 2.0: the archive as harvesters see it (the door is ``archive/oai.py``).

An item is a record that was ever published: a published record with its ``oai_dc``
metadata, a withdrawn one as a deleted header, and a deleted one through its tombstone
(``RecordTombstone``, written by ``archive.services.records``). Drafts do not exist here. An
item's datestamp is the last time what a harvester sees of it changed: the record's
``updated_at`` (publishing, editing and withdrawing each set it) or the tombstone's
``datestamp``. Sets are the collections.

Lists are read in (datestamp, source, id) order, a page at a time, each page starting after
the last item of the one before (never OFFSET): a resumption token carries that position, the
list's arguments, the cursor, the list's size and an expiry, signed with the app's secret.
It needs nothing kept on the server, so any app server answers any page, and a harvest of any
size holds one page in memory.

``respond`` checks the arguments of every verb as the protocol says, and answers with an
``Answer``: either the verb's result or the protocol's errors, which the door renders as XML.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

from sqlalchemy import func, or_, select, true
from sqlalchemy.orm import lazyload

from archive.models import IDENTIFIER_RE, VISIBILITIES, Record, RecordSubject, RecordTombstone
from archive.services.records import collection_names
from archive.services.rights import rights_of
from archive.settings import OaiSettings
from core.extensions import db
from core.transactions import snapshot

OAI_DC = "oai_dc"
METADATA_FORMATS = (
    (
        OAI_DC,
        "http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
        "http://www.openarchives.org/OAI/2.0/oai_dc/",
    ),
)
# Harvesters see a record that is published, or that was and is withdrawn (as deleted):
# every record but a draft (the table's CHECK allows no other visibility). Said as "not a
# draft" so that no index on visibility tempts SQLite away from the (datestamp, id) order.
assert set(VISIBILITIES) == {"draft", "published", "withdrawn"}


def _seen():
    return Record.visibility != "draft"


# Where a list item comes from, in the order of items with the same datestamp.
RECORD, TOMBSTONE = 0, 1

# verb: (required arguments, optional arguments, exclusive argument)
VERBS: dict[str, tuple[frozenset, frozenset, str | None]] = {
    "Identify": (frozenset(), frozenset(), None),
    "ListMetadataFormats": (frozenset(), frozenset({"identifier"}), None),
    "ListSets": (frozenset(), frozenset(), "resumptionToken"),
    "GetRecord": (frozenset({"identifier", "metadataPrefix"}), frozenset(), None),
    "ListIdentifiers": (
        frozenset({"metadataPrefix"}),
        frozenset({"from", "until", "set"}),
        "resumptionToken",
    ),
    "ListRecords": (
        frozenset({"metadataPrefix"}),
        frozenset({"from", "until", "set"}),
        "resumptionToken",
    ),
}
LISTS = ("ListIdentifiers", "ListRecords")

# The protocol's syntax of argument values (OAI-PMH.xsd).
SPEC_CHARS = r"[A-Za-z0-9\-_.!~*'()]"
PREFIX_RE = re.compile(rf"{SPEC_CHARS}+")
SET_SPEC_RE = re.compile(rf"{SPEC_CHARS}+(?::{SPEC_CHARS}+)*")
DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
SECOND_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
# A URI (RFC 2396's characters, escapes well formed): what an identifier argument must be.
URI_RE = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:(?:[A-Za-z0-9\-_.!~*'();/?:@&=+$,]|%[0-9A-Fa-f]{2})+"
)
# Characters XML 1.0 cannot carry (a harvester's argument is echoed in the answer).
NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
MAX_ARGUMENT = 2000

DATESTAMP = "%Y-%m-%dT%H:%M:%SZ"

# Record types in the DCMI Type Vocabulary, and in Korean as the archive names them.
DCMI_TYPES = {
    "photo": ("StillImage", "사진"),
    "document": ("Text", "문서"),
    "map": ("StillImage", "지도"),
    "book": ("Text", "도서"),
    "object": ("PhysicalObject", "유물"),
    "audio": ("Sound", "음성"),
    "video": ("MovingImage", "영상"),
}
HANJA_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LANGUAGE_CODE_RE = re.compile(r"[a-z]{3}")


class OaiError(Exception):
    """One of the protocol's error conditions (answered with HTTP 200 and ``<error>``)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


# --- what an answer holds ---------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    identifier: str
    datestamp: str
    set_specs: list[str]
    deleted: bool


@dataclass(frozen=True)
class Element:
    """One Dublin Core element: ``name`` (title, creator …), its text, its language. Text
    XML cannot carry (a control character pasted into a description) is left out."""

    name: str
    value: str
    lang: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "value", NOT_XML.sub("", self.value))


@dataclass(frozen=True)
class Item:
    header: Header
    metadata: list[Element] | None  # None for a deleted item, and in ListIdentifiers


@dataclass(frozen=True)
class Resumption:
    token: str  # "" on the page that completes the list
    cursor: int
    complete_list_size: int
    expires: str | None


@dataclass(frozen=True)
class Identify:
    repository_name: str
    earliest_datestamp: str
    admin_email: str


@dataclass(frozen=True)
class MetadataFormat:
    prefix: str
    schema: str
    namespace: str


@dataclass(frozen=True)
class OaiSet:
    spec: str
    name: str


@dataclass
class Answer:
    """What the door renders: the arguments to echo (none when they were wrong), and either
    the errors or the verb's result."""

    response_date: str
    verb: str | None
    arguments: dict[str, str] = field(default_factory=dict)
    errors: list[OaiError] = field(default_factory=list)
    identify: Identify | None = None
    formats: list[MetadataFormat] | None = None
    sets: list[OaiSet] | None = None
    items: list[Item] | None = None
    resumption: Resumption | None = None


# --- identifiers, sets and datestamps ---------------------------------------------------


def oai_identifier(identifier: str, settings: OaiSettings) -> str:
    return f"oai:{settings.domain}:{identifier}"


def local_identifier(oai_id: str, settings: OaiSettings) -> str | None:
    prefix = f"oai:{settings.domain}:"
    if not oai_id.startswith(prefix):
        return None
    local = oai_id[len(prefix) :]
    return local if IDENTIFIER_RE.match(local) else None


def set_spec(collection: str) -> str:
    """A collection's setSpec: its name percent-encoded with ``~`` for ``%`` (the protocol
    allows only a few ASCII characters; ``:`` would start a hierarchy)."""
    encoded = quote(collection, safe="-_.!*'()").replace("~", "%7E")
    return encoded.replace("%", "~")


def collection_of(spec: str) -> str | None:
    """The collection a setSpec names, or None when no collection has that spec."""
    try:
        name = unquote(spec.replace("~", "%"), errors="strict")
    except UnicodeDecodeError:
        return None
    return name if set_spec(name) == spec else None


def datestamp(value: datetime) -> str:
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.strftime(DATESTAMP)


@dataclass(frozen=True)
class Window:
    """A list's selection: datestamps from ``start`` (inclusive) until ``end`` (exclusive),
    and a collection."""

    start: datetime | None = None
    end: datetime | None = None
    collection: str | None = None


def _parse_bound(text: str) -> tuple[datetime, str]:
    try:
        if DAY_RE.fullmatch(text):
            return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC), "day"
        if SECOND_RE.fullmatch(text):
            return datetime.strptime(text, DATESTAMP).replace(tzinfo=UTC), "second"
    except ValueError:
        pass
    raise OaiError(
        "badArgument",
        "from and until are UTC dates, YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ",
    )


def _window(args: dict[str, str]) -> Window:
    start = end = None
    granularities = set()
    if "from" in args:
        start, granularity = _parse_bound(args["from"])
        granularities.add(granularity)
    if "until" in args:
        until, granularity = _parse_bound(args["until"])
        granularities.add(granularity)
        # until is inclusive at its own granularity: a day's last second, a second's end.
        step = timedelta(days=1) if granularity == "day" else timedelta(seconds=1)
        try:
            end = until + step
        except OverflowError:
            end = None
    if len(granularities) > 1:
        raise OaiError("badArgument", "from and until must have the same granularity")
    if start is not None and "until" in args and end is not None and start >= end:
        raise OaiError("badArgument", "from must not be later than until")
    return Window(start, end)


# --- arguments ----------------------------------------------------------------------------


def _check_arguments(pairs: list[tuple[str, str]]) -> tuple[str, dict[str, str]]:
    """The verb and its arguments, or badVerb / badArgument."""
    verbs = [value for key, value in pairs if key == "verb"]
    if not verbs:
        raise OaiError("badVerb", "The verb argument is missing")
    if len(verbs) > 1:
        raise OaiError("badVerb", "The verb argument is repeated")
    verb = verbs[0]
    if verb not in VERBS:
        raise OaiError("badVerb", "The verb is not one of OAI-PMH's six")
    required, optional, exclusive = VERBS[verb]
    args: dict[str, str] = {}
    for key, value in pairs:
        if key == "verb":
            continue
        if key in args:
            raise OaiError("badArgument", f"The argument {key} is repeated")
        if key not in required | optional | ({exclusive} if exclusive else set()):
            raise OaiError("badArgument", f"{verb} takes no argument named {_safe(key)}")
        if len(value) > MAX_ARGUMENT or NOT_XML.search(value) or not value:
            raise OaiError("badArgument", f"The value of {key} is not a valid value")
        args[key] = value
    if exclusive and exclusive in args:
        if len(args) > 1:
            raise OaiError("badArgument", f"{exclusive} must be the only argument besides verb")
        return verb, args
    missing = sorted(required - set(args))
    if missing:
        raise OaiError("badArgument", f"{verb} needs the argument {', '.join(missing)}")
    if "metadataPrefix" in args and not PREFIX_RE.fullmatch(args["metadataPrefix"]):
        raise OaiError("badArgument", "metadataPrefix is not a valid metadata prefix")
    if "set" in args and not SET_SPEC_RE.fullmatch(args["set"]):
        raise OaiError("badArgument", "set is not a valid setSpec")
    if "identifier" in args and not URI_RE.fullmatch(args["identifier"]):
        raise OaiError("badArgument", "identifier is not a valid URI")
    return verb, args


def _safe(text: str) -> str:
    """An argument's name, fit to be said back in XML."""
    return NOT_XML.sub("?", text[:100])


def _check_prefix(prefix: str) -> None:
    if prefix not in {fmt[0] for fmt in METADATA_FORMATS}:
        raise OaiError("cannotDisseminateFormat", f"This repository gives {OAI_DC} only")


# --- resumption tokens --------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(payload: str, settings: OaiSettings) -> str:
    return _b64(hmac.new(settings.signing_key, payload.encode(), hashlib.sha256).digest()[:18])


def _encode_token(state: dict, settings: OaiSettings) -> str:
    payload = _b64(json.dumps(state, separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_sign(payload, settings)}"


BAD_TOKEN = "The resumption token is not valid, or has expired"


def _decode_token(token: str, verb: str, now: datetime, settings: OaiSettings) -> dict:
    payload, _, signature = token.partition(".")
    if not hmac.compare_digest(signature.encode(), _sign(payload, settings).encode()):
        raise OaiError("badResumptionToken", BAD_TOKEN)
    try:
        state = json.loads(_unb64(payload))
        expired = now.timestamp() > float(state["e"])
        if state["v"] != verb:
            raise ValueError("another verb's token")
        if verb in LISTS:
            state["after"] = (datetime.fromisoformat(state["d"]), int(state["k"]), int(state["i"]))
            state["c"], state["n"] = int(state["c"]), int(state["n"])
    except (ValueError, KeyError, TypeError):
        raise OaiError("badResumptionToken", BAD_TOKEN) from None
    if expired:
        raise OaiError("badResumptionToken", "The resumption token has expired")
    return state


# --- the lists --------------------------------------------------------------------------


def _set_names() -> list[str]:
    """Every collection of an item harvesters see (deleted ones included: a harvest by set
    must learn of their deletion), by name."""
    names = set()
    for model, conditions in (
        (Record, [_seen()]),
        (RecordTombstone, []),
    ):
        values = collection_names(model.collections)
        names.update(
            db.session.scalars(
                select(values.c.value)
                .distinct()
                .select_from(model)
                .join(values, true())
                .where(*conditions)
            )
        )
    return sorted(str(name) for name in names)


def _in_collection(column, name: str):
    names = collection_names(column)
    return select(names.c.value).where(names.c.value == name).exists()


def _record_scope(window: Window):
    conditions = [_seen()]
    if window.start is not None:
        conditions.append(Record.updated_at >= window.start)
    if window.end is not None:
        conditions.append(Record.updated_at < window.end)
    if window.collection is not None:
        conditions.append(_in_collection(Record.collections, window.collection))
    return conditions


def _tombstone_scope(window: Window):
    conditions = []
    if window.start is not None:
        conditions.append(RecordTombstone.datestamp >= window.start)
    if window.end is not None:
        conditions.append(RecordTombstone.datestamp < window.end)
    if window.collection is not None:
        conditions.append(_in_collection(RecordTombstone.collections, window.collection))
    return conditions


def _after(stamp_column, id_column, source: int, after):
    """Items of one source that come after the position ``after`` = (datestamp, source,
    id) in the list's order."""
    if after is None:
        return []
    stamp, after_source, after_id = after
    if source > after_source:
        return [stamp_column >= stamp]
    if source < after_source:
        return [stamp_column > stamp]
    # The range first, so the (datestamp, id) index is searched from the position rather
    # than scanned from its start (SQLite reads a bare OR as a scan).
    return [stamp_column >= stamp, or_(stamp_column > stamp, id_column > after_id)]


@dataclass(frozen=True)
class _Row:
    stamp: datetime
    source: int
    id: int
    identifier: str
    collections: list
    deleted: bool

    @property
    def position(self):
        return (self.stamp, self.source, self.id)


def _page(window: Window, after, limit: int) -> list[_Row]:
    """Up to ``limit`` items after ``after``: the first of the records' and of the
    tombstones' (each read in its own index order), merged."""
    records = db.session.execute(
        select(
            Record.updated_at, Record.id, Record.identifier, Record.collections, Record.visibility
        )
        .where(*_record_scope(window), *_after(Record.updated_at, Record.id, RECORD, after))
        .order_by(Record.updated_at, Record.id)
        .limit(limit)
    ).all()
    tombstones = db.session.execute(
        select(
            RecordTombstone.datestamp,
            RecordTombstone.id,
            RecordTombstone.identifier,
            RecordTombstone.collections,
        )
        .where(
            *_tombstone_scope(window),
            *_after(RecordTombstone.datestamp, RecordTombstone.id, TOMBSTONE, after),
        )
        .order_by(RecordTombstone.datestamp, RecordTombstone.id)
        .limit(limit)
    ).all()
    rows = [
        _Row(stamp, RECORD, id_, identifier, names or [], visibility != "published")
        for stamp, id_, identifier, names, visibility in records
    ] + [
        _Row(stamp, TOMBSTONE, id_, identifier, names or [], True)
        for stamp, id_, identifier, names in tombstones
    ]
    rows.sort(key=lambda row: row.position)
    return rows[:limit]


def _count(window: Window) -> int:
    records = db.session.scalar(select(func.count(Record.id)).where(*_record_scope(window)))
    tombstones = db.session.scalar(
        select(func.count(RecordTombstone.id)).where(*_tombstone_scope(window))
    )
    return int(records or 0) + int(tombstones or 0)


def _header(row: _Row, settings: OaiSettings) -> Header:
    return Header(
        oai_identifier(row.identifier, settings),
        datestamp(row.stamp),
        [set_spec(name) for name in row.collections],
        row.deleted,
    )


def _list(
    verb: str,
    args: dict[str, str],
    *,
    now: datetime,
    settings: OaiSettings,
    record_url: Callable[[str], str],
) -> tuple[list[Item], Resumption | None]:
    if "resumptionToken" in args:
        state = _decode_token(args["resumptionToken"], verb, now, settings)
        window = Window(
            datetime.fromisoformat(state["f"]) if state.get("f") else None,
            datetime.fromisoformat(state["u"]) if state.get("u") else None,
            state.get("s"),
        )
        after, cursor, size = state["after"], state["c"], state["n"]
    else:
        window = _window(args)
        _check_prefix(args["metadataPrefix"])
        if "set" in args:
            if not _set_names():
                raise OaiError("noSetHierarchy", "This repository has no sets (collections)")
            window = Window(window.start, window.end, collection_of(args["set"]) or "")
        after, cursor, size = None, 0, _count(window)
        if size == 0:
            raise OaiError("noRecordsMatch", "No records match these arguments")
    rows = _page(window, after, settings.page_size + 1)
    more, rows = len(rows) > settings.page_size, rows[: settings.page_size]
    if not rows:  # every item left was changed past ``until`` since the page before
        raise OaiError("noRecordsMatch", "No records match these arguments")
    items = _items(verb, rows, settings, record_url)
    resumption = None
    if more:
        expires = now + timedelta(seconds=settings.token_ttl_seconds)
        last = rows[-1]
        state = {
            "v": verb,
            "f": window.start.isoformat() if window.start else None,
            "u": window.end.isoformat() if window.end else None,
            "s": window.collection,
            "d": last.stamp.isoformat(),
            "k": last.source,
            "i": last.id,
            "c": cursor + len(rows),
            "n": max(size, cursor + len(rows) + 1),
            "e": expires.timestamp(),
        }
        resumption = Resumption(
            _encode_token(state, settings), cursor, state["n"], datestamp(expires)
        )
    elif after is not None:  # the last page of a list given in several
        resumption = Resumption("", cursor, max(size, cursor + len(rows)), None)
    return items, resumption


# What oai_dc shows of a record: read as plain rows (no ORM objects), a page at a time.
DC_COLUMNS = (
    Record.id,
    Record.identifier,
    Record.title,
    Record.alt_title,
    Record.creator,
    Record.contributor,
    Record.description,
    Record.date_text,
    Record.year_from,
    Record.year_to,
    Record.type,
    Record.place,
    Record.language,
    Record.rights,
    Record.source,
)


@dataclass
class Described:
    """A record's fields that ``dublin_core`` reads, with its subjects in order."""

    id: int
    identifier: str
    title: str
    alt_title: str | None
    creator: str | None
    contributor: str | None
    description: str | None
    date_text: str | None
    year_from: int | None
    year_to: int | None
    type: str
    place: str | None
    language: str | None
    rights: str | None
    source: str | None
    subjects: list[str] = field(default_factory=list)


def _described(ids: list[int]) -> dict[int, Described]:
    if not ids:
        return {}
    found = {
        row.id: Described(*row)
        for row in db.session.execute(select(*DC_COLUMNS).where(Record.id.in_(ids)))
    }
    subjects = db.session.execute(
        select(RecordSubject.record_id, RecordSubject.name)
        .where(RecordSubject.record_id.in_(ids))
        .order_by(RecordSubject.record_id, RecordSubject.position)
    )
    for record_id, name in subjects:
        found[record_id].subjects.append(name)
    return found


def _items(verb, rows: list[_Row], settings, record_url) -> list[Item]:
    if verb == "ListIdentifiers":
        return [Item(_header(row, settings), None) for row in rows]
    loaded = _described([row.id for row in rows if row.source == RECORD and not row.deleted])
    items = []
    for row in rows:
        record = loaded.get(row.id) if row.source == RECORD and not row.deleted else None
        metadata = dublin_core(record, settings, record_url) if record is not None else None
        items.append(Item(_header(row, settings), metadata))
    return items


# --- oai_dc -------------------------------------------------------------------------------


def dublin_core(record, settings: OaiSettings, record_url: Callable[[str], str]) -> list[Element]:
    """A published record in unqualified Dublin Core, in the order of the oai_dc schema's
    examples (title first)."""
    out = [Element("title", record.title, "ko")]
    if record.alt_title:
        # A Hanja title (the usual alternative title of old materials) says so.
        out.append(Element("title", record.alt_title, "ko-Hani" if _hanja(record) else None))
    if record.creator:
        out.append(Element("creator", record.creator))
    out.extend(Element("subject", subject, "ko") for subject in record.subjects)
    if record.description:
        out.append(Element("description", record.description, "ko"))
    out.append(Element("publisher", settings.repository_name, "ko"))
    if record.contributor:
        out.append(Element("contributor", record.contributor))
    if record.date_text:
        out.append(Element("date", record.date_text))
    if interval := _year_interval(record):
        out.append(Element("date", interval))
    dcmi, korean = DCMI_TYPES.get(record.type, (None, record.type))
    if dcmi:
        out.append(Element("type", dcmi))
    out.append(Element("type", korean, "ko"))
    out.append(Element("identifier", record_url(record.identifier)))
    out.append(Element("identifier", record.identifier))
    if record.source:
        out.append(Element("source", record.source))
    language = (record.language or "").strip().lower()
    out.append(Element("language", language if LANGUAGE_CODE_RE.fullmatch(language) else "kor"))
    if record.place:
        out.append(Element("coverage", record.place, "ko"))
    out.extend(_rights(record.rights))
    return out


@functools.lru_cache(maxsize=64)
def _rights(code: str | None) -> tuple[Element, ...]:
    """The licence's address and its terms in Korean (a few codes, each worked out once)."""
    rights = rights_of(code)
    if rights is None:
        return ()
    statement = Element("rights", f"{rights.name}. {rights.allows}", "ko")
    return (Element("rights", rights.url), statement) if rights.url else (statement,)


def _hanja(record) -> bool:
    return bool(HANJA_RE.search(record.alt_title or ""))


def _year_interval(record) -> str | None:
    """The years read from the date, W3CDTF (``1911``, ``1910/1919``), when they are AD."""
    low, high = record.year_from, record.year_to
    if low is None or high is None or low < 1 or high > 9999:
        return None
    return f"{low:04d}" if low == high else f"{low:04d}/{high:04d}"


# --- the verbs ----------------------------------------------------------------------------


def _find_item(oai_id: str, settings: OaiSettings) -> tuple[_Row, Record | None]:
    local = local_identifier(oai_id, settings)
    if local is not None:
        record = db.session.scalar(
            select(Record)
            .where(Record.identifier == local, _seen())
            .options(lazyload(Record.media))
        )
        if record is not None:
            row = _Row(
                record.updated_at,
                RECORD,
                record.id,
                record.identifier,
                list(record.collections or []),
                not record.is_published,
            )
            return row, record if record.is_published else None
        tombstone = db.session.scalar(select(RecordTombstone).filter_by(identifier=local))
        if tombstone is not None:
            row = _Row(
                tombstone.datestamp,
                TOMBSTONE,
                tombstone.id,
                tombstone.identifier,
                list(tombstone.collections or []),
                True,
            )
            return row, None
    raise OaiError("idDoesNotExist", "No item has this identifier in this repository")


def _earliest() -> datetime | None:
    first = db.session.scalar(select(func.min(Record.updated_at)).where(_seen()))
    buried = db.session.scalar(select(func.min(RecordTombstone.datestamp)))
    found = [stamp for stamp in (first, buried) if stamp is not None]
    return min(found) if found else None


def _dispatch(verb, args, answer: Answer, *, now, settings, record_url) -> None:
    if verb == "Identify":
        earliest = _earliest()
        answer.identify = Identify(
            settings.repository_name,
            datestamp(earliest if earliest is not None else now),
            settings.admin_email,
        )
    elif verb == "ListMetadataFormats":
        if "identifier" in args:
            _find_item(args["identifier"], settings)
        answer.formats = [MetadataFormat(*fmt) for fmt in METADATA_FORMATS]
    elif verb == "ListSets":
        if "resumptionToken" in args:  # the sets come in one answer: no token is ever given
            raise OaiError("badResumptionToken", BAD_TOKEN)
        found = _set_names()
        if not found:
            raise OaiError("noSetHierarchy", "This repository has no sets (collections)")
        answer.sets = [OaiSet(set_spec(name), name) for name in found]
    elif verb == "GetRecord":
        row, record = _find_item(args["identifier"], settings)
        _check_prefix(args["metadataPrefix"])
        metadata = dublin_core(record, settings, record_url) if record is not None else None
        answer.items = [Item(_header(row, settings), metadata)]
    else:
        answer.items, answer.resumption = _list(
            verb, args, now=now, settings=settings, record_url=record_url
        )


def respond(
    pairs: Iterable[tuple[str, str]],
    *,
    now: datetime,
    settings: OaiSettings,
    record_url: Callable[[str], str],
) -> Answer:
    """Answer one OAI-PMH request, given its arguments as (name, value) pairs in the order
    sent (repeats included). Reads on a snapshot: a harvest never waits for a writer."""
    answer = Answer(response_date=datestamp(now), verb=None)
    pairs = list(pairs)
    try:
        verb, args = _check_arguments(pairs)
    except OaiError as error:
        answer.errors = [error]
        return answer
    answer.verb, answer.arguments = verb, args
    with snapshot():
        try:
            _dispatch(verb, args, answer, now=now, settings=settings, record_url=record_url)
        except OaiError as error:
            answer.errors = [error]
            answer.identify = answer.formats = answer.sets = answer.items = None
            answer.resumption = None
    return answer
