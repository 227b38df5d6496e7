"""Check-in gates: keys issued by managers (shown once, stored as hashes, revocable) check in
the bookings of their own facility; managers still check in with their bearer token."""

import json
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import event, select

from core.db import write_intent
from core.extensions import db
from core.models import AuditLog
from core.security import token_hash
from facilities.models import Gate
from facilities.services import checkin
from tests.fixtures.facilities import book, create_facility, create_resource, create_slot, kst
from tests.fixtures.users import auth_headers

GATE_CHALLENGE = 'Gate realm="happyhub"'


def issue_gate(client, manager, facility_id, name="정문 게이트") -> dict:
    response = client.post(
        f"/api/facilities/{facility_id}/gates", json={"name": name}, headers=auth_headers(manager)
    )
    assert response.status_code == 201, response.json
    return response.json


def as_gate(key: str) -> dict:
    return {"Authorization": f"Gate {key}"}


def code_of(booking) -> str:
    return checkin.code_for(booking, current_app.config["SECRET_KEY"])


def check_in(client, booking, headers):
    return client.post("/api/check-ins", json={"code": code_of(booking)}, headers=headers)


def audit_entries(action: str) -> list[AuditLog]:
    return db.session.scalars(select(AuditLog).filter_by(action=action)).all()


@pytest.fixture
def gate(client, manager, dummy_rink) -> dict:
    return issue_gate(client, manager, dummy_rink.facility_id)


@pytest.fixture
def booking(resident, manager, rink_slot, clock):
    """A confirmed booking, with the clock 10 minutes before its start (check-in is open)."""
    confirmed = book(manager, rink_slot, for_user=resident, confirm=True)
    clock.at = rink_slot.starts_at - timedelta(minutes=10)
    return confirmed


def test_a_new_gate_shows_its_key_once_and_stores_only_its_hash(client, manager, dummy_rink):
    body = issue_gate(client, manager, dummy_rink.facility_id)
    assert set(body) == {"id", "facility_id", "name", "created_at", "key"}
    assert body["facility_id"] == dummy_rink.facility_id and body["name"] == "정문 게이트"
    stored = db.session.get(Gate, body["id"])
    assert stored.key_hash == token_hash(body["key"]) != body["key"]
    assert stored.created_by_id == manager.id and stored.revoked_at is None
    listed = client.get(
        f"/api/facilities/{dummy_rink.facility_id}/gates", headers=auth_headers(manager)
    )
    assert listed.status_code == 200
    assert [g["id"] for g in listed.json] == [body["id"]]
    assert "key" not in listed.json[0] and body["key"] not in listed.get_data(as_text=True)
    [entry] = audit_entries("gate.create")
    assert entry.actor_id == manager.id and entry.target_id == str(body["id"])


def test_gate_checks_in_a_booking_of_its_facility(client, gate, booking):
    response = check_in(client, booking, as_gate(gate["key"]))
    assert response.status_code == 200, response.json
    assert response.json["status"] == "checked_in"
    db.session.expire_all()
    assert booking.status == "checked_in"
    [entry] = audit_entries("booking.check_in")
    assert entry.actor_id is None
    assert entry.actor_label == f"gate:{gate['id']} 정문 게이트"
    assert entry.target_id == str(booking.id)


def test_gate_refuses_a_booking_of_another_facility(client, manager, resident, gate, clock):
    other = create_resource(create_facility("curling_centre"), name="A시트")
    slot = create_slot(other, kst("2026-03-10", "19:00"), minutes=120, price=40000)
    elsewhere = book(manager, slot, for_user=resident, confirm=True)
    clock.at = slot.starts_at
    response = check_in(client, elsewhere, as_gate(gate["key"]))
    assert response.status_code == 403
    assert response.json["code"] == "gate_wrong_facility"
    db.session.expire_all()
    assert elsewhere.status == "confirmed"


def test_revoked_gate_is_refused(client, manager, gate, booking):
    response = client.post(f"/api/gates/{gate['id']}/revoke", headers=auth_headers(manager))
    assert response.status_code == 200
    assert response.json["revoked_at"] is not None and "key" not in response.json
    refused = check_in(client, booking, as_gate(gate["key"]))
    assert refused.status_code == 401 and refused.json["code"] == "invalid_gate_key"
    assert refused.headers["WWW-Authenticate"] == GATE_CHALLENGE
    db.session.expire_all()
    assert booking.status == "confirmed"
    again = client.post(f"/api/gates/{gate['id']}/revoke", headers=auth_headers(manager))
    assert again.status_code == 409
    [entry] = audit_entries("gate.revoke")
    assert entry.actor_id == manager.id and entry.after["revoked"] is True


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        ("Gate not-a-key", "invalid_gate_key"),
        ("Gate", "gate_key_required"),
        ("gate   ", "gate_key_required"),
    ],
)
def test_bad_gate_key_is_a_401_naming_the_gate_scheme(client, gate, booking, authorization, code):
    response = check_in(client, booking, {"Authorization": authorization})
    assert response.status_code == 401
    assert response.json["code"] == code
    assert response.headers["WWW-Authenticate"] == GATE_CHALLENGE


