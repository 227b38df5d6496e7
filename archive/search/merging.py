"""Merging the index's segments by copying posting lists a block at a time.

Whoosh merges segments (``writer.add_reader``) by reading every posting of the old segments
one Python call at a time, adding each to the writer's posting pool as a tuple, sorting the
pool (spilling runs to temporary files past ``limitmb``) and writing it out again one posting
at a time: on this index about 4 ms of CPU for each document merged, as much as indexing it
in the first place, and a growing index merges most documents more than once.

The old segments' posting lists are already in order (field, term, document), and the
documents of each segment keep their order in the new one. ``MergingWriter`` therefore
copies each term's postings from every merged segment as whole blocks (document numbers
shifted, or mapped past deleted documents), next to those of the documents added in this
commit, straight to the new segment's postings writer: no pool, no sort. The per-document
values (stored fields, columns) are copied by Whoosh's own code (``write_per_doc``), and the
segments to merge are chosen as Whoosh's default policy chooses them (``merge_small``), so
the index it writes holds exactly what Whoosh's merge writes (a test compares them). The
documents added in the commit take the same way to the file (a term at a time, without
Whoosh's look-up of each posting's field length), merge or not, and so does a rebuild.

Measured on the benchmark's records (1–2 KB of Korean text): merging 3,000 documents from
15 segments took 3.3 s of CPU instead of 12.0, and indexing 20,000 records as an import
does 10.8 ms of CPU a record instead of 17.3.

This applies when no field stores lengths or values of varying size (positions), which is
this index's schema (scores come from ``engine``, without lengths); for another schema the
writer is Whoosh's own.
"""

from __future__ import annotations

import heapq
import io
import pickle
import zlib
from array import array
from itertools import accumulate, groupby
from operator import itemgetter

from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3TermInfo
from whoosh.reading import SegmentReader
from whoosh.system import unpack_int, unpack_long
from whoosh.util import fib
from whoosh.writing import SegmentWriter


def copyable(schema) -> bool:
    """Whether posting lists of this schema can be copied as blocks: no field keeps lengths
    (scorable) or values of varying size per posting (positions, characters)."""
    for _, field in schema.items():
        if field.indexed and (field.scorable or field.format.fixed_value_size() is None):
            return False
    return True


def merge_small(writer, segments):
    """Whoosh's ``MERGE_SMALL`` choice of segments (the smallest ones, while together they
    stay under a Fibonacci bound), merged with ``writer.merge_segment``: the same segments
    as Whoosh's default policy, so the index's shape is unchanged."""
    unchanged, to_merge = [], []
    ordered = sorted(segments, key=lambda s: s.doc_count_all())
    total, found = 0, False
    for i, segment in enumerate(ordered):
        total += max(0, segment.doc_count_all())
        if found:
            unchanged.append(segment)
            continue
        to_merge.append(segment)
        if i > 3 and total < fib(i + 5):
            found = True
    if not (found and len(to_merge) > 1):
        return segments
    for segment in to_merge:
        writer.merge_segment(segment)
    return unchanged


class MergingWriter(SegmentWriter):
    """A segment writer whose merges copy posting lists (see the module's documentation)."""

    def __init__(self, ix, **kwargs):
        super().__init__(ix, **kwargs)
        self._copy = copyable(self.schema)
        # (reader, first new document number, {old: new} when it has deletions, else None)
        self._sources: list = []

    def merge_segment(self, segment) -> None:
        """Add a segment's documents to the one being written (its postings when flushed)."""
        self._check_state()
        reader = SegmentReader(self.storage, self.schema, segment)
        if not self._copy:
            try:
                self.add_reader(reader)
            finally:
                reader.close()
            return
        try:
            basedoc = self.docnum
            names = {name for name in reader.indexed_field_names() if name in self.schema}
            docmap = self.write_per_doc(set(self.schema.names()) | names, reader)
        except BaseException:
            reader.close()
            raise
        self._sources.append((reader, basedoc, docmap))
        self._added = True

    def _flush_segment(self):
        # The new documents' postings go the same way as the merged ones (with or without a
        # merge): a term at a time, without the per-posting length look-ups Whoosh's writer
        # makes (no field here keeps lengths).
        if not self._copy:
            return super()._flush_segment()
        try:
            self.perdocwriter.close()
            _write_postings(self.fieldwriter, self.schema, self.pool, self._sources)
            self.fieldwriter.close()
        finally:
            self._close_sources()

    def _close_sources(self) -> None:
        for reader, _, _ in self._sources:
            reader.close()
        self._sources = []

    def cancel(self):
        self._close_sources()
        super().cancel()


def _pool_terms(pool):
    """The postings of the documents added in this commit, a term at a time:
    ((field, term), [(docnum, weight, value), ...]) in the order the index keeps terms."""
    for key, postings in groupby(pool.iter_postings(), key=itemgetter(0, 1)):
        found = [(doc, weight, value) for _, _, doc, weight, value in postings if doc >= 0]
        if found:  # (document -1 marks a spelling word, not a posting)
            yield key, found


_TERMINFO = W3TermInfo._struct


def _segment_terms(reader):
    """((field, term), where its postings are) of a segment, in the order the index keeps
    terms: the offset in the postings file, or the term info when its postings are inlined.
    Read from Whoosh's codec reader (there is no public way), only as far as needed."""
    terms = reader._terms
    decode, size = terms._keydecoder, _TERMINFO.size
    for keybytes, info in terms._tindex.items():
        if info[0]:  # flags: postings inlined in the term info
            yield decode(keybytes), W3TermInfo.from_bytes(info)
        else:
            yield decode(keybytes), unpack_long(info[size : size + 8])[0]


