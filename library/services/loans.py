"""Lending at kiosks: checkout (and pickup of holds), return, renewal, overdue reminders.

``at`` is when the transaction happened: now for live kiosk requests, the kiosk's
``occurred_at`` for transactions replayed after an outage, so due dates and overdue days are
those the patron saw at the machine.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import lookup
from core.errors import Conflict, Forbidden, RuleViolation
from core.extensions import db
from core.models import User
from core.notifications import notify
from library.models import Conflict as ConflictItem
from library.models import Hold, Kiosk, Loan, Patron
from library.services import holds as hold_rules
from library.services import kiosks as kiosk_rules
from library.services.catalogue import copy_by_barcode
from library.services.holds import open_hold_for_copy
from library.services.locks import lock_copy, lock_kiosk, lock_patron
from library.services.patrons import apply_overdue_suspension, check_may_borrow, patron_for_user
from library.services.slots import check_slot_number, free_slots, slot_taken
from library.services.timestamps import iso
from library.settings import LibrarySettings


def open_loan_for(copy_id: int) -> Loan | None:
    return db.session.scalar(
        select(Loan).where(Loan.active_copy_id == copy_id).execution_options(populate_existing=True)
    )


def due_for(out_at: datetime, settings: LibrarySettings) -> datetime:
    return settings.day_end(settings.local_date(out_at) + timedelta(days=settings.loan_days))


def overdue_days(loan: Loan, at: datetime, settings: LibrarySettings) -> int:
    if at <= loan.due_at:
        return 0
    return max(0, (settings.local_date(at) - settings.local_date(loan.due_at)).days)


def _stale(copy, at: datetime) -> None:
    if copy.changed_at > at:
        raise Conflict(
            f"Copy {copy.barcode} changed after this transaction happened",
            code="copy_changed_since",
            changed_at=iso(copy.changed_at),
        )


def checkout(
    kiosk: Kiosk,
    patron: Patron,
    barcode: str,
    *,
    at: datetime,
    now: datetime,
    settings: LibrarySettings,
    replay: bool = False,
    forced: bool = False,
) -> Loan:
    """Lend a copy the kiosk dispensed. Picking up a hold is a checkout of the held copy.

    ``forced`` (a librarian applying a queued transaction) skips the patron's borrowing rules
    and the staleness check, never the copy's own state: a copy is still lent only once."""
    patron = lock_patron(patron.id)
    copy = lock_copy(copy_by_barcode(barcode).id)
    if replay and not forced:
        _stale(copy, at)
    if copy.status == "on_loan":
        raise Conflict(f"Copy {copy.barcode} is already on loan", code="copy_on_loan")
    if copy.status in ("lost", "withdrawn"):
        raise Conflict(f"Copy {copy.barcode} is {copy.status}", code="copy_not_lendable")
    hold = None
    if copy.status in ("reserved_for_pickup", "in_transit"):
        hold = open_hold_for_copy(copy.id)
        if hold is not None and hold.patron_id != patron.id:
            raise Conflict(
                f"Copy {copy.barcode} is reserved for another patron", code="copy_reserved"
            )
    if not replay:
        kiosk_rules.require_function(kiosk, "pickup" if hold else "checkout")
    if not forced:
        check_may_borrow(patron, at=at, settings=settings)
    if hold is None:
        # Borrowing a title one is waiting for fulfils that hold.
        hold = db.session.scalar(
            select(Hold).where(
                Hold.patron_id == patron.id,
                Hold.title_id == copy.title_id,
                Hold.status == "waiting",
            )
        )
    if copy.kiosk_id != kiosk.id:
        # The machine dispensed a copy the records place elsewhere: lend it (the patron has it)
        # and tell librarians their records were off.
        db.session.add(
            ConflictItem(
                kind="inventory",
                kiosk_id=kiosk.id,
                reason="copy_not_in_kiosk",
                message=f"Copy {copy.barcode} was lent at {kiosk.code} but recorded elsewhere",
                details={"barcode": copy.barcode, "kiosk_id": copy.kiosk_id, "slot": copy.slot},
                occurred_at=at,
                created_at=now,
            )
        )
    loan = Loan(
        copy_id=copy.id,
        active_copy_id=copy.id,
        patron_id=patron.id,
        kiosk_id=kiosk.id,
        hold_id=hold.id if hold else None,
        out_at=at,
        due_at=due_for(at, settings),
    )
    copy.status, copy.kiosk_id, copy.slot, copy.changed_at = "on_loan", None, None, at
    if hold is not None:
        hold.status, hold.closed_at, hold.copy_id = "collected", at, copy.id
    db.session.add(loan)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as error:  # the unique open-loan key caught a racing checkout
        raise Conflict(f"Copy {copy.barcode} is already on loan", code="copy_on_loan") from error
    return loan


