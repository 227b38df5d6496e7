"""Running lotteries: the draw at the window's close, what is published, its verification, and
the report of applications against places.

The draw (``draw``) follows ``draws`` exactly: the applications still in the running when the
window closed are published with their number, priority group and tickets, the order is
``draws.draw(seed, those, groups)``, and the lottery row keeps the seed, the applications and
the order, which a database trigger then keeps from ever changing. The first ``places`` in
the order get a place held for payment; the others wait in that order, and an unpaid place
passes to the next (``enrolments.give_next``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import lazyload

from core import audit
from core.errors import Conflict, NotFound
from core.extensions import db
from core.lookup import find
from core.models import User
from facilities.models import Application, Lottery, Programme
from facilities.services import (
    draws,
    enrolments,
    programme_notices,
    programmes,
    session_lotteries,
)


def get_lottery(lottery_id: int) -> Lottery:
    lottery = find(Lottery, lottery_id)
    if lottery is None:
        raise NotFound(f"Lottery {lottery_id} not found")
    return lottery


def _lock(lottery_id: int) -> Lottery:
    return db.session.scalar(
        select(Lottery)
        .where(Lottery.id == lottery_id)
        .with_for_update(of=Lottery)
        .execution_options(populate_existing=True)
    )


def state(lottery: Lottery, now: datetime) -> str:
    """``scheduled`` before the window, ``open`` during it, ``closed`` until the draw runs,
    then ``drawn`` (or ``cancelled``)."""
    if lottery.status != "open":
        return lottery.status
    if now < lottery.window_opens_at:
        return "scheduled"
    if now < lottery.window_closes_at:
        return "open"
    return "closed"


def describe(lottery: Lottery, now: datetime) -> dict:
    """What anyone may see: the state, window, places and commitment; after the draw the seed,
    the applications as drawn and the order of their numbers."""
    applications = db.session.scalar(
        select(func.count()).where(
            Application.lottery_id == lottery.id, Application.status != "withdrawn"
        )
    )
    drawn = lottery.is_drawn
    return {
        "id": lottery.id,
        "programme_id": lottery.programme_id,
        "slot_id": lottery.slot_id,
        "state": state(lottery, now),
        "window": {"opens_at": lottery.window_opens_at, "closes_at": lottery.window_closes_at},
        "places": lottery.places,
        "applications": applications,
        "priority_groups": lottery.priority_groups,
        "second_ticket": lottery.second_ticket,
        "procedure": lottery.procedure,
        "commitment": lottery.commitment,
        "seed": lottery.seed if drawn else None,
        "drawn_at": lottery.drawn_at,
        "published_applications": lottery.published_applications if drawn else None,
        "order": lottery.published_order if drawn else None,
        "applications_digest": lottery.applications_digest if drawn else None,
    }


def lottery_details(lottery_id: int, now: datetime) -> dict:
    return describe(get_lottery(lottery_id), now)


def run_due(
    now: datetime, limit: int = 50, payment_hours: int = session_lotteries.PAYMENT_HOURS
) -> int:
    """Draw every lottery whose window has closed (the periodic job)."""
    due = db.session.scalars(
        select(Lottery.id)
        .where(Lottery.status == "open", Lottery.window_closes_at <= now)
        .order_by(Lottery.window_closes_at, Lottery.id)
        .limit(limit)
    ).all()
    for lottery_id in due:
        draw(lottery_id, now, payment_hours)
    return len(due)


def draw(
    lottery_id: int, now: datetime, payment_hours: int = session_lotteries.PAYMENT_HOURS
) -> Lottery:
    """Draw the lottery (its window has closed): publish, order, give places, tell everyone.
    A session's winners have ``payment_hours`` to pay (the setting, passed by the job).

    Thousands of applications may take part: they are read as plain rows and their places in
    the order written with one statement, rather than loaded and flushed one by one."""
    lottery = _lock(lottery_id)
    if lottery is None or lottery.status != "open" or now < lottery.window_closes_at:
        return lottery
    programme = None
    if lottery.programme_id is not None:
        programme = programmes.lock_programme(lottery.programme_id)
    entries = db.session.execute(
        select(
            Application.id,
            Application.priority_group,
            Application.tickets,
            Application.user_id,
            Application.participant_name,
        )
        .where(Application.lottery_id == lottery.id, Application.status == "applied")
        .order_by(Application.id)
    ).all()
    published = [draws.PublishedApplication(e.id, e.priority_group, e.tickets) for e in entries]
    order = draws.draw(lottery.seed, published, lottery.priority_groups)
    lottery.status, lottery.drawn_at = "drawn", now
    lottery.published_applications = [a.to_json() for a in published]
    lottery.published_order = order
    lottery.applications_digest = draws.applications_digest(published)
    db.session.flush()
    if order:
        db.session.execute(
            _PLACE_IN_ORDER,
            [{"number": n, "position": i} for i, n in enumerate(order, start=1)],
        )
    audit.record(
        "system",
        "lottery.draw",
        "lottery",
        lottery.id,
        now=now,
        after={
            "commitment": lottery.commitment,
            "seed": lottery.seed,
            "applications": len(order),
            "applications_digest": lottery.applications_digest,
            "places": lottery.places,
        },
    )
    if programme is not None:
        _allocate_programme(programme, order, {e.id: e for e in entries}, now)
    else:
        session_lotteries.allocate(lottery, order, now, payment_hours)
    return lottery


_applications = Application.__table__
# Every drawn application waits at its place in the order; the first ones then get places.
_PLACE_IN_ORDER = (
    _applications.update()
    .where(_applications.c.id == bindparam("number"))
    .values(status="waiting", draw_position=bindparam("position"))
)


def _allocate_programme(programme: Programme, order, entries, now: datetime) -> None:
    """Places to the first in the order, the others told where they wait; a programme that
    cannot reach its minimum is cancelled instead (everyone told)."""
    if min(len(order), programme.capacity) < programme.min_enrolment:
        enrolments.settle(programme, now)
        return
    won = {a.id for a in enrolments.give_next(programme, now, drawn=True)}
    losing = [number for number in order if number not in won]
    users = {
        user.id: user
        for user in db.session.scalars(
            select(User)
            .options(lazyload(User.role_rows))
            .where(User.id.in_({entries[n].user_id for n in losing}))
        )
    }
    losers = [
        (n, entries[n].participant_name, position, users[entries[n].user_id])
        for position, n in enumerate(order, start=1)
        if n not in won
    ]
    programme_notices.lost_all(programme, losers, now)
    enrolments.settle(programme, now)


def verify(lottery_id: int) -> dict:
    """Recompute a drawn lottery from what it published (``draws.verify``), and check that the
    published applications are the lottery's applications as stored (numbers, groups,
    tickets): the answer of ``lottery-verify`` and the verification page."""
    lottery = get_lottery(lottery_id)
    if not lottery.is_drawn:
        raise Conflict("This lottery has not been drawn yet", code="lottery_not_drawn")
    try:
        published = [
            draws.PublishedApplication.from_json(a) for a in lottery.published_applications
        ]
        result = draws.verify(
            seed=lottery.seed,
            published_commitment=lottery.commitment,
            applications=published,
            groups=lottery.priority_groups,
            published_order=lottery.published_order,
        )
    except draws.DrawInputError as error:
        return {"lottery_id": lottery.id, "ok": False, "problem": str(error)}
    stored = {
        a.id: (a.priority_group, a.tickets)
        for a in db.session.scalars(
            select(Application).where(
                Application.lottery_id == lottery.id,
                Application.draw_position.is_not(None),
            )
        )
    }
    listed = {a.number: (a.group, a.tickets) for a in published}
    rows_match = stored == listed
    return {
        "lottery_id": lottery.id,
        "procedure": lottery.procedure,
        "commitment": lottery.commitment,
        "seed": lottery.seed,
        "commitment_matches": result.commitment_matches,
        "order_matches": result.order_matches,
        "first_difference": result.first_difference,
        "applications_match": rows_match,
        "applications": len(published),
        "ok": result.ok and rows_match,
    }


def public_page(lottery_id: int, now: datetime) -> dict:
    """What the lottery's public page shows: its description and, once drawn, the draw
    recomputed (``verify``) with the published order position by position."""
    lottery = get_lottery(lottery_id)
    described = describe(lottery, now)
    checked = verify(lottery.id) if lottery.is_drawn else None
    rows = []
    if lottery.is_drawn:
        listed = {a["number"]: a for a in lottery.published_applications}
        rows = [
            {"position": i, **listed[number]}
            for i, number in enumerate(lottery.published_order, start=1)
            if number in listed
        ]
    programme = db.session.get(Programme, lottery.programme_id) if lottery.programme_id else None
    return {"lottery": described, "verification": checked, "rows": rows, "programme": programme}


def report(facility_id: int | None = None) -> list[dict]:
    """Applications against places per programme and priority group: how many applied, how
    many got a place (held or paid), how many wait."""
    stmt = (
        select(
            Programme.id,
            Programme.title,
            Programme.capacity,
            Programme.enrolment,
            Application.priority_group,
            Application.status,
            func.count(Application.id),
        )
        .join(Application, Application.programme_id == Programme.id)
        .where(Application.status != "withdrawn")
        .group_by(
            Programme.id,
            Programme.title,
            Programme.capacity,
            Programme.enrolment,
            Application.priority_group,
            Application.status,
        )
        .order_by(Programme.id)
    )
    if facility_id is not None:
        stmt = stmt.where(Programme.facility_id == facility_id)
    rows: dict[tuple, dict] = {}
    for pid, title, places, mode, group, status, count in db.session.execute(stmt):
        row = rows.setdefault(
            (pid, group or "everyone"),
            {
                "programme_id": pid,
                "title": title,
                "places": places,
                "enrolment": mode,
                "group": group or "everyone",
                "applications": 0,
                "placed": 0,
                "waiting": 0,
            },
        )
        row["applications"] += count
        row["placed"] += count if status in ("held", "enrolled") else 0
        row["waiting"] += count if status == "waiting" else 0
    return list(rows.values())
