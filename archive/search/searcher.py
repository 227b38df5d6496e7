"""Searching: an open searcher per process (refreshed when the index changes), the Korean
query, filters, sorting, facets over the whole result set, and snippets."""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from whoosh.filedb.filestore import FileStorage
from whoosh.query import And, NumericRange, Query, Term

from archive.search import analysis, index, lexicon, romanize, snippets, typos
from archive.search import suggest as suggestions
from archive.search.engine import (
    AndMaybeNode,
    AndNode,
    AtLeastNode,
    Generation,
    Node,
    OrNode,
    TermNode,
)

NGRAM_WEIGHT = 0.1  # bigram matches find what morphemes miss, but rank below exact words
# A two-syllable word inside a longer one (관리 in 시설관리공단): found, ranked below the word
INSIDE_WEIGHT = 0.1
IDENTIFIER_BOOST = 20.0
FACET_SIZE = 20
SORTS = ("relevance", "date", "title", "newest")
MAX_WORDS = 8  # words beyond these only rank


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
    did_you_mean: str | None = None  # the query with mistyped words corrected


# --- one open searcher per process ---


class _OpenIndex:
    """An open index and searcher, and what is derived from them until the index changes."""

    def __init__(self, path: Path):
        self.path = path
        # Plain file reads, not mmap: the kernel caches the index files either way, and mapped
        # pages would count again in every worker's resident memory.
        self.ix = FileStorage(str(path), supports_mmap=False, readonly=True).open_index()
        self.searcher = self.ix.searcher()
        self.generation = Generation(self.searcher)
        self.results: OrderedDict = OrderedDict()

    def refresh(self) -> None:
        # A new searcher, not ``searcher.refresh()``: that reuses the readers of unchanged
        # segments and so misses deletions made in them (an updated record would show twice).
        old, self.searcher = self.searcher, self.ix.searcher()
        old.close()
        self.generation = Generation(self.searcher)
        self.results.clear()

    def reader(self) -> _WordCounts:
        return _WordCounts(self.generation)

    def stored_fields(self, docnums) -> list[dict]:
        return [self.searcher.stored_fields(int(docnum)) for docnum in docnums]

    def close(self) -> None:
        self.searcher.close()
        self.ix.close()


_open: dict[str, _OpenIndex] = {}
_open_lock = threading.RLock()


def _current(base: str) -> _OpenIndex | None:
    """The open searcher for ``base``: reopened after a swap, refreshed after a commit."""
    held = _open.get(base)
    if held is not None and _linked(base) == held.path:
        # The generation is still current (one readlink, not a look for its files).
        if not held.searcher.up_to_date():
            held.refresh()
        return held
    path = index.current_path(base)
    if path is None:
        return None
    if held is None or held.path != path:
        if held is not None:
            held.close()
        held = _open[base] = _OpenIndex(path)
    elif not held.searcher.up_to_date():
        held.refresh()
    return held


class _WordCounts:
    """How many records of a Whoosh index hold a word. A typo's candidates are hundreds of
    words, most of them no word at all: looking each up in every segment of the index took
    longer than the search, so the generation's set of whole words answers those first."""

    def __init__(self, gen: Generation):
        self.reader = gen.searcher.reader()
        self.whole_words = gen.remember(
            ("terms", index.WHOLE_FIELD),
            lambda: frozenset(self.reader.field_terms(index.WHOLE_FIELD)),
        )

    def doc_frequency(self, field: str, word: str) -> int:
        if field == index.WHOLE_FIELD and word not in self.whole_words:
            return 0
        return self.reader.doc_frequency(field, word)


def _open_source(source):
    """A Whoosh index directory (its path), or an index of another kind that opens itself
    (``pg_index.Source``: the same engine over PostgreSQL tables)."""
    if isinstance(source, str | Path):
        return _current(str(source))
    return source.current()


def _linked(base: str) -> Path | None:
    try:
        return Path(base) / os.readlink(Path(base) / index.CURRENT)
    except OSError:
        return None