def return_copy(
    kiosk: Kiosk,
    barcode: str,
    slot: int | None,
    *,
    at: datetime,
    now: datetime,
    settings: LibrarySettings,
    replay: bool = False,
) -> dict:
    """Take a copy back into a free slot (the one the machine used, or the lowest free one).
    Overdue days suspend borrowing; the copy serves the next hold or goes back to stock."""
    copy = copy_by_barcode(barcode)
    loan = open_loan_for(copy.id)
    if loan is None:
        raise Conflict(f"Copy {copy.barcode} is not on loan", code="not_on_loan")
    patron = lock_patron(loan.patron_id)
    copy = lock_copy(copy.id)
    loan = open_loan_for(copy.id)
    if loan is None or loan.patron_id != patron.id:
        raise Conflict(f"Copy {copy.barcode} is not on loan", code="not_on_loan")
    if replay and loan.out_at > at:
        raise Conflict(
            "The loan began after this return happened",
            code="copy_changed_since",
            changed_at=iso(loan.out_at),
        )
    if not replay:
        kiosk_rules.require_function(kiosk, "return")
    kiosk = lock_kiosk(kiosk.id)
    if slot is not None:
        check_slot_number(kiosk, slot)
        occupant = slot_taken(kiosk, slot)
        if occupant is not None:
            raise Conflict(
                f"Slot {slot} already holds {occupant.barcode}",
                errors={"slot": ["Occupied."]},
                code="slot_occupied",
            )
    else:
        free = free_slots(kiosk)
        if not free:
            raise Conflict(
                f"Kiosk {kiosk.code} is full",
                code="kiosk_full",
                nearby=kiosk_rules.nearby_with_room(kiosk, now, settings),
            )
        slot = free[0]
    days = overdue_days(loan, at, settings)
    loan.returned_at, loan.active_copy_id, loan.return_kiosk_id = at, None, kiosk.id
    loan.overdue_days = days
    apply_overdue_suspension(patron, days, at, settings)
    copy.kiosk_id, copy.slot, copy.status, copy.changed_at = kiosk.id, slot, "in_kiosk", at
    db.session.flush()
    hold = hold_rules.route_copy(copy, now, settings)
    return {
        "loan_id": loan.id,
        "barcode": copy.barcode,
        "title": copy.title_ref.title,
        "slot": slot,
        "returned_at": iso(at),
        "overdue_days": days,
        "suspended_until": iso(patron.suspended_until) if days else None,
        "reserved_for_hold": bool(hold and hold.status == "ready"),
    }


def renew(patron: Patron, loan: Loan, *, now: datetime, settings: LibrarySettings) -> Loan:
    if loan.patron_id != patron.id:
        raise Forbidden("This loan belongs to another patron")
    if loan.returned_at is not None:
        raise Conflict("This loan is already returned", code="loan_closed")
    if loan.due_at < now:
        raise RuleViolation("An overdue loan cannot be renewed", code="loan_overdue")
    if loan.renewals >= settings.max_renewals:
        raise RuleViolation(
            f"A loan can be renewed {settings.max_renewals} time(s)", code="renewal_limit"
        )
    waiting = db.session.scalar(
        select(Hold.id).where(
            Hold.title_id == loan.copy.title_id,
            Hold.status == "waiting",
            Hold.patron_id != patron.id,
        )
    )
    if waiting is not None:
        raise RuleViolation("Another patron is waiting for this title", code="title_on_hold")
    loan.due_at = loan.due_at + timedelta(days=settings.renewal_days)
    loan.renewals += 1
    db.session.flush()
    return loan


def renew_for_user(user: User, loan_id: int, *, now: datetime, settings: LibrarySettings) -> Loan:
    """A resident renews one of their own loans."""
    patron = patron_for_user(user)
    return renew(patron, lookup.get(Loan, loan_id), now=now, settings=settings)


def overdue_loans(now: datetime):
    return (
        select(Loan)
        .where(Loan.returned_at.is_(None), Loan.due_at < now)
        .order_by(Loan.due_at, Loan.id)
    )


def send_due_reminders(*, now: datetime, settings: LibrarySettings) -> int:
    """Remind borrowers N days before the due date and on the due date (once each)."""
    today = settings.local_date(now)
    horizon = settings.day_end(today + timedelta(days=settings.reminder_days_before))
    loans = db.session.scalars(
        select(Loan).where(
            Loan.returned_at.is_(None),
            Loan.due_at >= settings.day_start(today),
            Loan.due_at <= horizon,
        )
    )
    sent = 0
    for loan in loans:
        due_day = settings.local_date(loan.due_at)
        if due_day == today and loan.reminded_due_for != due_day:
            loan.reminded_due_for = due_day
            kind, subject = "library_due_today", "오늘은 도서 반납일입니다"
            body = f"대출하신 『{loan.copy.title_ref.title}』의 반납일은 오늘({due_day})입니다."
        elif (
            due_day - today
        ).days == settings.reminder_days_before and loan.reminded_before_for != due_day:
            loan.reminded_before_for = due_day
            kind, subject = "library_due_soon", "도서 반납 예정 안내"
            body = (
                f"대출하신 『{loan.copy.title_ref.title}』의 반납 예정일은 {due_day}입니다. "
                "연체하면 연체일수만큼 대출이 정지됩니다."
            )
        else:
            continue
        user = db.session.get(User, loan.patron.user_id) if loan.patron.user_id else None
        if user is not None:
            notify(user, kind, subject, body, now=now)
            sent += 1
    db.session.flush()
    return sent
