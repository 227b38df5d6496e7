"""The documented contract: security schemes, examples, and bad input answered with the
field named."""

import pytest

from core.extensions import db
from library.models import Patron
from library.services import patrons
from tests.fixtures.library import PIN, create_copy, create_patron
from tests.fixtures.users import auth_headers

KIOSK_PATHS = [
    ("post", "/api/kiosk/heartbeat"),
    ("post", "/api/kiosk/patrons/verify"),
    ("post", "/api/kiosk/checkouts"),
    ("post", "/api/kiosk/returns"),
    ("get", "/api/kiosk/inventory"),
    ("post", "/api/kiosk/inventory-report"),
    ("post", "/api/kiosk/replay"),
]


@pytest.fixture(scope="module")
def spec(app):
    return app.test_client().get("/api/openapi.json").json


@pytest.mark.parametrize("method, path", KIOSK_PATHS)
def test_kiosk_paths_document_the_kiosk_key(spec, method, path):
    operation = spec["paths"][path][method]
    assert operation["security"] == [{"kioskKey": []}]
    assert "401" in operation["responses"]


@pytest.mark.parametrize(
    "method, path",
    [
        ("post", "/api/library/holds"),
        ("get", "/api/library/kiosks"),
        ("post", "/api/library/kiosks/{kiosk_id}/slots/{slot}/load"),
        ("get", "/api/library/restock-plan"),
    ],
)
def test_library_paths_document_bearer_auth(spec, method, path):
    assert spec["paths"][path][method]["security"] == [{"bearerAuth": []}]


@pytest.mark.parametrize(
    "schema, field",
    [
        ("KioskCheckout", "transaction_id"),
        ("KioskCheckout", "pin"),
        ("TitleCreate", "isbn"),
        ("PatronCreate", "card_number"),
        ("KioskCreate", "slot_count"),
        ("LibraryHoldCreate", "kiosk_id"),
    ],
)
def test_request_fields_have_examples(spec, schema, field):
    assert "example" in spec["components"]["schemas"][schema]["properties"][field]


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/api/library/holds", {"title_id": "x", "kiosk_id": 1}, "title_id"),
        ("/api/library/holds", {"title_id": 1}, "kiosk_id"),
        ("/api/library/holds", {"title_id": 1, "kiosk_id": 1, "extra": 1}, "extra"),
    ],
)
def test_bad_hold_input_names_the_field(client, clock, resident, path, body, field):
    response = client.post(path, json=body, headers=auth_headers(resident))
    assert response.status_code == 422
    assert field in response.json["errors"]


def test_hold_for_unknown_title_names_the_field(
    client, clock, resident, linked_patron, dummy_kiosk
):
    response = client.post(
        "/api/library/holds",
        json={"title_id": 999, "kiosk_id": dummy_kiosk.id},
        headers=auth_headers(resident),
    )
    assert response.status_code == 404 and "title_id" in response.json["errors"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"code": "X-1", "name": "x", "slot_count": 5, "latitude": 91}, "latitude"),
        ({"code": "X-1", "name": "", "slot_count": 5}, "name"),
        ({"code": "X-1", "name": "x", "slot_count": "many"}, "slot_count"),
    ],
)
def test_bad_kiosk_input_names_the_field(client, clock, librarian, body, field):
    response = client.post("/api/library/kiosks", json=body, headers=auth_headers(librarian))
    assert response.status_code == 422 and field in response.json["errors"]


def test_copy_for_unknown_title_names_the_field(client, clock, librarian):
    response = client.post(
        "/api/library/copies",
        json={"title_id": 42, "barcode": "B-1"},
        headers=auth_headers(librarian),
    )
    assert response.status_code == 404 and "title_id" in response.json["errors"]


def test_non_json_body_is_refused(client, dummy_kiosk):
    response = client.post(
        "/api/kiosk/heartbeat",
        data="faults=none",
        headers=dummy_kiosk.headers,
        content_type="text/plain",
    )
    assert response.status_code == 415


def test_pin_checked_before_a_reset_is_checked_again(clock, dummy_patron, settings):
    checked = patrons.check_pin(dummy_patron.card_number, PIN, settings=settings)
    assert checked.matches
    patrons.reset_pin("test", dummy_patron, "9999", now=clock.now(), settings=settings)
    db.session.commit()
    # The PIN changed between the check and the lock: the old answer is not trusted.
    with pytest.raises(Exception) as refused:
        patrons.authenticate(
            dummy_patron.card_number, PIN, now=clock.now(), settings=settings, checked=checked
        )
    assert refused.value.code == "invalid_card_or_pin"
    assert db.session.get(Patron, dummy_patron.id).failed_pin_attempts == 1


def test_one_card_per_resident(client, clock, librarian, resident, linked_patron):
    response = client.post(
        "/api/library/patrons",
        json={"card_number": "HH-9", "pin": "1234", "name": "x", "user_id": resident.id},
        headers=auth_headers(librarian),
    )
    assert response.status_code == 409 and "user_id" in response.json["errors"]
    missing = client.post(
        "/api/library/patrons",
        json={"card_number": "HH-10", "pin": "1234", "name": "x", "user_id": 999},
        headers=auth_headers(librarian),
    )
    assert missing.status_code == 404 and "user_id" in missing.json["errors"]


def test_renewing_a_loan_of_another_resident_is_forbidden(client, clock, dummy_kiosk, resident):
    from tests.fixtures.library import checkout_body

    mine = create_patron(user=resident)
    other = create_patron()
    copy = create_copy(kiosk=dummy_kiosk)
    loan = client.post(
        "/api/kiosk/checkouts", json=checkout_body(other, copy), headers=dummy_kiosk.headers
    ).json
    response = client.post(
        f"/api/library/loans/{loan['loan_id']}/renew", headers=auth_headers(resident)
    )
    assert response.status_code == 403
    assert mine.id != other.id


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/library/me"),
        ("post", "/api/library/holds"),
        ("delete", "/api/library/holds/1"),
        ("post", "/api/library/loans/1/renew"),
    ],
)
def test_resident_endpoints_need_a_token(client, method, path):
    response = getattr(client, method)(path, json={} if method == "post" else None)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_kiosk_key_is_not_a_bearer_token(client, dummy_kiosk):
    response = client.get("/api/library/me", headers={"Authorization": f"Bearer {dummy_kiosk.key}"})
    assert response.status_code == 401


def test_stored_kiosk_key_is_a_hash(dummy_kiosk):
    assert dummy_kiosk.kiosk.key_hash != dummy_kiosk.key
    assert len(dummy_kiosk.kiosk.key_hash) == 64
