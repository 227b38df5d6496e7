"""GET /api/archive/suggest: titles, places, subjects and names of published records, by
their beginning as written, their 초성 or their romanization."""

import pytest

from tests.fixtures.archive_search import build_index, create_search_record, document

URL = "/api/archive/suggest"


def suggested(client, q, **params):
    response = client.get(URL, query_string={"q": q, **params})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["q"] == q
    return [(s["text"], s["kind"], s["count"]) for s in body["suggestions"]]


@pytest.fixture
def archive_index():
    build_index(
        [
            document(id=1, title="의정부 관아 터", place="의정부동", subjects=["관아"]),
            document(id=2, title="의정부역 옛 역사", place="의정부동", subjects=["철도"]),
            document(id=3, title="회룡사 대웅전", place="호원동", creator="홍길동"),
            document(id=4, title="녹양동 모내기", place="녹양동", subjects=["농사"]),
            document(id=5, title="의정부 비공개 초안", visibility="draft", place="장암동"),
        ]
    )


def test_prefix_as_written(client, archive_index):
    got = suggested(client, "의정부")
    assert got[0] == ("의정부동", "place", 2)  # the most common first
    assert {text for text, _, _ in got} == {"의정부동", "의정부 관아 터", "의정부역 옛 역사"}
    # a word inside a place, subject or name starts a suggestion too; spaces do not matter
    assert ("관아", "subject", 1) in suggested(client, "관아")
    assert suggested(client, "의정부관") == [("의정부 관아 터", "title", 1)]


def test_initials_and_romanized_prefixes(client, archive_index):
    assert suggested(client, "ㅇㅈㅂ")[0] == ("의정부동", "place", 2)
    assert ("회룡사 대웅전", "title", 1) in suggested(client, "ㅎㄹㅅ")
    assert ("홍길동", "name", 1) in suggested(client, "ㅎㄱㄷ")
    assert suggested(client, "Uijeongbu")[0] == ("의정부동", "place", 2)
    assert ("의정부역 옛 역사", "title", 1) in suggested(client, "uijeongbuyeok")
    assert ("녹양동", "place", 1) in suggested(client, "Nogyang-dong")
    assert ("회룡사 대웅전", "title", 1) in suggested(client, "hoeryong")
    assert ("회룡사 대웅전", "title", 1) in suggested(client, "Hoeryongsa")


def test_only_published_records_are_suggested(client, archive_index):
    texts = {text for text, _, _ in suggested(client, "의정부", limit=20)}
    assert "의정부 비공개 초안" not in texts
    assert suggested(client, "장암") == []
    assert suggested(client, "없는말") == []


def test_limit(client, archive_index):
    assert len(suggested(client, "의정부", limit=1)) == 1


def test_records_reach_the_suggestions_through_the_index_job(client):
    create_search_record(title="망월사 전경", place="호원동")
    assert ("망월사 전경", "title", 1) in suggested(client, "망월")
    assert ("망월사 전경", "title", 1) in suggested(client, "ㅁㅇㅅ")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "가" * 101}, "q"),
        ({"q": "의정부", "limit": 0}, "limit"),
        ({"q": "의정부", "limit": 21}, "limit"),
        ({"q": "의정부", "colour": "red"}, "colour"),
    ],
)
def test_bad_parameters_are_422(client, params, field):
    response = client.get(URL, query_string=params)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
