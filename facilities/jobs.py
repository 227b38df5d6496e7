"""Periodic work: expire unpaid holds, mark no-shows, keep waitlist offers moving, generate
slots ahead. Each run is one transaction (core.jobs commits it)."""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import select

from core import clock
from core.extensions import db
from core.jobs import crontab, periodic
from facilities.models import Slot, WaitlistEntry
from facilities.services import booking, checkin, slots, waitlist
from facilities.services.capacity import lock_slot

log = logging.getLogger("happyhub.facilities")


def expire_holds_now() -> int:
    return booking.expire_holds(clock.now())


def mark_no_shows_now() -> int:
    return checkin.mark_no_shows(clock.now())


def sweep_waitlists_now() -> int:
    """Offer places that are free while people wait (e.g. after a failed offer)."""
    now = clock.now()
    slot_ids = db.session.scalars(
        select(WaitlistEntry.slot_id)
        .join(Slot, Slot.id == WaitlistEntry.slot_id)
        .where(WaitlistEntry.status == "waiting", Slot.starts_at > now, Slot.booked < Slot.capacity)
        .distinct()
        .limit(500)
    ).all()
    offers = 0
    for slot_id in slot_ids:
        offers += waitlist.offer_next(lock_slot(slot_id), now) is not None
    return offers


def generate_slots_now() -> dict[str, int]:
    return slots.generate(current_app.config["FACILITIES_SLOT_DAYS_AHEAD"], clock.now())


@periodic(crontab(minute="*"))
def expire_holds() -> None:
    count = expire_holds_now()
    if count:
        log.info("expired %s unpaid holds", count)


@periodic(crontab(minute="*/5"))
def mark_no_shows() -> None:
    count = mark_no_shows_now()
    if count:
        log.info("marked %s no-shows", count)


@periodic(crontab(minute="*/5"))
def sweep_waitlists() -> None:
    sweep_waitlists_now()


@periodic(crontab(hour="3", minute="10"))
def generate_slots() -> None:
    log.info("generated slots: %s", generate_slots_now())
