"""A facility's local time: its zone, local days, local wall-clock times in UTC, Korean public
holidays (which day's schedule a date follows), and when a slot's booking opens."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from facilities.models import Rules


@lru_cache(maxsize=32)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_date(moment: datetime, tz: str) -> date:
    return moment.astimezone(zone(tz)).date()


def local_to_utc(day: date, at: time, tz: str) -> datetime:
    return datetime.combine(day, at, tzinfo=zone(tz)).astimezone(UTC)


@lru_cache(maxsize=8)
def _kr_holidays(year: int) -> holidays.HolidayBase:
    return holidays.KR(years=year)


def is_public_holiday(day: date) -> bool:
    return day in _kr_holidays(day.year)


def bookable_from(slot_day: date, rules: Rules, tz: str) -> datetime:
    """Bookings open ``opens_days_before`` days before the slot's local day, at ``opens_at``."""
    return local_to_utc(slot_day - timedelta(days=rules.opens_days_before), rules.opens_at_time, tz)
