"""Records over HTTP: CRUD for archivists, public reading of published records, versions,
audit, validation."""

import pytest
from sqlalchemy import select

from archive.models import Record
from core.extensions import db
from core.models import AuditLog
from tests.fixtures.archive import create_record
from tests.fixtures.users import auth_headers, create_user

NEW = {
    "identifier": "UJB-2026-000123",
    "title": "의정부역 앞 거리",
    "alt_title": "議政府驛",
    "type": "photo",
    "date_text": "1950년대",
    "subjects": ["철도", "거리 풍경", "철도"],
    "collections": ["시정 사진"],
    "place": "의정부동",
    "rights": "공공누리 제1유형",
}


def test_archivist_creates_a_draft_with_parsed_date_and_audit(client, archivist_headers):
    response = client.post("/api/archive/records", json=NEW, headers=archivist_headers)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["visibility"] == "draft"
    assert body["version"] == 1
    assert (body["year_from"], body["year_to"], body["date_parsed"]) == (1950, 1959, True)
    assert body["subjects"] == ["철도", "거리 풍경"]
    assert body["rights"] == "KOGL-1"
    entry = db.session.scalar(select(AuditLog).filter_by(action="archive.record.create"))
    assert entry.target_id == str(body["id"])
    assert entry.after["title"] == NEW["title"]


def test_unparseable_date_is_kept_and_flagged(client, archivist_headers):
    response = client.post(
        "/api/archive/records",
        json={**NEW, "date_text": "할아버지 젊었을 적"},
        headers=archivist_headers,
    )
    assert response.status_code == 201
    body = response.json
    assert body["date_text"] == "할아버지 젊었을 적"
    assert (body["year_from"], body["year_to"], body["date_parsed"]) == (None, None, False)
    listed = client.get("/api/archive/records?date_unparsed=true", headers=archivist_headers)
    assert [r["id"] for r in listed.json] == [body["id"]]


