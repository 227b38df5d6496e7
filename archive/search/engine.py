"""Query evaluation over whole posting lists with numpy.

Whoosh stores the index and reads the postings; evaluating a Korean query through Whoosh's
matcher tree (every word is an OR over many fields, morphemes and bigrams) walks each posting
in Python and takes hundreds of milliseconds on tens of thousands of records. Here each term's
postings become two arrays (documents, weights) and the query is combined on dense per-document
vectors: a query costs a few milliseconds, with the facets over the whole result set included.

Scores are BM25 without length normalisation (field boosts, idf, saturated term weight).
Everything derived from one searcher generation (live documents, filter masks, sort keys,
facet codes) is kept on ``Generation`` until the index changes.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching.wrappers import WrappingMatcher
from whoosh.reading import TermNotFound

K1 = 1.2
# Posting lists kept per searcher generation, most recently used first, up to this many bytes
# per process: reading a list from Whoosh's blocks (every segment, in Python) is most of a
# query's time, and the words people search for repeat. A posting takes 5 bytes (document
# number, and the term's count in one byte, which holds every count here): 16 MB keep 3.4
# million postings (the benchmark's fixed mix of 28 queries needs 6 MB at 50,000 records).
POSTINGS_CACHE_BYTES = 16 * 1024 * 1024


class Node(Protocol):
    def evaluate(self, gen: Generation) -> tuple[np.ndarray, np.ndarray]:
        """(mask, score) vectors over all document numbers."""


@dataclass(frozen=True)
class TermNode:
    field: str
    text: str
    boost: float = 1.0

    def evaluate(self, gen):
        return gen.term(self.field, self.text, self.boost)


@dataclass(frozen=True)
class OrNode:
    children: tuple
    boost: float = 1.0

    def evaluate(self, gen):
        mask, score = gen.empty()
        for child in self.children:
            child_mask, child_score = child.evaluate(gen)
            mask |= child_mask
            score += child_score
        if self.boost != 1.0:
            score *= self.boost
        return mask, score


@dataclass(frozen=True)
class AndNode:
    children: tuple
    boost: float = 1.0

    def evaluate(self, gen):
        mask, score = None, None
        for child in self.children:
            child_mask, child_score = child.evaluate(gen)
            if mask is None:
                mask, score = child_mask.copy(), child_score.copy()
            else:
                mask &= child_mask
                score += child_score
        score = np.where(mask, score * self.boost, 0.0)
        return mask, score


@dataclass(frozen=True)
class AndMaybeNode:
    """Matches where ``required`` does; ``optional`` only adds to the score."""

    required: object
    optional: object

    def evaluate(self, gen):
        mask, score = self.required.evaluate(gen)
        _, extra = self.optional.evaluate(gen)
        return mask, np.where(mask, score + extra, 0.0)


@dataclass(frozen=True)
class AtLeastNode:
    """Matches documents matched by at least ``need`` of the children; scores add up."""

    children: tuple
    need: int
    tiers: bool = False  # documents matched by more children always rank first

    def evaluate(self, gen):
        count = np.zeros(gen.size, dtype=np.int16)
        _, score = gen.empty()
        for child in self.children:
            child_mask, child_score = child.evaluate(gen)
            count += child_mask
            score += child_score
        mask = count >= self.need
        if self.tiers and mask.any():
            score = score + count * (float(score[mask].max()) + 1.0)
        return mask, np.where(mask, score, 0.0)


def term_nodes(node) -> list[TermNode]:
    """Every term a query tree looks up (for a backend that fetches them all at once)."""
    if isinstance(node, TermNode):
        return [node]
    found = []
    for child in getattr(node, "children", ()):
        found += term_nodes(child)
    for part in ("required", "optional"):
        if hasattr(node, part):
            found += term_nodes(getattr(node, part))
    return found


def _leaf_postings(reader, field: str, text: str) -> tuple[list, list]:
    try:
        matcher = reader.postings(field, text)
    except TermNotFound:
        return [], []
    while isinstance(matcher, WrappingMatcher):  # deletions are handled by the live mask
        matcher = matcher.child
    ids, weights = [], []
    if isinstance(matcher, W3LeafMatcher):
        # Whole blocks at a time instead of one posting per Python call.
        while matcher.is_active():
            matcher._read_ids()
            matcher._read_weights()
            ids.extend(matcher._ids)
            weights.extend(matcher._weights)
            matcher._next_block()
    else:
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            matcher.next()
    return ids, weights


def _compact_weights(weights: np.ndarray) -> np.ndarray:
    """Weights as kept: term counts (or 1) in one byte each when they all fit, which they do
    here (a term 255 times in one record's field is not seen), else float32 (exact for counts)."""
    small = weights.astype(np.uint8)
    if np.array_equal(small, weights):
        return small
    return weights.astype(np.float32)


class Generation:
    """One searcher generation: postings access and what is cached until the index changes."""

    def __init__(self, searcher):
        self.searcher = searcher
        self.leaves = searcher.leaf_searchers()
        self.size = searcher.reader().doc_count_all()
        live = np.zeros(self.size, dtype=bool)
        for leaf, offset in self.leaves:
            ids = np.fromiter(leaf.reader().all_doc_ids(), dtype=np.int64)
            live[ids + offset] = True
        self.live = live
        self.live_count = max(1, int(live.sum()))
        self.cache: dict = {}
        self._postings: OrderedDict = OrderedDict()
        self._postings_bytes = 0

    def empty(self) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(self.size, dtype=bool), np.zeros(self.size, dtype=np.float64)

    def prepare(self, query: Node) -> None:
        """Called before ``query`` is evaluated (Whoosh reads each term when asked)."""

    def postings(self, field: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The live documents holding ``text`` in ``field`` and the term's weight in each
        (kept, see ``POSTINGS_CACHE_BYTES``)."""
        key = (field, text)
        found = self._postings.get(key)
        if found is not None:
            self._postings.move_to_end(key)
            return found
        found = self._read_postings(field, text)
        self._postings[key] = found
        self._postings_bytes += found[0].nbytes + found[1].nbytes + 200
        while self._postings_bytes > POSTINGS_CACHE_BYTES and len(self._postings) > 1:
            ids, weights = self._postings.popitem(last=False)[1]
            self._postings_bytes -= ids.nbytes + weights.nbytes + 200
        return found

    def _read_postings(self, field: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        all_ids, all_weights = [], []
        for leaf, offset in self.leaves:
            ids, weights = _leaf_postings(leaf.reader(), field, text)
            if ids:
                all_ids.append(np.asarray(ids, dtype=np.int64) + offset)
                all_weights.append(np.asarray(weights, dtype=np.float64))
        if not all_ids:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
        ids, weights = np.concatenate(all_ids), np.concatenate(all_weights)
        keep = self.live[ids]
        return ids[keep].astype(np.int32), _compact_weights(weights[keep])

    def term(self, field: str, text: str, boost: float):
        mask, score = self.empty()
        ids, weights = self.postings(field, text)
        if len(ids):
            weights = weights.astype(np.float64)
            idf = math.log(1 + (self.live_count - len(ids) + 0.5) / (len(ids) + 0.5))
            mask[ids] = True
            score[ids] = boost * idf * weights * (K1 + 1) / (weights + K1)
        return mask, score

    def remember(self, key, build):
        """A value derived from this generation, built once."""
        if key not in self.cache:
            self.cache[key] = build()
        return self.cache[key]

    def column(self, name: str) -> list:
        """A column's values (not kept: only the arrays built from them are)."""
        values = list(self.searcher.reader().column_reader(name))
        return [v.decode("utf-8") if isinstance(v, bytes) else v for v in values]

    def codes(self, name: str, separator: str | None) -> tuple[list[str], np.ndarray, np.ndarray]:
        """A facet column as (labels, doc numbers, label codes): one pair per value."""

        def build():
            labels: dict[str, int] = {}
            docs, codes = [], []
            for docnum, value in enumerate(self.column(name)):
                if not value:
                    continue
                for item in value.split(separator) if separator else (value,):
                    if item:
                        docs.append(docnum)
                        codes.append(labels.setdefault(item, len(labels)))
            return (
                list(labels),
                np.asarray(docs, dtype=np.int64),
                np.asarray(codes, dtype=np.int64),
            )

        return self.remember(("codes", name), build)

    def rank(self, name: str) -> np.ndarray:
        """Each document's position when sorted by a column's value."""

        def build():
            values = self.column(name)
            order = sorted(range(len(values)), key=lambda d: (values[d] is None, values[d] or 0))
            ranks = np.empty(len(values), dtype=np.int64)
            ranks[np.asarray(order, dtype=np.int64)] = np.arange(len(values))
            return ranks

        return self.remember(("rank", name), build)

    def mask_for(self, key, query) -> np.ndarray:
        """The documents matching a Whoosh query (used for filters)."""

        def build():
            mask = np.zeros(self.size, dtype=bool)
            ids = np.fromiter(self.searcher.docs_for_query(query), dtype=np.int64)
            mask[ids] = True
            return mask & self.live

        return self.remember(("filter", key), build)

    def facet_counts(self, name: str, separator: str | None, mask: np.ndarray, size: int):
        labels, docs, codes = self.codes(name, separator)
        if not len(docs):
            return []
        counts = np.bincount(codes[mask[docs]], minlength=len(labels))
        found = np.nonzero(counts)[0]
        ranked = sorted(((labels[i], int(counts[i])) for i in found), key=lambda c: (-c[1], c[0]))
        return [{"value": label, "count": count} for label, count in ranked[:size]]
