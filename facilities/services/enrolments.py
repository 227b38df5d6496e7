"""Applications for programmes: applying (for oneself or a dependent), withdrawing while the
window is open, places held for payment with a deadline, payment, an unpaid place passing to
the next in order, the window's end (minimum enrolment) and cancelling a programme.

A programme's ``enrolled`` (places held or paid) changes only under its row lock
(``programmes.lock_programme``) and the database refuses it above ``capacity``. The waiting
applications keep their order in ``draw_position``: the drawn order for a lottery, the order
of arrival for first come."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached, selectinload

from core import audit
from core.db import execute_plain
from core.errors import Conflict, NotFound, RuleViolation
from core.extensions import db
from core.idempotency import run_once
from core.lookup import find
from core.models import User
from facilities.models import HOLDING_STATUSES, Application, Lottery, Programme, ProgrammeSession
from facilities.services import payments, pricing, programme_notices, programmes, rink_time
from facilities.services.lottery_setup import group_of

STAFF_ROLES = ("facility_manager",)
MINIMUM_NOT_MET = "최소 인원 미달"
# Applications still in the running (not refused, withdrawn or ended).
LIVE = ("applied", "held", "enrolled", "waiting")


def _participant(user: User, dependent_id: int | None, birth_year: int | None):
    """(participant key, name, birth year, dependent id) of whom the application is for."""
    if dependent_id is not None:
        dependent = programmes.get_dependent(user, dependent_id)
        return f"d{dependent.id}", dependent.name, dependent.birth_year, dependent.id
    if birth_year is None:
        raise RuleViolation(
            "Give your birth year to apply for yourself",
            code="birth_year_required",
            errors={"birth_year": ["Required when applying for yourself."]},
        )
    return f"u{user.id}", user.name, birth_year, None


def _check_open(programme: Programme, now: datetime) -> None:
    if programme.status != "open":
        raise Conflict("This programme was cancelled", code="programme_cancelled")
    state = programmes.window_state(programme, now)
    if state == "not_open":
        raise RuleViolation(
            "Applications have not opened yet",
            code="window_not_open",
            errors={"programme_id": [f"Opens at {programme.window_opens_at.isoformat()}."]},
        )
    if state == "closed":
        raise RuleViolation(
            "Applications are closed",
            code="window_closed",
            errors={"programme_id": [f"Closed at {programme.window_closes_at.isoformat()}."]},
        )


def _check_age(programme: Programme, birth_year: int, field: str) -> None:
    age = programmes.age_in_term(programme, birth_year)
    if not programme.min_age <= age <= programme.max_age:
        raise RuleViolation(
            f"This programme is for ages {programme.min_age}-{programme.max_age}",
            code="age_band",
            errors={
                field: [
                    f"Age {age} in {programme.term_start.year}; "
                    f"ages {programme.min_age}-{programme.max_age} only."
                ]
            },
        )


def lost_previous_round(programme: Programme, participant: str) -> bool:
    """Did this participant lose the previous term's lottery of the same programme (drawn,
    waited, and never got a place)?"""
    if programme.previous_programme_id is None:
        return False
    return (
        db.session.scalar(
            select(Application.id)
            .join(Lottery, Lottery.id == Application.lottery_id)
            .where(
                Application.programme_id == programme.previous_programme_id,
                Application.participant == participant,
                Application.status.in_(("waiting", "closed")),
                Lottery.status == "drawn",
            )
            .limit(1)
        )
        is not None
    )


def _existing(programme_id: int, participant: str) -> int | None:
    return db.session.scalar(
        select(Application.id).where(
            Application.programme_id == programme_id,
            Application.participant == participant,
            Application.status != "withdrawn",
        )
    )


def _already_applied(number: int | None) -> Conflict:
    return Conflict(
        "This person has applied for this programme already",
        code="already_applied",
        errors={"dependent_id": [f"Application {number} exists."]} if number else None,
    )


def apply(
    user: User,
    programme_id: int,
    *,
    category: str,
    dependent_id: int | None = None,
    birth_year: int | None = None,
    now: datetime,
) -> Application:
    """A resident applies for themselves or a dependent, while the window is open, within the
    age band, once per person. First come: a free place is held for payment at once (enrolled
    at once when free), otherwise the application waits in order. Lottery: it waits for the
    draw, in the applicant's priority group, with a second ticket if it lost last term."""
    programme = programmes.get_programme(programme_id, with_facility=True)
    _check_open(programme, now)
    participant, name, year, dependent = _participant(user, dependent_id, birth_year)
    _check_age(programme, year, "dependent_id" if dependent else "birth_year")
    price = pricing.for_programme(programme.prices, category)
    # A second application of the person is refused by the partial UNIQUE index below, not
    # looked for first: in a window's last minute every query counts.
    application = Application(
        programme_id=programme.id,
        user_id=user.id,
        dependent_id=dependent,
        participant=participant,
        participant_name=name,
        birth_year=year,
        category=category,
        price=price,
        tickets=1,
        created_at=now,
    )
    if programme.enrolment == "lottery":
        lottery = programmes.programme_lottery(programme.id)
        application.lottery_id = lottery.id
        application.status = "applied"
        application.priority_group = group_of(
            lottery.priority_groups, verified_resident=user.is_verified_resident
        )
        if lottery.second_ticket and lost_previous_round(programme, participant):
            application.tickets = 2
    else:
        programme = programmes.lock_programme(programme.id)
        if programme.remaining > 0 and not _waiting_exists(programme.id):
            _take_place(programme, application, now, _first_session(programme))
        else:
            application.status = "waiting"
            application.draw_position = _last_position(programme.id) + 1
    try:
        application = _insert(application)
    except IntegrityError:
        # The person has applied already (perhaps in a parallel request): the partial UNIQUE
        # index refused this one.
        db.session.rollback()
        raise _already_applied(_existing(programme_id, participant)) from None
    application.user = user
    if application.status == "held":
        programme_notices.place_held(programme, application, now, drawn=False)
    elif application.status == "enrolled":
        programme_notices.enrolled(programme, application, now)
    else:
        programme_notices.received(programme, application, now)
    return application


