"""The index and the searcher on plain documents: filters, sorting, paging, facets, snippets,
updates, and the rebuild swap; on each backend (Whoosh, and the PostgreSQL tables when the
suite runs on PostgreSQL)."""

import pytest
from whoosh import index as whoosh_index

from archive.search import index, searcher, snippets
from tests.fixtures.archive_search import (
    WHOOSH_ONLY,
    build_index,
    document,
    hit_ids,
    search,
)


def test_filters_by_type_subject_place_and_collection():
    build_index(
        [
            document(id=1, title="회룡사 사진", type="photo", subjects=["사찰"], place="호원동"),
            document(id=2, title="회룡사 문서", type="document", subjects=["사찰", "고문서"]),
            document(id=3, title="회룡사 지도", type="map", collections=["향토 지도"]),
        ]
    )
    assert hit_ids(search("회룡사", type="document")) == [2]
    assert sorted(hit_ids(search("회룡사", subject="사찰"))) == [1, 2]
    assert hit_ids(search("회룡사", subject="고문서")) == [2]
    assert hit_ids(search("회룡사", place="호원동")) == [1]
    assert hit_ids(search("회룡사", collection="향토 지도")) == [3]


def test_year_filters_match_by_overlap():
    build_index(
        [
            document(id=1, title="중랑천 사진", year_from=1950, year_to=1959),
            document(id=2, title="중랑천 사진", year_from=1911, year_to=1911),
            document(id=3, title="중랑천 사진", year_from=1800, year_to=1899),
            document(id=4, title="중랑천 사진"),  # date unknown
        ]
    )
    assert sorted(hit_ids(search("중랑천", year_from=1955, year_to=1970))) == [1]
    assert sorted(hit_ids(search("중랑천", year_from=1890, year_to=1911))) == [2, 3]
    assert sorted(hit_ids(search("중랑천", year_to=1900))) == [3]
    assert sorted(hit_ids(search("중랑천", year_from=1900))) == [1, 2]
    assert len(hit_ids(search("중랑천"))) == 4


def test_public_search_sees_published_records_only():
    build_index(
        [
            document(id=1, title="망월사", visibility="published"),
            document(id=2, title="망월사", visibility="draft"),
            document(id=3, title="망월사", visibility="withdrawn"),
        ]
    )
    assert hit_ids(search("망월사")) == [1]
    assert sorted(hit_ids(search("망월사", visibility=None))) == [1, 2, 3]
    assert hit_ids(search("망월사", visibility="draft")) == [2]


def test_sorting():
    build_index(
        [
            document(id=1, title="다 제일시장", year_from=1970, year_to=1979),
            document(id=2, title="가 제일시장", year_from=1911, year_to=1911),
            document(id=3, title="나 제일시장"),
        ]
    )
    assert hit_ids(search("제일시장", sort="date")) == [2, 1, 3]  # undated last
    assert hit_ids(search("제일시장", sort="title")) == [2, 3, 1]


def test_newest_first_and_empty_query_lists_everything(app):
    from datetime import UTC, datetime

    build_index(
        [
            document(id=1, title="행복로", updated_at=datetime(2026, 1, 1, tzinfo=UTC)),
            document(id=2, title="행복로", updated_at=datetime(2026, 3, 1, tzinfo=UTC)),
            document(id=3, title="행복로", updated_at=datetime(2026, 2, 1, tzinfo=UTC)),
        ]
    )
    assert hit_ids(search("행복로", sort="newest")) == [2, 3, 1]
    assert hit_ids(search("")) == [2, 3, 1]


def test_relevance_puts_title_matches_first():
    build_index(
        [
            document(id=1, title="풍경 사진", description="수락산이 멀리 보인다."),
            document(id=2, title="수락산 계곡", description="여름 피서객들."),
        ]
    )
    result = search("수락산")
    assert hit_ids(result) == [2, 1]
    assert result.hits[0]["score"] > result.hits[1]["score"] > 0


def test_pagination_and_facets_cover_the_whole_result_set():
    docs = [
        document(
            id=n,
            title=f"의정부 사진 {n}",
            type="photo" if n % 3 else "map",
            subjects=["거리", "시장"] if n % 2 else ["거리"],
            place="의정부동" if n <= 10 else "호원동",
            year_from=1950 + n,
            year_to=1950 + n,
        )
        for n in range(1, 26)
    ]
    build_index(docs)
    first = search("의정부", per_page=10, page=1)
    third = search("의정부", per_page=10, page=3)
    assert first.total == third.total == 25
    assert len(first.hits) == 10 and len(third.hits) == 5
    assert not set(hit_ids(first)) & set(hit_ids(third))
    facets = first.facets
    assert {"value": "photo", "count": 17} in facets["type"]
    assert {"value": "map", "count": 8} in facets["type"]
    assert facets["subject"][0] == {"value": "거리", "count": 25}
    assert {"value": "시장", "count": 13} in facets["subject"]
    assert {"value": "의정부동", "count": 10} in facets["place"]
    assert {"value": "1960", "count": 10} in facets["decade"]
    assert search("의정부", place="호원동").facets["place"] == [{"value": "호원동", "count": 15}]


