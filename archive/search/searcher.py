"""Searching: an open searcher per process (refreshed when the index changes), the Korean
query, filters, sorting, facets over the whole result set, and snippets."""

from __future__ import annotations

import math
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh import sorting
from whoosh.query import And, AndMaybe, NumericRange, Or, Query, Term

from archive.search import analysis, index, snippets

NGRAM_WEIGHT = 0.1  # bigram matches find what morphemes miss, but rank below exact words
IDENTIFIER_BOOST = 20.0
FACET_SIZE = 20
SORTS = ("relevance", "date", "title", "newest")
FILTER_CACHE_SIZE = 32


@dataclass
class SearchParams:
    q: str = ""
    type: str | None = None
    subject: str | None = None
    place: str | None = None
    collection: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    visibility: str | None = "published"  # None: every visibility (archivists)
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20


@dataclass
class SearchResult:
    total: int
    page: int
    per_page: int
    hits: list[dict] = field(default_factory=list)
    facets: dict[str, list[dict]] = field(default_factory=dict)


# --- one open searcher per process ---


class _OpenIndex:
    def __init__(self, path: Path):
        self.path = path
        self.ix = whoosh_index.open_dir(path)
        self.searcher = self.ix.searcher()
        self.filters: OrderedDict = OrderedDict()

    def close(self) -> None:
        self.searcher.close()
        self.ix.close()


_open: dict[str, _OpenIndex] = {}
_open_lock = threading.Lock()


def _current(base: str) -> _OpenIndex | None:
    """The open searcher for ``base``: reopened after a swap, refreshed after a commit."""
    path = index.current_path(base)
    if path is None:
        return None
    with _open_lock:
        held = _open.get(base)
        if held is None or held.path != path:
            if held is not None:
                held.close()
            held = _open[base] = _OpenIndex(path)
        elif not held.searcher.up_to_date():
            held.searcher = held.searcher.refresh()
            held.filters.clear()
        return held


def close_all() -> None:
    with _open_lock:
        for held in _open.values():
            held.close()
        _open.clear()


# --- the query ---


def _morpheme_term(term: str) -> Query:
    """The word in any text field, or (ranked lower) as a part of a compound."""
    fields = [Term(name, term, boost=boost) for name, boost in index.MORPHEME_FIELDS.items()]
    return Or([*fields, Term(index.PARTS_FIELD, term, boost=index.PARTS_BOOST)])


def _bigram_query(grams: list[str]) -> Query:
    unique = list(dict.fromkeys(grams))
    per_field = [
        And([Term(name, gram) for gram in unique], boost=boost)
        if len(unique) > 1
        else Term(name, unique[0], boost=boost)
        for name, boost in index.BIGRAM_FIELDS.items()
    ]
    return Or(per_field, boost=NGRAM_WEIGHT)


def _word_query(word: analysis.QueryWord) -> Query:
    """Exact morphemes rank first. A noun stretch of three or more syllables must also occur
    as such in the text (its bigrams): that finds it inside compounds and across spacing, and
    keeps out records that only share its syllables. Shorter words match as words or as
    parts of split compounds (회룡 → 회룡사), not inside any word (정부 is not in 의정부)."""
    groups = []
    for morpheme in word.morphemes:
        exact = _morpheme_term(morpheme.form)
        if morpheme.parts:  # the compound whole, or its parts written apart
            exact = Or([exact, And([_morpheme_term(p) for p in morpheme.parts])])
        groups.append(exact)
    morph = groups[0] if len(groups) == 1 else And(groups)
    identifier = Term("identifier_key", word.surface, boost=IDENTIFIER_BOOST)
    if word.longest_run >= 3:
        grams = [g for run in word.runs for g in analysis.plain_bigrams(run)]
        return Or([AndMaybe(_bigram_query(grams), morph), identifier])
    return Or([morph, identifier])


def minimum_match(count: int) -> int:
    """Up to three words all must match; longer queries may miss a quarter of their words."""
    return count if count <= 3 else math.ceil(count * 0.75)


def build_query(words: list[analysis.QueryWord]) -> Query | None:
    """Words with a noun must match (see ``minimum_match``); verb-only words only rank."""
    if not words:
        return None
    required = [_word_query(w) for w in words if w.has_noun]
    optional = [_word_query(w) for w in words if not w.has_noun]
    if not required:
        required, optional = optional, []
    need = minimum_match(len(required))
    if len(required) == 1:
        main = required[0]
    elif need == len(required):
        main = And(required)
    else:
        main = Or(required, minmatch=need)
    if optional:
        main = AndMaybe(main, Or(optional))
    return main


