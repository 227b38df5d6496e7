"""Closures close overlapping slots, cancel their bookings with full refunds, notify."""

from core.extensions import db
from facilities.services import booking as bookings
from facilities.services import closures, slots
from tests.fixtures.facilities import book, create_daily_template, create_slot, kst, now
from tests.fixtures.users import auth_headers, create_user


def test_closure_cancels_and_refunds_and_notifies(client, manager, dummy_rink, outbox):
    inside = create_slot(dummy_rink, kst("2026-03-10", "10:00"))
    overlapping = create_slot(dummy_rink, kst("2026-03-10", "13:30"))  # ends 15:00
    outside = create_slot(dummy_rink, kst("2026-03-10", "18:00"))
    paid_user, held_user, safe_user = create_user(), create_user(), create_user()
    paid = book(paid_user, inside, {"adult": 2})
    bookings.confirm(paid, now(), actor="payments", payment_reference="pg-1")
    held = book(held_user, overlapping)
    safe = book(safe_user, outside)
    db.session.commit()
    response = client.post(
        f"/api/facilities/{dummy_rink.facility_id}/closures",
        json={
            "resource_id": dummy_rink.id,
            "starts_at": "2026-03-10T09:00:00+09:00",
            "ends_at": "2026-03-10T14:00:00+09:00",
            "reason": "제빙기 고장",
        },
        headers=auth_headers(manager),
    )
    assert response.status_code == 201, response.json
    assert response.json["slots_closed"] == 2
    assert response.json["bookings_cancelled"] == 2
    db.session.expire_all()
    assert paid.status == "cancelled" and paid.refund_amount == 10000
    assert held.status == "cancelled" and held.refund_amount == 0
    assert safe.status == "held"
    assert inside.status == overlapping.status == "closed"
    assert inside.booked == 0 and outside.status == "open"
    told = {n["user_id"] for n in outbox if n["kind"] == "facility_closure"}
    assert told == {paid_user.id, held_user.id}
    assert all("제빙기 고장" in n["body"] for n in outbox if n["kind"] == "facility_closure")


def test_closure_ends_waitlists_and_tells_the_people_waiting(manager, dummy_rink, outbox):
    from facilities.services import waitlist

    slot = create_slot(dummy_rink, kst("2026-03-10"), capacity=1)
    book(create_user(), slot)
    waiting = create_user()
    entry = waitlist.join(waiting, slot.id, {"adult": 1}, now())
    db.session.commit()
    closures.create(
        manager,
        dummy_rink.facility,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        reason="정전",
        resource_id=None,
        now=now(),
    )
    db.session.commit()
    assert entry.status == "cancelled"
    told = [n for n in outbox if n["user_id"] == waiting.id]
    assert [n["kind"] for n in told] == ["facility_closure"] and "정전" in told[0]["body"]


def test_closure_of_the_whole_facility_covers_every_resource(manager, dummy_curling):
    made = [create_slot(sheet, kst("2026-03-11", "10:00")) for sheet in dummy_curling]
    closure = closures.create(
        manager,
        dummy_curling[0].facility,
        starts_at=kst("2026-03-11", "00:00"),
        ends_at=kst("2026-03-12", "00:00"),
        reason="대회",
        resource_id=None,
        now=now(),
    )
    db.session.commit()
    assert closure.slots_closed == 6
    assert {s.status for s in made} == {"closed"}


def test_bad_closure_input(client, manager, dummy_rink):
    url = f"/api/facilities/{dummy_rink.facility_id}/closures"
    bad_order = {
        "starts_at": "2026-03-10T10:00:00+09:00",
        "ends_at": "2026-03-10T09:00:00+09:00",
        "reason": "x",
    }
    response = client.post(url, json=bad_order, headers=auth_headers(manager))
    assert response.status_code == 422 and "ends_at" in response.json["errors"]
    naive = {**bad_order, "starts_at": "2026-03-10T08:00:00"}
    response = client.post(url, json=naive, headers=auth_headers(manager))
    assert response.status_code == 422 and "starts_at" in response.json["errors"]
    other = {**bad_order, "ends_at": "2026-03-10T11:00:00+09:00", "resource_id": 999}
    assert client.post(url, json=other, headers=auth_headers(manager)).status_code == 404


def test_slots_generated_inside_a_closure_are_closed(manager, dummy_rink):
    closures.create(
        manager,
        dummy_rink.facility,
        starts_at=kst("2026-03-05", "00:00"),
        ends_at=kst("2026-03-06", "00:00"),
        reason="정기 점검",
        resource_id=None,
        now=now(),
    )
    create_daily_template(dummy_rink)
    slots.generate_for_facility(dummy_rink.facility, 5, now())
    db.session.commit()
    from sqlalchemy import select

    from facilities.models import Slot

    by_day = {s.local_date.isoformat(): s.status for s in db.session.scalars(select(Slot))}
    assert by_day["2026-03-05"] == "closed"
    assert by_day["2026-03-04"] == "open"
