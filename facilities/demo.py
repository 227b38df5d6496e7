"""Demo data: the city's ice rink (public sessions with resurfacing breaks) and curling centre
(sheets A-F, four 2-hour sessions a day), slots for 60 days, and a few bookings for the demo
resident. Safe to run again: existing facilities are left as they are."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from core.extensions import db
from core.services import find_user_by_email
from facilities.models import Booking, Facility, Slot
from facilities.services import booking as bookings
from facilities.services import catalog, slots

RINK = "해피시티 아이스링크"
CURLING = "해피시티 컬링센터"
DEMO_RESIDENT = "resident@demo.happyhub.kr"
WEEKDAYS, WEEKEND = [0, 1, 2, 3, 4], [5, 6]


def _rink(now: datetime) -> Facility:
    facility = catalog.create_facility(
        "seed", {"name": RINK, "kind": "ice_rink", "address": "해피시 빙상로 1"}, now
    )
    rink = catalog.add_resource("seed", facility, {"name": "메인 링크", "capacity": 150}, now)
    # 90-minute public sessions, each followed by a 30-minute resurfacing break.
    catalog.create_template(
        "seed",
        rink,
        {
            "name": "평일 자유 스케이팅",
            "weekdays": WEEKDAYS,
            "start_times": ["10:00", "12:00", "14:00", "16:00", "18:00", "20:00"],
            "duration_minutes": 90,
            "buffer_after_minutes": 30,
            "base_price": 5000,
        },
        now,
    )
    catalog.create_template(
        "seed",
        rink,
        {
            "name": "주말·공휴일 자유 스케이팅",
            "weekdays": WEEKEND,
            "start_times": ["09:00", "11:00", "13:00", "15:00", "17:00", "19:00"],
            "duration_minutes": 90,
            "buffer_after_minutes": 30,
            "base_price": 6000,
        },
        now,
    )
    return facility


def _curling(now: datetime) -> Facility:
    facility = catalog.create_facility(
        "seed",
        {
            "name": CURLING,
            "kind": "curling_centre",
            "address": "해피시 빙상로 3",
            "rules": {"max_party": 8},
        },
        now,
    )
    for letter in "ABCDEF":
        sheet = catalog.add_resource("seed", facility, {"name": f"{letter}시트"}, now)
        catalog.create_template(
            "seed",
            sheet,
            {
                "name": f"{letter}시트 정규 세션",
                "weekdays": WEEKDAYS + WEEKEND,
                "start_times": ["10:00", "13:00", "16:00", "19:00"],
                "duration_minutes": 120,
                "buffer_after_minutes": 30,
                "base_price": 40000,
            },
            now,
        )
    return facility


def _demo_bookings(facilities: list[Facility], now: datetime) -> list[str]:
    resident = find_user_by_email(DEMO_RESIDENT)
    if resident is None:
        return []
    has_any = db.session.scalar(select(func.count(Booking.id)).filter_by(user_id=resident.id))
    if has_any:
        return []
    lines = []
    for offset, facility in enumerate(facilities):
        slot = db.session.scalar(
            select(Slot)
            .where(Slot.facility_id == facility.id, Slot.starts_at > now, Slot.status == "open")
            .order_by(Slot.starts_at)
            .offset(3 + offset * 5)
            .limit(1)
        )
        if slot is None:
            continue
        party = {"adult": 1, "child": 1} if facility.kind == "ice_rink" else {"adult": 4}
        booking = bookings.create_booking(
            resident, slot.id, party, now=now, for_user=resident, confirm=True
        )
        lines.append(f"  booking {booking.id}: {facility.name} {slot.starts_at.isoformat()}")
    return lines


def seed(now: datetime) -> list[str]:
    lines = ["Facilities:"]
    made = []
    for name, build in ((RINK, _rink), (CURLING, _curling)):
        facility = db.session.scalar(select(Facility).filter_by(name=name))
        if facility is None:
            facility = build(now)
            lines.append(f"  created {name}")
        else:
            lines.append(f"  {name} (exists)")
        made.append(facility)
    for name, created in slots.generate(60, now).items():
        lines.append(f"  {name}: {created} new slots")
    lines.extend(_demo_bookings(made, now))
    return lines
