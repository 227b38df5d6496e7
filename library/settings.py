"""The library's settings, built once from the app's config (core.config holds the keys and
their defaults). Doors read them with ``core.settings.settings_of(LibrarySettings)`` and pass
them to the services; the local-day helpers turn the settings' time zone into due dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.security import Passwords


@dataclass(frozen=True)
class LibrarySettings:
    passwords: Passwords
    tz: ZoneInfo
    loan_limit: int = 5
    loan_days: int = 14
    renewal_days: int = 7
    max_renewals: int = 1
    suspension_mode: str = "per_loan"
    suspension_cap_days: int = 60
    hold_limit: int = 5
    hold_pickup_days: int = 3
    missed_pickup_limit: int = 3
    missed_pickup_window_days: int = 90
    hold_bar_days: int = 30
    pin_max_failures: int = 5
    pin_lock_minutes: int = 15
    kiosk_offline_seconds: int = 300
    reminder_days_before: int = 2
    max_clock_skew_seconds: int = 300

    @classmethod
    def from_config(cls, config, passwords: Passwords) -> LibrarySettings:
        if config["LIBRARY_SUSPENSION_MODE"] not in ("per_loan", "cumulative"):
            raise RuntimeError("LIBRARY_SUSPENSION_MODE must be per_loan or cumulative")
        return cls(
            passwords=passwords,
            tz=ZoneInfo(config["TIMEZONE"]),
            loan_limit=config["LIBRARY_LOAN_LIMIT"],
            loan_days=config["LIBRARY_LOAN_DAYS"],
            renewal_days=config["LIBRARY_RENEWAL_DAYS"],
            max_renewals=config["LIBRARY_MAX_RENEWALS"],
            suspension_mode=config["LIBRARY_SUSPENSION_MODE"],
            suspension_cap_days=config["LIBRARY_SUSPENSION_CAP_DAYS"],
            hold_limit=config["LIBRARY_HOLD_LIMIT"],
            hold_pickup_days=config["LIBRARY_HOLD_PICKUP_DAYS"],
            missed_pickup_limit=config["LIBRARY_MISSED_PICKUP_LIMIT"],
            missed_pickup_window_days=config["LIBRARY_MISSED_PICKUP_WINDOW_DAYS"],
            hold_bar_days=config["LIBRARY_HOLD_BAR_DAYS"],
            pin_max_failures=config["LIBRARY_PIN_MAX_FAILURES"],
            pin_lock_minutes=config["LIBRARY_PIN_LOCK_MINUTES"],
            kiosk_offline_seconds=config["LIBRARY_KIOSK_OFFLINE_SECONDS"],
            reminder_days_before=config["LIBRARY_REMINDER_DAYS_BEFORE"],
            max_clock_skew_seconds=config["LIBRARY_MAX_CLOCK_SKEW_SECONDS"],
        )

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    def day_start(self, day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=self.tz).astimezone(UTC)

    def day_end(self, day: date) -> datetime:
        """The last second of a local day: due dates run to the end of the day."""
        return self.day_start(day + timedelta(days=1)) - timedelta(seconds=1)

    def local_text(self, moment: datetime) -> str:
        return moment.astimezone(self.tz).strftime("%Y-%m-%d %H:%M")


def pin_passwords(config) -> Passwords:
    """The PIN hasher: its own light Argon2id profile (see core.config for why)."""
    return Passwords(
        time_cost=config["LIBRARY_PIN_ARGON2_TIME_COST"],
        memory_cost_kib=config["LIBRARY_PIN_ARGON2_MEMORY_COST_KIB"],
        parallelism=1,
    )


@dataclass(frozen=True)
class Sip2Settings:
    """The SIP2 server for self-check machines (``library.sip2``)."""

    institution_id: str
    idle_timeout: int
    host: str
    port: int
    enabled: bool
    workers: int = 1

    @classmethod
    def from_config(cls, config) -> Sip2Settings:
        return cls(
            institution_id=config["SIP2_INSTITUTION_ID"],
            idle_timeout=int(config["SIP2_IDLE_TIMEOUT"]),
            host=config["SIP2_HOST"],
            port=int(config["SIP2_PORT"]),
            enabled=bool(config["SIP2_ENABLED"]),
            workers=int(config["SIP2_WORKERS"]),
        )
