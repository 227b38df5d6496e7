"""Bookings over HTTP: status codes, payloads, idempotency, permissions, bad input."""

import pytest
from sqlalchemy import func, select

from core.extensions import db
from facilities.models import Booking
from tests.fixtures.facilities import create_slot, kst
from tests.fixtures.users import auth_headers, create_user


def post_booking(client, user, slot_id, party=None, **headers):
    return client.post(
        "/api/bookings",
        json={"slot_id": slot_id, "party": party or {"adult": 1}},
        headers={**auth_headers(user), **headers},
    )


def test_create_booking_answers_201_with_price_and_hold(client, resident, rink_slot):
    response = post_booking(client, resident, rink_slot.id, {"adult": 1, "senior": 1})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["status"] == "held"
    assert body["price"] == 5000 + 2500
    assert body["hold_expires_at"] == "2026-03-02T01:15:00+00:00"
    assert body["check_in_code"] is None
    assert body["resource_id"] == rink_slot.resource_id
    assert {line["category"] for line in body["price_lines"]} == {"adult", "senior"}


def test_full_slot_answers_409(client, resident, dummy_rink):
    slot = create_slot(dummy_rink, kst("2026-03-10"), capacity=2, booked=2)
    response = post_booking(client, resident, slot.id)
    assert response.status_code == 409
    assert response.json["code"] == "slot_full"


def test_before_opening_answers_422_with_bookable_from(client, resident, dummy_rink):
    slot = create_slot(dummy_rink, kst("2026-03-20"))
    response = post_booking(client, resident, slot.id)
    assert response.status_code == 422
    assert response.json["code"] == "booking_not_open"
    assert response.json["bookable_from"] == "2026-03-06T01:00:00+00:00"


def test_unknown_slot_answers_404(client, resident, clock):
    assert post_booking(client, resident, 999).status_code == 404


def test_idempotency_key_replays_the_first_answer(client, resident, rink_slot):
    first = post_booking(client, resident, rink_slot.id, **{"Idempotency-Key": "k-1"})
    again = post_booking(client, resident, rink_slot.id, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert first.json["id"] == again.json["id"]
    assert db.session.scalar(select(func.count(Booking.id))) == 1
    other = post_booking(client, resident, rink_slot.id, {"adult": 2}, **{"Idempotency-Key": "k-1"})
    assert other.status_code == 409
    assert other.json["code"] == "idempotency_key_reused"


def test_without_key_a_second_booking_of_the_same_slot_is_refused(client, resident, rink_slot):
    assert post_booking(client, resident, rink_slot.id).status_code == 201
    assert post_booking(client, resident, rink_slot.id).status_code == 422


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"slot_id": "x", "party": {"adult": 1}}, "slot_id"),
        ({"party": {"adult": 1}}, "slot_id"),
        ({"slot_id": 1}, "party"),
        ({"slot_id": 1, "party": {"alien": 1}}, "party"),
        ({"slot_id": 1, "party": {"adult": -1}}, "party"),
        ({"slot_id": 1, "party": {"adult": "2"}}, "party"),
        ({"slot_id": 1, "party": {}}, "party"),
        ({"slot_id": 1, "party": {"adult": 1}, "coupon": "x"}, "coupon"),
    ],
)
def test_bad_input_names_the_field(client, resident, clock, body, field):
    response = client.post("/api/bookings", json=body, headers=auth_headers(resident))
    assert response.status_code == 422
    assert field in response.json["errors"]


def test_booking_needs_a_token(client, rink_slot):
    response = client.post("/api/bookings", json={"slot_id": rink_slot.id, "party": {"adult": 1}})
    assert response.status_code == 401


def test_residents_see_only_their_own_bookings(client, resident, dummy_rink):
    other = create_user()
    mine = create_slot(dummy_rink, kst("2026-03-10"))
    theirs = create_slot(dummy_rink, kst("2026-03-11"))
    own_id = post_booking(client, resident, mine.id).json["id"]
    other_id = post_booking(client, other, theirs.id).json["id"]
    listed = client.get("/api/bookings", headers=auth_headers(resident))
    assert [b["id"] for b in listed.json] == [own_id]
    assert (
        client.get(f"/api/bookings/{other_id}", headers=auth_headers(resident)).status_code == 404
    )
    assert client.get(f"/api/bookings/{own_id}", headers=auth_headers(resident)).status_code == 200


def test_staff_see_all_bookings_and_filter_by_user(client, resident, manager, dummy_rink):
    other = create_user()
    post_booking(client, resident, create_slot(dummy_rink, kst("2026-03-10")).id)
    post_booking(client, other, create_slot(dummy_rink, kst("2026-03-11")).id)
    everything = client.get("/api/bookings", headers=auth_headers(manager))
    assert len(everything.json) == 2
    filtered = client.get(f"/api/bookings?user_id={other.id}", headers=auth_headers(manager))
    assert [b["user_id"] for b in filtered.json] == [other.id]


def test_suspended_resident_gets_403(client, resident, rink_slot):
    from datetime import timedelta

    from facilities.models import Suspension
    from tests.fixtures.facilities import now

    db.session.add(
        Suspension(
            user_id=resident.id, starts_at=now(), ends_at=now() + timedelta(days=1), reason="t"
        )
    )
    db.session.commit()
    response = post_booking(client, resident, rink_slot.id)
    assert response.status_code == 403
    assert response.json["code"] == "booking_suspended"
    assert "suspended_until" in response.json


def test_notifications_for_held_booking(client, resident, rink_slot, outbox):
    post_booking(client, resident, rink_slot.id)
    assert [n["kind"] for n in outbox] == ["booking_held"]
    assert "임시 확보" in outbox[0]["subject"]
    assert "2026년 3월 10일 (화) 18:00" in outbox[0]["body"]


def test_full_slot_with_a_lapsed_hold_still_books(client, resident, dummy_rink, clock):
    from tests.fixtures.facilities import book

    slot = create_slot(dummy_rink, kst("2026-03-10"), capacity=1)
    book(create_user(), slot)
    clock.advance(minutes=15)  # the hold has lapsed; no job has run yet
    response = post_booking(client, resident, slot.id)
    assert response.status_code == 201, response.json


def test_a_retry_after_the_slot_filled_up_is_replayed(client, resident, dummy_rink):
    slot = create_slot(dummy_rink, kst("2026-03-10"), capacity=2)
    first = post_booking(client, resident, slot.id, **{"Idempotency-Key": "r-1"})
    post_booking(client, create_user(), slot.id)  # the last place goes
    retry = post_booking(client, resident, slot.id, **{"Idempotency-Key": "r-1"})
    assert retry.status_code == 201
    assert retry.json["id"] == first.json["id"]
    assert post_booking(client, create_user(), slot.id).status_code == 409
