"""Typos: jamo edit distance and "did you mean" through the API."""

import pytest

from archive.search import typos
from tests.fixtures.archive_search import build_index, create_search_record, document, search


@pytest.mark.parametrize(
    ("a", "b", "edits"),
    [
        ("의정푸", "의정부", 1),  # one wrong stroke: ㅍ for ㅂ
        ("도봉사", "도봉산", 1),  # a final left off
        ("망월서", "망월사", 1),  # a vowel
        ("회룡사ㅏ", "회룡사", 1),  # a stray jamo
        ("의정부", "의정부", 0),
        ("회룡사", "망월사", 6),
    ],
)
def test_distance_counts_jamo(a, b, edits):
    assert typos.distance(a, b) == edits


def test_correct_picks_the_most_common_known_word_one_edit_away():
    counts = {"의정부": 5, "회룡사": 3, "도봉산": 2, "도봉사": 0}
    known = lambda word: counts.get(word, 0)  # noqa: E731
    assert typos.correct("의정푸", known) == "의정부"
    assert typos.correct("회룡사ㅏ", known) == "회룡사"
    assert typos.correct("도봉사", known) == "도봉산"
    assert typos.correct("의정부", known) is None  # known
    assert typos.correct("해운대", known) is None  # nothing near


def test_did_you_mean_on_the_index():
    build_index(
        [
            document(id=1, title="의정부 관아 터"),
            document(id=2, title="의정부 시장"),
            document(id=3, title="회룡사 대웅전"),
        ]
    )
    assert search("의정푸").did_you_mean == "의정부"
    assert search("의정푸에서").did_you_mean == "의정부에서"
    result = search("회룡사ㅏ")
    assert result.did_you_mean == "회룡사"
    assert [hit["id"] for hit in result.hits] == [3]  # the stray jamo does not stop the search
    assert search("의정부 관아").did_you_mean is None
    assert search("해운대").did_you_mean is None


def test_did_you_mean_through_the_api(client):
    create_search_record(title="회룡사 대웅전")
    body = client.get("/api/archive/search", query_string={"q": "회룡샤"}).get_json()
    assert body["total"] == 0 and body["did_you_mean"] == "회룡사"
    body = client.get("/api/archive/search", query_string={"q": "회룡사"}).get_json()
    assert body["total"] == 1 and body["did_you_mean"] is None
