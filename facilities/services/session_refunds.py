"""A closure cancels the programme sessions it covers: each paid place is refunded pro rata,
the price of the term times the share of the term's sessions cancelled so far.

``lessons_cancelled`` works out what a closure of a time and resource would do to lessons
without writing anything; ``closures.preview`` shows it and ``cancel_sessions`` (called by
``closures.create``) carries out the same plan, so the numbers shown are the numbers done."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from core.extensions import db
from facilities.models import Application, Closure, Programme, ProgrammeSession
from facilities.services import programme_notices


def _covered(
    facility_id: int, starts_at: datetime, ends_at: datetime, resource_id: int | None
) -> list[ProgrammeSession]:
    stmt = (
        select(ProgrammeSession)
        .join(Programme, Programme.id == ProgrammeSession.programme_id)
        .where(
            Programme.facility_id == facility_id,
            Programme.status == "open",
            ProgrammeSession.status == "scheduled",
            ProgrammeSession.starts_at < ends_at,
            ProgrammeSession.ends_at > starts_at,
        )
        .order_by(ProgrammeSession.programme_id, ProgrammeSession.starts_at)
    )
    if resource_id is not None:
        stmt = stmt.where(ProgrammeSession.resource_id == resource_id)
    return db.session.scalars(stmt).all()


def lessons_cancelled(
    facility_id: int, starts_at: datetime, ends_at: datetime, resource_id: int | None
) -> dict:
    """What closing [starts_at, ends_at) (one resource, or all) would do to lessons now: per
    programme, the sessions cancelled and each enrolled participant's refund (the owed share
    of the term after these sessions, less what earlier closures refunded). Writes nothing."""
    sessions = _covered(facility_id, starts_at, ends_at, resource_id)
    by_programme: dict[int, list[ProgrammeSession]] = {}
    for session in sessions:
        by_programme.setdefault(session.programme_id, []).append(session)
    rows = []
    for programme_id, cancelled_now in by_programme.items():
        programme = db.session.get(Programme, programme_id)
        total, cancelled_before = db.session.execute(
            select(
                func.count(),
                func.count().filter(ProgrammeSession.closure_id.is_not(None)),
            ).where(ProgrammeSession.programme_id == programme_id)
        ).one()
        cancelled = cancelled_before + len(cancelled_now)
        refunds = []
        for application in db.session.scalars(
            select(Application)
            .options(selectinload(Application.user))
            .where(Application.programme_id == programme_id, Application.status == "enrolled")
            .order_by(Application.id)
        ):
            # From the cancelled share of the whole term, so that rounding never adds up to
            # more (or less) than the price as more sessions are cancelled.
            owed = application.price * cancelled // total
            refunds.append((application, owed, owed - (application.refund_amount or 0)))
        rows.append(
            {
                "programme": programme,
                "sessions": cancelled_now,
                "participants": len(refunds),
                "refunds": refunds,
                "refund_total": sum(amount for _, _, amount in refunds),
            }
        )
    return {
        "programmes": rows,
        "programme_sessions_cancelled": len(sessions),
        "programme_participants": sum(row["participants"] for row in rows),
        "programme_refund_total": sum(row["refund_total"] for row in rows),
    }


def cancel_sessions(closure: Closure, now: datetime) -> dict:
    """Cancel the sessions ``closure`` covers and refund every enrolled participant of their
    programmes pro rata, as ``lessons_cancelled`` worked out; answers the counts for the
    closure's audit entry."""
    plan = lessons_cancelled(
        closure.facility_id, closure.starts_at, closure.ends_at, closure.resource_id
    )
    for row in plan["programmes"]:
        for session in row["sessions"]:
            session.status, session.closure_id = "cancelled", closure.id
        for application, owed, amount in row["refunds"]:
            application.refund_amount = owed
            programme_notices.sessions_refunded(
                row["programme"], application, amount, len(row["sessions"]), now
            )
    db.session.flush()
    return {
        "programme_sessions_cancelled": plan["programme_sessions_cancelled"],
        "programme_refund_total": plan["programme_refund_total"],
    }