def close_all() -> None:
    with _open_lock:
        for held in _open.values():
            held.close()
        _open.clear()


# --- the query ---


def _morpheme_term(term: str) -> Node:
    """The word in any text field, or (ranked lower) as a part of a compound."""
    fields = [TermNode(name, term, boost) for name, boost in index.MORPHEME_FIELDS.items()]
    return OrNode((*fields, TermNode(index.PARTS_FIELD, term, index.PARTS_BOOST)))


def _bigram_query(grams: list[str]) -> Node:
    unique = tuple(dict.fromkeys(grams))
    per_field = tuple(
        AndNode(tuple(TermNode(name, gram) for gram in unique), boost)
        for name, boost in index.BIGRAM_FIELDS.items()
    )
    return OrNode(per_field, NGRAM_WEIGHT)


# Administrative units: 의정부시 is 의정부, 호원동 is 호원 (records often leave them off).
ADMIN_TAILS = frozenset("시군구동읍면리")
HEAD_WEIGHT = 0.8
SYNONYM_WEIGHT = 0.3


def _admin_head(word: analysis.QueryWord) -> str | None:
    """``의정부시`` → ``의정부``: a one-word name ending in an administrative unit."""
    if len(word.morphemes) != 1:
        return None
    parts = word.morphemes[0].parts
    if len(parts) == 2 and parts[1] in ADMIN_TAILS and len(parts[0]) >= 2:
        return parts[0]
    return None


def _initials_query(word: analysis.QueryWord) -> Node:
    fields = index.CHOSEONG_FIELDS.items()
    return OrNode(tuple(TermNode(name, word.surface, boost) for name, boost in fields))


def _inside_query(gram: str) -> Node:
    """Records with ``gram`` inside a written word: in the noun stretches' bigram fields, or
    in ``word_ng``, which holds only the bigrams those fields do not."""
    fields = (index.WORD_GRAMS_FIELD, *index.BIGRAM_FIELDS)
    return OrNode(tuple(TermNode(name, gram) for name in fields), INSIDE_WEIGHT)


def _word_query(word: analysis.QueryWord) -> Node:
    """Exact morphemes rank first, and a word written on its own (``whole``) above the same
    word inside a compound. A noun stretch of three or more syllables, or a word the model
    cut into one-syllable pieces (평문, 한개), must occur as such in the text (its bigrams):
    that finds it inside compounds and across spacing, and keeps out records that only share
    its syllables. A two-syllable noun also matches inside any written word (관리 in
    시설관리공단, 상대 in 예상대로), far below the word itself."""
    if word.initials:
        return _initials_query(word)
    groups: list[Node] = []
    for morpheme in word.morphemes:
        exact = _morpheme_term(morpheme.form)
        if morpheme.parts:  # the compound whole, or its parts written apart
            exact = OrNode((exact, AndNode(tuple(_morpheme_term(p) for p in morpheme.parts))))
        groups.append(exact)
    morph = groups[0] if len(groups) == 1 else AndNode(tuple(groups)) if groups else None
    synonyms = lexicon.SYNONYMS.get(word.morphemes[0].form, ()) if len(groups) == 1 else ()
    if synonyms:
        morph = OrNode((morph, OrNode(tuple(map(_morpheme_term, synonyms)), SYNONYM_WEIGHT)))
    identifier = TermNode("identifier_key", word.surface, IDENTIFIER_BOOST)
    options: list[Node] = []
    grams = [g for run in word.runs for g in analysis.plain_bigrams(run)]
    if word.longest_run >= 3 or word.split:
        # The stretch as written; the morphemes only rank (a split word's one-syllable
        # pieces would match any record with those syllables).
        bigrams = _bigram_query(grams)
        options.append(AndMaybeNode(bigrams, morph) if morph is not None else bigrams)
        if synonyms:
            options.append(OrNode(tuple(map(_morpheme_term, synonyms)), SYNONYM_WEIGHT))
    else:
        if morph is not None:
            options.append(morph)
        if len(word.morphemes) == 1 and word.runs == [word.morphemes[0].form] and len(grams) == 1:
            # A two-syllable noun is also the head or tail of a longer word, ranked lower.
            options.append(_inside_query(grams[0]))
    for run in word.runs:  # the word on its own ranks above the word inside a compound
        options.append(TermNode(index.WHOLE_FIELD, run, index.WHOLE_BOOST))
    if romanize.is_latin_word(word.surface):  # Uijeongbu, Nogyang-dong: a Korean name
        key = romanize.loose(word.surface)
        fields = index.ROMAN_FIELDS.items()
        options.append(OrNode(tuple(TermNode(name, key, boost) for name, boost in fields)))
    head = _admin_head(word)
    if head is not None:  # 의정부시 also finds records that only say 의정부
        head_word = analysis.QueryWord(head, [analysis.Morpheme(head, "NNP", 0, len(head))],
                                       [head], [head])  # fmt: skip
        options.append(OrNode((_word_query(head_word),), HEAD_WEIGHT))
    return OrNode((*options, identifier))


