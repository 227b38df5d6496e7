"""Booking rules, called directly on the services with an injected time."""

from datetime import timedelta

import pytest

from core.errors import Conflict, Forbidden, RuleViolation
from facilities.models import Suspension
from facilities.services import booking as bookings
from tests.fixtures.facilities import book, create_facility, create_resource, create_slot, kst, now
from tests.fixtures.users import create_user


def test_paid_booking_is_held_for_15_minutes_and_takes_places(resident, rink_slot):
    booking = book(resident, rink_slot, {"adult": 2, "child": 1})
    assert booking.status == "held"
    assert booking.hold_expires_at == now() + timedelta(minutes=15)
    assert booking.units == 3
    assert booking.price == 5000 * 2 + 2500
    assert rink_slot.booked == 3


def test_free_booking_is_confirmed_at_once(resident, dummy_rink):
    slot = create_slot(dummy_rink, kst("2026-03-10"), price=0)
    booking = book(resident, slot)
    assert booking.status == "confirmed"
    assert booking.hold_expires_at is None


def test_before_opening_names_bookable_from(resident, dummy_rink):
    slot = create_slot(dummy_rink, kst("2026-03-17", "10:00"))
    with pytest.raises(RuleViolation) as caught:
        book(resident, slot)
    assert caught.value.code == "booking_not_open"
    # 14 days before 2026-03-17, at 10:00 KST
    assert caught.value.details["bookable_from"] == kst("2026-03-03", "10:00").isoformat()


def test_opening_is_exact_to_the_second(resident, dummy_rink, clock):
    slot = create_slot(dummy_rink, kst("2026-03-17", "10:00"))
    clock.at = kst("2026-03-03", "10:00") - timedelta(seconds=1)
    with pytest.raises(RuleViolation):
        book(resident, slot)
    clock.advance(seconds=1)
    assert book(resident, slot).status == "held"


def test_booking_stops_at_the_start(resident, rink_slot, clock):
    clock.at = rink_slot.starts_at
    with pytest.raises(RuleViolation) as caught:
        book(resident, rink_slot)
    assert caught.value.code == "booking_closed"


def test_full_slot_is_a_conflict(resident, dummy_rink):
    slot = create_slot(dummy_rink, kst("2026-03-10"), capacity=3, booked=2)
    with pytest.raises(Conflict) as caught:
        book(resident, slot, {"adult": 2})
    assert caught.value.code == "slot_full"
    assert book(resident, slot, {"adult": 1}).units == 1
    assert slot.booked == 3


def test_sheet_takes_one_team(resident, sheet_slot):
    booking = book(resident, sheet_slot, {"adult": 4})
    assert booking.units == 1 and booking.price == 40000
    other = create_user()
    with pytest.raises(Conflict):
        book(other, sheet_slot, {"adult": 2})


@pytest.mark.parametrize("party", [{"adult": 0}, {"adult": 11}, {"adult": 6, "child": 5}])
def test_party_size_on_the_rink_is_1_to_10(resident, rink_slot, party):
    with pytest.raises(RuleViolation) as caught:
        book(resident, rink_slot, party)
    assert caught.value.code == "party_size"
    assert "party" in caught.value.errors


def test_at_most_one_booking_per_facility_per_day(resident, dummy_rink):
    first = create_slot(dummy_rink, kst("2026-03-10", "10:00"))
    second = create_slot(dummy_rink, kst("2026-03-10", "18:00"))
    book(resident, first)
    with pytest.raises(RuleViolation) as caught:
        book(resident, second)
    assert caught.value.code == "daily_limit"


def test_at_most_four_upcoming_bookings_per_facility(resident, dummy_rink):
    slots = [create_slot(dummy_rink, kst(f"2026-03-{d:02d}")) for d in (5, 6, 7, 8, 9)]
    for slot in slots[:4]:
        book(resident, slot)
    with pytest.raises(RuleViolation) as caught:
        book(resident, slots[4])
    assert caught.value.code == "active_limit"


