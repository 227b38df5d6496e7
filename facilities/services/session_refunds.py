"""A closure cancels the programme sessions it covers: each paid place is refunded pro rata,
the price of the term times the share of the term's sessions cancelled so far."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from core.extensions import db
from facilities.models import Application, Closure, Programme, ProgrammeSession
from facilities.services import programme_notices


def _covered(closure: Closure) -> list[ProgrammeSession]:
    stmt = (
        select(ProgrammeSession)
        .join(Programme, Programme.id == ProgrammeSession.programme_id)
        .where(
            Programme.facility_id == closure.facility_id,
            Programme.status == "open",
            ProgrammeSession.status == "scheduled",
            ProgrammeSession.starts_at < closure.ends_at,
            ProgrammeSession.ends_at > closure.starts_at,
        )
        .order_by(ProgrammeSession.programme_id, ProgrammeSession.starts_at)
    )
    if closure.resource_id is not None:
        stmt = stmt.where(ProgrammeSession.resource_id == closure.resource_id)
    return db.session.scalars(stmt).all()


def cancel_sessions(closure: Closure, now: datetime) -> dict:
    """Cancel the sessions ``closure`` covers and refund every enrolled participant of their
    programmes pro rata; answers the counts for the closure's audit entry."""
    sessions = _covered(closure)
    by_programme: dict[int, int] = {}
    for session in sessions:
        session.status, session.closure_id = "cancelled", closure.id
        by_programme[session.programme_id] = by_programme.get(session.programme_id, 0) + 1
    db.session.flush()
    refund_total = 0
    for programme_id, cancelled_now in by_programme.items():
        programme = db.session.get(Programme, programme_id)
        total, cancelled = db.session.execute(
            select(
                func.count(),
                func.count().filter(ProgrammeSession.closure_id.is_not(None)),
            ).where(ProgrammeSession.programme_id == programme_id)
        ).one()
        enrolled = db.session.scalars(
            select(Application)
            .options(selectinload(Application.user))
            .where(Application.programme_id == programme_id, Application.status == "enrolled")
        ).all()
        for application in enrolled:
            # From the cancelled share of the whole term, so that rounding never adds up to
            # more (or less) than the price as more sessions are cancelled.
            owed = application.price * cancelled // total
            amount = owed - (application.refund_amount or 0)
            application.refund_amount = owed
            refund_total += amount
            programme_notices.sessions_refunded(programme, application, amount, cancelled_now, now)
    db.session.flush()
    return {"programme_sessions_cancelled": len(sessions), "programme_refund_total": refund_total}
