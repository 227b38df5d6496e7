"""The search index in PostgreSQL (``SEARCH_BACKEND=postgres``), shared by every app server.

The same documents as the Whoosh index (``index.fields``), analysed by the same analysers
(Whoosh's field types turn each field into (term, weight) pairs exactly as Whoosh indexes
them), kept in three tables (``archive.models``):

- ``archive_search_posting`` (record, field, term, weight): one row per term of a record's
  field, looked up by (field, term) through a covering index;
- ``archive_search_document``: a record's filter, facet and sort values and what a hit shows;
- ``archive_search_state``: a generation, written anew by every transaction that changes the
  tables, and the layout of fields they were built with.

Searching uses the engine of the Whoosh backend unchanged (``engine.Generation``): a query's
terms are fetched in one statement, the per-document values are loaded once per generation,
and the postings of recent queries' terms are kept (up to ``cache_postings``) until the
generation changes. Each process reads the generation (one row) at every search, so a record
published or withdrawn through any server is seen by every server at once.

The tables are written inside the caller's transaction (``write``): the record and its terms
commit or roll back together.
"""

from __future__ import annotations

import re
import threading
import uuid
import weakref
from collections import OrderedDict

import numpy as np
from sqlalchemy import bindparam, delete, func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from whoosh.query import And, NumericRange, Term

from archive.models import SearchDocument, SearchPosting, SearchState
from archive.search import analysis, engine, index, typos

STATE_ID = 1
# The fields a query looks terms up in (``searcher``): their number is the ``field`` column.
TERM_FIELDS = (
    "identifier_key",
    *index.MORPHEME_FIELDS,
    index.PARTS_FIELD,
    *index.BIGRAM_FIELDS,
    index.WORD_GRAMS_FIELD,
    index.WHOLE_FIELD,
    *index.CHOSEONG_FIELDS,
    *index.ROMAN_FIELDS,
)
FIELD_NUMBERS = {name: number for number, name in enumerate(TERM_FIELDS)}
# The values kept per document for filters, facets and sorting (loaded once per generation);
# the rest of ``archive_search_document`` is read only for the hits of a page.
VALUE_COLUMNS = (
    "type",
    "visibility",
    "subject",
    "subjects_facet",
    "place",
    "collection",
    "year_from",
    "year_to",
    "decades_facet",
    "date_key",
    "title_sort",
    "updated",
    "title_label",
    "creator_label",
)
STORED_COLUMNS = ("identifier", "title_stored", "date_text", "type", "thumbnail_url", "body_stored")
# What a search built by an older version would misread: rebuild when it changes.
LAYOUT = "terms:" + ",".join(TERM_FIELDS) + ";values:" + ",".join(VALUE_COLUMNS)
_SCHEMA = index.build_schema()
_HANGUL_WORD = re.compile(r"[가-힣]{2,}")
_POSTING = np.dtype([("record", ">i4"), ("weight", ">f4")])


# --- writing ---


def _document_row(fields: dict) -> dict:
    row = {
        "record_id": int(fields["id"]),
        "place": fields.get("place", ""),
        "year_from": fields.get("year_from"),
        "year_to": fields.get("year_to"),
    }
    for name in (*VALUE_COLUMNS, *STORED_COLUMNS):
        row.setdefault(name, fields.get(name))
    row["date_text"] = row["date_text"] or ""
    return row


def terms(name: str, value: str) -> list[tuple[str, float]]:
    """(term, weight) of one field's value, as Whoosh indexes it."""
    field = _SCHEMA[name]
    return [(btext.decode("utf-8"), float(weight)) for btext, _, weight, _ in field.index(value)]


def _rows(documents: list[dict]) -> tuple[list[dict], list[dict]]:
    document_rows, posting_rows = [], []
    analysis.prime([t for d in documents for t in index._analysed_texts(d)])
    try:
        for document in documents:
            fields = index.fields(document)
            record_id = int(fields["id"])
            document_rows.append(_document_row(fields))
            for name, number in FIELD_NUMBERS.items():
                for term, weight in terms(name, fields[name]):
                    posting_rows.append(
                        {"record_id": record_id, "field": number, "term": term, "weight": weight}
                    )
    finally:
        analysis.clear_primed()
    return document_rows, posting_rows