def test_snippets_mark_matches_and_escape_the_rest():
    build_index(
        [
            document(
                id=1,
                title="관아 터",
                description="<script>alert(1)</script> 議政府 관아 터에서 의정부의 옛 모습을 본다.",
            )
        ]
    )
    snippet = search("의정부에서").hits[0]["snippet"]
    assert "<mark>議政府</mark>" in snippet and "<mark>의정부</mark>의" in snippet
    assert "<script>" not in snippet and "&lt;script&gt;" in snippet


def test_highlights_are_parts_of_plain_text_that_the_html_is_made_from():
    text = "<b>앞말</b>   " + "가" * 60 + " 議政府 관아,\n의정부의 옛 모습 " + "나" * 200
    parts = snippets.snippet(text, ["의정부"])
    assert parts[0][0].startswith("…") and not parts[0][1]
    assert [part for part in parts if part[1]] == [("議政府", True), ("의정부", True)]
    assert parts[-1][0].endswith("…") and not parts[-1][1]
    # The record's text as it is (never escaped), whitespace as one space.
    assert "".join(t for t, _ in parts).count("  ") == 0
    assert " 관아, " in "".join(t for t, _ in parts)
    assert snippets.to_html(parts) == "".join(
        f"<mark>{t}</mark>" if marked else t for t, marked in parts
    )
    assert snippets.snippet("<i>짧은</i> 글", []) == [("<i>짧은</i> 글", False)]
    assert snippets.to_html(snippets.snippet("<i>짧은</i> 글", [])) == "&lt;i&gt;짧은&lt;/i&gt; 글"
    assert snippets.snippet("", ["의정부"]) == []


def test_identifier_finds_its_record():
    build_index([document(id=1, identifier="UJB-2026-000123"), document(id=2)])
    assert hit_ids(search("UJB-2026-000123")) == [1]


@WHOOSH_ONLY
def test_job_path_updates_replaces_and_deletes(fresh_index):
    index.update_documents(fresh_index, [document(id=1, title="회룡사 대웅전")])
    assert hit_ids(search("회룡사")) == [1]
    index.update_documents(fresh_index, [document(id=1, title="망월사 전경")])
    assert hit_ids(search("회룡사")) == []
    assert hit_ids(search("망월사")) == [1]  # the open searcher refreshed itself
    index.update_documents(fresh_index, [], delete_ids=[1])
    assert hit_ids(search("망월사")) == []
    assert index.indexed_ids(fresh_index) == set()


@WHOOSH_ONLY
def test_a_commit_that_fails_lets_go_of_the_write_lock(fresh_index, monkeypatch):
    from whoosh.writing import SegmentWriter

    index.update_documents(fresh_index, [document(id=1, title="회룡사 대웅전")])

    def broken_segment(self, *args):
        raise OSError("disk full")

    with monkeypatch.context() as patched:
        patched.setattr(SegmentWriter, "_finalize_segment", broken_segment)
        # The failure is kept, as a job runner keeps it to report it, and with it the writer.
        with pytest.raises(OSError) as failure:
            index.update_documents(fresh_index, [document(id=2, title="망월사 전경")])
    lock = index.open_for_writing(fresh_index).lock("WRITELOCK")
    assert lock.acquire(blocking=False), failure.value  # free now, not after the lock timeout
    lock.release()
    index.update_documents(fresh_index, [document(id=2, title="망월사 전경")])
    assert hit_ids(search("망월사")) == [2]


@WHOOSH_ONLY
def test_rebuild_swaps_in_a_complete_new_generation(fresh_index):
    build_index([document(id=1, title="노강서원")])
    old_path = index.current_path(fresh_index)
    assert hit_ids(search("노강서원")) == [1]
    build_index([document(id=2, title="노강서원"), document(id=3, title="노강서원")])
    assert index.current_path(fresh_index) != old_path
    assert sorted(hit_ids(search("노강서원"))) == [2, 3]
    assert index.indexed_ids(fresh_index) == {2, 3}


@WHOOSH_ONLY
def test_no_index_yet_means_no_results(fresh_index):
    result = searcher.search(fresh_index, searcher.SearchParams(q="의정부"))
    assert result.total == 0 and result.hits == []
    assert set(result.facets) == {"type", "subject", "place", "decade"}


