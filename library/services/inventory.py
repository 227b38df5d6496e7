"""A kiosk's own reading of its slots, compared with the records; differences go to librarians
(the records are not changed: a person checks the machine first)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from core.errors import RuleViolation
from core.extensions import db
from library.models import Conflict as ConflictItem
from library.models import Copy, Kiosk


def report(kiosk: Kiosk, readings: list[dict], *, occurred_at: datetime, now: datetime) -> dict:
    numbers = [r["slot"] for r in readings]
    if len(set(numbers)) != len(numbers):
        raise RuleViolation("A slot is listed twice", errors={"slots": ["Duplicate slot."]})
    bad = [n for n in numbers if not 1 <= n <= kiosk.slot_count]
    if bad:
        raise RuleViolation(
            f"Kiosk {kiosk.code} has slots 1 to {kiosk.slot_count}",
            errors={"slots": [f"No such slot: {', '.join(map(str, bad))}"]},
        )
    recorded = {
        copy.slot: copy.barcode
        for copy in db.session.scalars(select(Copy).where(Copy.kiosk_id == kiosk.id))
    }
    read = {r["slot"]: (r.get("barcode") or None) for r in readings}
    known = set(
        db.session.scalars(
            select(Copy.barcode).where(Copy.barcode.in_(filter(None, read.values())))
        )
    )
    discrepancies = []
    for slot in sorted(read):
        expected, found = recorded.get(slot), read[slot]
        if expected == found:
            continue
        if found is None:
            problem = "missing"
        elif found not in known:
            problem = "unknown_barcode"
        elif expected is None:
            problem = "unexpected"
        else:
            problem = "wrong_copy"
        discrepancies.append(
            {"slot": slot, "expected": expected, "found": found, "problem": problem}
        )
    conflict = None
    if discrepancies:
        conflict = ConflictItem(
            kind="inventory",
            kiosk_id=kiosk.id,
            reason="inventory_mismatch",
            message=f"Kiosk {kiosk.code} reads {len(discrepancies)} slot(s) differently",
            details={"discrepancies": discrepancies},
            occurred_at=occurred_at,
            created_at=now,
        )
        db.session.add(conflict)
        db.session.flush()
    return {
        "slots_checked": len(read),
        "discrepancies": discrepancies,
        "conflict_id": conflict.id if conflict else None,
    }
