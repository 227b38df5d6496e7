"""What to bring to a kiosk: holds awaiting delivery first, then titles in demand."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from core.extensions import db
from library.models import Copy, Hold, Kiosk, Loan, Title
from library.services.slots import free_slots
from library.services.timestamps import iso


def holds_awaiting_delivery(kiosk_id: int | None = None) -> list[dict]:
    """Holds whose copy still has to be brought to their pickup kiosk (one kiosk's, or every
    kiosk's), oldest first: the copy set aside for each, or up to three free copies on the
    library shelf to take. The 예약대출 work list, and the first part of a restock plan."""
    stmt = select(Hold).where(Hold.status.in_(("waiting", "in_transit")))
    if kiosk_id is not None:
        stmt = stmt.where(Hold.pickup_kiosk_id == kiosk_id)
    awaiting = []
    for hold in db.session.scalars(stmt.order_by(Hold.created_at, Hold.id)):
        if hold.copy is not None:
            candidates = [hold.copy]
        else:
            candidates = list(
                db.session.scalars(
                    select(Copy)
                    .where(Copy.title_id == hold.title_id, Copy.status == "available")
                    .order_by(Copy.id)
                    .limit(3)
                )
            )
        awaiting.append(
            {
                "hold_id": hold.id,
                "title_id": hold.title_id,
                "title": hold.title_ref.title,
                "status": hold.status,
                "waiting_since": iso(hold.created_at),
                "pickup_kiosk_id": hold.pickup_kiosk_id,
                "pickup_kiosk": hold.pickup_kiosk.name,
                "pickup_kiosk_code": hold.pickup_kiosk.code,
                "card_number": hold.patron.card_number,
                "copies": [_where(copy) for copy in candidates],
            }
        )
    return awaiting


def restock_plan(kiosk: Kiosk, *, now: datetime, limit: int = 20) -> dict:
    """What to bring to a kiosk: holds awaiting delivery first, then titles in demand."""
    awaiting = holds_awaiting_delivery(kiosk.id)
    stocked = select(Copy.title_id).where(Copy.kiosk_id == kiosk.id)
    waiting_counts = (
        select(Hold.title_id, func.count().label("demand"))
        .where(Hold.status == "waiting")
        .group_by(Hold.title_id)
        .subquery()
    )
    available_counts = (
        select(Copy.title_id, func.count().label("available"))
        .where(Copy.status == "available", Copy.kiosk_id.is_(None))
        .group_by(Copy.title_id)
        .subquery()
    )
    recent = (
        select(Copy.title_id, func.count().label("loans"))
        .join(Loan, Loan.copy_id == Copy.id)
        .where(Loan.out_at > now - timedelta(days=365))
        .group_by(Copy.title_id)
        .subquery()
    )
    demand = func.coalesce(waiting_counts.c.demand, 0) * 10 + func.coalesce(recent.c.loans, 0)
    rows = db.session.execute(
        select(Title, available_counts.c.available, demand.label("score"))
        .join(available_counts, available_counts.c.title_id == Title.id)
        .outerjoin(waiting_counts, waiting_counts.c.title_id == Title.id)
        .outerjoin(recent, recent.c.title_id == Title.id)
        .where(Title.id.not_in(stocked))
        .order_by(demand.desc(), Title.id)
        .limit(limit)
    )
    in_demand = [
        {"title_id": title.id, "title": title.title, "available": available, "score": score}
        for title, available, score in rows
    ]
    return {
        "kiosk_id": kiosk.id,
        "free_slots": len(free_slots(kiosk)),
        "holds_awaiting_delivery": awaiting,
        "titles_in_demand": in_demand,
    }


def _where(copy: Copy) -> dict:
    return {
        "copy_id": copy.id,
        "barcode": copy.barcode,
        "status": copy.status,
        "kiosk_id": copy.kiosk_id,
        "slot": copy.slot,
    }