def minimum_match(count: int) -> int:
    """Up to three words all must match; longer queries may miss a quarter of their words."""
    return count if count <= 3 else math.ceil(count * 0.75)


def build_query(words: list[analysis.QueryWord], relax: int = 0) -> Node | None:
    """Words with a noun must match (see ``minimum_match``, less ``relax``); verb-only words
    only rank."""
    if not words:
        return None
    required = [_word_query(w) for w in words if w.has_noun]
    optional = [_word_query(w) for w in words if not w.has_noun]
    if not required:
        required, optional = optional, []
    required, optional = required[:MAX_WORDS], optional + required[MAX_WORDS:]
    need = max(1, minimum_match(len(required)) - relax)
    if len(required) == 1:
        main = required[0]
    elif len(required) == 2:
        # Two words: records with both first, then records with one of them.
        main = AtLeastNode(tuple(required), 1, tiers=True)
    elif need == len(required):
        main = AndNode(tuple(required))
    else:  # any ``need`` of the words; records with more of them score higher
        main = AtLeastNode(tuple(required), need)
    if optional:
        main = AndMaybeNode(main, OrNode(tuple(optional)))
    return main


# --- filters, sorting, facets ---


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


def _allowed(gen: Generation, params: SearchParams) -> np.ndarray:
    query = _filter_query(params)
    if query is None:
        return gen.live
    return gen.mask_for(_filter_key(params), query)


FACETS = {
    "type": ("type", None),
    "subject": ("subjects_facet", index.FACET_SEPARATOR),
    "place": ("place", None),
    "decade": ("decades_facet", index.FACET_SEPARATOR),
}


def _order(gen: Generation, docnums: np.ndarray, scores: np.ndarray, sort: str) -> np.ndarray:
    if sort == "date":  # oldest first; records without a date last; then by title
        keys = (gen.rank("title_sort")[docnums], gen.rank("date_key")[docnums])
        return docnums[np.lexsort(keys)]
    if sort == "title":
        return docnums[np.argsort(gen.rank("title_sort")[docnums], kind="stable")]
    if sort == "newest":
        return docnums[np.argsort(-gen.rank("updated")[docnums], kind="stable")]
    # relevance: best score first, ties in index order
    return docnums[np.lexsort((docnums, -scores[docnums]))]


# --- search ---


