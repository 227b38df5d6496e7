"""Lifting a closure early reopens its slots that have not started, unless another active
closure still covers them; what it cancelled stays cancelled."""

import pytest
from sqlalchemy import select

from core.extensions import db
from core.models import AuditLog
from facilities.models import Slot
from facilities.services import closures, slots
from tests.fixtures.facilities import (
    book,
    create_daily_template,
    create_resource,
    create_slot,
    kst,
    now,
)
from tests.fixtures.users import auth_headers, create_user

# The suite's clock is Monday 2026-03-02 10:00 KST.
TODAY = "2026-03-02"


def close(manager, resource, starts, ends, *, whole_facility=False, reason="제빙기 고장"):
    closure = closures.create(
        manager,
        resource.facility,
        starts_at=starts,
        ends_at=ends,
        reason=reason,
        resource_id=None if whole_facility else resource.id,
        now=now(),
    )
    db.session.commit()
    return closure


def lift(client, manager, closure_id):
    return client.post(f"/api/closures/{closure_id}/lift", headers=auth_headers(manager))


@pytest.fixture
def today_slots(dummy_rink) -> dict[str, Slot]:
    """Three of today's sessions: one under way (started 09:30), two to come."""
    return {at: create_slot(dummy_rink, kst(TODAY, at)) for at in ("09:30", "12:00", "18:00")}


@pytest.fixture
def closure(manager, dummy_rink, today_slots):
    """The rink closed for the rest of today (all three sessions)."""
    return close(manager, dummy_rink, kst(TODAY, "09:00"), kst("2026-03-03", "00:00"))


def test_lift_reopens_the_slots_not_started_and_leaves_the_started_one(
    client, manager, closure, today_slots, clock
):
    assert closure.slots_closed == 3
    response = lift(client, manager, closure.id)
    assert response.status_code == 200, response.json
    assert response.json["id"] == closure.id
    assert response.json["lifted_at"] == clock.now().isoformat()
    assert response.json["slots_reopened"] == 2
    db.session.expire_all()
    started, noon, evening = (today_slots[at] for at in ("09:30", "12:00", "18:00"))
    assert (started.status, started.closure_id) == ("closed", closure.id)
    assert (noon.status, noon.closure_id) == ("open", None)
    assert (evening.status, evening.closure_id) == ("open", None)
    assert closure.lifted_at == clock.now() and closure.lifted_by_id == manager.id
    [entry] = db.session.scalars(select(AuditLog).filter_by(action="closure.lift")).all()
    assert entry.actor_id == manager.id and entry.target_id == str(closure.id)
    assert entry.after["slots_reopened"] == 2


@pytest.mark.parametrize("whole_facility", [False, True])
def test_slots_another_active_closure_covers_stay_closed_and_point_to_it(
    client, manager, dummy_rink, closure, today_slots, whole_facility
):
    evening = today_slots["18:00"]
    tournament = close(
        manager,
        dummy_rink,
        kst(TODAY, "17:00"),
        kst(TODAY, "21:00"),
        whole_facility=whole_facility,
        reason="대회",
    )
    response = lift(client, manager, closure.id)
    assert response.status_code == 200 and response.json["slots_reopened"] == 1
    db.session.expire_all()
    assert (evening.status, evening.closure_id) == ("closed", tournament.id)
    assert today_slots["12:00"].status == "open"

    response = lift(client, manager, tournament.id)
    assert response.status_code == 200 and response.json["slots_reopened"] == 1
    db.session.expire_all()
    assert (evening.status, evening.closure_id) == ("open", None)


def test_a_lifted_closure_no_longer_keeps_slots_closed(
    client, manager, dummy_rink, closure, today_slots
):
    earlier = close(manager, dummy_rink, kst(TODAY, "11:00"), kst(TODAY, "20:00"))
    assert lift(client, manager, earlier.id).json["slots_reopened"] == 0  # they point elsewhere
    response = lift(client, manager, closure.id)
    assert response.json["slots_reopened"] == 2
    db.session.expire_all()
    assert {today_slots[at].status for at in ("12:00", "18:00")} == {"open"}


def test_a_closure_of_another_resource_does_not_keep_slots_closed(
    client, manager, dummy_rink, closure, today_slots
):
    practice = create_resource(dummy_rink.facility, name="연습 링크", capacity=30)
    close(manager, practice, kst(TODAY, "00:00"), kst("2026-03-03", "00:00"))
    assert lift(client, manager, closure.id).json["slots_reopened"] == 2


def test_cancelled_bookings_stay_cancelled_and_the_slot_is_bookable_again(
    client, manager, dummy_rink, clock
):
    slot = create_slot(dummy_rink, kst("2026-03-10", "18:00"))
    first = create_user()
    booking = book(manager, slot, for_user=first, confirm=True)
    closure = close(manager, dummy_rink, kst("2026-03-10", "00:00"), kst("2026-03-11", "00:00"))
    assert closure.bookings_cancelled == 1
    assert lift(client, manager, closure.id).status_code == 200
    db.session.expire_all()
    assert booking.status == "cancelled" and booking.refund_amount == booking.price
    assert slot.status == "open" and slot.booked == 0

    resident = create_user()
    response = client.post(
        "/api/bookings",
        json={"slot_id": slot.id, "party": {"adult": 1}},
        headers=auth_headers(resident),
    )
    assert response.status_code == 201, response.json
    availability = client.get(
        f"/api/facilities/{dummy_rink.facility_id}/availability?from=2026-03-10&to=2026-03-10"
    ).json
    assert [(s["id"], s["status"]) for s in availability] == [(slot.id, "open")]


def test_lifting_twice_is_a_conflict(client, manager, closure, today_slots):
    assert lift(client, manager, closure.id).status_code == 200
    again = lift(client, manager, closure.id)
    assert again.status_code == 409 and again.json["code"] == "closure_lifted"
    db.session.expire_all()
    assert closure.slots_reopened == 2


def test_unknown_closure_is_a_404(client, manager):
    assert lift(client, manager, 999).status_code == 404


def test_only_managers_lift_closures(client, closure, today_slots):
    resident = create_user()
    url = f"/api/closures/{closure.id}/lift"
    assert client.post(url, headers=auth_headers(resident)).status_code == 403
    assert client.post(url).status_code == 401
    db.session.expire_all()
    assert closure.lifted_at is None and today_slots["12:00"].status == "closed"


def test_closures_list_shows_which_were_lifted(client, manager, dummy_rink, closure):
    lift(client, manager, closure.id)
    listed = client.get(
        f"/api/facilities/{dummy_rink.facility_id}/closures", headers=auth_headers(manager)
    ).json
    assert listed[0]["id"] == closure.id and listed[0]["lifted_at"] is not None
    assert listed[0]["slots_reopened"] == 2


def test_slots_generated_after_a_lift_are_open(manager, dummy_rink):
    closure = close(manager, dummy_rink, kst("2026-03-05", "00:00"), kst("2026-03-06", "00:00"))
    closures.lift(manager, closure, now())
    create_daily_template(dummy_rink)
    slots.generate_for_facility(dummy_rink.facility, 5, now())
    db.session.commit()
    by_day = {s.local_date.isoformat(): s.status for s in db.session.scalars(select(Slot))}
    assert by_day["2026-03-05"] == "open"