def write(session, documents: list[dict], delete_ids=(), *, bulk: bool = False) -> None:
    """Replace the terms and values of ``documents`` and remove the records ``delete_ids``,
    in the session's transaction, and start a new generation. ``bulk`` (rebuilds) sends the
    terms with COPY, several times faster than INSERT, but its errors are the driver's own."""
    ids = sorted({int(d["id"]) for d in documents} | {int(i) for i in delete_ids})
    if not ids:
        return
    session.execute(delete(SearchPosting).where(SearchPosting.record_id.in_(ids)))
    session.execute(delete(SearchDocument).where(SearchDocument.record_id.in_(ids)))
    document_rows, posting_rows = _rows(documents)
    if document_rows:
        session.execute(insert(SearchDocument), document_rows)
    if posting_rows and bulk:
        _copy_postings(session, posting_rows)
    elif posting_rows:
        session.execute(insert(SearchPosting.__table__), posting_rows)
    new_generation(session)


def _copy_postings(session, rows: list[dict]) -> None:
    connection = session.connection().connection.driver_connection
    with connection.cursor() as cursor:
        copy_sql = "COPY archive_search_posting (record_id, field, term, weight) FROM STDIN"
        with cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row((row["record_id"], row["field"], row["term"], row["weight"]))


def new_generation(session, *, layout: str | None = None) -> None:
    """A new generation value (and, from a full rebuild, the layout). The row's lock is held
    to the commit, so writing transactions end one after another."""
    values = {"generation": uuid.uuid4().hex}
    if layout is not None:
        values["layout"] = layout
    statement = pg_insert(SearchState).values(id=STATE_ID, **values)
    session.execute(statement.on_conflict_do_update(index_elements=["id"], set_=values))


def clear(session) -> None:
    session.execute(delete(SearchPosting))
    session.execute(delete(SearchDocument))


def remove_missing(session, existing_ids_query) -> int:
    """Remove the documents and terms of records not in ``existing_ids_query``."""
    gone = session.scalars(
        select(SearchDocument.record_id).where(SearchDocument.record_id.not_in(existing_ids_query))
    ).all()
    if gone:
        write(session, [], delete_ids=gone)
    return len(gone)


def rebuild(session, documents, *, batch: int = 256) -> int:
    """Replace everything with ``documents`` in the session's transaction (the bulk path for
    plain documents; ``archive reindex`` goes record by record batch, see ``indexing``)."""
    clear(session)
    count = 0
    for chunk in index._chunks(documents, batch):
        write(session, chunk, bulk=True)
        count += len(chunk)
    new_generation(session, layout=LAYOUT)
    return count