class _Postings:
    """One term's postings on their way to the new segment: document numbers, weights, and
    the values (a fixed number of bytes each, none for presence-only fields) joined."""

    __slots__ = ("ids", "weights", "values", "size")

    def __init__(self, size: int):
        self.ids, self.weights, self.values, self.size = array("I"), array("f"), bytearray(), size


def _write_postings(fieldwriter, schema, pool, sources) -> None:
    # One ordered stream of terms: the new documents' first (their numbers are the lowest),
    # then each merged segment in the order its documents were numbered.
    streams = [_labelled(_pool_terms(pool), 0)]
    for position, (reader, _, _) in enumerate(sources, start=1):
        streams.append(_labelled(_segment_terms(reader), position))
    merged = heapq.merge(*streams, key=lambda item: (item[0], item[1]))
    remaps = [_remap(basedoc, docmap) for _, basedoc, docmap in sources]
    current_field, last_key = None, None
    for key, group in groupby(merged, key=itemgetter(0)):
        fieldname, btext = key
        if fieldname not in schema:
            continue
        if last_key is not None and key <= last_key:
            raise ValueError(f"terms out of order: {last_key!r} before {key!r}")
        last_key = key
        format_ = schema[fieldname].format
        postings = _Postings(format_.fixed_value_size())
        for _, position, data in group:
            if position == 0:
                for docnum, weight, value in data:
                    postings.ids.append(docnum)
                    postings.weights.append(weight)
                    if postings.size:
                        postings.values += value
            else:
                reader = sources[position - 1][0]
                _read_term(reader, key, data, format_, remaps[position - 1], postings)
        if not postings.ids:
            continue  # every document holding it was deleted
        if fieldname != current_field:
            if current_field is not None:
                fieldwriter.finish_field()
            fieldwriter.start_field(fieldname, schema[fieldname])
            current_field = fieldname
        fieldwriter.start_term(btext)
        _add_blocks(fieldwriter._postwriter, postings)
        fieldwriter.finish_term()
    if current_field is not None:
        fieldwriter.finish_field()


def _labelled(terms, position: int):
    for key, data in terms:
        yield key, position, data


def _remap(basedoc: int, docmap: dict | None):
    if docmap is None:
        return basedoc
    # Old document number → new one, None for a deleted document.
    table = [None] * (max(docmap) + 1 if docmap else 0)
    for old, new in docmap.items():
        table[old] = new
    return table


def _read_term(reader, key, where, format_, remap, postings: _Postings) -> None:
    size = postings.size
    if isinstance(where, int):
        blocks = _blocks(reader._terms._postfile, where)
    else:  # inlined: through Whoosh's matcher
        matcher = reader._codec.postings_reader(None, where, format_, term=key)
        found = []
        while matcher.is_active():
            found.append((matcher.id(), matcher.weight(), matcher.value() if size else b""))
            matcher.next()
        blocks = [
            ([i for i, _, _ in found], [w for _, w, _ in found], b"".join(v for *_, v in found))
        ]
    for block_ids, block_weights, block_values in blocks:
        if isinstance(remap, int):
            postings.ids.extend([docnum + remap for docnum in block_ids])
            postings.weights.extend(block_weights)
            if size:
                postings.values += block_values
            continue
        for i, (docnum, weight) in enumerate(zip(block_ids, block_weights, strict=True)):
            new = remap[docnum] if docnum < len(remap) else None
            if new is not None:
                postings.ids.append(new)
                postings.weights.append(weight)
                if size:
                    postings.values += block_values[i * size : (i + 1) * size]


def _blocks(postfile, offset: int):
    """(document numbers, weights, joined values) of each block of one term's postings, as
    ``W3LeafMatcher`` reads them, without a matcher per term."""
    if postfile.get(offset, 4) != WHOOSH3_HEADER_MAGIC:
        raise ValueError(f"no posting block at {offset}")
    position = offset + 4
    while True:
        length = unpack_int(postfile.get(position, 4))[0]
        last, length = length < 0, abs(length)
        block = io.BytesIO(postfile.get(position + 4, length))
        count, _, _, compression, _, _ = pickle.load(block)
        data = block.read()
        ids, weights, values = pickle.loads(zlib.decompress(data) if compression else data)
        if weights is None:
            weights = array("f", [1.0]) * count
        elif isinstance(weights, float):
            weights = array("f", [weights]) * count
        yield accumulate(ids), weights, values
        if last:
            return
        position += 4 + length


def _add_blocks(postwriter, postings: _Postings) -> None:
    """What ``add_posting`` does for each posting, a block at a time: a full block is
    written when the next posting arrives, the last one by ``finish_postings``."""
    limit, size = postwriter._blocklimit, postings.size
    ids, weights, values = postings.ids, postings.weights, postings.values
    start, count = 0, len(ids)
    while start < count:
        if len(postwriter._ids) >= limit:
            postwriter._write_block()
        end = min(count, start + limit - len(postwriter._ids))
        postwriter._ids.extend(ids[start:end])
        postwriter._weights.extend(weights[start:end])
        if size:  # joined again when the block is written, as ``add_posting``'s are
            postwriter._values.append(bytes(values[start * size : end * size]))
        heaviest = max(weights[start:end])
        if heaviest > postwriter._maxweight:
            postwriter._maxweight = heaviest
        start = end
