"""The Whoosh index: schema, document fields, and the only two ways it is written.

Layout: ``INDEX_DIR/current`` is a symlink to one generation directory (``gen-<ns>``). The job
``index_records`` updates the current generation in place; ``reindex`` builds a new generation
next to it and swaps the link atomically, so a searcher never sees a half-built index.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from whoosh import formats
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3PerDocReader
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from archive.search import analysis, merging

CURRENT = "current"
# Query-time weights per field: the title counts most, running text least.
MORPHEME_FIELDS = {
    "title": 6.0,
    "alt_title": 4.0,
    "subjects_text": 3.0,
    "place_text": 2.5,
    "creator": 1.5,
    "labels": 1.0,  # the type in Korean (사진, 지도 ...), the date as written, collections
    "body": 1.0,  # description and text (transcription, OCR)
}
BIGRAM_FIELDS = {"title_ng": 2.0, "body_ng": 0.6}
# Parts of compounds (도봉 + 산 of 도봉산) from every text: a match there ranks below the word.
PARTS_FIELD, PARTS_BOOST = "parts", 0.15
# Bigrams inside the written words of every text that the noun stretches' bigrams (above)
# do not give: two-syllable words inside longer ones. Searched with those fields, presence
# only (no frequencies).
WORD_GRAMS_FIELD = "word_ng"
# The nouns of each written word (세미콜론 in 세미콜론으로): the word on its own ranks first
# (presence only, like ``word_ng``).
WHOLE_FIELD, WHOLE_BOOST = "whole", 3.0
# 초성 of the words of titles, places, subjects and names (ㅇㅈㅂ → 의정부).
CHOSEONG_FIELDS = {"title_cho": 2.0, "names_cho": 1.0}
# Revised Romanization (loose keys) of the same words: Uijeongbu → 의정부.
ROMAN_FIELDS = {"title_roman": 2.0, "names_roman": 1.0}
WRITE_LOCK_TIMEOUT = 60.0
BODY_STORED_CHARS = 20000  # enough for snippets; the full text lives in the database
MAX_DECADES = 11  # a date range wider than a century gives no decade facet
# What people call each type, so that 회룡사 사진 finds the photographs of 회룡사.
TYPE_LABELS = {
    "photo": "사진",
    "document": "문서",
    "map": "지도",
    "book": "책 도서",
    "object": "유물",
    "audio": "음성 녹음",
    "video": "영상 동영상",
}


def _unscored(field):
    # Scoring is done by ``engine`` without field lengths: do not write them for each posting.
    field.scorable = False
    return field


def _remember_missing_columns() -> None:
    """Whoosh asks, for every posting it writes, for the field's length in that document; a
    field without lengths (every text field here, see ``_unscored``) has no length column,
    and whether it has one is a ``stat`` of the missing file, for each posting again. A
    segment's columns do not change once it is written: remember that the column is not
    there."""
    original = W3PerDocReader._cached_reader
    if getattr(original, "remembers_missing", False):
        return

    def cached_reader(self, fieldname, column):
        missing = self.__dict__.setdefault("_missing_columns", set())
        if fieldname in missing:
            return None
        reader = original(self, fieldname, column)
        if reader is None:
            missing.add(fieldname)
        return reader

    cached_reader.remembers_missing = True
    W3PerDocReader._cached_reader = cached_reader


_remember_missing_columns()


def _presence(field):
    # Whether the document holds the term, no frequencies: the smallest postings.
    field.format = formats.Existence(field_boost=field.format.field_boost)
    return _unscored(field)


def build_schema() -> Schema:
    def morph():
        return _unscored(TEXT(analyzer=analysis.MorphemeAnalyzer(), phrase=False))

    def grams():
        return _unscored(TEXT(analyzer=analysis.BigramAnalyzer(), phrase=False))

    return Schema(
        id=ID(stored=True, unique=True),
        identifier=ID(stored=True),
        identifier_key=ID,
        title=morph(),
        title_stored=STORED,
        alt_title=morph(),
        creator=morph(),
        labels=morph(),
        subjects_text=morph(),
        place_text=morph(),
        body=morph(),
        parts=_unscored(TEXT(analyzer=analysis.PartAnalyzer(), phrase=False)),
        title_ng=grams(),
        body_ng=grams(),
        word_ng=_presence(TEXT(analyzer=analysis.WordGramAnalyzer(), phrase=False)),
        whole=_presence(TEXT(analyzer=analysis.WholeNounAnalyzer(), phrase=False)),
        title_cho=_unscored(TEXT(analyzer=analysis.ChoseongAnalyzer(), phrase=False)),
        names_cho=_unscored(TEXT(analyzer=analysis.ChoseongAnalyzer(), phrase=False)),
        title_roman=_unscored(TEXT(analyzer=analysis.RomanAnalyzer(), phrase=False)),
        names_roman=_unscored(TEXT(analyzer=analysis.RomanAnalyzer(), phrase=False)),
        # Filters; the *_facet columns hold one value per document for fast facet counts.
        subject=KEYWORD(commas=True),
        subjects_facet=ID(sortable=True),
        # What the search box suggests (titles and names as written).
        title_label=ID(sortable=True),
        creator_label=ID(sortable=True),
        place=ID(sortable=True),
        collection=KEYWORD(commas=True),
        type=ID(stored=True, sortable=True),
        visibility=ID(stored=True),
        year_from=NUMERIC(int, bits=32, stored=True),
        year_to=NUMERIC(int, bits=32, stored=True),
        decade=KEYWORD(commas=True),
        decades_facet=ID(sortable=True),
        # Sort keys
        date_key=NUMERIC(int, bits=32, sortable=True),
        title_sort=ID(sortable=True),
        updated=NUMERIC(int, bits=64, sortable=True),
        # Shown in results
        date_text=STORED,
        thumbnail_url=STORED,
        body_stored=STORED,
    )


FACET_SEPARATOR = "\x1f"


def _clean(value: str) -> str:
    return value.replace(",", " ").strip()


def decades(year_from: int | None, year_to: int | None) -> list[str]:
    if year_from is None or year_to is None or year_to < year_from:
        return []
    first, last = year_from // 10 * 10, year_to // 10 * 10
    if (last - first) // 10 + 1 > MAX_DECADES:
        return []
    return [str(decade) for decade in range(first, last + 10, 10)]


def _timestamp(value) -> int:
    if isinstance(value, datetime):
        return int(value.timestamp())
    return 0


def fields(document: dict) -> dict:
    """Whoosh fields of one ``record_document`` dict."""
    subjects = [_clean(s) for s in document.get("subjects") or [] if s and _clean(s)]
    collections = [_clean(c) for c in document.get("collections") or [] if c and _clean(c)]
    place = (document.get("place") or "").strip()
    title = document.get("title") or ""
    alt_title = document.get("alt_title") or ""
    description = document.get("description") or ""
    text = document.get("text") or ""
    creator = document.get("creator") or ""
    labels = _labels(document)
    year_from, year_to = document.get("year_from"), document.get("year_to")
    if year_from is not None and year_to is None:
        year_to = year_from
    if year_to is not None and year_from is None:
        year_from = year_to
    spans = decades(year_from, year_to)
    body = "\n".join(part for part in (description, text) if part)
    out = {
        "id": str(document["id"]),
        "identifier": document.get("identifier") or "",
        "identifier_key": (document.get("identifier") or "").lower(),
        "title": title,
        "title_stored": title,
        "alt_title": alt_title,
        "creator": creator,
        "labels": labels,
        "subjects_text": "\n".join(subjects),
        "place_text": place,
        "body": analysis.PART_SEPARATOR.join([description, text]),
        "parts": analysis.PART_SEPARATOR.join(
            [title, alt_title, "\n".join(subjects), place, creator, description, text]
        ),
        "title_ng": title,
        "title_cho": analysis.PART_SEPARATOR.join([title, alt_title]),
        "names_cho": analysis.PART_SEPARATOR.join(["\n".join(subjects), place, creator]),
        "title_roman": analysis.PART_SEPARATOR.join([title, alt_title]),
        "names_roman": analysis.PART_SEPARATOR.join(["\n".join(subjects), place, creator]),
        "whole": analysis.PART_SEPARATOR.join(
            [title, alt_title, "\n".join(subjects), place, creator, description, text]
        ),
        "word_ng": analysis.PART_SEPARATOR.join(
            [title, alt_title, "\n".join(subjects), place, creator, description, text]
        ),
        "body_ng": analysis.PART_SEPARATOR.join(
            [alt_title, "\n".join(subjects), place, creator, description, text]
        ),
        "subject": ",".join(subjects),
        "subjects_facet": FACET_SEPARATOR.join(subjects),
        "title_label": title.strip()[:200],
        "creator_label": creator.strip()[:200],
        "collection": ",".join(collections),
        "type": document.get("type") or "",
        "visibility": document.get("visibility") or "",
        "decade": ",".join(spans),
        "decades_facet": FACET_SEPARATOR.join(spans),
        "date_key": year_from if year_from is not None else 99999,
        "title_sort": analysis.normalize(title)[:200],
        "updated": _timestamp(document.get("updated_at")),
        "date_text": document.get("date_text") or "",
        "thumbnail_url": document.get("thumbnail_url"),
        "body_stored": body[:BODY_STORED_CHARS],
    }
    if place:
        out["place"] = place
    if year_from is not None:
        out["year_from"], out["year_to"] = int(year_from), int(year_to)
    return out


def _labels(document: dict) -> str:
    parts = [
        TYPE_LABELS.get(document.get("type") or "", ""),
        document.get("date_text") or "",
        *[_clean(c) for c in document.get("collections") or [] if c],
    ]
    return "\n".join(part for part in parts if part)


def _analysed_texts(document: dict) -> list[str]:
    subjects = document.get("subjects") or []
    return [
        _labels(document),
        document.get("title") or "",
        document.get("alt_title") or "",
        document.get("description") or "",
        document.get("creator") or "",
        "\n".join(_clean(s) for s in subjects if s),
        (document.get("place") or "").strip(),
        document.get("text") or "",
    ]


# --- locating generations ---


def current_path(base: str | Path) -> Path | None:
    link = Path(base) / CURRENT
    try:
        target = os.readlink(link)
    except OSError:
        return None
    path = Path(base) / target
    return path if whoosh_index.exists_in(path) else None


def _layout(schema: Schema) -> list[tuple[str, str]]:
    return sorted((name, type(field).__name__) for name, field in schema.items())


def is_stale(base: str | Path) -> bool:
    """Whether the current generation was built with other fields than this code writes and
    searches (an index from before an upgrade): it must be rebuilt (``archive reindex``)."""
    path = current_path(base)
    if path is None:
        return False
    ix = whoosh_index.open_dir(path)
    try:
        return _layout(ix.schema) != _layout(build_schema())
    finally:
        ix.close()


def _new_generation(base: Path) -> Path:
    base.mkdir(parents=True, exist_ok=True)
    path = base / f"gen-{time.time_ns()}"
    path.mkdir()
    whoosh_index.create_in(path, build_schema())
    return path


def _point_current(base: Path, generation: Path) -> None:
    tmp = base / f".{CURRENT}-{time.time_ns()}"
    os.symlink(generation.name, tmp)
    os.replace(tmp, base / CURRENT)  # atomic: readers see the old or the new generation


def _remove_old_generations(base: Path, keep: set[str]) -> None:
    # The previous generation stays one round, for searchers that still have it open.
    generations = sorted(p for p in base.glob("gen-*") if p.is_dir())
    for path in generations[:-2]:
        if path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)


def open_for_writing(base: str | Path):
    """The current index, created (empty) when there is none yet."""
    base = Path(base)
    path = current_path(base)
    if path is None:
        path = _new_generation(base)
        _point_current(base, path)
    return whoosh_index.open_dir(path)


# --- writing ---


def update_documents(base: str | Path, documents: list[dict], delete_ids: Iterable[int] = ()):
    """Index or replace records (an import's batch), delete others, commit once (the job's
    path)."""
    ix = open_for_writing(base)
    try:
        writer = merging.MergingWriter(ix, timeout=WRITE_LOCK_TIMEOUT)
        try:
            for record_id in delete_ids:
                writer.delete_by_term("id", str(record_id))
            for chunk in analysed_chunks(documents):
                for document in chunk:
                    writer.update_document(**fields(document))
            writer.commit(mergetype=merging.merge_small)
        except BaseException:
            # A commit that fails half-way still holds the index's write lock: let it go,
            # or every later write in this process waits out the lock's timeout.
            with contextlib.suppress(Exception):
                writer.cancel()
            if not writer.is_closed:  # cancelling failed too: the lock still goes
                with contextlib.suppress(Exception):
                    writer.writelock.release()
            raise
    finally:
        analysis.clear_primed()
        ix.close()


def rebuild(
    base: str | Path, documents: Iterable[dict], *, batch: int = 32, limitmb: int = 256
) -> int:
    """Build a fresh generation from ``documents`` (one writer, one commit), then swap it in.

    One Whoosh process; the morphology of each batch of documents is analysed at once by
    Kiwi's worker threads, which use both cores (Whoosh's multiprocess writer would analyse
    every text again, one at a time, in each process, and was slower here).
    """
    base = Path(base)
    analysis.warm_up()
    generation = _new_generation(base)
    ix = whoosh_index.open_dir(generation)
    writer = merging.MergingWriter(ix, limitmb=limitmb)
    count = 0
    try:
        for chunk in analysed_chunks(documents, batch):
            for document in chunk:
                writer.add_document(**fields(document))
            count += len(chunk)
        writer.commit()
    except BaseException:
        writer.cancel()
        ix.close()
        shutil.rmtree(generation, ignore_errors=True)
        raise
    finally:
        analysis.clear_primed()
    ix.close()
    _point_current(base, generation)
    _remove_old_generations(base, keep={generation.name})
    return count


# Documents whose texts Kiwi reads at once: small enough that the first chunk's writing
# starts soon, big enough for Kiwi's worker threads to share the work.
PIPELINE_CHUNK = 32


def analysed_chunks(documents: Iterable[dict], size: int = PIPELINE_CHUNK):
    """The documents a chunk at a time, each chunk's texts analysed (``analysis.prime``) when
    it is handed out. Kiwi tokenizes the next chunk on another thread meanwhile: a batch goes
    to Kiwi's worker threads, which run outside the interpreter lock, so the morphology of
    one chunk and the Python work of indexing the one before share both cores (in a forked
    web worker Kiwi has no threads and a single text's call holds the lock: no overlap,
    the same result). ``documents`` is read on the caller's thread (a generator may hold a
    database session)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiwi-batch") as pool:
        pending = None
        try:
            for chunk in _chunks(documents, size):
                tokenized = pool.submit(analysis.tokenize_batch, _chunk_texts(chunk))
                if pending is not None:
                    yield _primed(*pending)
                pending = (chunk, tokenized)
            if pending is not None:
                yield _primed(*pending)
        finally:
            analysis.clear_primed()


def _primed(chunk: list[dict], tokenized) -> list[dict]:
    analysis.clear_primed()
    analysis.prime_with(tokenized.result())
    return chunk


def _chunks(documents: Iterable[dict], size: int):
    chunk: list[dict] = []
    for document in documents:
        chunk.append(document)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _chunk_texts(chunk: list[dict]) -> list[str]:
    return [text for document in chunk for text in _analysed_texts(document)]


def indexed_ids(base: str | Path) -> set[int]:
    path = current_path(base)
    if path is None:
        return set()
    ix = whoosh_index.open_dir(path)
    try:
        with ix.searcher() as searcher:
            # Terms of deleted documents linger until a merge: keep ids with a live document.
            return {
                int(term)
                for term in searcher.reader().field_terms("id")
                if searcher.document_number(id=term) is not None
            }
    finally:
        ix.close()


def size_bytes(base: str | Path) -> int:
    path = current_path(base)
    if path is None:
        return 0
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file())