_INSERT_APPLICATION = insert(Application.__table__).returning(*Application.__table__.c)


def _insert(application: Application) -> Application:
    """Insert with one plain statement (the ORM's flush of one new row cost about as much as
    the rest of an application's work) and hand back the row as a loaded object."""
    db.session.flush()  # pending changes (the programme's count) go first
    values = {
        column.key: getattr(application, column.key)
        for column in Application.__table__.c
        if column.key != "id" and getattr(application, column.key) is not None
    }
    row = execute_plain(_INSERT_APPLICATION, values).one()
    stored = Application(**row._asdict())
    make_transient_to_detached(stored)  # as if loaded: nothing to flush
    db.session.add(stored)
    return stored


def _waiting_exists(programme_id: int) -> bool:
    return (
        db.session.scalar(
            select(Application.id)
            .where(Application.programme_id == programme_id, Application.status == "waiting")
            .limit(1)
        )
        is not None
    )


def _last_position(programme_id: int) -> int:
    return (
        db.session.scalar(
            select(func.max(Application.draw_position)).where(
                Application.programme_id == programme_id
            )
        )
        or 0
    )


def _first_session(programme: Programme) -> datetime | None:
    return db.session.scalar(
        select(func.min(ProgrammeSession.starts_at)).where(
            ProgrammeSession.programme_id == programme.id,
            ProgrammeSession.status == "scheduled",
        )
    )


def _take_place(
    programme: Programme, application: Application, now: datetime, first: datetime | None
) -> None:
    """Give the (locked) programme's free place to ``application``: held for payment until
    ``payment_hours`` from now (never past the ``first`` session), or enrolled when free."""
    programme.enrolled += 1
    application.decided_at = now
    if application.price == 0:
        application.status, application.hold_expires_at = "enrolled", None
        return
    deadline = now + timedelta(hours=programme.payment_hours)
    application.status = "held"
    application.hold_expires_at = min(deadline, first) if first else deadline


