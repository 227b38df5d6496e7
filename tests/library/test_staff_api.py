"""Librarians over HTTP: catalogue, patrons, kiosks, load/unload, restock, overdue; who may."""

import io

import pytest
from sqlalchemy import select

from core.extensions import db
from core.models import AuditLog
from core.settings import settings_of
from library.models import Patron, Title
from library.settings import LibrarySettings
from tests.fixtures.library import (
    checkout_body,
    create_copy,
    create_kiosk,
    create_patron,
    create_title,
)
from tests.fixtures.users import auth_headers, create_user

STAFF_ENDPOINTS = [
    ("get", "/api/library/patrons", None),
    ("post", "/api/library/patrons", {"card_number": "HH-1", "pin": "1234", "name": "x"}),
    ("get", "/api/library/kiosks", None),
    ("post", "/api/library/kiosks", {"code": "X-1", "name": "x", "slot_count": 5}),
    ("post", "/api/library/titles", {"isbn": "9788936434243", "title": "t", "author": "a"}),
    ("post", "/api/library/copies", {"title_id": 1, "barcode": "B-1"}),
    ("get", "/api/library/copies", None),
    ("get", "/api/library/conflicts", None),
    ("get", "/api/library/overdue", None),
    ("get", "/api/library/restock-plan?kiosk_id=1", None),
]


@pytest.mark.parametrize(
    "roles, allowed",
    [
        (None, 401),
        (("resident",), 403),
        (("archivist",), 403),
        (("facility_manager",), 403),
        (("librarian",), True),
        (("admin",), True),
    ],
)
def test_staff_endpoints_permissions(client, clock, roles, allowed):
    headers = auth_headers(create_user(roles)) if roles else {}
    for method, path, body in STAFF_ENDPOINTS:
        response = getattr(client, method)(path, json=body, headers=headers)
        if allowed is True:
            assert response.status_code not in (401, 403), (path, response.json)
        else:
            assert response.status_code == allowed, path


@pytest.mark.parametrize(
    "roles, status",
    [(None, 200), (("resident",), 200), (("archivist",), 200), (("librarian",), 200)],
)
def test_catalogue_search_is_open_to_everyone(client, clock, roles, status):
    headers = auth_headers(create_user(roles)) if roles else {}
    assert client.get("/api/library/titles", headers=headers).status_code == status


def test_title_crud_and_isbn_check(client, clock, librarian):
    headers = auth_headers(librarian)
    bad = client.post(
        "/api/library/titles",
        json={"isbn": "978-89-364-3424-9", "title": "t", "author": "a"},
        headers=headers,
    )
    assert bad.status_code == 422 and "isbn" in bad.json["errors"]
    created = client.post(
        "/api/library/titles",
        json={
            "isbn": "89-364-3424-1",
            "title": "소년이 온다",
            "author": "한강",
            "publisher": "창비",
            "year": 2014,
            "kdc": "813.7",
        },
        headers=headers,
    )
    assert created.status_code == 201
    assert created.json["isbn"] == "9788936434243"
    assert created.json["availability"] == {"kiosks": [], "at_library": 0, "total": 0}
    again = client.post(
        "/api/library/titles",
        json={"isbn": "9788936434243", "title": "dup", "author": "a"},
        headers=headers,
    )
    assert again.status_code == 409 and again.json["code"] == "isbn_exists"
    title_id = created.json["id"]
    patched = client.patch(f"/api/library/titles/{title_id}", json={"year": 2015}, headers=headers)
    assert patched.status_code == 200 and patched.json["year"] == 2015
    copy = client.post(
        "/api/library/copies", json={"title_id": title_id, "barcode": "LIB-1"}, headers=headers
    )
    assert copy.status_code == 201 and copy.json["status"] == "available"
    refused = client.delete(f"/api/library/titles/{title_id}", headers=headers)
    assert refused.status_code == 409
    dup = client.post(
        "/api/library/copies", json={"title_id": title_id, "barcode": "LIB-1"}, headers=headers
    )
    assert dup.status_code == 409 and "barcode" in dup.json["errors"]
    withdrawn = client.patch(
        f"/api/library/copies/{copy.json['id']}", json={"status": "withdrawn"}, headers=headers
    )
    assert withdrawn.json["status"] == "withdrawn"


