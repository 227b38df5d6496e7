"""Settings, local-time helpers, row locking and small lookups shared by the library rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from core.errors import DomainError, NotFound, RuleViolation
from core.extensions import db
from core.security import Passwords
from library.models import Conflict, Copy, Hold, Kiosk, Loan, Patron, Title


class Locked(DomainError):
    status, code = 423, "locked"


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


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def locked(stmt):
    """SELECT ... FOR UPDATE on PostgreSQL (SQLite writers already hold the database lock),
    always re-reading the row so a waiter sees what the lock holder committed."""
    return db.session.scalar(stmt.with_for_update().execution_options(populate_existing=True))


def lock_patron(patron_id: int) -> Patron:
    return locked(select(Patron).where(Patron.id == patron_id))


def lock_copy(copy_id: int) -> Copy:
    return locked(select(Copy).where(Copy.id == copy_id))


def lock_kiosk(kiosk_id: int) -> Kiosk:
    return locked(select(Kiosk).where(Kiosk.id == kiosk_id))


def _get(model, ident: int, label: str, field: str | None = None):
    row = db.session.get(model, ident)
    if row is None:
        errors = {field: [f"No {label.lower()} {ident}."]} if field else None
        raise NotFound(f"{label} {ident} not found", errors=errors)
    return row


def get_title(title_id: int, field: str | None = None) -> Title:
    return _get(Title, title_id, "Title", field)


def get_copy(copy_id: int) -> Copy:
    return _get(Copy, copy_id, "Copy")


def get_kiosk(kiosk_id: int, field: str | None = None) -> Kiosk:
    return _get(Kiosk, kiosk_id, "Kiosk", field)


def get_patron(patron_id: int) -> Patron:
    return _get(Patron, patron_id, "Patron")


def get_loan(loan_id: int) -> Loan:
    return _get(Loan, loan_id, "Loan")


def get_hold(hold_id: int) -> Hold:
    return _get(Hold, hold_id, "Hold")


def get_conflict(conflict_id: int) -> Conflict:
    return _get(Conflict, conflict_id, "Conflict")


def copy_by_barcode(barcode: str, field: str = "barcode") -> Copy:
    copy = db.session.scalar(select(Copy).filter_by(barcode=barcode.strip()))
    if copy is None:
        raise NotFound(
            f"No copy with barcode {barcode}",
            errors={field: ["Unknown barcode."]},
            code="unknown_barcode",
        )
    return copy


def open_loan_for(copy_id: int) -> Loan | None:
    return db.session.scalar(
        select(Loan).where(Loan.active_copy_id == copy_id).execution_options(populate_existing=True)
    )


def open_hold_for_copy(copy_id: int) -> Hold | None:
    return db.session.scalar(
        select(Hold).where(Hold.copy_id == copy_id, Hold.status.in_(("in_transit", "ready")))
    )


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
