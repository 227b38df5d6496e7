"""A kiosk's numbered slots: which are free, who sits in one, which numbers exist."""

from __future__ import annotations

from sqlalchemy import select

from core.errors import RuleViolation
from core.extensions import db
from library.models import Copy, Kiosk


def free_slots(kiosk: Kiosk) -> list[int]:
    used = set(db.session.scalars(select(Copy.slot).where(Copy.kiosk_id == kiosk.id)))
    return [n for n in range(1, kiosk.slot_count + 1) if n not in used]


def slot_taken(kiosk: Kiosk, slot: int) -> Copy | None:
    return db.session.scalar(select(Copy).filter_by(kiosk_id=kiosk.id, slot=slot))


def check_slot_number(kiosk: Kiosk, slot: int, field: str = "slot") -> None:
    if not 1 <= slot <= kiosk.slot_count:
        raise RuleViolation(
            f"Kiosk {kiosk.code} has slots 1 to {kiosk.slot_count}",
            errors={field: [f"Must be between 1 and {kiosk.slot_count}."]},
            code="no_such_slot",
        )
