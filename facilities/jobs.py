"""Periodic work: expire unpaid holds, mark no-shows, keep waitlist offers moving, generate
slots ahead. Each run is one transaction (core.jobs commits it)."""

from __future__ import annotations

import logging

from core import clock
from core.jobs import crontab, periodic
from core.settings import settings_of
from facilities.services import booking, checkin, slots, waitlist
from facilities.settings import FacilitySettings

log = logging.getLogger("happyhub.facilities")


def expire_holds_now() -> int:
    return booking.expire_holds(clock.now())


def mark_no_shows_now() -> int:
    return checkin.mark_no_shows(clock.now())


def sweep_waitlists_now() -> int:
    """Offer places that are free while people wait (e.g. after a failed offer)."""
    return waitlist.sweep(clock.now())


def generate_slots_now() -> dict[str, int]:
    return slots.generate(settings_of(FacilitySettings).slot_days_ahead, clock.now())


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
