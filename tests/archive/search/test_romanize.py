"""Romanized search: Revised Romanization with its sound changes, the common spelling variants,
and names found by their romanization through the API."""

import pytest

from archive.search.romanize import loose, name_terms, romanize
from tests.fixtures.archive_search import build_index, document, hit_ids, search


@pytest.mark.parametrize(
    ("hangul", "roman"),
    [
        ("의정부", "uijeongbu"),
        ("회룡사", "hoeryongsa"),
        ("녹양동", "nogyangdong"),  # a final carried over to the vowel
        ("백마", "baengma"),  # nasalisation
        ("독립", "dongnip"),
        ("종로", "jongno"),
        ("왕십리", "wangsimni"),
        ("신라", "silla"),  # ㄹ after ㄴ and ㄹ
        ("설날", "seollal"),
        ("한라산", "hallasan"),
        ("좋고", "joko"),  # ㅎ with the next consonant
        ("좋아", "joa"),  # ㅎ silent before a vowel
        ("해돋이", "haedoji"),  # palatalisation
        ("같이", "gachi"),
        ("집현전", "jiphyeonjeon"),
        ("중랑천", "jungnangcheon"),
        ("닭", "dak"),
        ("광희문", "gwanghuimun"),
    ],
)
def test_revised_romanization(hangul, roman):
    assert romanize(hangul) == roman


def test_variants_share_a_key():
    assert loose("Uijeongbu") == loose("Uijongbu") == loose("Euijeongbu") == loose("UIJEONGBU")
    assert loose("Nogyang-dong") == loose("Nogyangdong") == loose("Nokyang dong")
    assert loose("Hoeryongsa") == loose("Hoeryong-sa")
    assert loose("Busan") == loose("Pusan")
    assert loose("Uijeongbu") != loose("Hoeryongsa")
    assert loose(romanize("의정부")) in name_terms("의정부역")  # a name at a word's start


def test_romanized_names_find_records():
    build_index(
        [
            document(id=1, title="의정부 관아 터", description="옛 관아"),
            document(id=2, title="대웅전 단청", description="절", place="회룡사"),
            document(id=3, title="모내기", description="논", subjects=["녹양동"]),
            document(id=4, title="시장 풍경", description="제일시장"),
            document(id=5, title="Camp Red Cloud gate", description="미군 기지"),
        ]
    )
    for query in ("Uijeongbu", "uijongbu", "Euijeongbu"):
        assert hit_ids(search(query)) == [1], query
    assert hit_ids(search("Hoeryongsa")) == [2]
    assert hit_ids(search("Hoeryong-sa")) == [2]
    assert hit_ids(search("Nogyang-dong")) == [3]
    assert hit_ids(search("nogyangdong")) == [3]
    assert hit_ids(search("red cloud")) == [5]  # Latin words are still words
    assert hit_ids(search("computer")) == []


def test_romanized_search_through_the_api(client):
    from tests.fixtures.archive_search import create_search_record

    record = create_search_record(title="회룡사 대웅전", place="호원동")
    body = client.get("/api/archive/search", query_string={"q": "Hoeryongsa"}).get_json()
    assert [hit["id"] for hit in body["hits"]] == [record.id]
    body = client.get("/api/archive/search", query_string={"q": "Howon-dong"}).get_json()
    assert [hit["id"] for hit in body["hits"]] == [record.id]
