"""Demo data, and the layering rule that services never import flask."""

import ast
from pathlib import Path

from sqlalchemy import func, select

from core.extensions import db
from facilities import demo
from facilities.models import Booking, Facility, Resource, Slot
from tests.fixtures.users import create_user


def test_demo_seeder_is_idempotent_and_books_for_the_demo_resident(clock):
    resident = create_user(email=demo.DEMO_RESIDENT)
    demo.seed(clock.now())
    db.session.commit()
    slots_once = db.session.scalar(select(func.count(Slot.id)))
    demo.seed(clock.now())
    db.session.commit()
    assert db.session.scalar(select(func.count(Slot.id))) == slots_once
    assert db.session.scalar(select(func.count(Facility.id))) == 2
    curling = db.session.scalar(select(Facility).filter_by(kind="curling_centre"))
    sheets = db.session.scalars(select(Resource).filter_by(facility_id=curling.id)).all()
    assert sorted(s.name for s in sheets) == [f"{c}시트" for c in "ABCDEF"]
    one_day = db.session.scalar(
        select(func.count(Slot.id)).where(
            Slot.resource_id == sheets[0].id, Slot.local_date == clock.now().date().replace(day=4)
        )
    )
    assert one_day == 4
    rink = db.session.scalar(select(Facility).filter_by(kind="ice_rink"))
    rink_slots = db.session.scalars(
        select(Slot).where(Slot.facility_id == rink.id).order_by(Slot.starts_at).limit(2)
    ).all()
    # Sessions are separated by the 30-minute resurfacing break.
    assert (rink_slots[1].starts_at - rink_slots[0].ends_at).seconds == 30 * 60
    mine = db.session.scalar(select(func.count(Booking.id)).filter_by(user_id=resident.id))
    assert mine == 2


def test_services_never_import_flask():
    services = Path(__file__).resolve().parents[2] / "facilities" / "services"
    for path in services.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n.split(".")[0] == "flask" for n in names), path.name
