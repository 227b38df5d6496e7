"""Per-facility booking rules: defaults, parsing, and local-time helpers.

Rules live in the facility row as JSON so each facility can differ; everything missing falls
back to the defaults below (the city's standard rules).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

CATEGORIES = ("adult", "youth", "child", "senior", "disabled", "veteran")
HOLIDAY_RULES = ("weekend", "closed")


def _default_discounts() -> dict[str, int]:
    return {"adult": 0, "youth": 20, "child": 50, "senior": 50, "disabled": 50, "veteran": 30}


def _default_refunds() -> list[list[int]]:
    # [minimum days of notice, refund percent], most generous first.
    return [[7, 100], [2, 80], [1, 50], [0, 0]]


@dataclass(frozen=True)
class Rules:
    opens_days_before: int = 14
    opens_at: str = "10:00"
    hold_minutes: int = 15
    offer_minutes: int = 30
    max_active_bookings: int = 4
    max_bookings_per_day: int = 1
    min_party: int = 1
    max_party: int = 10
    holiday_rule: str = "weekend"
    checkin_before_minutes: int = 30
    checkin_after_minutes: int = 15
    strike_limit: int = 3
    strike_window_days: int = 90
    suspension_days: int = 30
    resident_discount: int = 10
    category_discounts: dict = field(default_factory=_default_discounts)
    refund_tiers: list = field(default_factory=_default_refunds)

    @classmethod
    def from_json(cls, data: dict | None) -> Rules:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})

    def to_json(self) -> dict:
        return asdict(self)

    @property
    def opens_at_time(self) -> time:
        hour, minute = self.opens_at.split(":")
        return time(int(hour), int(minute))

    def refund_percent(self, days_of_notice: int) -> int:
        for min_days, percent in sorted(self.refund_tiers, key=lambda t: -t[0]):
            if days_of_notice >= min_days:
                return int(percent)
        return 0


@lru_cache(maxsize=32)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_date(moment: datetime, tz: str) -> date:
    return moment.astimezone(zone(tz)).date()


def local_to_utc(day: date, at: time, tz: str) -> datetime:
    return datetime.combine(day, at, tzinfo=zone(tz)).astimezone(UTC)


def bookable_from(slot_day: date, rules: Rules, tz: str) -> datetime:
    """Bookings open ``opens_days_before`` days before the slot's local day, at ``opens_at``."""
    return local_to_utc(slot_day - timedelta(days=rules.opens_days_before), rules.opens_at_time, tz)


@lru_cache(maxsize=8)
def _kr_holidays(year: int) -> holidays.HolidayBase:
    return holidays.KR(years=year)


def is_public_holiday(day: date) -> bool:
    return day in _kr_holidays(day.year)
