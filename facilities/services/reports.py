"""Occupancy per resource per day: places offered, taken, used, and the share taken."""

from __future__ import annotations

import csv
import io
from datetime import date

from sqlalchemy import case, func, select

from core.extensions import db
from facilities.models import Booking, Facility, Resource, Slot
from facilities.services.availability import check_range

COLUMNS = (
    "date",
    "resource_id",
    "resource",
    "slots",
    "closed_slots",
    "capacity",
    "booked",
    "checked_in",
    "no_show",
    "occupancy_percent",
)


def occupancy(facility: Facility, first: date, last: date) -> list[dict]:
    check_range(first, last)
    open_ = Slot.status == "open"
    slots = db.session.execute(
        select(
            Slot.local_date,
            Slot.resource_id,
            func.count(Slot.id),
            func.sum(case((open_, 0), else_=1)),
            func.sum(case((open_, Slot.capacity), else_=0)),
        )
        .where(Slot.facility_id == facility.id, Slot.local_date.between(first, last))
        .group_by(Slot.local_date, Slot.resource_id)
    ).all()
    counted = ("confirmed", "checked_in", "no_show", "held")
    usage = {
        (row[0], row[1]): row[2:]
        for row in db.session.execute(
            select(
                Booking.local_date,
                Slot.resource_id,
                func.sum(case((Booking.status.in_(counted), Booking.units), else_=0)),
                func.sum(case((Booking.status == "checked_in", Booking.units), else_=0)),
                func.sum(case((Booking.status == "no_show", Booking.units), else_=0)),
            )
            .join(Slot, Slot.id == Booking.slot_id)
            .where(Booking.facility_id == facility.id, Booking.local_date.between(first, last))
            .group_by(Booking.local_date, Slot.resource_id)
        )
    }
    names = {
        row.id: row.name
        for row in db.session.execute(
            select(Resource.id, Resource.name).where(Resource.facility_id == facility.id)
        )
    }
    rows = []
    for day, resource_id, count, closed, offered in sorted(slots):
        booked, checked_in, no_show = (int(v or 0) for v in usage.get((day, resource_id), (0,) * 3))
        offered = int(offered or 0)
        rows.append(
            {
                "date": day,
                "resource_id": resource_id,
                "resource": names.get(resource_id, ""),
                "slots": count,
                "closed_slots": int(closed or 0),
                "capacity": offered,
                "booked": booked,
                "checked_in": checked_in,
                "no_show": no_show,
                "occupancy_percent": round(100 * booked / offered, 1) if offered else 0.0,
            }
        )
    return rows


def daily_totals(rows: list[dict]) -> list[dict]:
    """The report's rows summed per day (every resource together), for a chart."""
    days: dict[date, dict] = {}
    for row in rows:
        day = days.setdefault(row["date"], {"date": row["date"], "capacity": 0, "booked": 0})
        day["capacity"] += row["capacity"]
        day["booked"] += row["booked"]
    for day in days.values():
        offered = day["capacity"]
        day["occupancy_percent"] = round(100 * day["booked"] / offered, 1) if offered else 0.0
    return [days[d] for d in sorted(days)]


# Excel reads a CSV file as the system's legacy code page unless it starts with a BOM.
BOM = "\ufeff"


def to_csv(rows: list[dict], *, bom: bool = False) -> str:
    """The report as CSV; ``bom``: starting with a UTF-8 byte order mark, so that Excel opens
    Korean text as UTF-8 (a download for people, not for programs)."""
    out = io.StringIO()
    if bom:
        out.write(BOM)
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "date": row["date"].isoformat()})
    return out.getvalue()
