"""Row locks the lending rules take, always in the same order (patron, copy, hold, kiosk)."""

from __future__ import annotations

from sqlalchemy import select

from core.extensions import db
from library.models import Copy, Kiosk, Patron


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
