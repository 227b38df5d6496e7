"""Readiness, OpenAPI documentation, staff actions over HTTP, and who may do what."""

import pytest
from sqlalchemy import select

from core.extensions import db
from core.models import AuditLog
from facilities.services import booking as bookings
from tests.fixtures.facilities import book, create_slot, kst, now
from tests.fixtures.users import auth_headers, create_user


def test_ready_reports_missing_slots(client, dummy_rink, manager):
    from facilities.services import catalog

    staff = auth_headers(manager)
    assert client.get("/api/ready", headers=staff).json["checks"]["facility_slots"] == "ok"
    catalog.create_template(
        "test",
        dummy_rink,
        {
            "name": "평일",
            "weekdays": [0],
            "start_times": ["10:00"],
            "duration_minutes": 60,
            "base_price": 0,
        },
        now(),
    )
    db.session.commit()
    problem = client.get("/api/ready", headers=staff).json["checks"]["facility_slots"]
    assert "generate-slots" in problem
    create_slot(dummy_rink, kst("2026-03-04"))
    assert client.get("/api/ready", headers=staff).json["checks"]["facility_slots"] == "ok"


def test_openapi_documents_the_booking_api_with_examples(client):
    spec = client.get("/api/openapi.json").json
    for path in (
        "/api/bookings",
        "/api/facilities/{facility_id}/availability",
        "/api/payments/callback",
        "/api/check-ins",
        "/api/slots/{slot_id}/waitlist",
    ):
        assert path in spec["paths"], path
    create = spec["components"]["schemas"]["BookingCreate"]["properties"]
    assert create["party"]["example"] == {"adult": 2, "child": 1}
    post = spec["paths"]["/api/bookings"]["post"]
    assert {"409", "422", "403"} <= set(post["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])


def test_staff_cancellation_over_http_refunds_in_full_and_is_audited(
    client, manager, resident, dummy_rink
):
    slot = create_slot(dummy_rink, kst("2026-03-02", "20:00"))  # today: a resident gets 0%
    booking = book(resident, slot, {"adult": 1})
    bookings.confirm(booking, now(), actor="payments", payment_reference="pg-1")
    db.session.commit()
    response = client.post(
        f"/api/bookings/{booking.id}/cancel",
        json={"reason": "시설 사정"},
        headers=auth_headers(manager),
    )
    assert response.status_code == 200
    assert response.json["refund_amount"] == 5000
    entry = db.session.scalar(select(AuditLog).filter_by(action="booking.cancel"))
    assert entry.actor_id == manager.id and entry.after["refund_amount"] == 5000


@pytest.mark.parametrize(
    ("who", "status"),
    [("owner", 200), ("other_resident", 404), ("manager", 200), ("admin", 200), ("librarian", 404)],
)
def test_who_may_read_a_booking(client, resident, rink_slot, who, status):
    booking = book(resident, rink_slot)
    reader = {
        "owner": resident,
        "other_resident": create_user(),
        "manager": create_user(("facility_manager",)),
        "admin": create_user(("admin",)),
        "librarian": create_user(("librarian",)),
    }[who]
    response = client.get(f"/api/bookings/{booking.id}", headers=auth_headers(reader))
    assert response.status_code == status


RESIDENT_ENDPOINTS = [
    ("get", "/api/bookings"),
    ("get", "/api/bookings/1"),
    ("post", "/api/bookings/1/cancel"),
    ("post", "/api/slots/1/waitlist"),
    ("delete", "/api/slots/1/waitlist"),
    ("get", "/api/me/facility-standing"),
    ("post", "/api/me/calendar-feed"),
    ("post", "/api/check-ins"),
]


def test_resident_endpoints_need_a_token(client):
    for method, path in RESIDENT_ENDPOINTS:
        response = getattr(client, method)(path, json={})
        assert response.status_code == 401, path


def test_counter_confirmation_of_a_confirmed_booking_is_a_conflict(
    client, manager, resident, rink_slot
):
    booking = book(resident, rink_slot)
    url = f"/api/manager/bookings/{booking.id}/confirm"
    assert client.post(url, json={}, headers=auth_headers(manager)).status_code == 200
    again = client.post(url, json={"payment_reference": "other"}, headers=auth_headers(manager))
    assert again.status_code == 409


def test_payment_reference_cannot_pay_two_bookings(client, resident, dummy_rink):
    from tests.fixtures.facilities import signed_callback

    first = book(resident, create_slot(dummy_rink, kst("2026-03-10")))
    second = book(create_user(), create_slot(dummy_rink, kst("2026-03-11")))
    for booking, expected in ((first, 200), (second, 409)):
        response = signed_callback(
            client,
            {
                "booking_id": booking.id,
                "payment_id": "pg-same",
                "amount": booking.price,
                "status": "paid",
            },
        )
        assert response.status_code == expected


HUGE = 2**40


OUT_OF_RANGE = [
    ("get", f"/api/bookings/{HUGE}", None, 404),
    ("post", f"/api/bookings/{HUGE}/cancel", {}, 404),
    ("get", f"/api/bookings/{HUGE}/calendar.ics", None, 404),
    ("get", f"/api/slots/{HUGE}/waitlist", None, 404),
    ("delete", f"/api/slots/{HUGE}/waitlist", None, 404),
    ("post", f"/api/slots/{HUGE}/waitlist", {"party": {"adult": 1}}, 404),
    ("post", "/api/bookings", {"slot_id": HUGE, "party": {"adult": 1}}, 422),
    ("get", f"/api/bookings?user_id={HUGE}", None, 422),
    ("get", f"/api/facilities/{HUGE}", None, 404),
    ("get", f"/api/facilities/{HUGE}/availability", None, 404),
]
OUT_OF_RANGE_FOR_MANAGERS = [
    ("get", f"/api/users/{HUGE}/facility-standing", None, 404),
    ("post", f"/api/manager/bookings/{HUGE}/confirm", {}, 404),
    ("patch", f"/api/slot-templates/{HUGE}", {"base_price": 1}, 404),
    ("post", "/api/manager/bookings", {"slot_id": 1, "party": {"adult": 1}, "user_id": HUGE}, 422),
]


@pytest.mark.parametrize(
    ("role", "table"),
    [("resident", OUT_OF_RANGE), ("facility_manager", OUT_OF_RANGE_FOR_MANAGERS)],
)
def test_out_of_range_ids_are_not_found_or_invalid(client, role, table):
    headers = auth_headers(create_user((role,)))
    for method, path, body, status in table:
        kwargs = {"headers": headers}
        if body is not None:
            kwargs["json"] = body
        assert getattr(client, method)(path, **kwargs).status_code == status, path


def test_out_of_range_booking_in_a_signed_callback(client):
    from tests.fixtures.facilities import signed_callback

    response = signed_callback(
        client, {"booking_id": HUGE, "payment_id": "x", "amount": 1, "status": "paid"}
    )
    assert response.status_code == 422
    assert "booking_id" in response.json["errors"]
