"""Waitlist: join a full slot, positions, offers one at a time with their own expiry."""

from datetime import timedelta

import pytest

from core.errors import Conflict
from core.extensions import db
from facilities import jobs
from facilities.services import booking as bookings
from facilities.services import waitlist
from tests.fixtures.facilities import book, create_slot, kst, now
from tests.fixtures.users import auth_headers, create_user


@pytest.fixture
def full_slot(dummy_rink):
    return create_slot(dummy_rink, kst("2026-03-10"), capacity=2)


def fill(slot, count=2):
    return [book(create_user(), slot) for _ in range(count)]


def join(user, slot, party=None):
    entry = waitlist.join(user, slot.id, party or {"adult": 1}, now())
    db.session.commit()
    return entry


def test_cannot_join_a_slot_with_room(resident, full_slot):
    with pytest.raises(Conflict) as caught:
        join(resident, full_slot)
    assert caught.value.code == "slot_not_full"


def test_positions_are_visible_and_move_up(client, full_slot):
    fill(full_slot)
    first, second, third = create_user(), create_user(), create_user()
    for user in (first, second, third):
        response = client.post(
            f"/api/slots/{full_slot.id}/waitlist",
            json={"party": {"adult": 1}},
            headers=auth_headers(user),
        )
        assert response.status_code == 201
    mine = client.get(f"/api/slots/{full_slot.id}/waitlist", headers=auth_headers(third))
    assert mine.json["position"] == 3
    assert (
        client.delete(
            f"/api/slots/{full_slot.id}/waitlist", headers=auth_headers(first)
        ).status_code
        == 204
    )
    mine = client.get(f"/api/slots/{full_slot.id}/waitlist", headers=auth_headers(third))
    assert mine.json["position"] == 2
    listed = client.get("/api/me/waitlist", headers=auth_headers(second))
    assert [e["position"] for e in listed.json] == [1]


def test_joining_twice_is_a_conflict(resident, full_slot):
    fill(full_slot)
    join(resident, full_slot)
    with pytest.raises(Conflict):
        join(resident, full_slot)


def test_freed_place_is_offered_to_the_first_in_line(full_slot, outbox, clock):
    holders = fill(full_slot)
    first, second = create_user(), create_user()
    entry_one, entry_two = join(first, full_slot), join(second, full_slot)
    bookings.cancel(holders[0], holders[0].user, now())
    db.session.commit()
    db.session.refresh(entry_one)
    assert entry_one.status == "offered"
    offer = bookings.find(entry_one.booking_id)
    assert offer.status == "held" and offer.is_offer and offer.user_id == first.id
    assert offer.hold_expires_at == now() + timedelta(minutes=30)
    assert full_slot.booked == 2
    assert "waitlist_offer" in [n["kind"] for n in outbox if n["user_id"] == first.id]
    assert waitlist.position(entry_two) == 1
    # The freed place belongs to the waitlist, not to whoever books next.
    bookings.cancel(holders[1], holders[1].user, now())
    db.session.commit()
    with pytest.raises(Conflict):
        book(create_user(), full_slot)
    # One offer at a time: the second person waits until the first offer resolves.
    db.session.refresh(entry_two)
    assert entry_two.status == "waiting"
    # The first offer lapses; the second person gets one.
    clock.advance(minutes=30)
    jobs.expire_holds_now()
    db.session.commit()
    db.session.refresh(entry_one)
    db.session.refresh(entry_two)
    assert entry_one.status == "expired"
    assert entry_two.status == "offered"


def test_accepting_an_offer_by_payment(client, full_slot):
    from tests.fixtures.facilities import signed_callback

    holders = fill(full_slot)
    waiting = create_user()
    entry = join(waiting, full_slot)
    bookings.cancel(holders[0], holders[0].user, now())
    db.session.commit()
    db.session.refresh(entry)
    offer = bookings.find(entry.booking_id)
    response = signed_callback(
        client,
        {"booking_id": offer.id, "payment_id": "pg-offer", "amount": offer.price, "status": "paid"},
    )
    assert response.status_code == 200
    assert response.json["status"] == "confirmed"
    db.session.refresh(entry)
    assert entry.status == "accepted"


def test_free_offer_is_accepted_by_the_resident(client, dummy_rink):
    slot = create_slot(dummy_rink, kst("2026-03-10"), capacity=1, price=0)
    (holder,) = fill(slot, 1)
    waiting = create_user()
    entry = join(waiting, slot)
    bookings.cancel(holder, holder.user, now())
    db.session.commit()
    db.session.refresh(entry)
    response = client.post(
        f"/api/bookings/{entry.booking_id}/confirm", headers=auth_headers(waiting)
    )
    assert response.status_code == 200
    assert response.json["status"] == "confirmed"


def test_party_too_big_for_freed_places_keeps_waiting(full_slot):
    holders = fill(full_slot)
    big, small = create_user(), create_user()
    big_entry = join(big, full_slot, {"adult": 2})
    small_entry = join(small, full_slot, {"adult": 1})
    bookings.cancel(holders[0], holders[0].user, now())
    db.session.commit()
    db.session.refresh(big_entry)
    db.session.refresh(small_entry)
    assert big_entry.status == "waiting"
    assert small_entry.status == "offered"


def test_cannot_wait_for_a_slot_one_could_not_book(resident, full_slot, dummy_curling):
    from core.errors import RuleViolation

    fill(full_slot)
    same_time = create_slot(dummy_curling[0], full_slot.starts_at, minutes=120)
    book(resident, same_time, {"adult": 4})
    with pytest.raises(RuleViolation) as caught:
        join(resident, full_slot)
    assert caught.value.code == "booking_overlap"


def test_an_offer_skips_people_who_can_no_longer_book(full_slot):
    holders = fill(full_slot)
    busy, free = create_user(), create_user()
    busy_entry, free_entry = join(busy, full_slot), join(free, full_slot)
    # Meanwhile the first person in line booked another session the same day.
    other = create_slot(full_slot.resource, full_slot.starts_at - timedelta(hours=3))
    book(busy, other)
    bookings.cancel(holders[0], holders[0].user, now())
    db.session.commit()
    db.session.refresh(busy_entry)
    db.session.refresh(free_entry)
    assert busy_entry.status == "skipped"
    assert free_entry.status == "offered"


def test_sweep_offers_places_that_are_free_while_people_wait(dummy_rink):
    slot = create_slot(dummy_rink, kst("2026-03-10"), capacity=2, booked=2)
    waiting = create_user()
    entry = join(waiting, slot)
    # A place came free without passing through an offer (e.g. a manager's correction).
    slot.booked = 1
    db.session.commit()
    assert jobs.sweep_waitlists_now() == 1
    db.session.commit()
    db.session.refresh(entry)
    assert entry.status == "offered"
    assert jobs.sweep_waitlists_now() == 0


def test_staff_see_the_whole_waitlist_in_order(client, manager, resident, full_slot):
    fill(full_slot)
    first, second = create_user(), create_user()
    join(first, full_slot)
    join(second, full_slot)
    url = f"/api/slots/{full_slot.id}/waitlist/entries"
    response = client.get(url, headers=auth_headers(manager))
    assert response.status_code == 200
    assert [(e["user_id"], e["position"]) for e in response.json] == [(first.id, 1), (second.id, 2)]
    assert client.get(url, headers=auth_headers(resident)).status_code == 403
    assert (
        client.get("/api/slots/999/waitlist/entries", headers=auth_headers(manager)).status_code
        == 404
    )