def vacuum(engine) -> None:
    """VACUUM ANALYZE the tables after a rebuild (outside any transaction): a term's postings
    are then read from the index alone (an index-only scan needs the pages marked visible,
    about 15 times fewer page reads for a common term), and the planner knows their sizes."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM (ANALYZE) archive_search_posting, archive_search_document"))


def state(session) -> tuple[str | None, str | None]:
    """(generation, layout) of the tables; (None, None) before anything was written."""
    row = session.execute(select(SearchState.generation, SearchState.layout)).first()
    return (row.generation, row.layout) if row else (None, None)


def problem(session) -> str | None:
    """Why the tables cannot answer for every record: never built, or built with another
    layout by an older version (``archive reindex`` fixes both); None when they can."""
    _, layout = state(session)
    if layout is None:
        return "empty: run `flask --app wsgi archive reindex`"
    if layout != LAYOUT:
        return "built by an older version: run `flask --app wsgi archive reindex`"
    return None


def indexed_ids(session) -> set[int]:
    return set(session.scalars(select(SearchDocument.record_id)))


def size_bytes(session) -> int:
    """The tables and their indexes on disk."""
    tables = ("archive_search_posting", "archive_search_document", "archive_search_state")
    return sum(
        session.scalar(text("SELECT pg_total_relation_size(CAST(:t AS regclass))"), {"t": t})
        for t in tables
    )


def posting_count(session, record_ids=None) -> int:
    query = select(func.count()).select_from(SearchPosting)
    if record_ids is not None:
        query = query.where(SearchPosting.record_id.in_(list(record_ids)))
    return session.scalar(query)


# --- reading ---


_FETCH = text(
    "SELECT p.field, p.term, string_agg(int4send(p.record_id) || float4send(p.weight), ''::bytea)"
    " FROM archive_search_posting p"
    " JOIN unnest(CAST(:fields AS smallint[]), CAST(:terms AS text[])) AS q(field, term)"
    " ON p.field = q.field AND p.term = q.term"
    " GROUP BY p.field, p.term"
)
_FREQUENCIES = text(
    "SELECT term, count(*) FROM archive_search_posting"
    " WHERE field = :field AND term = ANY(CAST(:terms AS text[])) GROUP BY term"
).bindparams(bindparam("field"), bindparam("terms"))


class PostgresGeneration(engine.Generation):
    """One generation of the tables, as the engine's ``Generation``: documents are numbered
    by record id order; postings come from the posting table (a query's terms fetched in one
    statement), values from the document table (loaded once for the generation)."""

    def __init__(self, key: str | None, session, cache_postings: int = 0):
        self.key = key
        self.session = session
        self.cache_postings = cache_postings
        self.kept: OrderedDict = OrderedDict()  # (field, term) → postings, least recent first
        self.kept_size = 0
        columns = [SearchDocument.record_id, *(getattr(SearchDocument, c) for c in VALUE_COLUMNS)]
        rows = session.execute(select(*columns).order_by(SearchDocument.record_id)).all()
        self.record_ids = np.asarray([row[0] for row in rows], dtype=np.int64)
        self.values = {name: [row[n + 1] for row in rows] for n, name in enumerate(VALUE_COLUMNS)}
        self.size = len(rows)
        self.live = np.ones(self.size, dtype=bool)
        self.live_count = max(1, self.size)
        self.cache: dict = {}
        self.fetched: dict = {}
        self.frequencies: dict[tuple[str, str], int] = {}

    # postings

    def prepare(self, query) -> None:
        """The postings of every term of ``query``: those kept from earlier queries of this
        generation, the others fetched in one statement."""
        wanted = {(node.field, node.text) for node in engine.term_nodes(query)}
        self.fetched = {}
        for key in wanted & self.kept.keys():
            self.kept.move_to_end(key)
            self.fetched[key] = self.kept[key]
        self._fetch(wanted - self.fetched.keys())
        for key in wanted - self.kept.keys():
            self._keep(key, self.fetched[key])

    def _keep(self, key, postings) -> None:
        size = len(postings[0])
        if size > self.cache_postings:
            return
        self.kept[key] = postings
        self.kept_size += size
        while self.kept_size > self.cache_postings:
            _, dropped = self.kept.popitem(last=False)
            self.kept_size -= len(dropped[0])

    def _fetch(self, wanted) -> None:
        wanted = [(f, t) for f, t in wanted if (f, t) not in self.fetched and f in FIELD_NUMBERS]
        for key in wanted:
            self.fetched[key] = (np.zeros(0, dtype=np.int64), np.zeros(0))
        if not wanted or not self.size:
            return
        found = self.session.execute(
            _FETCH,
            {"fields": [FIELD_NUMBERS[f] for f, _ in wanted], "terms": [t for _, t in wanted]},
        )
        for number, term, packed in found:
            postings = np.frombuffer(packed, dtype=_POSTING)
            ids = postings["record"].astype(np.int64)
            docnums = np.searchsorted(self.record_ids, ids).astype(np.int32)
            # Terms of records written after this generation was loaded are left out.
            known = docnums < self.size
            known[known] = self.record_ids[docnums[known]] == ids[known]
            weights = postings["weight"].astype(np.float64)
            self.fetched[(TERM_FIELDS[number], term)] = (docnums[known], weights[known])

    def postings(self, field: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        if (field, text) not in self.fetched:
            self._fetch([(field, text)])
        return self.fetched[(field, text)]

    def doc_frequency(self, field: str, text: str) -> int:
        """How many records hold the term (the typo corrector asks about every word one edit
        from an unknown one: those are fetched together when the word is found unknown)."""
        key = (field, text)
        if key not in self.frequencies:
            self._frequencies(field, [text])
            if not self.frequencies[key] and _HANGUL_WORD.fullmatch(text):
                self._frequencies(field, sorted(typos.one_edit(text)))
        return self.frequencies[key]

    def _frequencies(self, field: str, words: list[str]) -> None:
        if len(self.frequencies) > 200_000:
            self.frequencies.clear()
        found = dict(
            self.session.execute(
                _FREQUENCIES, {"field": FIELD_NUMBERS[field], "terms": words}
            ).all()
        )
        for word in words:
            self.frequencies[(field, word)] = int(found.get(word, 0))

    # values

    def column(self, name: str) -> list:
        return ["" if value is None else value for value in self.values[name]]

    def mask_for(self, key, query) -> np.ndarray:
        return self.remember(("filter", key), lambda: self._matching(query))

    def _matching(self, query) -> np.ndarray:
        """The documents matching a filter made of Whoosh ``Term``, ``NumericRange`` and
        ``And`` (``searcher._filter_query``), read from the document values."""
        if isinstance(query, And):
            mask = self.live.copy()
            for part in query.subqueries:
                mask &= self._matching(part)
            return mask
        if isinstance(query, Term):
            docs = self._term_docs(query.fieldname).get(query.text)
            mask = np.zeros(self.size, dtype=bool)
            if docs is not None:
                mask[docs] = True
            return mask
        if isinstance(query, NumericRange):
            values = self.values[query.fieldname]
            numbers = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
            mask = ~np.isnan(numbers)
            if query.start is not None:
                mask &= numbers > query.start if query.startexcl else numbers >= query.start
            if query.end is not None:
                mask &= numbers < query.end if query.endexcl else numbers <= query.end
            return mask
        raise TypeError(f"No filter for {query!r}")

    def _term_docs(self, name: str) -> dict[str, np.ndarray]:
        """A filter field's terms (as Whoosh's field type cuts its value) → documents."""

        def build():
            field, docs, cut = _SCHEMA[name], {}, {}
            for docnum, value in enumerate(self.values[name]):
                if value is None:
                    continue
                if value not in cut:  # few distinct values (types, places): each cut once
                    cut[value] = [btext.decode("utf-8") for btext, *_ in field.index(value)]
                for term in cut[value]:
                    docs.setdefault(term, []).append(docnum)
            return {term: np.asarray(found, dtype=np.int64) for term, found in docs.items()}

        return self.remember(("terms", name), build)


class _Open:
    """What a process holds of the tables until their generation changes."""

    def __init__(self, generation: PostgresGeneration):
        self.generation = generation
        self.results: OrderedDict = OrderedDict()  # the searcher's result lists

    def reader(self) -> PostgresGeneration:
        return self.generation  # doc_frequency, for the typo corrector

    def stored_fields(self, docnums) -> list[dict]:
        gen = self.generation
        ids = [int(gen.record_ids[d]) for d in docnums]
        columns = [SearchDocument.record_id, *(getattr(SearchDocument, c) for c in STORED_COLUMNS)]
        rows = gen.session.execute(select(*columns).where(SearchDocument.record_id.in_(ids)))
        found = {row[0]: dict(zip(STORED_COLUMNS, row[1:], strict=True)) for row in rows}
        # A record removed since the generation was read shows as it was listed (its id).
        return [{"id": str(i), **found.get(i, {})} for i in ids]


_held: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # engine → _Open
_held_lock = threading.Lock()


class Source:
    """The tables of one database, for ``searcher.search`` and ``searcher.suggest`` (in
    place of a Whoosh index directory)."""

    def __init__(self, session, *, cache_postings: int = 0):
        self.session = session
        self.cache_postings = cache_postings

    def current(self) -> _Open:
        """This process's open generation, read again when the tables have a new one."""
        key, _ = state(self.session)
        engine_ = self.session.get_bind()
        with _held_lock:
            held = _held.get(engine_)
            if held is None or key is None or held.generation.key != key:
                generation = PostgresGeneration(key, self.session, self.cache_postings)
                held = _held[engine_] = _Open(generation)
            held.generation.session = self.session
            return held


def forget_all() -> None:
    """Drop every process-held generation (tests, after the tables were emptied)."""
    with _held_lock:
        _held.clear()
