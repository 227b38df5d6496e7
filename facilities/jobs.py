"""Periodic work: expire unpaid holds, mark no-shows, keep waitlist offers moving, draw
lotteries whose window closed, pass unpaid programme places on, settle programme windows,
generate slots ahead. Each run is one transaction (core.jobs commits it)."""

from __future__ import annotations

import logging

from core import clock
from core.jobs import crontab, periodic
from core.settings import settings_of
from facilities.services import (
    booking,
    checkin,
    enrolments,
    lotteries,
    session_lotteries,
    slots,
    waitlist,
)
from facilities.settings import FacilitySettings

log = logging.getLogger("happyhub.facilities")


def expire_holds_now() -> int:
    return booking.expire_holds(clock.now())


def mark_no_shows_now() -> int:
    return checkin.mark_no_shows(clock.now())


def sweep_waitlists_now() -> int:
    """Offer places that are free while people wait (e.g. after a failed offer)."""
    return waitlist.sweep(clock.now())


def draw_lotteries_now() -> int:
    """Draw every lottery whose application window has closed."""
    hours = settings_of(FacilitySettings).session_lottery_payment_hours
    return lotteries.run_due(clock.now(), payment_hours=hours)


def expire_programme_holds_now() -> int:
    """Unpaid programme places past their deadline pass to the next in order."""
    return enrolments.expire_holds(clock.now())


def pass_on_session_places_now() -> int:
    """Unpaid places of drawn sessions pass to the next in the drawn order."""
    hours = settings_of(FacilitySettings).session_lottery_payment_hours
    return session_lotteries.pass_on(clock.now(), payment_hours=hours)


def close_started_session_lotteries_now() -> int:
    """Applications still waiting when their lottery session starts are closed and told."""
    return session_lotteries.close_started(clock.now())


def settle_programme_windows_now() -> int:
    """First-come programmes whose window ended: cancelled below their minimum."""
    return enrolments.settle_windows(clock.now())


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


@periodic(crontab(minute="*"))
def draw_lotteries() -> None:
    count = draw_lotteries_now()
    if count:
        log.info("drew %s lotteries", count)


@periodic(crontab(minute="*"))
def expire_programme_holds() -> None:
    count = expire_programme_holds_now()
    if count:
        log.info("expired %s unpaid programme places", count)


@periodic(crontab(minute="*"))
def pass_on_session_places() -> None:
    pass_on_session_places_now()


@periodic(crontab(minute="*"))
def close_started_session_lotteries() -> None:
    count = close_started_session_lotteries_now()
    if count:
        log.info("closed %d session lottery applications at their session's start", count)


@periodic(crontab(minute="*"))
def settle_programme_windows() -> None:
    settle_programme_windows_now()


@periodic(crontab(hour="3", minute="10"))
def generate_slots() -> None:
    log.info("generated slots: %s", generate_slots_now())