@pytest.mark.parametrize(
    "patch, field",
    [
        ({"type": "painting"}, "type"),
        ({"identifier": "has space"}, "identifier"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"rights": "all rights reserved"}, "rights"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_names_the_field(client, archivist_headers, patch, field):
    response = client.post("/api/archive/records", json={**NEW, **patch}, headers=archivist_headers)
    assert response.status_code == 422
    assert field in response.json["errors"]


def test_missing_required_fields(client, archivist_headers):
    response = client.post("/api/archive/records", json={}, headers=archivist_headers)
    assert response.status_code == 422
    assert {"identifier", "title", "type"} <= set(response.json["errors"])


def test_duplicate_identifier_conflicts(client, archivist_headers):
    assert (
        client.post("/api/archive/records", json=NEW, headers=archivist_headers).status_code == 201
    )
    response = client.post("/api/archive/records", json=NEW, headers=archivist_headers)
    assert response.status_code == 409
    assert "identifier" in response.json["errors"]
    assert db.session.scalar(select(db.func.count()).select_from(Record)) == 1


@pytest.mark.parametrize(
    "roles, status",
    [
        (None, 401),
        (("resident",), 403),
        (("librarian",), 403),
        (("archivist",), 201),
        (("admin",), 201),
    ],
)
def test_who_may_create(client, roles, status):
    headers = auth_headers(create_user(roles)) if roles else {}
    response = client.post("/api/archive/records", json=NEW, headers=headers)
    assert response.status_code == status


def test_update_bumps_version_and_audits_before_after(client, archivist_headers, dummy_record):
    url = f"/api/archive/records/{dummy_record.id}"
    response = client.patch(
        url, json={"title": "새 제목", "date_text": "19세기 후반"}, headers=archivist_headers
    )
    assert response.status_code == 200
    assert response.json["version"] == 2
    assert (response.json["year_from"], response.json["year_to"]) == (1851, 1900)
    entry = db.session.scalar(select(AuditLog).filter_by(action="archive.record.update"))
    assert entry.before["title"] == "의정부 관아 사진"
    assert entry.after["title"] == "새 제목"
    assert (entry.before["version"], entry.after["version"]) == (1, 2)
    # the same values again: no change, no new version
    again = client.patch(url, json={"title": "새 제목"}, headers=archivist_headers)
    assert again.json["version"] == 2


def test_stale_version_is_refused(client, archivist_headers, dummy_record):
    url = f"/api/archive/records/{dummy_record.id}"
    assert (
        client.patch(url, json={"title": "A", "version": 1}, headers=archivist_headers).status_code
        == 200
    )
    stale = client.patch(url, json={"title": "B", "version": 1}, headers=archivist_headers)
    assert stale.status_code == 409
    assert stale.json["current_version"] == 2
    assert client.get(url, headers=archivist_headers).json["title"] == "A"


def test_publish_and_withdraw_control_public_access(client, archivist_headers, dummy_record):
    url = f"/api/archive/records/{dummy_record.id}"
    assert client.get(url).status_code == 404
    assert client.get("/api/archive/records").json == []
    # Not before its checklist is green: here no rights and neither image nor transcription.
    refused = client.post(url + "/publish", headers=archivist_headers)
    assert refused.status_code == 422
    assert refused.json["code"] == "not_ready_to_publish"
    assert sorted(refused.json["errors"]) == ["media", "rights"]
    ready = {"rights": "공공누리 제1유형", "transcription": "관아 앞 거리"}
    assert client.patch(url, json=ready, headers=archivist_headers).json["version"] == 2
    published = client.post(url + "/publish", headers=archivist_headers)
    assert published.status_code == 200
    assert published.json["visibility"] == "published"
    assert published.json["version"] == 3
    public = client.get(url).json
    assert public["identifier"] == dummy_record.identifier
    assert public["created_by_id"] is None
    assert client.get(url, headers=archivist_headers).json["created_by_id"] is not None
    assert [r["id"] for r in client.get("/api/archive/records").json] == [dummy_record.id]
    assert client.post(url + "/publish", headers=archivist_headers).status_code == 409
    withdrawn = client.post(url + "/withdraw", headers=archivist_headers)
    assert withdrawn.json["visibility"] == "withdrawn"
    assert client.get(url).status_code == 404
    assert client.post(url + "/withdraw", headers=archivist_headers).status_code == 409
    actions = db.session.scalars(
        select(AuditLog.action).filter_by(target_id=str(dummy_record.id)).order_by(AuditLog.id)
    ).all()
    assert actions == [
        "archive.record.create",
        "archive.record.update",
        "archive.record.publish",
        "archive.record.withdraw",
    ]


def test_public_listing_cannot_see_drafts_even_when_asking(client, archivist):
    create_record(archivist, visibility="draft")
    shown = create_record(archivist, visibility="published")
    listed = client.get("/api/archive/records?visibility=draft")
    assert [r["id"] for r in listed.json] == [shown.id]


def test_listing_filters_by_year_overlap(client, archivist):
    old = create_record(archivist, visibility="published", date_text="19세기")
    fifties = create_record(archivist, visibility="published", date_text="1950년대")
    create_record(archivist, visibility="published", date_text="모름")

    def ids(query):
        return {r["id"] for r in client.get("/api/archive/records" + query).json}

    assert ids("?year_from=1955&year_to=1970") == {fifties.id}
    assert ids("?year_from=1890&year_to=1952") == {old.id, fifties.id}
    assert ids("?year_to=1800") == set()
    assert client.get("/api/archive/records?year_from=1990&year_to=1950").status_code == 422


def test_delete_removes_record_and_audits(client, archivist_headers, dummy_record):
    url = f"/api/archive/records/{dummy_record.id}"
    assert client.delete(url, headers=archivist_headers).status_code == 204
    assert client.get(url, headers=archivist_headers).status_code == 404
    entry = db.session.scalar(select(AuditLog).filter_by(action="archive.record.delete"))
    assert entry.before["identifier"] == dummy_record.identifier


def test_unknown_record_is_404(client, archivist_headers):
    assert client.get("/api/archive/records/999", headers=archivist_headers).status_code == 404
    response = client.patch(
        "/api/archive/records/999", json={"title": "x"}, headers=archivist_headers
    )
    assert response.status_code == 404


def test_a_concurrent_change_is_refused_not_overwritten(dummy_record):
    """Another transaction commits a change between our read and our write."""
    from archive.services import records as record_service
    from core.errors import Conflict
    from tests.fixtures.archive import now

    record = db.session.get(Record, dummy_record.id)
    assert record.version == 1
    # end our transaction but keep what we read, as a request that read earlier would
    db.session().expire_on_commit = False
    db.session.commit()
    db.session().expire_on_commit = True
    with db.engine.begin() as other:
        other.execute(
            Record.__table__.update()
            .where(Record.id == record.id)
            .values(title="다른 사람의 제목", version=2)
        )
    with pytest.raises(Conflict):
        record_service.update_record("test", record, {"title": "내 제목"}, now=now())
    db.session.rollback()
    assert db.session.get(Record, dummy_record.id).title == "다른 사람의 제목"