def test_cancelled_bookings_do_not_count_against_limits(resident, dummy_rink):
    first = create_slot(dummy_rink, kst("2026-03-10", "10:00"))
    second = create_slot(dummy_rink, kst("2026-03-10", "18:00"))
    bookings.cancel(book(resident, first), resident, now())
    assert book(resident, second).status == "held"


def test_no_two_overlapping_bookings_across_facilities(resident, rink_slot, dummy_curling):
    sheet = create_slot(dummy_curling[0], rink_slot.starts_at + timedelta(minutes=30), minutes=120)
    book(resident, rink_slot)
    with pytest.raises(RuleViolation) as caught:
        book(resident, sheet, {"adult": 4})
    assert caught.value.code == "booking_overlap"


def test_suspended_user_is_forbidden(resident, rink_slot):
    from core.extensions import db

    db.session.add(
        Suspension(
            user_id=resident.id, starts_at=now(), ends_at=now() + timedelta(days=30), reason="t"
        )
    )
    db.session.commit()
    with pytest.raises(Forbidden) as caught:
        book(resident, rink_slot)
    assert caught.value.code == "booking_suspended"


def test_closed_slot_cannot_be_booked(resident, dummy_rink):
    slot = create_slot(dummy_rink, kst("2026-03-10"), status="closed")
    with pytest.raises(Conflict) as caught:
        book(resident, slot)
    assert caught.value.code == "slot_closed"


def test_staff_books_for_a_resident_before_opening_and_confirms(manager, resident, dummy_rink):
    slot = create_slot(dummy_rink, kst("2026-04-10"))
    booking = book(manager, slot, {"adult": 2}, for_user=resident, confirm=True)
    assert booking.user_id == resident.id and booking.status == "confirmed"
    assert slot.booked == 2


def test_rules_are_per_facility(resident, clock):
    facility = create_facility(rules={"max_party": 3, "opens_days_before": 30})
    rink = create_resource(facility, capacity=20)
    slot = create_slot(rink, kst("2026-03-25"))
    with pytest.raises(RuleViolation) as caught:
        book(resident, slot, {"adult": 4})
    assert caught.value.code == "party_size"
    assert book(resident, slot, {"adult": 3}).units == 3


def test_a_finished_booking_still_counts_for_its_day(resident, dummy_rink, clock):
    morning = create_slot(dummy_rink, kst("2026-03-10", "10:00"))
    evening = create_slot(dummy_rink, kst("2026-03-10", "18:00"))
    book(resident, morning, confirm=True, for_user=resident)
    clock.at = kst("2026-03-10", "12:00")
    with pytest.raises(RuleViolation) as caught:
        book(resident, evening)
    assert caught.value.code == "daily_limit"


def test_snapshot_check_refuses_only_clear_cut_full_slots(resident, dummy_rink, clock):
    full = create_slot(dummy_rink, kst("2026-03-10", "10:00"), capacity=2, booked=2)
    with pytest.raises(Conflict) as caught:
        bookings.refuse_if_visibly_full(resident.id, full.id, {"adult": 1}, now())
    assert caught.value.code == "slot_full"
    roomy = create_slot(dummy_rink, kst("2026-03-10", "12:00"), capacity=3, booked=2)
    not_open = create_slot(dummy_rink, kst("2026-03-20"), capacity=1, booked=1)
    started = create_slot(dummy_rink, kst("2026-03-02", "09:00"), capacity=1, booked=1)
    for slot, party in (
        (roomy, {"adult": 1}),
        (not_open, {"adult": 1}),
        (started, {"adult": 1}),
        (full, {"adult": -1}),
    ):
        assert bookings.refuse_if_visibly_full(resident.id, slot.id, party, now()) is None
    assert bookings.refuse_if_visibly_full(resident.id, 999_999, {"adult": 1}, now()) is None
    assert bookings.refuse_if_visibly_full(resident.id, 2**40, {"adult": 1}, now()) is None
    # A lapsed hold may free a place: leave it to the locked path.
    lapsing = create_slot(dummy_rink, kst("2026-03-10", "14:00"), capacity=1)
    book(create_user(), lapsing)
    clock.advance(minutes=15)
    assert bookings.refuse_if_visibly_full(resident.id, lapsing.id, {"adult": 1}, now()) is None