def _ranked(held: _OpenIndex, params: SearchParams, words, sort: str, cache_size: int):
    """Matching documents in order with their scores, and the facets; kept for next pages."""
    key = (tuple(w.surface for w in words), _filter_key(params), sort)
    cached = held.results.get(key) if cache_size else None
    if cached is not None:
        held.results.move_to_end(key)
        return cached
    gen = held.generation
    allowed = _allowed(gen, params)
    query = build_query(words)
    if query is None:
        mask, scores = gen.live.copy(), np.zeros(gen.size)
    else:
        gen.prepare(query)
        mask, scores = query.evaluate(gen)
        mask &= allowed
        if not mask.any() and len(words) >= 3:
            # Nothing has every word of a longer query: accept records missing one of them
            # (ranked by how many they have) rather than answer with nothing.
            relaxed = build_query(words, relax=1)
            gen.prepare(relaxed)
            mask, scores = relaxed.evaluate(gen)
    mask &= allowed
    docnums = _order(gen, np.nonzero(mask)[0], scores, sort)
    facets = {
        name: gen.facet_counts(column, separator, mask, FACET_SIZE)
        for name, (column, separator) in FACETS.items()
    }
    cached = (docnums, scores, facets)
    if cache_size:
        held.results[key] = cached
        while len(held.results) > cache_size:
            held.results.popitem(last=False)
    return cached


def did_you_mean(reader, query: str, words: list[analysis.QueryWord]) -> str | None:
    """The query with each word the index does not know replaced by the known word one jamo
    edit away that most records hold; None when every word is known or has no such
    neighbour. ``reader`` counts the records holding a word (``doc_frequency``): the Whoosh
    index's ``_WordCounts`` or the PostgreSQL tables' generation."""

    def known(word: str) -> int:
        return reader.doc_frequency(index.WHOLE_FIELD, word)

    corrected, changed = analysis.normalize(query).split(), False
    surfaces = {word.surface: word for word in words}
    for n, surface in enumerate(corrected):
        word = surfaces.get(surface)
        if word is None or word.initials or romanize.is_latin_word(surface):
            continue
        fixed = typos.correct(surface, known) if typos.has_jamo(surface) else None
        if fixed is None:
            for run in word.runs:
                better = typos.correct(run, known)
                if better:
                    surface = surface.replace(run, better, 1)
        else:
            surface = fixed
        if surface != corrected[n]:
            corrected[n], changed = surface, True
    return " ".join(corrected) if changed else None


def search(base, params: SearchParams, *, cache_size: int = 16) -> SearchResult:
    """Search the current index. An empty query lists every record passing the filters."""
    result = SearchResult(total=0, page=params.page, per_page=params.per_page)
    words = analysis.analyse_query(params.q)
    sort = params.sort if words or params.sort != "relevance" else "newest"
    with _open_lock:
        held = _open_source(base)
        if held is None or (params.q.strip() and not words):
            result.facets = {name: [] for name in FACETS}
            return result
        docnums, scores, result.facets = _ranked(held, params, words, sort, cache_size)
        result.did_you_mean = did_you_mean(held.reader(), params.q, words)
        result.total = int(len(docnums))
        first = (params.page - 1) * params.per_page
        page = docnums[first : first + params.per_page]
        stored = held.stored_fields(page)
    marks = [mark for word in words for mark in word.marks]
    marks += [head for head in map(_admin_head, words) if head]
    for docnum, fields in zip(page, stored, strict=True):
        parts = snippets.snippet(fields.get("body_stored") or "", marks)
        result.hits.append(
            {
                "id": int(fields["id"]),
                "identifier": fields.get("identifier"),
                "title": fields.get("title_stored"),
                "date_text": fields.get("date_text") or None,
                "type": fields.get("type"),
                # The highlights as parts (text, marked), for a page to render itself; and
                # as HTML for the JSON API.
                "highlights": parts,
                "snippet": snippets.to_html(parts),
                "thumbnail_url": fields.get("thumbnail_url"),
                "score": round(float(scores[docnum]), 4) if sort == "relevance" else None,
            }
        )
    return result


# --- suggestions for the search box ---


def suggest(base, typed: str, *, limit: int = 10) -> list[dict]:
    """Titles, places, subjects and names of published records starting with ``typed``, by
    their 초성 or romanization too (see ``archive.search.suggest``)."""
    with _open_lock:
        held = _open_source(base)
        if held is None:
            return []
        gen = held.generation
        published = gen.mask_for(("suggest", "published"), Term("visibility", "published"))
        built = gen.remember(("suggest",), lambda: suggestions.build(gen, published))
    return suggestions.suggest(built, typed, limit)
