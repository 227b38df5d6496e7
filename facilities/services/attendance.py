"""Attendance at programme sessions: an enrolled participant's check-in code (a signed token
shown as a QR code, like a booking's) is read at the door by staff or a gate, and marks them
present at the session starting around now."""

from __future__ import annotations

from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import audit
from core.errors import Conflict, Forbidden, NotFound, RuleViolation
from core.extensions import db
from core.lookup import find
from core.models import User
from facilities.models import (
    ATTENDANCE_SALT,
    Application,
    Attendance,
    Gate,
    Programme,
    ProgrammeSession,
)
from facilities.services import gates


def _application(code: str, secret: str) -> Application:
    try:
        data = URLSafeSerializer(secret, salt=ATTENDANCE_SALT).loads(code)
    except BadSignature:
        raise RuleViolation(
            "This check-in code is not valid", code="invalid_code", errors={"code": ["Invalid."]}
        ) from None
    application = find(Application, data.get("a") if isinstance(data, dict) else None)
    if application is None:
        raise NotFound("No application for this code", errors={"code": ["Unknown."]})
    return application


def check_in(actor: User | Gate, code: str, now: datetime, secret: str) -> Attendance:
    """Mark the code's participant present at their programme's session that starts within
    the facility's check-in window around now (30 minutes before to 15 after, by default)."""
    facility_id = None
    if isinstance(actor, Gate):
        facility_id, actor = actor.facility_id, gates.actor_label(actor)
    application = _application(code, secret)
    programme = db.session.get(Programme, application.programme_id)
    if facility_id is not None and programme.facility_id != facility_id:
        raise Forbidden("This programme is at another facility", code="gate_wrong_facility")
    if application.status != "enrolled":
        raise Conflict(f"This application is {application.status}", code="not_confirmed")
    rules = programme.facility.rules
    session = db.session.scalar(
        select(ProgrammeSession)
        .where(
            ProgrammeSession.programme_id == programme.id,
            ProgrammeSession.status == "scheduled",
            ProgrammeSession.starts_at <= now + timedelta(minutes=rules.checkin_before_minutes),
            ProgrammeSession.starts_at >= now - timedelta(minutes=rules.checkin_after_minutes),
        )
        .limit(1)
    )
    if session is None:
        raise RuleViolation(
            "No session of this programme to check in to now",
            code="checkin_window",
            errors={"code": ["Check-in opens 30 minutes before a session, until 15 after."]},
        )
    attendance = Attendance(session_id=session.id, application_id=application.id, checked_in_at=now)
    db.session.add(attendance)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict("Already checked in", code="already_checked_in") from None
    audit.record(
        actor,
        "programme.check_in",
        "application",
        application.id,
        now=now,
        after={"session_id": session.id},
    )
    return attendance


def session_attendance(session_id: int) -> list[Application]:
    """Who came to a session (for the desk)."""
    return db.session.scalars(
        select(Application)
        .join(Attendance, Attendance.application_id == Application.id)
        .where(Attendance.session_id == session_id)
        .order_by(Attendance.checked_in_at)
    ).all()


def roster(session_id: int) -> dict:
    """A programme session for the desk: its programme and every enrolled participant with
    the moment they checked in (None: not yet)."""
    session = find(ProgrammeSession, session_id)
    if session is None:
        raise NotFound(f"Programme session {session_id} not found")
    programme = db.session.get(Programme, session.programme_id)
    came = dict(
        db.session.execute(
            select(Attendance.application_id, Attendance.checked_in_at).where(
                Attendance.session_id == session.id
            )
        ).all()
    )
    enrolled = db.session.scalars(
        select(Application)
        .where(Application.programme_id == programme.id, Application.status == "enrolled")
        .order_by(Application.participant_name, Application.id)
    ).all()
    return {
        "session": session,
        "programme": programme,
        "participants": [{"application": a, "checked_in_at": came.get(a.id)} for a in enrolled],
        "present": len(came),
    }
