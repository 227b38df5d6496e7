"""Cancellation until the start, refunds by notice, staff refunds in full."""

from datetime import timedelta

import pytest

from core.errors import Conflict, Forbidden, RuleViolation
from facilities.services import booking as bookings
from tests.fixtures.facilities import book, create_slot, kst, now
from tests.fixtures.users import auth_headers, create_user


def confirmed_booking(user, slot):
    booking = book(user, slot, {"adult": 2})
    bookings.confirm(booking, now(), actor="payments", payment_reference=f"pg-{booking.id}")
    return booking


@pytest.mark.parametrize(
    ("slot_day", "percent"),
    [
        ("2026-03-14", 100),  # 12 days
        ("2026-03-09", 100),  # exactly 7 days
        ("2026-03-08", 80),  # 6 days
        ("2026-03-04", 80),  # 2 days
        ("2026-03-03", 50),  # the day before
        ("2026-03-02", 0),  # same day
    ],
)
def test_refund_by_notice(resident, dummy_rink, slot_day, percent):
    slot = create_slot(dummy_rink, kst(slot_day, "21:00"))
    booking = confirmed_booking(resident, slot)
    bookings.cancel(booking, resident, now())
    assert booking.status == "cancelled"
    assert booking.refund_amount == 10000 * percent // 100
    assert slot.booked == 0


def test_staff_cancellation_refunds_everything(resident, manager, dummy_rink):
    slot = create_slot(dummy_rink, kst("2026-03-02", "21:00"))
    booking = confirmed_booking(resident, slot)
    bookings.cancel(booking, manager, now(), reason="고객 요청")
    assert booking.refund_amount == booking.price == 10000


def test_cancelling_a_hold_refunds_nothing_and_frees_places(resident, rink_slot):
    booking = book(resident, rink_slot, {"adult": 4})
    bookings.cancel(booking, resident, now())
    assert booking.refund_amount == 0 and rink_slot.booked == 0


def test_no_cancellation_after_start(resident, rink_slot, clock):
    booking = confirmed_booking(resident, rink_slot)
    clock.at = rink_slot.starts_at
    with pytest.raises(RuleViolation):
        bookings.cancel(booking, resident, now())


def test_only_the_booker_cancels(resident, rink_slot):
    booking = book(resident, rink_slot)
    with pytest.raises(Forbidden):
        bookings.cancel(booking, create_user(), now())


def test_cancel_twice_is_a_conflict(resident, rink_slot):
    booking = book(resident, rink_slot)
    bookings.cancel(booking, resident, now())
    with pytest.raises(Conflict):
        bookings.cancel(booking, resident, now())


def test_cancel_over_http(client, resident, rink_slot, outbox):
    booking = confirmed_booking(resident, rink_slot)
    response = client.post(
        f"/api/bookings/{booking.id}/cancel",
        json={"reason": "일정 변경"},
        headers=auth_headers(resident),
    )
    assert response.status_code == 200
    assert response.json["status"] == "cancelled"
    assert response.json["refund_amount"] == 10000  # 8 days of notice
    assert outbox[-1]["kind"] == "booking_cancelled"
    assert "환불 금액: 10,000원" in outbox[-1]["body"]
    other = client.post(
        f"/api/bookings/{booking.id}/cancel", json={}, headers=auth_headers(create_user())
    )
    assert other.status_code == 404


def test_refund_uses_the_local_day(resident, dummy_rink, clock):
    # Notice counts local calendar days: 3 March 23:30 KST to 5 March 00:30 KST is 2 days,
    # although only 25 hours.
    slot = create_slot(dummy_rink, kst("2026-03-05", "00:30"))
    booking = confirmed_booking(resident, slot)
    clock.at = kst("2026-03-03", "23:30")
    bookings.cancel(booking, resident, now())
    assert booking.refund_amount == 8000
    assert slot.starts_at - now() < timedelta(days=2)