def test_no_credentials_at_all_name_both_ways_in(client, booking):
    response = check_in(client, booking, {})
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert "Bearer" in challenge and GATE_CHALLENGE in challenge


def test_a_wrong_gate_key_is_refused_without_taking_the_write_lock(client, gate, booking):
    began_writing = []

    def on_begin(_connection):
        began_writing.append(write_intent.get())

    code = code_of(booking)
    db.session.remove()  # the request starts its own transactions, watched from here on
    event.listen(db.engine, "begin", on_begin)
    try:
        response = client.post("/api/check-ins", json={"code": code}, headers=as_gate("x"))
    finally:
        event.remove(db.engine, "begin", on_begin)
    assert response.status_code == 401
    assert began_writing and True not in began_writing


def test_resident_token_is_forbidden_and_manager_token_still_works(
    client, resident, manager, booking
):
    refused = check_in(client, booking, auth_headers(resident))
    assert refused.status_code == 403
    db.session.expire_all()
    assert booking.status == "confirmed"
    response = check_in(client, booking, auth_headers(manager))
    assert response.status_code == 200 and response.json["status"] == "checked_in"
    [entry] = audit_entries("booking.check_in")
    assert entry.actor_id == manager.id


@pytest.mark.parametrize(("offset_minutes", "status"), [(-31, 422), (-30, 200), (16, 422)])
def test_the_check_in_window_applies_to_gates(
    client, gate, booking, rink_slot, clock, offset_minutes, status
):
    clock.at = rink_slot.starts_at + timedelta(minutes=offset_minutes)
    response = check_in(client, booking, as_gate(gate["key"]))
    assert response.status_code == status
    if status == 422:
        assert response.json["code"] == "checkin_window"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/facilities/{facility}/gates"),
        ("get", "/api/facilities/{facility}/gates"),
        ("post", "/api/gates/{gate}/revoke"),
    ],
)
def test_only_managers_manage_gates(client, resident, gate, dummy_rink, method, path):
    url = path.format(facility=dummy_rink.facility_id, gate=gate["id"])
    call = getattr(client, method)
    body = {"json": {"name": "x"}} if method == "post" else {}
    assert call(url, headers=auth_headers(resident), **body).status_code == 403
    assert call(url, **body).status_code == 401
    assert db.session.get(Gate, gate["id"]).revoked_at is None


def test_unknown_facility_or_gate_is_a_404(client, manager):
    headers = auth_headers(manager)
    assert (
        client.post("/api/facilities/999/gates", json={"name": "x"}, headers=headers).status_code
        == 404
    )
    assert client.get("/api/facilities/999/gates", headers=headers).status_code == 404
    assert client.post("/api/gates/999/revoke", headers=headers).status_code == 404


def test_gate_name_is_required(client, manager, dummy_rink):
    url = f"/api/facilities/{dummy_rink.facility_id}/gates"
    for body in ({}, {"name": ""}, {"name": "   "}, {"name": "x" * 101}):
        response = client.post(url, json=body, headers=auth_headers(manager))
        assert response.status_code == 422 and "name" in response.json["errors"]
    assert db.session.scalars(select(Gate)).all() == []


def test_cli_creates_a_gate_with_a_working_key_and_revokes_it(app, client, dummy_rink, booking):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "facilities",
            "gate-create",
            "--facility-id",
            str(dummy_rink.facility_id),
            "--name",
            "동문",
        ]
    )
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)
    assert set(created) == {"id", "facility_id", "name", "key"}
    assert created["facility_id"] == dummy_rink.facility_id and created["name"] == "동문"
    assert check_in(client, booking, as_gate(created["key"])).status_code == 200

    result = runner.invoke(args=["facilities", "gate-revoke", "--id", str(created["id"])])
    assert result.exit_code == 0, result.output
    refused = check_in(client, booking, as_gate(created["key"]))
    assert refused.status_code == 401


def test_cli_refuses_an_unknown_facility(app):
    result = app.test_cli_runner().invoke(
        args=["facilities", "gate-create", "--facility-id", "999", "--name", "동문"]
    )
    assert result.exit_code != 0 and "999" in result.output
    assert db.session.scalars(select(Gate)).all() == []


def test_openapi_documents_both_ways_to_check_in(client):
    spec = client.get("/api/openapi.json").json
    scheme = spec["components"]["securitySchemes"]["gateKey"]
    assert scheme == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "Gate <key>",
    }
    operation = spec["paths"]["/api/check-ins"]["post"]
    assert operation["security"] == [{"bearerAuth": []}, {"gateKey": []}]
    assert {"401", "403"} <= set(operation["responses"])
    created = spec["paths"]["/api/facilities/{facility_id}/gates"]["post"]
    assert created["security"] == [{"bearerAuth": []}]
