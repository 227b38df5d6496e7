"""What a patron sees: at the kiosk after logging in, and on the resident's own page; and the
overdue list librarians work through."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from core.extensions import db
from core.models import User
from library.models import OPEN_HOLD_STATUSES, Hold, Kiosk, Patron
from library.services.catalogue import describe_title
from library.services.holds import pickup_kiosks
from library.services.loans import overdue_days
from library.services.patrons import (
    is_suspended,
    linked_patron,
    loan_limit,
    open_loans,
    patron_for_user,
)
from library.settings import LibrarySettings


def loan_view(loan, now: datetime) -> dict:
    return {
        "id": loan.id,
        "barcode": loan.copy.barcode,
        "title": loan.copy.title_ref.title,
        "out_at": loan.out_at,
        "due_at": loan.due_at,
        "renewals": loan.renewals,
        "overdue": loan.due_at < now,
    }


def hold_view(hold: Hold) -> dict:
    copy = hold.copy if hold.status == "ready" else None
    return {
        "id": hold.id,
        "title_id": hold.title_id,
        "title": hold.title_ref.title,
        "status": hold.status,
        "pickup_kiosk_id": hold.pickup_kiosk_id,
        "pickup_kiosk": hold.pickup_kiosk.name,
        "created_at": hold.created_at,
        "pickup_deadline": hold.pickup_deadline,
        "barcode": copy.barcode if copy else None,
        "slot": copy.slot if copy else None,
    }


def _standing(patron: Patron, loans: list, now: datetime, settings: LibrarySettings) -> dict:
    limit = loan_limit(patron, settings)
    return {
        "patron": {"id": patron.id, "card_number": patron.card_number, "name": patron.name},
        "loans": [loan_view(loan, now) for loan in loans],
        "loan_limit": limit,
        "loans_left": max(0, limit - len(loans)),
        "suspended": is_suspended(patron, now),
        "suspended_until": patron.suspended_until if is_suspended(patron, now) else None,
    }


def kiosk_summary(patron: Patron, kiosk: Kiosk, now: datetime, settings: LibrarySettings):
    loans = open_loans(patron.id)
    ready = db.session.scalars(
        select(Hold)
        .where(
            Hold.patron_id == patron.id,
            Hold.pickup_kiosk_id == kiosk.id,
            Hold.status == "ready",
        )
        .order_by(Hold.pickup_deadline)
    )
    return _standing(patron, loans, now, settings) | {
        "holds_ready_here": [hold_view(h) for h in ready]
    }


def resident_summary(patron: Patron, now: datetime, settings: LibrarySettings) -> dict:
    loans = open_loans(patron.id)
    holds = db.session.scalars(
        select(Hold)
        .where(Hold.patron_id == patron.id, Hold.status.in_(OPEN_HOLD_STATUSES))
        .order_by(Hold.created_at)
    )
    barred = patron.holds_barred_until
    return _standing(patron, loans, now, settings) | {
        "holds": [hold_view(h) for h in holds],
        "holds_barred_until": barred if barred and barred > now else None,
    }


def resident_summary_for_user(user: User, now: datetime, settings: LibrarySettings) -> dict:
    """The resident's own page: the summary of the library card linked to the account."""
    return resident_summary(patron_for_user(user), now, settings)


def title_for_resident(title_id: int, user: User | None) -> dict:
    """A title's page: its availability per kiosk, the kiosks that take holds for pickup (with
    the copies free in each), and for a signed-in resident whether a library card is linked
    (``has_card``; None when nobody is signed in) and their open hold on it, if any."""
    title = describe_title(title_id)
    free = {k["kiosk_id"]: k["available"] for k in title["availability"]["kiosks"]}
    view = {
        "title": title,
        "pickup_kiosks": [
            {"id": k.id, "name": k.name, "location": k.location, "available": free.get(k.id, 0)}
            for k in pickup_kiosks()
        ],
        "has_card": None,
        "hold": None,
    }
    if user is None:
        return view
    patron = linked_patron(user)
    view["has_card"] = patron is not None
    if patron is not None:
        hold = db.session.scalar(
            select(Hold).where(
                Hold.patron_id == patron.id,
                Hold.title_id == title_id,
                Hold.status.in_(OPEN_HOLD_STATUSES),
            )
        )
        view["hold"] = hold_view(hold) if hold is not None else None
    return view


def overdue_view(loans, now: datetime, settings: LibrarySettings) -> list[dict]:
    """Overdue loans (``loans.overdue_loans``) with their borrower and days overdue."""
    return [
        loan_view(loan, now)
        | {
            "patron_id": loan.patron_id,
            "card_number": loan.patron.card_number,
            "days_overdue": overdue_days(loan, now, settings),
        }
        for loan in loans
    ]