def test_long_queries_need_most_words_and_relax_when_nothing_has_all():
    build_index(
        [
            document(id=1, title="회룡사 대웅전 단청", description="도봉산 자락"),
            document(id=2, title="회룡사 대웅전", description="여름 풍경"),
            document(id=3, title="회룡사", description="겨울 풍경"),
        ]
    )
    # Four words: three of them are enough, and more matched words rank higher.
    assert hit_ids(search("회룡사 대웅전 단청 도봉산")) == [1]
    assert hit_ids(search("회룡사 대웅전 도봉산 풍경")) == [1, 2]
    # Three words: all must match ...
    assert hit_ids(search("회룡사 대웅전 단청")) == [1]
    # ... unless no record has them all: then two of three, best first.
    assert hit_ids(search("회룡사 대웅전 석등")) == [1, 2]
    # Two words: the records with both first, then those with one of them.
    assert hit_ids(search("회룡사 대웅전"))[2] == 3
    assert set(hit_ids(search("회룡사 대웅전"))) == {1, 2, 3}
    assert hit_ids(search("대웅전 석등")) in ([1, 2], [2, 1])
    assert hit_ids(search("석등 단청")) == [1]
    assert hit_ids(search("석등 범종")) == []


def test_type_date_and_full_city_name_are_searchable():
    build_index(
        [
            document(id=1, title="망월사 전경", type="photo", date_text="1970년대"),
            document(id=2, title="망월사 사적기", type="book", date_text="19세기"),
            document(id=3, title="의정부 시장", type="photo"),
        ]
    )
    assert hit_ids(search("망월사 사진"))[0] == 1  # both words, then one of them
    assert set(hit_ids(search("망월사 사진"))) == {1, 2, 3}
    assert hit_ids(search("망월사 책")) == [2, 1]
    assert hit_ids(search("1970년대")) == [1]
    assert hit_ids(search("의정부시")) == [3]


@WHOOSH_ONLY
def test_a_batch_is_written_with_one_commit_and_every_chunk_analysed(fresh_index):
    # More documents than Kiwi reads at once: the chunks are tokenized on another thread
    # while the writer takes the ones before, and the batch is still one commit.
    places = ["호원동", "장암동", "신곡동", "민락동", "녹양동"]
    count = index.PIPELINE_CHUNK * 2 + 5
    documents = [
        document(id=n, title=f"{places[n % 5]} 기록 {n}", description=f"제{n}호 사진")
        for n in range(1, count + 1)
    ]
    index.update_documents(fresh_index, documents[:1])
    index.update_documents(fresh_index, documents)
    ix = whoosh_index.open_dir(index.current_path(fresh_index))
    try:
        segments = ix._segments()
        assert len(segments) == 2  # the first call's, then one for the whole batch
        assert ix.doc_count() == count
    finally:
        ix.close()
    for place in places:
        found = search(place, per_page=100)
        assert found.total == len([d for d in documents if place in d["title"]])
    # Each document's own analyses, not a neighbour chunk's: the one with both words first.
    assert hit_ids(search("녹양동 제44호"))[0] == 44
    assert hit_ids(search("신곡동 제42호"))[0] == 42


@WHOOSH_ONLY
def test_kept_posting_lists_stay_within_their_budget(fresh_index, monkeypatch):
    from archive.search import engine

    build_index(
        [
            document(id=n, title=f"{word} 사진", description="")
            for n, word in enumerate(
                ["회룡사", "망월사", "도봉산", "수락산", "중랑천", "백석천"], start=1
            )
        ]
    )
    monkeypatch.setattr(engine, "POSTINGS_CACHE_BYTES", 1000)
    for _ in range(2):
        for n, word in enumerate(["회룡사", "망월사", "도봉산", "수락산", "중랑천", "백석천"]):
            assert hit_ids(search(word)) == [n + 1]
    generation = searcher._open[fresh_index].generation
    assert generation._postings  # some are kept ...
    # ... and no more than the budget (one list alone may be bigger than it).
    assert generation._postings_bytes <= 1000 or len(generation._postings) == 1


def test_kept_weights_take_one_byte_when_they_are_counts():
    import numpy as np

    from archive.search import engine

    counts = engine._compact_weights(np.array([1.0, 3.0, 255.0]))
    assert counts.dtype == np.uint8 and counts.tolist() == [1, 3, 255]
    for other in ([1.0, 256.0], [1.0, 2.5]):  # what one byte cannot hold stays as it was
        kept = engine._compact_weights(np.array(other))
        assert kept.dtype == np.float32 and kept.tolist() == other
