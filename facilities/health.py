"""Readiness: warn when the slot generator has fallen behind (nothing bookable next week)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core import clock
from core.extensions import db
from facilities.models import Resource, Slot, SlotTemplate


def slots_ahead() -> str | None:
    now = clock.now()
    has_templates = db.session.scalar(
        select(SlotTemplate.id)
        .join(Resource)
        .where(SlotTemplate.active.is_(True), Resource.active.is_(True))
        .limit(1)
    )
    if has_templates is None:
        return None
    upcoming = db.session.scalar(
        select(Slot.id)
        .where(Slot.starts_at > now, Slot.starts_at < now + timedelta(days=7))
        .limit(1)
    )
    if upcoming is None:
        return "no slots in the next 7 days: run `flask facilities generate-slots`"
    return None
