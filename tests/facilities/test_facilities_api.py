"""Facility and availability views, and the manager endpoints' permissions."""

import pytest

from tests.fixtures.facilities import book, create_slot, kst
from tests.fixtures.users import auth_headers, create_user


def test_list_and_get_facilities_show_resources_and_rules(client, dummy_rink):
    listed = client.get("/api/facilities")
    assert listed.status_code == 200
    (facility,) = listed.json
    assert facility["resources"][0]["capacity"] == 150
    assert facility["rules"]["opens_days_before"] == 14
    assert facility["rules"]["category_discounts"]["child"] == 50
    one = client.get(f"/api/facilities/{facility['id']}")
    assert one.json["name"] == facility["name"]
    assert client.get("/api/facilities/999").status_code == 404


def test_availability_lists_slots_with_remaining_and_status(client, resident, dummy_rink, clock):
    open_ = create_slot(dummy_rink, kst("2026-03-10", "10:00"), capacity=10)
    full = create_slot(dummy_rink, kst("2026-03-10", "12:00"), capacity=2, booked=2)
    closed = create_slot(dummy_rink, kst("2026-03-10", "14:00"), status="closed")
    past = create_slot(dummy_rink, kst("2026-03-02", "09:00"))
    create_slot(dummy_rink, kst("2026-03-12", "10:00"))  # outside the range
    book(resident, open_, {"adult": 3})
    response = client.get(
        f"/api/facilities/{dummy_rink.facility_id}/availability?from=2026-03-02&to=2026-03-10"
    )
    assert response.status_code == 200
    by_id = {s["id"]: s for s in response.json}
    assert set(by_id) == {open_.id, full.id, closed.id, past.id}
    assert by_id[open_.id]["remaining"] == 7
    assert by_id[open_.id]["status"] == "open"
    assert by_id[open_.id]["price"] == 5000
    assert by_id[open_.id]["bookable_from"] == "2026-02-24T01:00:00+00:00"
    assert by_id[open_.id]["starts_at"] == "2026-03-10T01:00:00+00:00"
    assert by_id[full.id]["status"] == "full"
    assert by_id[closed.id]["status"] == "closed"
    assert by_id[past.id]["status"] == "past"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-03-10&to=2026-03-01", "to"),
        ("from=2026-03-01&to=2026-05-01", "to"),
        ("from=tomorrow", "from"),
    ],
)
def test_availability_bad_ranges(client, dummy_rink, query, field):
    response = client.get(f"/api/facilities/{dummy_rink.facility_id}/availability?{query}")
    assert response.status_code == 422
    assert field in response.json["errors"]


def test_availability_defaults_to_two_weeks(client, dummy_rink):
    inside = create_slot(dummy_rink, kst("2026-03-15"))
    create_slot(dummy_rink, kst("2026-03-16"))
    response = client.get(f"/api/facilities/{dummy_rink.facility_id}/availability")
    assert [s["id"] for s in response.json] == [inside.id]


MANAGER_ENDPOINTS = [
    ("post", "/api/facilities", {"name": "새 링크", "kind": "ice_rink"}),
    ("post", "/api/facilities/{f}/resources", {"name": "보조 링크", "capacity": 40}),
    ("post", "/api/facilities/{f}/generate-slots", {"days": 7}),
    ("get", "/api/facilities/{f}/slot-templates", None),
    ("get", "/api/facilities/{f}/closures", None),
    ("get", "/api/facilities/{f}/reports/occupancy?from=2026-03-01&to=2026-03-02", None),
    ("patch", "/api/facilities/{f}/rules", {"hold_minutes": 10}),
]


@pytest.mark.parametrize(
    ("roles", "allowed"),
    [
        (None, 401),
        (("resident",), 403),
        (("librarian",), 403),
        (("facility_manager",), 200),
        (("admin",), 200),
    ],
)
def test_manager_endpoint_permissions(client, dummy_rink, roles, allowed):
    headers = auth_headers(create_user(roles)) if roles else {}
    for method, path, body in MANAGER_ENDPOINTS:
        kwargs = {"headers": headers}
        if body is not None:
            kwargs["json"] = body
        response = getattr(client, method)(path.format(f=dummy_rink.facility_id), **kwargs)
        if allowed == 200:
            assert response.status_code in (200, 201), (path, response.json)
        else:
            assert response.status_code == allowed, path


def test_check_in_and_staff_booking_need_a_manager(client, resident, rink_slot):
    headers = auth_headers(resident)
    assert client.post("/api/check-ins", json={"code": "x"}, headers=headers).status_code == 403
    response = client.post(
        "/api/manager/bookings",
        json={"slot_id": rink_slot.id, "party": {"adult": 1}, "user_id": resident.id},
        headers=headers,
    )
    assert response.status_code == 403


def test_staff_booking_and_counter_confirmation(client, manager, resident, dummy_rink):
    slot = create_slot(dummy_rink, kst("2026-04-01"))
    response = client.post(
        "/api/manager/bookings",
        json={"slot_id": slot.id, "party": {"adult": 2}, "user_id": resident.id, "confirm": False},
        headers=auth_headers(manager),
    )
    assert response.status_code == 201, response.json
    assert response.json["status"] == "held"
    confirmed = client.post(
        f"/api/manager/bookings/{response.json['id']}/confirm",
        json={"payment_reference": "COUNTER-1"},
        headers=auth_headers(manager),
    )
    assert confirmed.status_code == 200
    assert confirmed.json["status"] == "confirmed"
    assert confirmed.json["check_in_code"]


def test_rules_update_is_validated(client, manager, dummy_rink):
    response = client.patch(
        f"/api/facilities/{dummy_rink.facility_id}/rules",
        json={"holiday_rule": "sometimes"},
        headers=auth_headers(manager),
    )
    assert response.status_code == 422
    assert "holiday_rule" in response.json["errors"]
