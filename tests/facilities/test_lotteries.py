"""Programme lotteries: applications in the window, the draw at its close (priority groups
first, second tickets), places held for the winners, unpaid places passing on in the drawn
order, what is published before and after, its verification, and the report."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from core.audit import entries_query
from core.errors import Conflict
from core.extensions import db
from facilities import jobs
from facilities.models import Application, Lottery, Programme
from facilities.services import draws, enrolments, lotteries
from tests.fixtures.facilities import create_programme, kst, now
from tests.fixtures.users import create_user


def _lottery_programme(manager, resource, **overrides):
    return create_programme(
        manager,
        resource,
        enrolment="lottery",
        window_opens_at=kst("2026-03-03", "10:00"),
        window_closes_at=kst("2026-03-05", "18:00"),
        **overrides,
    )


def _apply(user, programme, **kwargs):
    application = enrolments.apply(
        user, programme.id, category="adult", birth_year=1990, now=now(), **kwargs
    )
    db.session.commit()
    return application


def _lottery(programme) -> Lottery:
    return db.session.scalar(select(Lottery).where(Lottery.programme_id == programme.id))


def _close_and_draw(clock):
    clock.at = kst("2026-03-05", "18:00")
    drawn = jobs.draw_lotteries_now()
    db.session.commit()
    return drawn


def test_the_commitment_is_public_before_the_window_and_the_seed_after_the_draw(
    manager, dummy_rink, clock
):
    programme = _lottery_programme(manager, dummy_rink)
    before = lotteries.lottery_details(_lottery(programme).id, now())
    assert before["state"] == "scheduled"
    assert len(before["commitment"]) == 64
    assert before["seed"] is None and before["order"] is None
    clock.at = kst("2026-03-04", "10:00")
    applications = [_apply(create_user(), programme) for _ in range(3)]
    assert lotteries.lottery_details(_lottery(programme).id, now())["state"] == "open"
    assert {a.status for a in applications} == {"applied"}
    assert _close_and_draw(clock) == 1
    after = lotteries.lottery_details(_lottery(programme).id, now())
    assert after["state"] == "drawn"
    assert draws.commitment(after["seed"]) == before["commitment"]
    assert sorted(after["order"]) == sorted(a.id for a in applications)


def test_winners_get_a_hold_and_the_rest_wait_in_the_drawn_order(
    manager, dummy_rink, clock, outbox
):
    programme = _lottery_programme(manager, dummy_rink, capacity=2)
    clock.at = kst("2026-03-04", "10:00")
    people = [create_user() for _ in range(5)]
    for person in people:
        _apply(person, programme)
    _close_and_draw(clock)
    order = _lottery(programme).published_order
    rows = {a.id: a for a in db.session.scalars(select(Application))}
    assert [rows[n].status for n in order] == ["held", "held", "waiting", "waiting", "waiting"]
    assert [rows[n].draw_position for n in order] == [1, 2, 3, 4, 5]
    assert db.session.get(Programme, programme.id).enrolled == 2
    kinds = {(n["user_id"], n["kind"]) for n in outbox if n["kind"] != "programme_applied"}
    assert kinds == {
        (rows[n].user_id, "programme_place_held" if i < 2 else "programme_lost")
        for i, n in enumerate(order)
    }
    # An unpaid place goes to the next in the drawn order, not to anyone else.
    enrolments.confirm_payment(order[0], now(), actor="payments", payment_reference="p-1")
    db.session.commit()
    clock.advance(hours=48)
    assert jobs.expire_programme_holds_now() == 1
    db.session.commit()
    statuses = [db.session.get(Application, n).status for n in order]
    assert statuses == ["enrolled", "expired", "held", "waiting", "waiting"]
    entry = db.session.scalars(entries_query(action="lottery.draw")).one()
    assert entry.after["seed"] == _lottery(programme).seed


def test_residents_are_drawn_before_others(manager, dummy_rink, clock):
    programme = _lottery_programme(manager, dummy_rink, capacity=3)
    clock.at = kst("2026-03-04", "10:00")
    residents = [create_user(verified_resident=True) for _ in range(3)]
    others = [create_user() for _ in range(6)]
    for person in others + residents:
        _apply(person, programme)
    _close_and_draw(clock)
    winners = db.session.scalars(
        select(Application.user_id).where(Application.status == "held")
    ).all()
    assert sorted(winners) == sorted(p.id for p in residents)


def test_everyone_drawn_together_when_there_is_no_priority(manager, dummy_rink, clock):
    programme = _lottery_programme(manager, dummy_rink, priority_groups=["everyone"])
    clock.at = kst("2026-03-04", "10:00")
    application = _apply(create_user(verified_resident=True), programme)
    assert application.priority_group == "everyone"


def test_losers_of_the_previous_term_get_a_second_ticket(manager, dummy_rink, clock):
    march = _lottery_programme(manager, dummy_rink, capacity=1)
    clock.at = kst("2026-03-04", "10:00")
    winner, loser, newcomer = create_user(), create_user(), create_user()
    _apply(winner, march)
    _apply(loser, march)
    _close_and_draw(clock)
    held = db.session.scalar(select(Application).where(Application.status == "held"))
    lost = db.session.scalar(select(Application).where(Application.status == "waiting"))
    may = create_programme(
        manager,
        dummy_rink,
        title="스케이트 초급 성인반",
        enrolment="lottery",
        term_start=date(2026, 5, 1),
        term_end=date(2026, 5, 31),
        window_opens_at=kst("2026-03-20", "10:00"),
        window_closes_at=kst("2026-03-27", "18:00"),
        previous_programme_id=march.id,
        second_ticket=True,
    )
    clock.at = kst("2026-03-21", "10:00")
    tickets = {
        person.id: _apply(person, may).tickets
        for person in (db.session.get(type(winner), held.user_id), lost.user, newcomer)
    }
    assert tickets == {held.user_id: 1, lost.user_id: 2, newcomer.id: 1}


def test_a_drawn_lottery_recomputes_and_cannot_be_changed(manager, dummy_rink, clock):
    programme = _lottery_programme(manager, dummy_rink, capacity=2)
    clock.at = kst("2026-03-04", "10:00")
    for _ in range(6):
        _apply(create_user(verified_resident=bool(_ % 2)), programme)
    _close_and_draw(clock)
    lottery = _lottery(programme)
    checked = lotteries.verify(lottery.id)
    assert checked["ok"] and checked["applications"] == 6
    with pytest.raises(IntegrityError):
        db.session.execute(
            text("UPDATE facilities_lottery SET published_order = '[]' WHERE id = :id"),
            {"id": lottery.id},
        )
    db.session.rollback()
    # Moving an application to another group after the draw is seen by the verification.
    first = lottery.published_order[0]
    db.session.execute(
        text("UPDATE facilities_application SET priority_group = 'martian' WHERE id = :id"),
        {"id": first},
    )
    db.session.commit()
    tampered = lotteries.verify(lottery.id)
    assert not tampered["ok"] and not tampered["applications_match"]
    assert tampered["order_matches"] and tampered["commitment_matches"]


def test_no_applications_once_the_window_has_closed_and_no_draw_before(manager, dummy_rink, clock):
    programme = _lottery_programme(manager, dummy_rink)
    clock.at = kst("2026-03-05", "17:59")
    _apply(create_user(), programme)
    assert jobs.draw_lotteries_now() == 0
    with pytest.raises(Conflict):
        lotteries.verify(_lottery(programme).id)


def test_a_lottery_below_the_minimum_cancels_the_programme(manager, dummy_rink, clock, outbox):
    programme = _lottery_programme(manager, dummy_rink, capacity=4, min_enrolment=3)
    clock.at = kst("2026-03-04", "10:00")
    people = [create_user(), create_user()]
    for person in people:
        _apply(person, programme)
    _close_and_draw(clock)
    assert db.session.get(Programme, programme.id).status == "cancelled"
    assert {a.status for a in db.session.scalars(select(Application))} == {"cancelled"}
    told = [n["user_id"] for n in outbox if n["kind"] == "programme_cancelled"]
    assert sorted(told) == sorted(p.id for p in people)
    assert _lottery(programme).status == "drawn"


def test_the_report_counts_applications_against_places_per_group(manager, dummy_rink, clock):
    programme = _lottery_programme(manager, dummy_rink, capacity=2)
    clock.at = kst("2026-03-04", "10:00")
    for verified in (True, True, False, False, False):
        _apply(create_user(verified_resident=verified), programme)
    _close_and_draw(clock)
    rows = {r["group"]: r for r in lotteries.report(dummy_rink.facility_id)}
    assert rows["resident"]["applications"] == 2 and rows["resident"]["placed"] == 2
    assert rows["everyone"]["applications"] == 3 and rows["everyone"]["waiting"] == 3
    assert {r["places"] for r in rows.values()} == {2}
