"""A resident's booking takes its places with one conditional UPDATE, and leaves them to the
locked path whenever a hold is due or the places are promised to the waitlist."""

from sqlalchemy import func, select

from core.extensions import db
from facilities.models import ACTIVE_STATUSES, Booking, Slot, WaitlistEntry
from tests.fixtures.facilities import book, create_slot, kst, now
from tests.fixtures.users import auth_headers, create_user


def post_booking(client, user, slot_id, adults=1):
    headers = auth_headers(user)
    return client.post(
        "/api/bookings", json={"slot_id": slot_id, "party": {"adult": adults}}, headers=headers
    )


def places_of(slot_id: int) -> tuple[int, int]:
    """The slot's counter, and the places its active bookings hold."""
    db.session.expire_all()
    counter = db.session.get(Slot, slot_id).booked
    held = db.session.scalar(
        select(func.coalesce(func.sum(Booking.units), 0)).where(
            Booking.slot_id == slot_id, Booking.status.in_(ACTIVE_STATUSES)
        )
    )
    return counter, held


def test_a_due_hold_in_a_slot_with_room_is_expired_before_the_booking(client, clock, dummy_rink):
    slot = create_slot(dummy_rink, kst("2026-03-10"), capacity=3)
    slot_id = slot.id
    lapsing = book(create_user(), slot)  # held for 15 minutes, unpaid
    book(create_user(), slot, confirm=True)
    clock.advance(minutes=16)
    # One place is free: the booking takes it at once, then finds the due hold under the
    # slot's lock, gives the place back, and the locked path expires the hold first.
    response = post_booking(client, create_user(), slot_id)
    assert response.status_code == 201, response.json
    db.session.expire_all()
    assert db.session.get(Booking, lapsing.id).status == "expired"
    assert places_of(slot_id) == (2, 2)


def test_places_promised_to_someone_waiting_are_not_taken(client, dummy_rink):
    slot = create_slot(dummy_rink, kst("2026-03-10"), capacity=2, booked=1)
    slot_id = slot.id
    waiting = create_user()
    db.session.add(
        WaitlistEntry(
            slot_id=slot_id,
            user_id=waiting.id,
            party={"adult": 1},
            units=1,
            status="waiting",
            created_at=now(),
        )
    )
    db.session.commit()
    response = post_booking(client, create_user(), slot_id)
    assert response.status_code == 409 and response.json["code"] == "slot_full"
    assert response.json["remaining"] == 1
    assert places_of(slot_id) == (1, 0)  # the place taken at once was given back


def test_a_closed_slot_is_refused_by_the_locked_path(client, dummy_rink):
    slot = create_slot(dummy_rink, kst("2026-03-10"), status="closed")
    response = post_booking(client, create_user(), slot.id)
    assert response.status_code == 409 and response.json["code"] == "slot_closed"
    assert places_of(slot.id) == (0, 0)