def _filter_key(params: SearchParams) -> tuple:
    return (
        params.type,
        params.subject,
        params.place,
        params.collection,
        params.year_from,
        params.year_to,
        params.visibility,
    )


def _filter_query(params: SearchParams) -> Query | None:
    parts: list[Query] = []
    if params.visibility:
        parts.append(Term("visibility", params.visibility))
    if params.type:
        parts.append(Term("type", params.type))
    if params.subject:
        parts.append(Term("subject", index._clean(params.subject)))
    if params.place:
        parts.append(Term("place", params.place.strip()))
    if params.collection:
        parts.append(Term("collection", index._clean(params.collection)))
    # Year intervals overlap: record.year_from <= to AND record.year_to >= from.
    if params.year_to is not None:
        parts.append(NumericRange("year_from", None, params.year_to))
    if params.year_from is not None:
        parts.append(NumericRange("year_to", params.year_from, None))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else And(parts)


def _allowed(held: _OpenIndex, params: SearchParams) -> set[int] | None:
    """Document numbers passing the filters, cached per searcher generation."""
    query = _filter_query(params)
    if query is None:
        return None
    key = _filter_key(params)
    cached = held.filters.get(key)
    if cached is None:
        cached = set(held.searcher.docs_for_query(query))
        held.filters[key] = cached
        while len(held.filters) > FILTER_CACHE_SIZE:
            held.filters.popitem(last=False)
    else:
        held.filters.move_to_end(key)
    return cached


def _sortedby(sort: str):
    if sort == "date":
        return [sorting.FieldFacet("date_key"), sorting.FieldFacet("title_sort")]
    if sort == "title":
        return sorting.FieldFacet("title_sort")
    if sort == "newest":
        return sorting.FieldFacet("updated", reverse=True)
    return None


# --- facets ---

FACETS = {
    "type": ("type", False),
    "subject": ("subjects_facet", True),
    "place": ("place", False),
    "decade": ("decades_facet", True),
}


def _facets(searcher, docnums: list[int]) -> dict[str, list[dict]]:
    reader = searcher.reader()
    out = {}
    for name, (column, multi) in FACETS.items():
        values = reader.column_reader(column)
        counts: Counter = Counter()
        for docnum in docnums:
            value = values[docnum]
            if isinstance(value, bytes):
                value = value.decode("utf-8")
            if not value:
                continue
            if multi:
                counts.update(value.split(index.FACET_SEPARATOR))
            else:
                counts[value] += 1
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:FACET_SIZE]
        out[name] = [{"value": value, "count": count} for value, count in ranked]
    return out


# --- search ---


def search(base: str, params: SearchParams) -> SearchResult:
    """Search the current index. An empty query lists every record passing the filters."""
    result = SearchResult(total=0, page=params.page, per_page=params.per_page)
    held = _current(base)
    words = analysis.analyse_query(params.q)
    if held is None or (params.q.strip() and not words):
        result.facets = {name: [] for name in FACETS}
        return result
    query = build_query(words)
    searcher = held.searcher
    allowed = _allowed(held, params)
    sort = params.sort if query is not None or params.sort != "relevance" else "newest"
    if query is None:
        from whoosh.query import Every

        query = Every()
    results = searcher.search(query, limit=None, filter=allowed, sortedby=_sortedby(sort))
    matched = [docnum for _, docnum in results.top_n]
    result.total = len(matched)
    result.facets = _facets(searcher, matched)
    first = (params.page - 1) * params.per_page
    marks = [mark for word in words for mark in word.marks]
    for score, docnum in results.top_n[first : first + params.per_page]:
        stored = searcher.stored_fields(docnum)
        result.hits.append(
            {
                "id": int(stored["id"]),
                "identifier": stored.get("identifier"),
                "title": stored.get("title"),
                "date_text": stored.get("date_text") or None,
                "type": stored.get("type"),
                "snippet": snippets.snippet(stored.get("body") or "", marks),
                "thumbnail_url": stored.get("thumbnail_url"),
                "score": round(float(score or 0.0), 4) if sort == "relevance" else None,
            }
        )
    return result
