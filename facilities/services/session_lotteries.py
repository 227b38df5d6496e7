"""Lotteries for the sessions of ``allocation: lottery`` templates (the weekend curling sheets):
residents apply with their party while the window is open; at the draw (``lotteries.draw``)
the drawn order takes the session's places, each winner getting a held booking to pay by a
deadline; an unpaid one passes to the next in the drawn order whose party fits; the rest
wait in that order. Those still waiting when the session starts are closed and told
(``close_started``).

How long a winner has to pay is the ``FACILITIES_SESSION_LOTTERY_PAYMENT_HOURS`` setting
(``FacilitySettings.session_lottery_payment_hours``); the jobs pass it in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from core.errors import Conflict, NotFound, RuleViolation
from core.extensions import db
from core.lookup import find
from core.models import User
from core.notifications import notify_many
from facilities.models import Application, Booking, Lottery, Slot
from facilities.services import capacity, enrolments, notices, pricing, user_rules
from facilities.services.lottery_setup import group_of

# How long a drawn session's winner has to pay by default (never past the session's start);
# the setting FACILITIES_SESSION_LOTTERY_PAYMENT_HOURS has the same default.
PAYMENT_HOURS = 24


APPLY_SCOPE = "lotteries.apply"


def apply_once(
    user: User,
    lottery_id: int,
    party: dict,
    *,
    idempotency_key: str | None,
    now: datetime,
    render: Callable[[dict], dict],
) -> tuple[dict, int]:
    """``apply`` once per Idempotency-Key (see ``enrolments.created_once``)."""
    return enrolments.created_once(
        APPLY_SCOPE,
        user,
        idempotency_key=idempotency_key,
        payload={"lottery_id": lottery_id, "party": party},
        now=now,
        make=lambda: apply(user, lottery_id, party, now),
        render=render,
    )


def apply(user: User, lottery_id: int, party: dict, now: datetime) -> Application:
    """Apply to a session's lottery while its window is open, once per person."""
    lottery = find(Lottery, lottery_id)
    if lottery is None or lottery.slot_id is None:
        raise NotFound(f"Session lottery {lottery_id} not found")
    if lottery.status != "open" or not lottery.window_opens_at <= now < lottery.window_closes_at:
        code = "window_not_open" if now < lottery.window_opens_at else "window_closed"
        raise RuleViolation(
            "Applications are not open", code=code, errors={"lottery_id": ["Not open now."]}
        )
    user_rules.check_not_suspended(user.id, now)
    slot = capacity.find_slot(lottery.slot_id)
    pricing.validate_party(party, slot.facility.rules)
    price, _ = pricing.for_slot(slot, party, verified_resident=user.is_verified_resident)
    application = Application(
        lottery_id=lottery.id,
        user_id=user.id,
        participant=f"u{user.id}",
        participant_name=user.name,
        party={k: v for k, v in party.items() if v},
        priority_group=group_of(
            lottery.priority_groups, verified_resident=user.is_verified_resident
        ),
        tickets=1,
        status="applied",
        price=price,
        created_at=now,
    )
    db.session.add(application)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("You have applied to this lottery already", code="already_applied") from None
    return application


def _units(slot: Slot, application: Application) -> int:
    return 1 if slot.resource.exclusive else sum(application.party.values())


def _give(slot: Slot, application: Application, now: datetime, payment_hours: int) -> Booking:
    """A held booking of the (locked) slot for the application's party, to pay by the
    deadline."""
    booking = capacity.add_booking(
        slot,
        user_id=application.user_id,
        facility_id=slot.facility_id,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        local_date=slot.local_date,
        is_exclusive=slot.resource.exclusive,
        party=application.party,
        party_size=sum(application.party.values()),
        units=_units(slot, application),
        status="held",
        price=application.price,
        price_lines=[],
        hold_expires_at=min(now + timedelta(hours=payment_hours), slot.starts_at),
        created_at=now,
    )
    application.status, application.booking_id, application.decided_at = "held", booking.id, now
    application.hold_expires_at = booking.hold_expires_at
    notices.booking_held(booking, now)
    return booking


