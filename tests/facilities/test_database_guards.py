"""The database itself refuses overbooking, even if a code path forgot the row lock."""

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError

from core import jobs
from core.extensions import db
from facilities.models import Booking, Slot
from facilities.services import capacity
from tests.fixtures.facilities import book, create_slot, kst, now
from tests.fixtures.users import create_user


def test_slot_counter_cannot_pass_capacity(dummy_rink):
    slot = create_slot(dummy_rink, kst("2026-03-10"), capacity=2, booked=2)
    slot.booked = 3
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_a_sheet_takes_one_active_booking_per_slot(resident, sheet_slot):
    first = book(resident, sheet_slot, {"adult": 4})
    intruder = create_user()
    db.session.add(
        Booking(
            slot_id=sheet_slot.id,
            user_id=intruder.id,
            facility_id=sheet_slot.facility_id,
            starts_at=sheet_slot.starts_at,
            ends_at=sheet_slot.ends_at,
            local_date=sheet_slot.local_date,
            is_exclusive=True,
            party={"adult": 2},
            party_size=2,
            units=1,
            status="held",
            price=0,
            price_lines=[],
            created_at=now(),
        )
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    # Once the first booking is cancelled, the sheet is free again.
    first.status = "cancelled"
    sheet_slot.booked = 0
    db.session.commit()
    assert book(intruder, sheet_slot, {"adult": 2}).status == "held"


def test_periodic_jobs_are_registered():
    names = jobs.status()["periodic_tasks"]
    for job in ("expire_holds", "mark_no_shows", "sweep_waitlists", "generate_slots"):
        assert any(name.endswith(job) for name in names), job


def test_adding_a_booking_keeps_changes_pending_in_the_session(resident, dummy_rink):
    """add_booking writes with plain statements: a place released in the same transaction but
    not yet flushed must still be given back, and the new booking needs no reload."""
    slot = create_slot(dummy_rink, kst("2026-03-10"), capacity=2)
    first = book(resident, slot)
    newcomer_id = create_user().id
    slot = capacity.lock_slot(slot.id)
    db.session.refresh(first)
    capacity.release(first, slot, "cancelled", now())  # pending: slot.booked 1 -> 0
    added = capacity.add_booking(
        slot,
        user_id=newcomer_id,
        facility_id=slot.facility_id,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        local_date=slot.local_date,
        party={"adult": 2},
        party_size=2,
        units=2,
        status="held",
        price=10000,
        created_at=now(),
    )
    statements = []

    def seen(connection, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        # Every column (defaults included) is loaded: reading them runs no query.
        assert (added.is_offer, added.price_lines, added.refund_amount) == (False, [], None)
        assert added in db.session and added.id is not None
        assert statements == []
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Slot, slot.id).booked == 2
    assert db.session.get(Booking, first.id).status == "cancelled"
