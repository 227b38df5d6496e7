"""Programmes set up by managers: their sessions, the ice they take from public sessions (rink
places, or the whole sheet), no double use of the ice, edits, and the audit trail."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from core.audit import entries_query
from core.errors import Conflict, RuleViolation
from core.extensions import db
from facilities.models import Lottery, ProgrammeSession, Slot
from facilities.services import programmes, slots
from tests.fixtures.facilities import (
    create_daily_template,
    create_programme,
    create_slot,
    kst,
    now,
)
from tests.fixtures.users import create_user


def _sessions(programme):
    return db.session.scalars(
        select(ProgrammeSession)
        .where(ProgrammeSession.programme_id == programme.id)
        .order_by(ProgrammeSession.starts_at)
    ).all()


def test_a_programme_has_a_session_each_weekday_of_its_term(manager, dummy_rink):
    programme = create_programme(manager, dummy_rink)
    sessions = _sessions(programme)
    days = [s.local_date for s in sessions]
    assert days == [date(2026, 4, d) for d in (2, 7, 9, 14, 16, 21, 23, 28, 30)]
    assert sessions[0].starts_at == kst("2026-04-02", "19:00")
    assert sessions[0].ends_at == kst("2026-04-02", "19:50")
    assert {s.places for s in sessions} == {30}
    entry = db.session.scalars(entries_query(action="programme.create")).one()
    assert entry.actor_id == manager.id and entry.after["sessions"] == 9


def test_korean_public_holidays_have_no_lesson(manager, dummy_rink):
    # 2026-05-05 (Tue) is Children's Day.
    programme = create_programme(
        manager,
        dummy_rink,
        term_start=date(2026, 5, 1),
        term_end=date(2026, 5, 14),
        weekdays=[1],
    )
    assert [s.local_date for s in _sessions(programme)] == [date(2026, 5, 12)]


def test_a_term_with_no_session_is_refused(manager, dummy_rink):
    with pytest.raises(RuleViolation) as refused:
        create_programme(
            manager, dummy_rink, term_start=date(2026, 4, 6), term_end=date(2026, 4, 6)
        )
    assert "weekdays" in refused.value.errors


def test_the_window_closes_before_the_first_session(manager, dummy_rink):
    with pytest.raises(RuleViolation) as refused:
        create_programme(manager, dummy_rink, window_closes_at=kst("2026-04-03", "10:00"))
    assert "window_closes_at" in refused.value.errors


def test_public_sessions_on_the_rink_lose_the_programmes_places(manager, dummy_rink):
    during = create_slot(dummy_rink, kst("2026-04-02", "18:30"), minutes=90)
    other_day = create_slot(dummy_rink, kst("2026-04-03", "18:30"), minutes=90)
    create_programme(manager, dummy_rink, rink_places=40)
    assert db.session.get(Slot, during.id).capacity == 110
    assert db.session.get(Slot, other_day.id).capacity == 150


def test_a_curling_sheet_is_taken_whole(manager, dummy_curling):
    sheet = dummy_curling[0]
    during = create_slot(sheet, kst("2026-04-02", "19:00"), minutes=120, capacity=1)
    create_programme(manager, sheet, title="컬링 입문", min_age=10)
    assert db.session.get(Slot, during.id).status == "closed"


def test_no_double_use_of_a_sheet(manager, dummy_curling):
    sheet = dummy_curling[0]
    create_programme(manager, sheet, title="컬링 입문")
    with pytest.raises(Conflict) as refused:
        create_programme(manager, sheet, title="컬링 중급", start_time="19:30")
    assert refused.value.code == "ice_taken"
    db.session.rollback()
    # Another sheet at the same time is free.
    create_programme(manager, dummy_curling[1], title="컬링 중급", start_time="19:30")


def test_the_rink_cannot_hold_more_lessons_than_places(manager, dummy_rink):
    create_programme(manager, dummy_rink, rink_places=100)
    with pytest.raises(Conflict) as refused:
        create_programme(manager, dummy_rink, title="피겨 초급", rink_places=60)
    assert refused.value.code == "ice_taken"
    db.session.rollback()
    create_programme(manager, dummy_rink, title="피겨 초급", rink_places=50)


def test_places_booked_by_the_public_are_never_taken(manager, dummy_curling, resident):
    sheet = dummy_curling[0]
    booked = create_slot(sheet, kst("2026-04-02", "19:00"), minutes=120, capacity=1, booked=1)
    with pytest.raises(Conflict) as refused:
        create_programme(manager, sheet)
    assert refused.value.code == "ice_taken"
    db.session.rollback()
    assert db.session.get(Slot, booked.id).status == "open"
    assert db.session.scalars(select(ProgrammeSession)).all() == []


def test_slots_generated_later_leave_the_lessons_ice(manager, dummy_rink, clock):
    create_daily_template(dummy_rink)  # 10:00-11:30 every day
    create_programme(manager, dummy_rink, start_time="10:30", rink_places=50)
    slots.generate_for_facility(dummy_rink.facility, 40, now())
    db.session.commit()
    lesson_day = db.session.scalar(select(Slot).where(Slot.starts_at == kst("2026-04-02", "10:00")))
    free_day = db.session.scalar(select(Slot).where(Slot.starts_at == kst("2026-04-03", "10:00")))
    assert (lesson_day.capacity, free_day.capacity) == (100, 150)


def test_a_lottery_programme_publishes_its_commitment_at_once(manager, dummy_rink):
    programme = create_programme(manager, dummy_rink, enrolment="lottery")
    lottery = db.session.scalar(select(Lottery).where(Lottery.programme_id == programme.id))
    assert len(lottery.commitment) == 64 and lottery.status == "open"
    described = programmes.describe(programme, now())
    assert described["lottery_id"] == lottery.id


def test_a_second_ticket_needs_the_previous_terms_programme(manager, dummy_rink):
    with pytest.raises(RuleViolation) as refused:
        create_programme(manager, dummy_rink, enrolment="lottery", second_ticket=True)
    assert "second_ticket" in refused.value.errors


def test_editing_is_audited_and_frozen_once_the_window_opens(manager, dummy_rink, clock):
    programme = create_programme(
        manager,
        dummy_rink,
        window_opens_at=kst("2026-03-05", "10:00"),
        window_closes_at=kst("2026-03-12", "18:00"),
    )
    programmes.update_programme(
        manager, programme.id, {"prices": {"adult": 100000}, "title": "성인 초급"}, now()
    )
    db.session.commit()
    entry = db.session.scalars(entries_query(action="programme.update")).one()
    assert entry.before["prices"] == {"adult": 120000, "child": 80000}
    assert entry.after["prices"] == {"adult": 100000}
    clock.advance(days=4)
    with pytest.raises(RuleViolation) as refused:
        programmes.update_programme(manager, programme.id, {"prices": {"adult": 1}}, now())
    assert refused.value.code == "window_opened" and "prices" in refused.value.errors
    db.session.rollback()
    # What applicants did not rely on may still change.
    programmes.update_programme(manager, programme.id, {"instructor": "박코치"}, now())


def test_listing_filters_by_level_age_and_open_window(manager, dummy_rink, clock):
    adults = create_programme(manager, dummy_rink)
    children = create_programme(
        manager,
        dummy_rink,
        title="어린이 중급",
        level="intermediate",
        min_age=7,
        max_age=12,
        start_time="17:00",
        window_opens_at=kst("2026-03-20", "10:00"),
        window_closes_at=kst("2026-03-25", "10:00"),
    )

    def ids(**filters):
        return [p.id for p in db.session.scalars(programmes.query_programmes(now(), **filters))]

    assert ids() == [adults.id, children.id]
    assert ids(level="intermediate") == [children.id]
    assert ids(age=9) == [children.id]
    assert ids(age=30) == [adults.id]
    assert ids(open_for_application=True) == [adults.id]
    assert ids(open_for_application=False) == [children.id]
    assert ids(facility_id=dummy_rink.facility_id + 99) == []


def test_dependents_are_named_once(resident):
    programmes.add_dependent(resident, "김하늘", 2018, now())
    with pytest.raises(Conflict):
        programmes.add_dependent(resident, "김하늘", 2019, now())
    other = create_user()
    with pytest.raises(RuleViolation):
        programmes.get_dependent(other, programmes.list_dependents(resident)[0].id)


def test_an_edit_cannot_turn_the_age_band_upside_down(manager, dummy_rink):
    programme = create_programme(
        manager,
        dummy_rink,
        window_opens_at=kst("2026-03-05", "10:00"),
        window_closes_at=kst("2026-03-12", "18:00"),
    )
    with pytest.raises(RuleViolation) as refused:
        programmes.update_programme(manager, programme.id, {"min_age": 120}, now())
    assert "min_age" in refused.value.errors