def give_next(programme: Programme, now: datetime, *, drawn: bool) -> list[Application]:
    """Free places of the (locked) programme go to the waiting applications in their order,
    until the places or the waiting run out or the first session has begun."""
    first = _first_session(programme)
    if programme.status != "open" or first is None or now >= first or not programme.remaining:
        return []
    # The next ones in order, with their people (told below), in two queries for them all.
    given = db.session.scalars(
        select(Application)
        .options(selectinload(Application.user))
        .where(Application.programme_id == programme.id, Application.status == "waiting")
        .order_by(Application.draw_position, Application.id)
        .limit(programme.remaining)
        .execution_options(populate_existing=True)
    ).all()
    for application in given:
        _take_place(programme, application, now, first)
    db.session.flush()
    held = [a for a in given if a.status == "held"]
    programme_notices.place_held_all(programme, held, now, drawn=drawn)
    for application in given:
        if application.status == "enrolled":
            programme_notices.enrolled(programme, application, now)
    return given


def own_application(user: User, application_id: int) -> Application:
    application = find(Application, application_id)
    if application is None or (
        application.user_id != user.id and not user.has_any_role(STAFF_ROLES)
    ):
        raise NotFound(f"Application {application_id} not found")
    return application


def withdraw(user: User, application_id: int, now: datetime) -> Application:
    """Take an application back while the window is open: a place it held goes to the next
    in order; what was paid is refunded whole."""
    application = own_application(user, application_id)
    if application.user_id != user.id:
        raise NotFound(f"Application {application_id} not found")
    if application.programme_id is None:
        return _withdraw_from_session_lottery(application, now)
    programme = programmes.lock_programme(application.programme_id)
    db.session.refresh(application)
    if application.status not in LIVE:
        raise Conflict(f"This application is {application.status}", code="not_withdrawable")
    if now >= programme.window_closes_at:
        raise RuleViolation(
            "Applications can be withdrawn while the window is open",
            code="window_closed",
            errors={"application_id": ["The application window has closed."]},
        )
    held = application.status in HOLDING_STATUSES
    application.refund_amount = application.price if application.status == "enrolled" else 0
    application.status, application.decided_at = "withdrawn", now
    if held:
        programme.enrolled -= 1
        db.session.flush()
        give_next(programme, now, drawn=programme.enrolment == "lottery")
    db.session.flush()
    return application


def _withdraw_from_session_lottery(application: Application, now: datetime) -> Application:
    lottery = db.session.get(Lottery, application.lottery_id)
    if application.status != "applied" or now >= lottery.window_closes_at:
        raise RuleViolation(
            "Applications can be withdrawn while the window is open",
            code="window_closed",
            errors={"application_id": ["The application window has closed."]},
        )
    application.status, application.decided_at = "withdrawn", now
    db.session.flush()
    return application


def my_applications(user: User) -> list[dict]:
    """The person's applications (their dependents' too), newest first, described."""
    rows = db.session.scalars(
        select(Application).where(Application.user_id == user.id).order_by(Application.id.desc())
    )
    return [describe(application) for application in rows]


def my_application(user: User, application_id: int, now: datetime) -> dict:
    """One of the person's own applications, described with its programme, and whether it
    can still be withdrawn (the residents' result and withdraw pages)."""
    application = own_application(user, application_id)
    if application.user_id != user.id:
        raise NotFound(f"Application {application_id} not found")
    described = describe(application)
    programme = (
        db.session.get(Programme, application.programme_id) if application.programme_id else None
    )
    closes_at = (
        programme.window_closes_at
        if programme is not None
        else db.session.get(Lottery, application.lottery_id).window_closes_at
    )
    return {
        **described,
        "programme": programme,
        "withdrawable": application.status in LIVE and now < closes_at,
    }


APPLY_SCOPE = "programmes.apply"


def created_once(
    scope: str,
    user: User,
    *,
    idempotency_key: str | None,
    payload: dict,
    now: datetime,
    make: Callable[[], Application],
    render: Callable[[dict], dict],
) -> tuple[dict, int]:
    """Make an application once per ``idempotency_key``: a retry (its answer lost, or racing
    the first) gets the first answer again, 201 with the same number, and makes nothing new;
    the same key with another ``payload`` is a 409. ``render`` turns ``describe(application)``
    into the answer sent and kept for retries. Commits (``core.idempotency.run_once``)."""
    return run_once(
        scope=scope,
        owner=f"user:{user.id}",
        key=idempotency_key,
        payload=payload,
        now=now,
        action=lambda: (render(describe(make())), 201),
    )