def test_search_shows_availability_per_kiosk(client, clock, resident):
    gangnam = create_kiosk("GN-01")
    seocho = create_kiosk("SC-02")
    title = create_title("채식주의자", "한강")
    create_title("코스모스", "칼 세이건")
    create_copy(title, kiosk=gangnam)
    create_copy(title, kiosk=gangnam)
    create_copy(title, kiosk=seocho)
    create_copy(title)
    response = client.get("/api/library/titles?q=한강", headers=auth_headers(resident))
    assert response.status_code == 200
    [found] = response.json
    assert found["title"] == "채식주의자"
    assert found["availability"]["at_library"] == 1 and found["availability"]["total"] == 4
    assert {k["code"]: k["available"] for k in found["availability"]["kiosks"]} == {
        "GN-01": 2,
        "SC-02": 1,
    }
    by_isbn = client.get(f"/api/library/titles?q={title.isbn}", headers=auth_headers(resident)).json
    assert [t["id"] for t in by_isbn] == [title.id]


def test_csv_import_all_or_nothing(client, clock, librarian):
    headers = auth_headers(librarian)
    good = (
        "isbn,title,author,publisher,year,kdc,barcode\n"
        "9788936434243,소년이 온다,한강,창비,2014,813.7,LIB-100\n"
        "9788936434243,소년이 온다,한강,창비,2014,813.7,LIB-101\n"
        "0-306-40615-2,Some Book,Author,,,,\n"
    )
    bad = (
        good
        + "9788936434244,Broken,X,,,,LIB-102\n"
        + "9791160403565,Long,X,,,8130.77777777777777777,LIB-103\n"
        + "9780804429573,Bad year,X,,20x4,,\n"
    )
    response = client.post(
        "/api/library/titles/import",
        data={"file": (io.BytesIO(bad.encode()), "books.csv")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"line 5", "line 6", "line 7"}
    db.session.rollback()  # what the end of the request does outside tests
    assert db.session.scalar(select(Title)) is None
    response = client.post(
        "/api/library/titles/import",
        data={"file": (io.BytesIO(good.encode()), "books.csv")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert response.json == {"titles_created": 2, "copies_created": 2}
    missing = client.post(
        "/api/library/titles/import", data={}, headers=headers, content_type="multipart/form-data"
    )
    assert missing.status_code == 422 and "file" in missing.json["errors"]
    wrong_header = client.post(
        "/api/library/titles/import",
        data={"file": (io.BytesIO(b"name,who\nx,y\n"), "b.csv")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert wrong_header.status_code == 422 and "file" in wrong_header.json["errors"]


def test_patron_create_reset_pin_and_lift_suspension_are_audited(
    client, clock, librarian, resident
):
    headers = auth_headers(librarian)
    created = client.post(
        "/api/library/patrons",
        json={
            "card_number": "HH-2026-0001",
            "pin": "1234",
            "name": "김시민",
            "user_id": resident.id,
        },
        headers=headers,
    )
    assert (
        created.status_code == 201 and "pin" not in created.json and "pin_hash" not in created.json
    )
    patron_id = created.json["id"]
    stored = db.session.get(Patron, patron_id)
    assert stored.pin_hash != "1234" and stored.pin_hash.startswith("$argon2")
    dup = client.post(
        "/api/library/patrons",
        json={"card_number": "HH-2026-0001", "pin": "1234", "name": "x"},
        headers=headers,
    )
    assert dup.status_code == 409 and "card_number" in dup.json["errors"]
    bad_pin = client.post(
        "/api/library/patrons",
        json={"card_number": "HH-2", "pin": "12ab", "name": "x"},
        headers=headers,
    )
    assert bad_pin.status_code == 422 and "pin" in bad_pin.json["errors"]

    reset = client.post(
        f"/api/library/patrons/{patron_id}/pin", json={"pin": "5678"}, headers=headers
    )
    assert reset.status_code == 200
    kiosk = create_kiosk()
    verify = client.post(
        "/api/kiosk/patrons/verify",
        json={"card_number": "HH-2026-0001", "pin": "5678"},
        headers=kiosk.headers,
    )
    assert verify.status_code == 200

    not_suspended = client.post(
        f"/api/library/patrons/{patron_id}/lift-suspension",
        json={"reason": "사유 확인"},
        headers=headers,
    )
    assert not_suspended.status_code == 409
    stored = db.session.get(Patron, patron_id)
    stored.suspended_until = clock.now().replace(year=2027)
    db.session.commit()
    lifted = client.post(
        f"/api/library/patrons/{patron_id}/lift-suspension",
        json={"reason": "입원 확인"},
        headers=headers,
    )
    assert lifted.status_code == 200 and lifted.json["suspended_until"] is None
    actions = [
        (a.action, a.actor_id)
        for a in db.session.scalars(
            select(AuditLog).filter_by(target_type="library_patron").order_by(AuditLog.id)
        )
    ]
    assert actions == [
        ("library.patron.create", librarian.id),
        ("library.patron.reset_pin", librarian.id),
        ("library.patron.lift_suspension", librarian.id),
    ]


def test_kiosk_create_key_revoke_and_fleet_view(client, clock, librarian):
    headers = auth_headers(librarian)
    created = client.post(
        "/api/library/kiosks",
        json={"code": "gn-01", "name": "강남역", "slot_count": 4},
        headers=headers,
    )
    assert created.status_code == 201
    body = created.json
    assert body["code"] == "GN-01" and body["key"] and body["state"] == "offline"
    device = {"Authorization": f"Kiosk {body['key']}"}
    assert client.post("/api/kiosk/heartbeat", json={}, headers=device).status_code == 200
    fleet = client.get("/api/library/kiosks", headers=headers).json
    assert [(k["code"], k["state"], k["fill_rate"]) for k in fleet] == [("GN-01", "online", 0.0)]
    assert "key" not in fleet[0]

    rotated = client.post(f"/api/library/kiosks/{body['id']}/key", headers=headers)
    assert rotated.status_code == 201 and rotated.json["key"] != body["key"]
    assert client.post("/api/kiosk/heartbeat", json={}, headers=device).status_code == 401
    device = {"Authorization": f"Kiosk {rotated.json['key']}"}
    assert client.post("/api/kiosk/heartbeat", json={}, headers=device).status_code == 200

    revoked = client.post(f"/api/library/kiosks/{body['id']}/revoke", headers=headers)
    assert revoked.status_code == 200 and revoked.json["state"] == "revoked"
    assert client.post("/api/kiosk/heartbeat", json={}, headers=device).status_code == 401

    switched = client.patch(
        f"/api/library/kiosks/{body['id']}", json={"functions": {"return": False}}, headers=headers
    )
    assert switched.json["functions"]["return"] is False and switched.json["functions"]["checkout"]
    actions = set(
        db.session.scalars(select(AuditLog.action).filter_by(target_type="library_kiosk"))
    )
    assert actions == {
        "library.kiosk.create",
        "library.kiosk.issue_key",
        "library.kiosk.revoke",
        "library.kiosk.update",
    }
    dup = client.post(
        "/api/library/kiosks", json={"code": "GN-01", "name": "x", "slot_count": 4}, headers=headers
    )
    assert dup.status_code == 409
    bad = client.post(
        "/api/library/kiosks", json={"code": "GN 01", "name": "x", "slot_count": 0}, headers=headers
    )
    assert bad.status_code == 422 and {"code", "slot_count"} <= set(bad.json["errors"])


def test_load_and_unload_are_audited_and_checked(
    client, clock, librarian, dummy_kiosk, dummy_title
):
    headers = auth_headers(librarian)
    copy = create_copy(dummy_title)
    other = create_copy(dummy_title)
    url = f"/api/library/kiosks/{dummy_kiosk.id}/slots"
    loaded = client.post(f"{url}/3/load", json={"barcode": copy.barcode}, headers=headers)
    assert (
        loaded.status_code == 200
        and loaded.json["status"] == "in_kiosk"
        and loaded.json["slot"] == 3
    )
    occupied = client.post(f"{url}/3/load", json={"barcode": other.barcode}, headers=headers)
    assert occupied.status_code == 409 and occupied.json["code"] == "slot_occupied"
    again = client.post(f"{url}/4/load", json={"barcode": copy.barcode}, headers=headers)
    assert again.status_code == 409 and again.json["code"] == "copy_in_kiosk"
    outside = client.post(f"{url}/11/load", json={"barcode": other.barcode}, headers=headers)
    assert outside.status_code == 422 and "slot" in outside.json["errors"]
    unknown = client.post(f"{url}/5/load", json={"barcode": "NOPE"}, headers=headers)
    assert unknown.status_code == 404 and "barcode" in unknown.json["errors"]
    unloaded = client.post(f"{url}/3/unload", headers=headers)
    assert unloaded.status_code == 200 and unloaded.json["status"] == "available"
    assert unloaded.json["kiosk_id"] is None
    empty = client.post(f"{url}/3/unload", headers=headers)
    assert empty.status_code == 409
    actions = [
        a for a in db.session.scalars(select(AuditLog.action).filter_by(target_type="library_copy"))
    ]
    assert actions.count("library.kiosk.load") == 1 and actions.count("library.kiosk.unload") == 1


def test_overdue_list(client, clock, librarian, dummy_kiosk, dummy_copy, dummy_patron):
    client.post(
        "/api/kiosk/checkouts",
        json=checkout_body(dummy_patron, dummy_copy),
        headers=dummy_kiosk.headers,
    )
    headers = auth_headers(librarian)
    assert client.get("/api/library/overdue", headers=headers).json == []
    clock.advance(days=17)
    [row] = client.get("/api/library/overdue", headers=auth_headers(librarian)).json
    assert row["barcode"] == dummy_copy.barcode and row["days_overdue"] == 3
    assert row["card_number"] == dummy_patron.card_number


def test_restock_plan_ranks_titles_in_demand(client, clock, librarian, dummy_kiosk):
    quiet = create_title("조용한 도서")  # older: first if demand were ignored
    popular = create_title("인기 도서")
    create_copy(quiet)
    create_copy(popular)
    stocked = create_title("이미 있는 도서")
    create_copy(stocked, kiosk=dummy_kiosk)
    create_copy(stocked)
    from library.services import holds

    settings = settings_of(LibrarySettings)
    holds.place_hold(
        create_patron(), popular, create_kiosk().id, now=clock.now(), settings=settings
    )
    db.session.commit()
    plan = client.get(
        f"/api/library/restock-plan?kiosk_id={dummy_kiosk.id}", headers=auth_headers(librarian)
    ).json
    assert plan["free_slots"] == 9
    assert [t["title"] for t in plan["titles_in_demand"]] == ["인기 도서", "조용한 도서"]
    missing = client.get("/api/library/restock-plan", headers=auth_headers(librarian))
    assert missing.status_code == 422 and "kiosk_id" in missing.json["errors"]


def test_librarian_sees_a_patrons_summary(client, clock, librarian, dummy_kiosk, dummy_copy):
    patron = create_patron()
    client.post(
        "/api/kiosk/checkouts", json=checkout_body(patron, dummy_copy), headers=dummy_kiosk.headers
    )
    response = client.get(
        f"/api/library/patrons/{patron.id}/summary", headers=auth_headers(librarian)
    )
    assert response.status_code == 200
    assert [loan["barcode"] for loan in response.json["loans"]] == [dummy_copy.barcode]
    missing = client.get("/api/library/patrons/999/summary", headers=auth_headers(librarian))
    assert missing.status_code == 404


def test_ready_reports_offline_and_faulty_kiosks(client, clock, dummy_kiosk, librarian):
    headers = auth_headers(librarian)
    create_kiosk("QUIET", heartbeat=False)
    client.post(
        "/api/kiosk/heartbeat", json={"faults": ["printer_error"]}, headers=dummy_kiosk.headers
    )
    body = client.get("/api/ready", headers=headers).json
    assert body["checks"]["library_kiosks"] == "GN-01 fault, QUIET offline"
    # The public answer names no kiosk.
    assert client.get("/api/ready").json == {"status": "ok"}
    assert "library_kiosks" not in body["failing"]  # reported, not failing readiness
