"""Merging segments by copying posting lists (``merging.MergingWriter``): the index it
writes holds exactly what Whoosh's own merge writes, deletions and updates included."""

import random

import pytest
from whoosh import index as whoosh_index
from whoosh.analysis import SpaceSeparatedTokenizer
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.writing import MERGE_SMALL, SegmentWriter

from archive.search import index, merging
from tests.fixtures.archive_search import WHOOSH_ONLY, document, hit_ids, search

WORDS = [f"w{n}" for n in range(60)]


def _schema() -> Schema:
    def counted():
        field = TEXT(analyzer=SpaceSeparatedTokenizer(), phrase=False)
        field.scorable = False
        return field

    presence = counted()
    presence.format = index.formats.Existence()
    return Schema(
        id=ID(stored=True, unique=True),
        body=counted(),
        tags=presence,
        subject=KEYWORD(commas=True),
        label=ID(sortable=True),
        year=NUMERIC(int, bits=32, stored=True, sortable=True),
        note=STORED,
    )


def _batches(seed: int, commits: int, size: int):
    """Commits of new and changed documents, some deletions between them."""
    rng, next_id, live = random.Random(seed), 1, []
    for _ in range(commits):
        docs = []
        for _ in range(size):
            if live and rng.random() < 0.2:
                doc_id = rng.choice(live)  # a change: the old version is deleted
            else:
                doc_id, next_id = next_id, next_id + 1
                live.append(doc_id)
            words = " ".join(rng.choices(WORDS, k=rng.randint(1, 30)))
            docs.append(
                {
                    "id": str(doc_id),
                    "body": words,
                    "tags": words,
                    "subject": ",".join(rng.sample(WORDS[:8], 2)),
                    "label": rng.choice(WORDS[:5]),
                    "year": rng.randint(1900, 2020),
                    "note": f"note {doc_id}",
                }
            )
        deleted = [live.pop(rng.randrange(len(live))) for _ in range(rng.randint(0, 3)) if live]
        yield docs, [str(d) for d in deleted if all(doc["id"] != str(d) for doc in docs)]


def _build(path, writer_class, mergetype, batches) -> None:
    path.mkdir()
    ix = whoosh_index.create_in(path, _schema())
    for docs, deleted in batches:
        writer = writer_class(ix)
        for doc_id in deleted:
            writer.delete_by_term("id", doc_id)
        for doc in docs:
            writer.update_document(**doc)
        writer.commit(mergetype=mergetype)
    ix.close()


def _contents(path) -> dict:
    ix = whoosh_index.open_dir(path)
    try:
        with ix.reader() as reader:
            postings = {}
            for fieldname, btext in reader.all_terms():
                matcher = reader.postings(fieldname, btext)
                found = []
                while matcher.is_active():
                    found.append((matcher.id(), matcher.weight(), matcher.value()))
                    matcher.next()
                info = reader.term_info(fieldname, btext)
                stats = (info.doc_frequency(), info.weight(), info.max_weight())
                postings[(fieldname, btext)] = (found, stats)
            return {
                "segments": [(s.doc_count_all(), s.deleted_count()) for s in ix._segments()],
                "postings": postings,
                "stored": list(reader.iter_docs()),
                "columns": {name: list(reader.column_reader(name)) for name in ("label", "year")},
            }
    finally:
        ix.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_copying_merge_writes_what_whooshs_merge_writes(tmp_path, seed):
    batches = list(_batches(seed, commits=40, size=25))
    _build(tmp_path / "whoosh", SegmentWriter, MERGE_SMALL, batches)
    _build(tmp_path / "copied", merging.MergingWriter, merging.merge_small, batches)
    expected, copied = _contents(tmp_path / "whoosh"), _contents(tmp_path / "copied")
    assert len(expected["segments"]) < 40  # segments were merged ...
    assert copied["segments"] == expected["segments"]
    assert copied["postings"] == expected["postings"]
    assert copied["stored"] == expected["stored"]
    assert copied["columns"] == expected["columns"]


def test_the_archive_schema_is_merged_by_copying():
    # Else every merge would take Whoosh's slow path again (still correct, only slow).
    assert merging.copyable(index.build_schema())
    assert merging.copyable(_schema())


def test_a_schema_with_positions_is_merged_whooshs_way(tmp_path):
    schema = Schema(id=ID(stored=True, unique=True), body=TEXT(phrase=True))
    assert not merging.copyable(schema)
    path = tmp_path / "positions"
    path.mkdir()
    ix = whoosh_index.create_in(path, schema)
    for n in range(12):
        writer = merging.MergingWriter(ix)
        writer.add_document(id=str(n), body=f"alpha beta doc{n}")
        writer.commit(mergetype=merging.merge_small)
    with ix.searcher() as searcher:
        assert searcher.doc_count() == 12
        assert len(ix._segments()) < 12
        assert searcher.document_number(body="doc7") is not None
    ix.close()


@WHOOSH_ONLY
def test_an_import_in_many_batches_keeps_every_record_and_change(fresh_index):
    # Batches as an import's jobs write them, with changes and deletions between them: the
    # merges keep the newest version of every record and nothing that was deleted.
    places = ["호원동", "장암동", "신곡동", "민락동", "녹양동"]
    for batch in range(14):
        docs = [
            document(id=n, title=f"{places[n % 5]} 기록", description=f"제{n}호 사진")
            for n in range(batch * 10 + 1, batch * 10 + 11)
        ]
        if batch == 6:  # changed records, and two removed
            docs += [document(id=3, title="망월사 전경"), document(id=4, title="망월사 전경")]
        deleted = [5, 15] if batch == 9 else []
        index.update_documents(fresh_index, docs, delete_ids=deleted)
    ix = whoosh_index.open_dir(index.current_path(fresh_index))
    try:
        assert len(ix._segments()) < 14  # merged
        assert ix.doc_count() == 138
    finally:
        ix.close()
    assert index.indexed_ids(fresh_index) == set(range(1, 141)) - {5, 15}
    assert sorted(hit_ids(search("망월사"))) == [3, 4]
    assert 3 not in hit_ids(search("민락동", per_page=100))
    for n in (1, 57, 99, 140):
        assert hit_ids(search(f"제{n}호"))[0] == n
    assert search("호원동", per_page=100).total == 26  # 28 minus records 5 and 15 (deleted)
