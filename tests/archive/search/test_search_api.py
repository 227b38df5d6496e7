"""GET /api/archive/search over records created through the archive services: the index job,
visibility, parameters, and the reindex command."""

import pytest
from flask import current_app

from archive.search import index
from archive.services import records as record_service
from core.extensions import db
from tests.fixtures.archive_search import (
    WHOOSH_ONLY,
    create_search_record,
    indexed_ids,
)
from tests.fixtures.users import auth_headers, create_user

URL = "/api/archive/search"


def now():
    return current_app.extensions["clock"].now()


def test_search_finds_a_published_record_through_the_job(client):
    record = create_search_record(title="회룡사 대웅전", alt_title="回龍寺 大雄殿")
    response = client.get(URL, query_string={"q": "회룡사에서"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 1 and body["page"] == 1 and body["per_page"] == 20
    hit = body["hits"][0]
    assert hit["id"] == record.id
    assert hit["identifier"] == record.identifier
    assert hit["title"] == "회룡사 대웅전"
    assert hit["date_text"] == "1960년대"
    assert hit["type"] == "photo"
    assert "<mark>회룡사</mark>" in hit["snippet"]
    assert hit["thumbnail_url"] is None
    assert hit["score"] > 0
    assert body["facets"]["type"] == [{"value": "photo", "count": 1}]
    assert body["facets"]["subject"] == [{"value": "사찰", "count": 1}]
    assert body["facets"]["place"] == [{"value": "호원동", "count": 1}]
    assert body["facets"]["decade"] == [{"value": "1960", "count": 1}]


def test_hanja_query_finds_hangul_record(client):
    record = create_search_record(title="의정부 관아 터", description="관아가 있던 자리")
    body = client.get(URL, query_string={"q": "議政府"}).get_json()
    assert [hit["id"] for hit in body["hits"]] == [record.id]


def test_years_from_the_date_text_filter_by_overlap(client):
    fifties = create_search_record(title="중랑천 빨래터", date_text="1950년대")
    old = create_search_record(title="중랑천 나루", date_text="19세기 후반")
    body = client.get(URL, query_string={"q": "중랑천", "year_from": 1955, "year_to": 1990})
    assert [hit["id"] for hit in body.get_json()["hits"]] == [fifties.id]
    body = client.get(URL, query_string={"q": "중랑천", "year_to": 1900}).get_json()
    assert [hit["id"] for hit in body["hits"]] == [old.id]


@pytest.mark.parametrize(
    ("roles", "visibility", "status", "sees_draft"),
    [
        (None, None, 200, False),
        (None, "published", 200, False),
        (None, "draft", 403, False),
        (None, "all", 403, False),
        (("resident",), "all", 403, False),
        (("librarian",), "draft", 403, False),
        (("archivist",), None, 200, False),
        (("archivist",), "draft", 200, True),
        (("archivist",), "all", 200, True),
        (("admin",), "all", 200, True),
    ],
)
def test_visibility_by_role(client, roles, visibility, status, sees_draft):
    published = create_search_record(title="망월사 전경")
    draft = create_search_record(title="망월사 석탑", visibility="draft")
    headers = auth_headers(create_user(roles)) if roles else {}
    params = {"q": "망월사"} | ({"visibility": visibility} if visibility else {})
    response = client.get(URL, query_string=params, headers=headers)
    assert response.status_code == status
    if status == 403:
        assert "visibility" in response.get_json()["errors"]
        return
    ids = {hit["id"] for hit in response.get_json()["hits"]}
    assert (draft.id in ids) == sees_draft
    assert (published.id in ids) == (visibility != "draft")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"type": "painting"}, "type"),
        ({"year_from": "옛날"}, "year_from"),
        ({"year_from": 1990, "year_to": 1950}, "year_to"),
        ({"sort": "popular"}, "sort"),
        ({"page": 0}, "page"),
        ({"per_page": 0}, "per_page"),
        ({"visibility": "secret"}, "visibility"),
        ({"q": "가" * 501}, "q"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_parameters_are_422_naming_the_field(client, params, field):
    response = client.get(URL, query_string=params)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_per_page_is_capped(client):
    create_search_record()
    body = client.get(URL, query_string={"q": "회룡사", "per_page": 5000}).get_json()
    assert body["per_page"] == current_app.config["SEARCH_MAX_PER_PAGE"]


def test_changes_reach_the_index(client, archivist):
    record = create_search_record(title="제일시장 장날", visibility="draft", rights="KOGL-1")
    record_service.update_record(archivist, record, {"transcription": "장날 풍경"}, now=now())
    db.session.commit()
    assert client.get(URL, query_string={"q": "제일시장"}).get_json()["total"] == 0

    record_service.publish(archivist, record, now=now())
    db.session.commit()
    assert client.get(URL, query_string={"q": "제일시장"}).get_json()["total"] == 1

    record_service.update_record(archivist, record, {"title": "행복로 축제"}, now=now())
    db.session.commit()
    assert client.get(URL, query_string={"q": "제일시장"}).get_json()["total"] == 0
    assert client.get(URL, query_string={"q": "행복로"}).get_json()["total"] == 1

    record_id = record.id
    record_service.delete_record(
        archivist, record, now=now(), media_dir=current_app.config["MEDIA_DIR"]
    )
    db.session.commit()
    assert client.get(URL, query_string={"q": "행복로"}).get_json()["total"] == 0
    assert record_id not in indexed_ids()


@WHOOSH_ONLY
def test_reindex_command_rebuilds_from_the_database(app, client, fresh_index):
    first = create_search_record(title="노강서원 강당")
    second = create_search_record(title="노강서원 현판")
    old_generation = index.current_path(fresh_index)
    index.update_documents(fresh_index, [], delete_ids=[first.id, second.id])
    assert client.get(URL, query_string={"q": "노강서원"}).get_json()["total"] == 0

    result = app.test_cli_runner().invoke(args=["archive", "reindex"])
    assert result.exit_code == 0, result.output
    assert "indexed 2 records" in result.output
    assert index.current_path(fresh_index) != old_generation
    body = client.get(URL, query_string={"q": "노강서원"}).get_json()
    assert {hit["id"] for hit in body["hits"]} == {first.id, second.id}


@WHOOSH_ONLY
def test_index_job_removes_records_that_no_longer_exist(fresh_index):
    from archive.jobs import index_record

    record = create_search_record(title="쌍암사 석불")
    record_id = record.id
    db.session.commit()  # reading the id began a transaction; the job writes in its own
    assert record_id in index.indexed_ids(fresh_index)
    index_record.call_local(record_id + 1000)  # unknown id: nothing to add, nothing fails
    db.session.delete(record)
    db.session.commit()
    index_record.call_local(record_id)
    assert index.indexed_ids(fresh_index) == set()


@WHOOSH_ONLY
def test_one_index_job_takes_every_record_of_a_transaction(fresh_index):
    from archive.jobs import index_records

    first = create_search_record(title="쌍암사 석불", identifier="UJB-J-1")
    second = create_search_record(title="회룡사 대웅전", identifier="UJB-J-2")
    first_id, second_id = first.id, second.id
    db.session.commit()  # reading the ids began a transaction; the job writes in its own
    assert {first_id, second_id} <= index.indexed_ids(fresh_index)
    db.session.delete(first)
    db.session.commit()
    index_records.call_local([first_id, second_id, second_id + 1000])  # gone, kept, never there
    assert index.indexed_ids(fresh_index) == {second_id}


@WHOOSH_ONLY
def test_an_index_built_by_an_older_version_is_reported_and_rebuilt(app, client, fresh_index):
    from whoosh import index as whoosh_index
    from whoosh.fields import ID, TEXT, Schema

    record = create_search_record(title="노강서원 강당")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["archive", "reindex", "--if-stale"]).output.startswith(
        "the search index is current"
    )
    # An index of another layout, as an earlier version of the archive wrote it.
    old = index.current_path(fresh_index)
    for part in old.iterdir():
        part.unlink()
    whoosh_index.create_in(old, Schema(id=ID(stored=True, unique=True), title=TEXT))
    ready = client.get("/api/ready", headers=auth_headers(create_user(("admin",))))
    assert "older version" in ready.get_json()["checks"]["search_index"]

    result = runner.invoke(args=["archive", "reindex", "--if-stale"])
    assert result.exit_code == 0 and "indexed 1 records" in result.output, result.output
    assert not index.is_stale(fresh_index)
    body = client.get(URL, query_string={"q": "노강서원"}).get_json()
    assert [hit["id"] for hit in body["hits"]] == [record.id]