def give_places(
    lottery: Lottery, slot: Slot, now: datetime, payment_hours: int = PAYMENT_HOURS
) -> list[Application]:
    """The (locked) slot's free places to the waiting applications in the drawn order, each
    whose party fits (a team of four does not fit in two places; the next one may)."""
    if slot.status != "open" or now >= slot.starts_at:
        return []
    waiting = db.session.scalars(
        select(Application)
        .options(selectinload(Application.user))
        .where(Application.lottery_id == lottery.id, Application.status == "waiting")
        .order_by(Application.draw_position)
        .execution_options(populate_existing=True)
    ).all()
    given = []
    for application in waiting:
        if slot.remaining >= _units(slot, application):
            _give(slot, application, now, payment_hours)
            given.append(application)
        if slot.remaining <= 0:
            break
    db.session.flush()
    return given


def allocate(
    lottery: Lottery, order: list[int], now: datetime, payment_hours: int = PAYMENT_HOURS
) -> None:
    """After the draw: places to the first in the order, the others told where they wait."""
    slot = capacity.lock_slot(lottery.slot_id)
    won = {a.id for a in give_places(lottery, slot, now, payment_hours)}
    losers = db.session.scalars(
        select(Application)
        .options(selectinload(Application.user))
        .where(Application.lottery_id == lottery.id, Application.id.not_in(won or {0}))
        .where(Application.status == "waiting")
        .order_by(Application.draw_position)
    ).all()
    when = notices.when(slot.starts_at, slot.facility.timezone)
    notify_many(
        (
            (
                a.user,
                "session_lottery_lost",
                "[해피허브] 추첨 결과를 알려 드립니다",
                f"{slot.facility.name} {slot.resource.name} {when} 추첨에서 신청(번호 {a.id})은 "
                f"당첨되지 않았습니다. 대기 {a.draw_position}번입니다.",
            )
            for a in losers
        ),
        now=now,
    )


def pass_on(now: datetime, limit: int = 200, payment_hours: int = PAYMENT_HOURS) -> int:
    """Held session places whose booking was paid become enrolled; those whose booking
    expired or was cancelled pass to the next in the drawn order. Answers how many passed."""
    rows = db.session.execute(
        select(Application, Booking.status)
        .join(Booking, Booking.id == Application.booking_id)
        .where(
            Application.status == "held",
            Application.lottery_id.is_not(None),
            Booking.status != "held",
        )
        .limit(limit)
    ).all()
    passed = 0
    lotteries = set()
    for application, status in rows:
        if status in ("confirmed", "checked_in", "no_show"):
            application.status = "enrolled"
        else:
            application.status, application.decided_at = "expired", now
            lotteries.add(application.lottery_id)
            passed += 1
    db.session.flush()
    for lottery_id in sorted(lotteries):
        lottery = db.session.get(Lottery, lottery_id)
        give_places(lottery, capacity.lock_slot(lottery.slot_id), now, payment_hours)
    return passed


def close_started(now: datetime, limit: int = 500) -> int:
    """Applications of session lotteries still waiting (or never drawn) when their session
    has started are closed: no place can come to them any more. Each person is told.
    Answers how many were closed."""
    rows = db.session.execute(
        select(Application, Slot)
        .join(Lottery, Lottery.id == Application.lottery_id)
        .join(Slot, Slot.id == Lottery.slot_id)
        .options(selectinload(Application.user))
        .where(Application.status.in_(("waiting", "applied")), Slot.starts_at <= now)
        .order_by(Application.id)
        .limit(limit)
    ).all()
    told = []
    for application, slot in rows:
        application.status, application.decided_at = "closed", now
        when = notices.when(slot.starts_at, slot.facility.timezone)
        told.append(
            (
                application.user,
                "session_lottery_closed",
                "[해피허브] 추첨 대기가 끝났습니다",
                f"{slot.facility.name} {slot.resource.name} {when} 회차가 시작되어 신청(번호 "
                f"{application.id})의 대기가 끝났습니다. 자리가 나지 않아 예약되지 않았습니다.",
            )
        )
    db.session.flush()
    notify_many(told, now=now)
    return len(rows)
