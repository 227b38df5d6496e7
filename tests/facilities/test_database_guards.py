"""The database itself refuses overbooking, even if a code path forgot the row lock."""

import pytest
from sqlalchemy.exc import IntegrityError

from core import jobs
from core.extensions import db
from facilities.models import Booking
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
