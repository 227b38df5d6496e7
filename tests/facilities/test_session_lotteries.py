"""Sessions of a template a manager marks ``allocation: lottery`` (the weekend curling sheets):
a lottery per session, applications in its window, no first-come booking meanwhile, the draw,
held bookings for the winners, an unpaid place passing to the next in the drawn order."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select

from core.errors import Conflict, RuleViolation
from core.extensions import db
from facilities import jobs
from facilities.models import Application, Booking, Lottery, Slot, WaitlistEntry
from facilities.services import booking as bookings
from facilities.services import catalog, lotteries, session_lotteries, slots, waitlist
from facilities.settings import FacilitySettings
from tests.fixtures.facilities import kst, now
from tests.fixtures.users import auth_headers, create_user


@pytest.fixture
def weekend_sheet(manager, dummy_curling, clock):
    """Sheet A on Saturdays 13:00-15:00 by lottery; the session of Sat 2026-03-21 is
    generated, and its window runs from 2026-03-07 10:00 (when booking would open) for 24 h."""
    catalog.create_template(
        manager,
        dummy_curling[0],
        {
            "name": "주말 컬링",
            "weekdays": [5],
            "start_times": ["13:00"],
            "duration_minutes": 120,
            "base_price": 40000,
            "allocation": "lottery",
        },
        now(),
    )
    slots.generate_for_facility(dummy_curling[0].facility, 20, now())
    db.session.commit()
    slot = db.session.scalar(select(Slot).where(Slot.starts_at == kst("2026-03-21", "13:00")))
    return slot, db.session.scalar(select(Lottery).where(Lottery.slot_id == slot.id))


def _apply(user, lottery, party=None):
    application = session_lotteries.apply(user, lottery.id, party or {"adult": 4}, now())
    db.session.commit()
    return application


def test_each_session_gets_a_lottery_with_its_window(weekend_sheet):
    slot, lottery = weekend_sheet
    assert (lottery.window_opens_at, lottery.window_closes_at) == (
        kst("2026-03-07", "10:00"),
        kst("2026-03-08", "10:00"),
    )
    assert lottery.places == 1 and len(lottery.commitment) == 64
    # Every Saturday's session has its own.
    assert db.session.scalar(select(Lottery.id).where(Lottery.slot_id.is_(None))) is None
    assert len(db.session.scalars(select(Lottery)).all()) == 3


def test_no_first_come_booking_while_the_lottery_holds_the_places(weekend_sheet, resident, clock):
    slot, lottery = weekend_sheet
    clock.at = kst("2026-03-07", "11:00")
    with pytest.raises(Conflict) as refused:
        bookings.create_booking(resident, slot.id, {"adult": 4}, now=now())
    assert refused.value.code == "slot_by_lottery"


def test_applications_only_in_the_window_and_once(weekend_sheet, resident, clock):
    slot, lottery = weekend_sheet
    with pytest.raises(RuleViolation) as refused:
        _apply(resident, lottery)
    assert refused.value.code == "window_not_open"
    clock.at = kst("2026-03-07", "11:00")
    _apply(resident, lottery)
    with pytest.raises(Conflict) as refused:
        _apply(resident, lottery)
    assert refused.value.code == "already_applied"


def test_a_retried_lottery_application_gets_its_first_answer(
    client, weekend_sheet, resident, clock
):
    slot, lottery = weekend_sheet
    clock.at = kst("2026-03-07", "11:00")
    path = f"/api/lotteries/{lottery.id}/applications"
    headers = {**auth_headers(resident), "Idempotency-Key": "sheet-1"}
    first = client.post(path, json={"party": {"adult": 4}}, headers=headers)
    assert first.status_code == 201 and first.json["slot_id"] == slot.id
    again = client.post(path, json={"party": {"adult": 4}}, headers=headers)
    assert again.status_code == 201 and again.json == first.json
    other = client.post(path, json={"party": {"adult": 3}}, headers=headers)
    assert other.status_code == 409 and other.json["code"] == "idempotency_key_reused"
    count = select(func.count(Application.id)).where(Application.lottery_id == lottery.id)
    assert db.session.scalar(count) == 1


def test_the_draw_gives_the_sheet_and_an_unpaid_one_passes_on(weekend_sheet, clock, outbox):
    slot, lottery = weekend_sheet
    clock.at = kst("2026-03-07", "11:00")
    teams = [create_user() for _ in range(3)]
    for team in teams:
        _apply(team, lottery)
    clock.at = kst("2026-03-08", "10:00")
    assert jobs.draw_lotteries_now() >= 1
    db.session.commit()
    lottery = db.session.get(Lottery, lottery.id)
    order = lottery.published_order
    rows = {a.id: a for a in db.session.scalars(select(Application))}
    assert [rows[n].status for n in order] == ["held", "waiting", "waiting"]
    first = db.session.get(Booking, rows[order[0]].booking_id)
    assert first.status == "held" and first.price == 40000
    assert db.session.get(Slot, slot.id).booked == 1
    lost = [n["user_id"] for n in outbox if n["kind"] == "session_lottery_lost"]
    assert sorted(lost) == sorted(rows[n].user_id for n in order[1:])
    # Still the lottery's: the next in order gets an unpaid place, not a first-come booker.
    with pytest.raises(Conflict):
        bookings.create_booking(create_user(), slot.id, {"adult": 4}, now=now())
    db.session.rollback()
    clock.advance(hours=24)
    bookings.expire_holds(now())
    assert jobs.pass_on_session_places_now() == 1
    db.session.commit()
    statuses = [db.session.get(Application, n).status for n in order]
    assert statuses == ["expired", "held", "waiting"]
    second = db.session.get(Booking, db.session.get(Application, order[1]).booking_id)
    bookings.confirm(second, now(), actor="payments", payment_reference="pg-curl-1")
    jobs.pass_on_session_places_now()
    db.session.commit()
    assert db.session.get(Application, order[1]).status == "enrolled"
    assert lotteries.verify(lottery.id)["ok"]


def test_no_waitlist_while_the_lottery_holds_the_places(weekend_sheet, resident, clock):
    slot, lottery = weekend_sheet
    clock.at = kst("2026-03-07", "11:00")
    with pytest.raises(Conflict) as refused:
        waitlist.join(resident, slot.id, {"adult": 4}, now())
    assert refused.value.code == "slot_by_lottery"
    assert refused.value.errors == {"slot_id": [f"Apply to lottery {lottery.id}."]}
    db.session.rollback()
    # After the draw, while drawn applicants still wait, the places stay the lottery's.
    for _ in range(2):
        _apply(create_user(), lottery)
    clock.at = kst("2026-03-08", "10:00")
    jobs.draw_lotteries_now()
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        waitlist.join(resident, slot.id, {"adult": 4}, now())
    assert refused.value.code == "slot_by_lottery"
    db.session.rollback()
    assert db.session.scalars(select(WaitlistEntry)).all() == []


def test_those_still_waiting_when_the_session_starts_are_closed_and_told(
    weekend_sheet, clock, outbox
):
    slot, lottery = weekend_sheet
    clock.at = kst("2026-03-07", "11:00")
    for _ in range(3):
        _apply(create_user(), lottery)
    clock.at = kst("2026-03-08", "10:00")
    jobs.draw_lotteries_now()
    db.session.commit()
    order = db.session.get(Lottery, lottery.id).published_order
    # Not before the start: they may still get a place.
    clock.at = kst("2026-03-21", "12:59")
    assert jobs.close_started_session_lotteries_now() == 0
    clock.at = kst("2026-03-21", "13:00")
    assert jobs.close_started_session_lotteries_now() == 2
    db.session.commit()
    statuses = [db.session.get(Application, n).status for n in order]
    assert statuses == ["held", "closed", "closed"]
    closed = [db.session.get(Application, n) for n in order[1:]]
    assert all(a.decided_at == now() for a in closed)
    told = [n for n in outbox if n["kind"] == "session_lottery_closed"]
    assert sorted(n["user_id"] for n in told) == sorted(a.user_id for a in closed)
    assert f"번호 {closed[0].id}" in " ".join(n["body"] for n in told)
    # Once: nothing left to close.
    assert jobs.close_started_session_lotteries_now() == 0


def test_the_winners_payment_time_is_a_setting(app, weekend_sheet, clock, monkeypatch):
    slot, lottery = weekend_sheet
    settings = app.extensions["settings"]
    assert settings[FacilitySettings].session_lottery_payment_hours == 24  # the default
    monkeypatch.setitem(
        settings,
        FacilitySettings,
        dataclasses.replace(settings[FacilitySettings], session_lottery_payment_hours=6),
    )
    clock.at = kst("2026-03-07", "11:00")
    for _ in range(2):
        _apply(create_user(), lottery)
    clock.at = kst("2026-03-08", "10:00")
    jobs.draw_lotteries_now()
    db.session.commit()
    order = db.session.get(Lottery, lottery.id).published_order
    first = db.session.get(Application, order[0])
    assert first.hold_expires_at == kst("2026-03-08", "16:00")
    assert db.session.get(Booking, first.booking_id).hold_expires_at == kst("2026-03-08", "16:00")
    # The next in order, when the first does not pay, gets the same time.
    clock.at = kst("2026-03-08", "16:00")
    bookings.expire_holds(now())
    assert jobs.pass_on_session_places_now() == 1
    db.session.commit()
    assert db.session.get(Application, order[1]).hold_expires_at == kst("2026-03-08", "22:00")
