"""Hold then confirm: the signed payment callback, hold expiry, never confirming late."""

import pytest

from core.extensions import db
from facilities import jobs
from facilities.models import Booking
from facilities.services import booking as bookings
from tests.fixtures.facilities import book, now, signed_callback


def paid(booking, **changes):
    return {
        "booking_id": booking.id,
        "payment_id": f"pg-{booking.id}",
        "amount": booking.price,
        "status": "paid",
        **changes,
    }


@pytest.mark.parametrize("signature", ["", "deadbeef", "wrong-secret"])
def test_unsigned_or_wrongly_signed_callback_is_401(client, resident, rink_slot, signature):
    booking = book(resident, rink_slot)
    if signature == "wrong-secret":
        response = signed_callback(client, paid(booking), secret="not-the-secret")
    else:
        response = signed_callback(client, paid(booking), signature=signature)
    assert response.status_code == 401
    db.session.refresh(booking)
    assert booking.status == "held"


def test_signed_payment_confirms_and_gives_a_check_in_code(client, resident, rink_slot, outbox):
    booking = book(resident, rink_slot)
    response = signed_callback(client, paid(booking))
    assert response.status_code == 200, response.json
    assert response.json["status"] == "confirmed"
    assert response.json["check_in_code"]
    assert "booking_confirmed" in [n["kind"] for n in outbox]
    # The provider retries: the same answer, nothing changes.
    again = signed_callback(client, paid(booking))
    assert again.status_code == 200 and again.json["confirmed_at"] == response.json["confirmed_at"]


def test_wrong_amount_is_refused(client, resident, rink_slot):
    booking = book(resident, rink_slot)
    response = signed_callback(client, paid(booking, amount=booking.price - 1))
    assert response.status_code == 422
    assert "amount" in response.json["errors"]


def test_signed_but_malformed_body_names_the_field(client, resident, rink_slot):
    booking = book(resident, rink_slot)
    response = signed_callback(client, {"booking_id": booking.id, "status": "paid"})
    assert response.status_code == 422
    assert "payment_id" in response.json["errors"]


def test_payment_after_the_hold_expired_is_never_confirmed(client, resident, rink_slot, clock):
    booking = book(resident, rink_slot)
    clock.advance(minutes=15)
    response = signed_callback(client, paid(booking))
    assert response.status_code == 409
    assert response.json["code"] == "hold_expired"
    db.session.refresh(booking)
    assert booking.status == "held" and booking.confirmed_at is None


def test_failed_payment_releases_the_hold(client, resident, rink_slot):
    booking = book(resident, rink_slot, {"adult": 2})
    response = signed_callback(client, paid(booking, status="failed"))
    assert response.status_code == 200
    assert response.json["status"] == "cancelled"
    db.session.refresh(rink_slot)
    assert rink_slot.booked == 0


def test_expiry_job_releases_places_only_when_due(resident, rink_slot, clock, outbox):
    booking = book(resident, rink_slot, {"adult": 3})
    clock.advance(minutes=14, seconds=59)
    assert jobs.expire_holds_now() == 0
    clock.advance(seconds=1)
    assert jobs.expire_holds_now() == 1
    db.session.commit()
    db.session.refresh(booking)
    db.session.refresh(rink_slot)
    assert booking.status == "expired"
    assert rink_slot.booked == 0
    assert "booking_expired" in [n["kind"] for n in outbox]


def test_periodic_job_runs_in_its_own_transaction(resident, rink_slot, clock):
    booking = book(resident, rink_slot)
    clock.advance(minutes=20)
    jobs.expire_holds()  # Huey runs it immediately in tests, in its own app context
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == "expired"


def test_counter_confirmation_after_expiry_is_refused(resident, manager, rink_slot, clock):
    from core.errors import Conflict

    booking = book(resident, rink_slot)
    clock.advance(minutes=16)
    with pytest.raises(Conflict):
        bookings.confirm(booking, now(), actor=manager)


def test_expired_hold_frees_the_place_for_the_next_booking(resident, dummy_rink, clock):
    from tests.fixtures.facilities import create_slot, kst
    from tests.fixtures.users import create_user

    slot = create_slot(dummy_rink, kst("2026-03-10"), capacity=1)
    book(resident, slot)
    clock.advance(minutes=15)
    # No job has run yet: booking expires the due hold itself, under the slot's lock.
    other = book(create_user(), slot)
    assert other.status == "held"
    assert slot.booked == 1


def test_a_lapsed_hold_of_ones_own_does_not_count_against_the_daily_limit(
    resident, dummy_rink, clock
):
    from tests.fixtures.facilities import create_slot, kst

    slot = create_slot(dummy_rink, kst("2026-03-10"), capacity=1)
    first = book(resident, slot)
    clock.advance(minutes=15)
    # The same person books again before any job ran: the booking expires the due hold
    # itself, and the per-day limit then sees it expired, not active.
    again = book(resident, slot)
    assert again.status == "held" and again.id != first.id
    db.session.refresh(first)
    assert first.status == "expired"
    assert slot.booked == 1
