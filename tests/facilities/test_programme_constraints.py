"""The invariants of programmes, applications and lotteries hold in the database itself,
whatever any code does: one application per person per programme (term), places within
capacity, and a lottery whose commitment and seed, and once drawn whose draw, never change."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from facilities.models import Application, Dependent, Lottery, Programme
from facilities.services import draws
from tests.fixtures.facilities import kst, now


def _programme(resource, **values) -> Programme:
    values = {"min_age": 19, "max_age": 99, "capacity": 2, **values}
    programme = Programme(
        facility_id=resource.facility_id,
        resource_id=resource.id,
        title="스케이트 초급 성인반",
        level="beginner",
        term_start=date(2026, 4, 1),
        term_end=date(2026, 4, 30),
        weekdays=[1, 3],
        start_time="19:00",
        duration_minutes=50,
        prices={"adult": 120000},
        enrolment="lottery",
        window_opens_at=kst("2026-03-10", "10:00"),
        window_closes_at=kst("2026-03-17", "18:00"),
        created_at=now(),
        **values,
    )
    db.session.add(programme)
    db.session.commit()
    return programme


def _application(programme, user, *, participant=None, status="applied", **values):
    application = Application(
        programme_id=programme.id,
        user_id=user.id,
        participant=participant or f"u{user.id}",
        participant_name=user.name,
        status=status,
        created_at=now(),
        **values,
    )
    db.session.add(application)
    db.session.flush()
    return application


def _lottery(programme) -> Lottery:
    seed = draws.new_seed()
    lottery = Lottery(
        facility_id=programme.facility_id,
        programme_id=programme.id,
        places=programme.capacity,
        window_opens_at=programme.window_opens_at,
        window_closes_at=programme.window_closes_at,
        priority_groups=["resident", "everyone"],
        procedure=draws.PROCEDURE,
        commitment=draws.commitment(seed),
        seed=seed,
        created_at=now(),
    )
    db.session.add(lottery)
    db.session.commit()
    return lottery


def test_one_application_per_person_per_programme(dummy_rink, resident):
    programme = _programme(dummy_rink)
    _application(programme, resident)
    db.session.commit()
    with pytest.raises(IntegrityError):
        _application(programme, resident)
    db.session.rollback()


def test_a_withdrawn_application_leaves_room_for_a_new_one(dummy_rink, resident):
    programme = _programme(dummy_rink)
    _application(programme, resident, status="withdrawn")
    _application(programme, resident)
    db.session.commit()


def test_a_guardian_applies_for_each_dependent_once(dummy_rink, resident):
    programme = _programme(dummy_rink, min_age=0)
    child = Dependent(user_id=resident.id, name="김하늘", birth_year=2018, created_at=now())
    db.session.add(child)
    db.session.flush()
    _application(programme, resident)
    _application(programme, resident, participant=f"d{child.id}", dependent_id=child.id)
    db.session.commit()
    with pytest.raises(IntegrityError):
        _application(programme, resident, participant=f"d{child.id}", dependent_id=child.id)
    db.session.rollback()


def test_places_never_exceed_capacity(dummy_rink):
    _programme(dummy_rink, capacity=2)
    with pytest.raises(IntegrityError):
        db.session.execute(update(Programme).values(enrolled=3))
    db.session.rollback()


def test_a_dependent_has_a_plausible_birth_year(resident):
    db.session.add(Dependent(user_id=resident.id, name="x", birth_year=1066, created_at=now()))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_lottery_is_for_a_programme_or_a_session_not_both(dummy_rink, rink_slot):
    programme = _programme(dummy_rink)
    lottery = _lottery(programme)
    with pytest.raises(IntegrityError):
        db.session.execute(update(Lottery).values(slot_id=rink_slot.id))
    db.session.rollback()
    assert db.session.get(Lottery, lottery.id).slot_id is None


def test_the_commitment_and_the_seed_never_change(dummy_rink):
    lottery = _lottery(_programme(dummy_rink))
    other = draws.new_seed()
    for values in ({"seed": other}, {"commitment": draws.commitment(other)}):
        with pytest.raises(IntegrityError):
            db.session.execute(update(Lottery).where(Lottery.id == lottery.id).values(**values))
        db.session.rollback()


def test_a_drawn_lottery_never_changes(dummy_rink):
    lottery = _lottery(_programme(dummy_rink))
    drawn_at = now() + timedelta(days=10)
    db.session.execute(
        update(Lottery)
        .where(Lottery.id == lottery.id)
        .values(
            status="drawn",
            drawn_at=drawn_at,
            published_applications=[{"number": 1, "group": "resident", "tickets": 1}],
            published_order=[1],
        )
    )
    db.session.commit()
    for values in (
        {"published_order": [2]},
        {"published_applications": []},
        {"status": "open"},
        {"drawn_at": drawn_at + timedelta(hours=1)},
        {"places": 5},
    ):
        with pytest.raises(IntegrityError):
            db.session.execute(update(Lottery).where(Lottery.id == lottery.id).values(**values))
        db.session.rollback()
    # Even a statement written by hand is refused.
    with pytest.raises(IntegrityError):
        db.session.execute(
            text("UPDATE facilities_lottery SET published_order = '[]' WHERE id = :id"),
            {"id": lottery.id},
        )
    db.session.rollback()
    assert db.session.get(Lottery, lottery.id).published_order == [1]
