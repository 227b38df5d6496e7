"""Applying for programmes first come: for oneself or a dependent, the age band, the window,
one application per person, places held for payment, the next in order when a place is not
paid, withdrawing, and the minimum enrolment at the window's end."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.audit import entries_query
from core.errors import Conflict, RuleViolation
from core.extensions import db
from facilities import jobs
from facilities.models import Application, Programme, ProgrammeSession, Slot
from facilities.services import closures, enrolments, programmes
from tests.fixtures.facilities import create_programme, create_slot, kst, now
from tests.fixtures.users import create_user


def _apply(user, programme, **kwargs):
    kwargs.setdefault("category", "adult")
    if "dependent_id" not in kwargs:
        kwargs.setdefault("birth_year", 1990)
    application = enrolments.apply(user, programme.id, now=now(), **kwargs)
    db.session.commit()
    return application


def _programme(programme_id) -> Programme:
    return db.session.get(Programme, programme_id)


def test_a_first_come_place_is_held_for_payment(manager, dummy_rink, resident, outbox):
    programme = create_programme(manager, dummy_rink)
    application = _apply(resident, programme)
    assert application.status == "held" and application.price == 120000
    assert application.hold_expires_at == now() + timedelta(hours=48)
    assert _programme(programme.id).enrolled == 1
    assert [n["kind"] for n in outbox] == ["programme_place_held"]
    assert "120,000원" in outbox[0]["body"]


def test_when_full_applications_wait_in_order(manager, dummy_rink):
    programme = create_programme(manager, dummy_rink, capacity=1)
    first, second, third = (create_user() for _ in range(3))
    assert _apply(first, programme).status == "held"
    waiting = [_apply(second, programme), _apply(third, programme)]
    assert [(a.status, a.draw_position) for a in waiting] == [("waiting", 1), ("waiting", 2)]


def test_one_application_per_person(manager, dummy_rink, resident):
    programme = create_programme(manager, dummy_rink)
    first = _apply(resident, programme)
    with pytest.raises(Conflict) as refused:
        _apply(resident, programme)
    assert refused.value.code == "already_applied"
    db.session.rollback()
    assert db.session.scalars(select(Application.id)).all() == [first.id]


def test_a_guardian_applies_for_a_child_within_the_age_band(manager, dummy_rink, resident):
    programme = create_programme(manager, dummy_rink, title="어린이 초급", min_age=7, max_age=12)
    child = programmes.add_dependent(resident, "김하늘", 2018, now())  # 8 in 2026
    toddler = programmes.add_dependent(resident, "김바다", 2023, now())  # 3 in 2026
    db.session.commit()
    application = _apply(resident, programme, dependent_id=child.id, category="child")
    assert (application.participant_name, application.price) == ("김하늘", 80000)
    with pytest.raises(RuleViolation) as refused:
        _apply(resident, programme, dependent_id=toddler.id, category="child")
    assert refused.value.code == "age_band" and "dependent_id" in refused.value.errors
    db.session.rollback()
    # The guardian is a person of their own (and too old for this one).
    with pytest.raises(RuleViolation) as refused:
        _apply(resident, programme, birth_year=1985)
    assert refused.value.code == "age_band" and "birth_year" in refused.value.errors


def test_someone_elses_dependent_is_refused(manager, dummy_rink, resident):
    programme = create_programme(manager, dummy_rink, min_age=0)
    child = programmes.add_dependent(create_user(), "남의 아이", 2018, now())
    db.session.commit()
    with pytest.raises(RuleViolation) as refused:
        _apply(resident, programme, dependent_id=child.id, category="child")
    assert "dependent_id" in refused.value.errors


def test_applying_for_oneself_needs_a_birth_year(manager, dummy_rink, resident):
    programme = create_programme(manager, dummy_rink)
    with pytest.raises(RuleViolation) as refused:
        enrolments.apply(resident, programme.id, category="adult", now=now())
    assert "birth_year" in refused.value.errors


def test_a_category_without_a_price_is_refused(manager, dummy_rink, resident):
    programme = create_programme(manager, dummy_rink)
    with pytest.raises(RuleViolation) as refused:
        _apply(resident, programme, category="senior")
    assert refused.value.code == "category_not_offered" and "category" in refused.value.errors


def test_applications_only_in_the_window(manager, dummy_rink, resident, clock):
    programme = create_programme(
        manager,
        dummy_rink,
        window_opens_at=kst("2026-03-03", "10:00"),
        window_closes_at=kst("2026-03-05", "10:00"),
    )
    with pytest.raises(RuleViolation) as refused:
        _apply(resident, programme)
    assert refused.value.code == "window_not_open"
    clock.advance(days=3)
    with pytest.raises(RuleViolation) as refused:
        _apply(resident, programme)
    assert refused.value.code == "window_closed"


def test_payment_enrols_and_an_unpaid_place_passes_on(manager, dummy_rink, clock, outbox):
    programme = create_programme(manager, dummy_rink, capacity=1)
    payer, late, next_one = create_user(), create_user(), create_user()
    held = _apply(late, programme)
    waiting = _apply(next_one, programme)
    clock.advance(hours=49)
    assert jobs.expire_programme_holds_now() == 1
    db.session.commit()
    db.session.refresh(held)
    db.session.refresh(waiting)
    assert held.status == "expired" and waiting.status == "held"
    assert waiting.hold_expires_at == now() + timedelta(hours=48)
    kinds = [(n["user_id"], n["kind"]) for n in outbox]
    assert (late.id, "programme_expired") in kinds
    assert (next_one.id, "programme_place_held") in kinds
    enrolments.confirm_payment(waiting.id, now(), actor="payments", payment_reference="pay-1")
    db.session.commit()
    assert db.session.get(Application, waiting.id).status == "enrolled"
    assert _programme(programme.id).enrolled == 1
    assert payer.id not in {n["user_id"] for n in outbox}


def test_a_payment_after_the_deadline_is_refused(manager, dummy_rink, resident, clock):
    programme = create_programme(manager, dummy_rink)
    held = _apply(resident, programme)
    clock.advance(hours=48)
    with pytest.raises(Conflict) as refused:
        enrolments.confirm_payment(held.id, now(), actor="payments", payment_reference="p")
    assert refused.value.code == "hold_expired"


def test_the_wrong_amount_is_refused(manager, dummy_rink, resident):
    programme = create_programme(manager, dummy_rink)
    held = _apply(resident, programme)
    with pytest.raises(RuleViolation) as refused:
        enrolments.confirm_payment(
            held.id, now(), actor="payments", payment_reference="p", amount=1000
        )
    assert refused.value.code == "amount_mismatch"


def test_withdrawing_frees_the_place_for_the_next(manager, dummy_rink, clock):
    programme = create_programme(manager, dummy_rink, capacity=1)
    first, second = create_user(), create_user()
    held = _apply(first, programme)
    waiting = _apply(second, programme)
    enrolments.withdraw(first, held.id, now())
    db.session.commit()
    assert db.session.get(Application, held.id).status == "withdrawn"
    assert db.session.get(Application, waiting.id).status == "held"
    # Withdrawn, the person may apply again (and waits now).
    again = _apply(first, programme)
    assert again.status == "waiting"
    clock.advance(days=9)
    with pytest.raises(RuleViolation) as refused:
        enrolments.withdraw(second, waiting.id, now())
    assert refused.value.code == "window_closed"


def test_below_the_minimum_at_the_windows_end_the_programme_is_cancelled(
    manager, dummy_rink, clock, outbox
):
    lesson_slot = create_slot(dummy_rink, kst("2026-04-02", "18:30"), minutes=90)
    programme = create_programme(manager, dummy_rink, capacity=5, min_enrolment=3)
    assert db.session.get(Slot, lesson_slot.id).capacity == 120
    paid, unpaid = create_user(), create_user()
    paid_application = _apply(paid, programme)
    _apply(unpaid, programme)
    enrolments.confirm_payment(
        paid_application.id, now(), actor="payments", payment_reference="pay-9"
    )
    db.session.commit()
    clock.advance(days=9)
    assert jobs.settle_programme_windows_now() == 1
    db.session.commit()
    cancelled = _programme(programme.id)
    assert cancelled.status == "cancelled" and cancelled.cancel_reason == "최소 인원 미달"
    rows = db.session.scalars(select(Application).order_by(Application.id)).all()
    assert [(a.status, a.refund_amount) for a in rows] == [
        ("cancelled", 120000),
        ("cancelled", 0),
    ]
    told = [n["user_id"] for n in outbox if n["kind"] == "programme_cancelled"]
    assert sorted(told) == sorted([paid.id, unpaid.id])
    # The ice goes back to the public.
    assert db.session.get(Slot, lesson_slot.id).capacity == 150
    assert {s.status for s in db.session.scalars(select(ProgrammeSession))} == {"cancelled"}
    entry = db.session.scalars(entries_query(action="programme.cancel")).one()
    assert entry.after["refund_total"] == 120000
    # Settled once: the job does not come back to it.
    assert jobs.settle_programme_windows_now() == 0


def test_at_the_minimum_the_programme_goes_ahead(manager, dummy_rink, clock):
    programme = create_programme(manager, dummy_rink, capacity=5, min_enrolment=2)
    _apply(create_user(), programme)
    _apply(create_user(), programme)
    clock.advance(days=9)
    jobs.settle_programme_windows_now()
    db.session.commit()
    assert _programme(programme.id).status == "open"


def test_sessions_a_closure_cancels_are_refunded_pro_rata(manager, dummy_rink, clock, outbox):
    programme = create_programme(manager, dummy_rink, capacity=3)
    paid, unpaid = create_user(), create_user()
    application = _apply(paid, programme)
    _apply(unpaid, programme)
    enrolments.confirm_payment(application.id, now(), actor="payments", payment_reference="c1")
    db.session.commit()
    # The ice fails for a week: the sessions of 2026-04-07 and 04-09 (of 9) are cancelled.
    closures.create(
        manager,
        dummy_rink.facility,
        starts_at=kst("2026-04-06", "00:00"),
        ends_at=kst("2026-04-10", "00:00"),
        reason="제빙기 고장",
        resource_id=None,
        now=now(),
    )
    db.session.commit()
    cancelled = db.session.scalars(
        select(ProgrammeSession.local_date).where(ProgrammeSession.status == "cancelled")
    ).all()
    assert [d.day for d in sorted(cancelled)] == [7, 9]
    refunds = {a.user_id: a.refund_amount for a in db.session.scalars(select(Application))}
    assert refunds == {paid.id: 120000 * 2 // 9, unpaid.id: None}
    told = [n for n in outbox if n["kind"] == "programme_sessions_refunded"]
    assert [n["user_id"] for n in told] == [paid.id] and "26,666원" in told[0]["body"]
    entry = db.session.scalars(entries_query(action="closure.create")).one()
    assert entry.after["programme_sessions_cancelled"] == 2
    assert entry.after["programme_refund_total"] == 26666
    # Cancelling the programme later refunds the rest, never more than the price.
    enrolments.cancel_by_manager(manager, programme.id, "강사 사정", now())
    db.session.commit()
    assert db.session.get(Application, application.id).refund_amount == (
        120000 * 2 // 9 + 120000 * 7 // 9
    )


def test_a_closure_preview_shows_the_lessons_and_refunds_it_then_makes(manager, dummy_rink, clock):
    programme = create_programme(manager, dummy_rink, capacity=3)
    first, second, unpaid = create_user(), create_user(), create_user()
    for i, user in enumerate((first, second)):
        application = _apply(user, programme)
        enrolments.confirm_payment(
            application.id, now(), actor="payments", payment_reference=f"p{i}"
        )
    _apply(unpaid, programme)
    db.session.commit()
    # An earlier closure took the session of 2026-04-02 (1 of 9).
    closures.create(
        manager,
        dummy_rink.facility,
        starts_at=kst("2026-04-02", "00:00"),
        ends_at=kst("2026-04-03", "00:00"),
        reason="대회",
        resource_id=None,
        now=now(),
    )
    db.session.commit()
    week = {
        "starts_at": kst("2026-04-06", "00:00"),
        "ends_at": kst("2026-04-10", "00:00"),
        "reason": "제빙기 고장",
        "resource_id": None,
    }
    shown = closures.preview(dummy_rink.facility, **week)
    # Nothing written: the sessions are still scheduled and nobody refunded more.
    db.session.rollback()
    assert (
        db.session.scalar(select(func.count()).where(ProgrammeSession.status == "cancelled")) == 1
    )
    # Two more of 9 sessions: each paid place is owed 3/9 of the price, less 1/9 refunded.
    assert shown["programme_sessions_cancelled"] == 2
    assert shown["programme_participants"] == 2
    each = 120000 * 3 // 9 - 120000 * 1 // 9
    assert shown["programme_refund_total"] == 2 * each
    (row,) = shown["programmes"]
    assert row["programme"].id == programme.id
    assert [s.local_date.day for s in row["sessions"]] == [7, 9]
    assert [(a.user_id, amount) for a, _, amount in row["refunds"]] == [
        (first.id, each),
        (second.id, each),
    ]
    closures.create(manager, dummy_rink.facility, now=now(), **week)
    db.session.commit()
    entry = max(db.session.scalars(entries_query(action="closure.create")), key=lambda e: e.id)
    assert entry.after["programme_sessions_cancelled"] == 2
    assert entry.after["programme_refund_total"] == shown["programme_refund_total"]
    refunds = {a.user_id: a.refund_amount for a in db.session.scalars(select(Application))}
    assert refunds == {first.id: 120000 * 3 // 9, second.id: 120000 * 3 // 9, unpaid.id: None}
