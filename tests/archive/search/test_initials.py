"""초성 search: a query typed as initial consonants finds the words of titles, places, subjects
and names that start with them, through the API."""

from archive.search import analysis
from tests.fixtures.archive_search import build_index, document, hit_ids, search


def test_initials_of_words_and_their_beginnings():
    assert analysis.choseong("의정부") == "ㅇㅈㅂ"
    assert analysis.choseong_terms("의정부역") == ["ㅇㅈ", "ㅇㅈㅂ", "ㅇㅈㅂㅇ"]
    assert analysis.as_choseong("ㅎㄹㅅ") == "ㅎㄹㅅ"
    assert analysis.as_choseong("\u1112\u1105\u1109") == "ㅎㄹㅅ"  # after NFKC
    assert analysis.as_choseong("ㅎ") is None  # one initial is too little
    assert analysis.as_choseong("ㅎㄹ사") is None


def test_initials_find_titles_places_subjects_and_names():
    build_index(
        [
            document(id=1, title="의정부 관아 터", description="옛 관아"),
            document(id=2, title="대웅전 단청", description="절", place="회룡사"),
            document(id=3, title="석탑", description="탑", subjects=["녹양동"]),
            document(id=4, title="초상 사진", description="인물", creator="홍길동"),
            # only in the running text: initials search titles and names, not every word
            document(id=5, title="시장 풍경", description="의정부 제일시장"),
        ]
    )
    assert hit_ids(search("ㅇㅈㅂ")) == [1]
    assert hit_ids(search("ㅎㄹㅅ")) == [2]
    assert hit_ids(search("ㄴㅇㄷ")) == [3]
    assert hit_ids(search("ㅎㄱㄷ")) == [4]
    assert hit_ids(search("ㅋㅋㅋ")) == []
    # with another word: both must match
    assert hit_ids(search("ㅇㅈㅂ 관아")) == [1]


def test_initials_through_the_api(client):
    from tests.fixtures.archive_search import create_search_record

    record = create_search_record(title="회룡사 대웅전", place="호원동")
    body = client.get("/api/archive/search", query_string={"q": "ㅎㄹㅅ"}).get_json()
    assert [hit["id"] for hit in body["hits"]] == [record.id]
    body = client.get("/api/archive/search", query_string={"q": "ㅎㅇㄷ"}).get_json()
    assert [hit["id"] for hit in body["hits"]] == [record.id]