def apply_once(
    user: User,
    programme_id: int,
    choice: dict,
    *,
    idempotency_key: str | None,
    now: datetime,
    render: Callable[[dict], dict],
) -> tuple[dict, int]:
    """``apply`` (``choice``: category, dependent_id, birth_year) once per Idempotency-Key."""
    return created_once(
        APPLY_SCOPE,
        user,
        idempotency_key=idempotency_key,
        payload={"programme_id": programme_id, **choice},
        now=now,
        make=lambda: apply(user, programme_id, now=now, **choice),
        render=render,
    )


def describe(application: Application) -> dict:
    """An application as its applicant sees it: the programme's title and term with it."""
    programme = (
        db.session.get(Programme, application.programme_id) if application.programme_id else None
    )
    lottery = db.session.get(Lottery, application.lottery_id) if application.lottery_id else None
    return {
        "application": application,
        "number": application.id,
        "programme_title": programme.title if programme else None,
        "slot_id": lottery.slot_id if lottery else None,
    }


# Payment ----------------------------------------------------------------------------------


def confirm_payment(
    application_id: int,
    now: datetime,
    *,
    actor: User | str,
    payment_reference: str | None,
    amount: int | None = None,
) -> Application:
    """A held place is paid (the provider's callback, or at the counter): enrolled. A replay
    of the same payment answers with the application again; never after the deadline."""
    application = find(Application, application_id)
    if application is None or application.programme_id is None:
        raise NotFound("Unknown application", errors={"application_id": ["Unknown."]})
    programme = programmes.lock_programme(application.programme_id)
    db.session.refresh(application)
    if application.status == "enrolled" and application.payment_reference == payment_reference:
        return application
    if application.status != "held":
        raise Conflict(f"This application is {application.status}", code="not_held")
    if application.hold_expires_at is not None and application.hold_expires_at <= now:
        raise Conflict("The payment deadline has passed", code="hold_expired")
    if amount is not None and amount != application.price:
        raise RuleViolation(
            "The amount paid differs from the price",
            code="amount_mismatch",
            errors={"amount": [f"Expected {application.price}."]},
        )
    if payment_reference is not None:
        other = db.session.scalar(
            select(Application.id).where(Application.payment_reference == payment_reference)
        )
        if other is not None:
            raise Conflict("This payment was already used", code="payment_reused")
    application.status, application.hold_expires_at = "enrolled", None
    application.payment_reference, application.decided_at = payment_reference, now
    db.session.flush()
    if isinstance(actor, User):
        audit.record(
            actor,
            "application.confirm",
            "application",
            application.id,
            now=now,
            before={"status": "held"},
            after={"status": "enrolled", "payment_reference": payment_reference},
        )
    programme_notices.enrolled(programme, application, now)
    return application


def handle_signed_payment(
    raw: bytes, signature: str | None, *, secret: str, now: datetime, read: Callable[[bytes], dict]
) -> Application:
    """The payment provider's callback for a programme place, signed as a booking's is (hex
    HMAC-SHA256 of the raw body): ``{"application_id", "payment_id", "amount", "status"}``."""
    payload = payments.read_signed(raw, signature, secret=secret, read=read)
    if payload["status"] == "failed":
        application = find(Application, payload["application_id"])
        if application is None:
            raise NotFound("Unknown application", errors={"application_id": ["Unknown."]})
        return application  # the hold stays until its deadline: the person may pay again
    return confirm_payment(
        payload["application_id"],
        now,
        actor="payments",
        payment_reference=payload["payment_id"],
        amount=payload["amount"],
    )


def expire_holds(now: datetime, limit: int = 500) -> int:
    """Unpaid places past their deadline expire and pass to the next in order."""
    programme_ids = db.session.scalars(
        select(Application.programme_id)
        .where(
            Application.status == "held",
            Application.hold_expires_at <= now,
            Application.programme_id.is_not(None),
        )
        .distinct()
        .limit(limit)
    ).all()
    expired = 0
    for programme_id in programme_ids:
        programme = programmes.lock_programme(programme_id)
        due = db.session.scalars(
            select(Application).where(
                Application.programme_id == programme_id,
                Application.status == "held",
                Application.hold_expires_at <= now,
            )
        ).all()
        for application in due:
            application.status, application.decided_at = "expired", now
            programme.enrolled -= 1
            programme_notices.expired(programme, application, now)
            expired += 1
        db.session.flush()
        give_next(programme, now, drawn=programme.enrolment == "lottery")
    return expired


# The window's end and cancellation ---------------------------------------------------------


def settle_windows(now: datetime, limit: int = 100) -> int:
    """First-come programmes whose window has ended: fewer enrolled than the minimum cancels
    the programme (everyone told and refunded). Lottery programmes settle at their draw."""
    due = db.session.scalars(
        select(Programme.id)
        .where(
            Programme.status == "open",
            Programme.enrolment == "first_come",
            Programme.settled_at.is_(None),
            Programme.window_closes_at <= now,
        )
        .order_by(Programme.id)
        .limit(limit)
    ).all()
    for programme_id in due:
        settle(programmes.lock_programme(programme_id), now)
    return len(due)


def settle(programme: Programme, now: datetime) -> None:
    """The (locked) programme's window has ended: below its minimum it is cancelled."""
    programme.settled_at = now
    if programme.status == "open" and programme.enrolled < programme.min_enrolment:
        cancel_programme("system", programme, MINIMUM_NOT_MET, now)
    db.session.flush()


def _refund(application: Application, sessions_left: int, sessions_total: int) -> int:
    """What a cancellation gives back: a paid place's price for the sessions not held yet
    (everything before the term), nothing of an unpaid one."""
    if application.status != "enrolled" or sessions_total == 0:
        return 0
    return application.price * sessions_left // sessions_total


def cancel_programme(actor: User | str, programme: Programme, reason: str, now: datetime):
    """Cancel the (locked) programme: every live application is cancelled and told, paid
    places refunded for the sessions not held yet, the lottery (if not drawn) ends, and the
    sessions not begun give their ice back."""
    if programme.status != "open":
        raise Conflict("This programme was cancelled already", code="programme_cancelled")
    programme.status, programme.cancelled_at = "cancelled", now
    programme.cancel_reason = reason[:200]
    sessions = db.session.scalars(
        select(ProgrammeSession).where(ProgrammeSession.programme_id == programme.id)
    ).all()
    left = [s for s in sessions if s.status == "scheduled" and s.starts_at > now]
    applications = db.session.scalars(
        select(Application)
        .options(selectinload(Application.user))
        .where(Application.programme_id == programme.id, Application.status.in_(LIVE))
        .order_by(Application.id)
    ).all()
    refund_total = 0
    for application in applications:
        # On top of what closures already refunded for their sessions (share of the term).
        refund = _refund(application, len(left), len(sessions))
        application.refund_amount = (application.refund_amount or 0) + refund
        refund_total += refund
        application.status, application.decided_at = "cancelled", now
        programme_notices.cancelled(programme, application, now)
    programme.enrolled = 0
    for session in left:
        session.status = "cancelled"
    db.session.execute(
        update(Lottery)
        .where(Lottery.programme_id == programme.id, Lottery.status == "open")
        .values(status="cancelled")
    )
    db.session.flush()
    rink_time.release(programme, left)
    audit.record(
        actor,
        "programme.cancel",
        "programme",
        programme.id,
        now=now,
        before={"status": "open"},
        after={
            "status": "cancelled",
            "reason": reason,
            "applications_cancelled": len(applications),
            "refund_total": refund_total,
        },
    )
    return programme


def cancel_by_manager(actor: User, programme_id: int, reason: str, now: datetime) -> Programme:
    return cancel_programme(actor, programmes.lock_programme(programme_id), reason, now)
