"""Lesson programmes, set up by facility managers: a term of weekly sessions on one resource
(the ice they occupy, see ``rink_time``), places, prices for the term per price category, an
application window, enrolled first come or by lottery; and the dependents residents apply for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from core import audit
from core.errors import Conflict, NotFound, RuleViolation
from core.extensions import db
from core.lookup import find, get, in_range
from core.models import User
from facilities.models import (
    Application,
    Dependent,
    Facility,
    Lottery,
    Programme,
    ProgrammeSession,
)
from facilities.services import lottery_setup, rink_time
from facilities.services.catalog import get_facility, get_resource, parse_time
from facilities.services.local_time import is_public_holiday, local_date, local_to_utc, zone

MAX_TERM_DAYS = 366
# Every facility is in the city's zone (the facility schema offers no other).
CITY_TIME_ZONE = "Asia/Seoul"
# Edits that change who may apply or what they pay are refused once the window has opened.
_FROZEN_ONCE_OPEN = ("prices", "window_opens_at", "window_closes_at", "min_age", "max_age")
_EDITABLE = (
    "title",
    "level",
    "instructor",
    "capacity",
    "min_enrolment",
    "payment_hours",
    *_FROZEN_ONCE_OPEN,
)


def get_programme(programme_id: int, *, with_facility: bool = False) -> Programme:
    """The programme, or a 404; ``with_facility``: its facility read in the same query (an
    application's notice needs its name and time zone)."""
    if not with_facility:
        return get(Programme, programme_id)
    programme = None
    if in_range(programme_id):
        programme = db.session.scalar(
            select(Programme)
            .options(joinedload(Programme.facility))
            .where(Programme.id == programme_id)
        )
    if programme is None:
        raise NotFound(f"Programme {programme_id} not found")
    return programme


def lock_programme(programme_id: int) -> Programme:
    """The programme under its row lock (PostgreSQL; SQLite serializes writers anyway): its
    ``enrolled`` count changes only here."""
    get_programme(programme_id)  # a 404 for an unknown id, before locking anything
    return db.session.scalar(
        select(Programme)
        .where(Programme.id == programme_id)
        .with_for_update(of=Programme)
        .execution_options(populate_existing=True)
    )


def age_in_term(programme: Programme, birth_year: int) -> int:
    """Age as Korean public facilities count it for a term: the term's year minus the birth
    year (연 나이)."""
    return programme.term_start.year - birth_year


def window_state(programme: Programme, now: datetime) -> str:
    if now < programme.window_opens_at:
        return "not_open"
    if now < programme.window_closes_at:
        return "open"
    return "closed"


def session_times(programme: Programme) -> list[tuple[datetime, datetime, date]]:
    """Every session of the term: each day of the programme's weekdays, except Korean public
    holidays (no lessons then), at its local start time."""
    tz = programme.facility.timezone
    start = parse_time(programme.start_time)
    length = timedelta(minutes=programme.duration_minutes)
    times = []
    day = programme.term_start
    while day <= programme.term_end:
        if day.weekday() in programme.weekdays and not is_public_holiday(day):
            starts = local_to_utc(day, start, tz)
            times.append((starts, starts + length, day))
        day += timedelta(days=1)
    return times


def _check_schedule(programme: Programme, now: datetime) -> list[tuple]:
    if (programme.term_end - programme.term_start).days > MAX_TERM_DAYS:
        raise RuleViolation(
            "A term lasts at most a year", errors={"term_end": ["At most 366 days."]}
        )
    times = session_times(programme)
    if not times:
        raise RuleViolation(
            "The term has no session on these weekdays",
            code="no_sessions",
            errors={"weekdays": ["No session falls in the term."]},
        )
    if programme.window_closes_at > times[0][0]:
        raise RuleViolation(
            "Applications close before the first session",
            errors={"window_closes_at": ["Must be before the first session."]},
        )
    if programme.window_closes_at <= now:
        raise RuleViolation(
            "The application window must end in the future",
            errors={"window_closes_at": ["Already past."]},
        )
    return times


def _state(programme: Programme) -> dict:
    values = {name: getattr(programme, name) for name in _EDITABLE}
    for name in ("window_opens_at", "window_closes_at"):
        values[name] = values[name].isoformat()
    return values


def create_programme(actor: User, data: dict, now: datetime) -> Programme:
    """A manager sets up a programme: its sessions take their ice (``rink_time.occupy``), and
    a lottery programme gets its lottery, whose commitment is public from now on."""
    data = dict(data)
    facility = get_facility(data.pop("facility_id"))
    resource = get_resource(data.pop("resource_id"), facility)
    groups = data.pop("priority_groups", None)
    second_ticket = data.pop("second_ticket", False)
    previous_id = data.get("previous_programme_id")
    if previous_id is not None:
        previous = find(Programme, previous_id)
        if previous is None or previous.facility_id != facility.id:
            raise RuleViolation(
                "No such programme at this facility",
                errors={"previous_programme_id": [f"No programme {previous_id} here."]},
            )
    if second_ticket and (data["enrolment"] != "lottery" or previous_id is None):
        raise RuleViolation(
            "A second ticket needs a lottery and the previous term's programme",
            errors={"second_ticket": ["Needs enrolment 'lottery' and previous_programme_id."]},
        )
    programme = Programme(
        facility=facility,
        resource=resource,
        facility_id=facility.id,
        resource_id=resource.id,
        status="open",
        enrolled=0,
        created_at=now,
        created_by_id=actor.id,
        **data,
    )
    if resource.exclusive:
        programme.rink_places = 1
    times = _check_schedule(programme, now)
    db.session.add(programme)
    db.session.flush()
    sessions = [
        ProgrammeSession(
            programme_id=programme.id,
            resource_id=resource.id,
            starts_at=starts,
            ends_at=ends,
            local_date=day,
            places=programme.rink_places,
            status="scheduled",
        )
        for starts, ends, day in times
    ]
    rink_time.occupy(programme, sessions)
    db.session.add_all(sessions)
    if programme.enrolment == "lottery":
        lottery_setup.open_lottery(
            facility_id=facility.id,
            places=programme.capacity,
            opens=programme.window_opens_at,
            closes=programme.window_closes_at,
            now=now,
            groups=groups,
            second_ticket=second_ticket,
            programme_id=programme.id,
        )
    db.session.flush()
    audit.record(
        actor,
        "programme.create",
        "programme",
        programme.id,
        now=now,
        after={**_state(programme), "sessions": len(sessions), "enrolment": programme.enrolment},
    )
    return programme


def update_programme(actor: User, programme_id: int, changes: dict, now: datetime) -> Programme:
    """A manager edits a programme: never below the places already given; what applicants
    relied on (prices, age band, window) only before the window opens."""
    programme = lock_programme(programme_id)
    if programme.status != "open":
        raise Conflict("This programme was cancelled", code="programme_cancelled")
    # A value given as it is stored is no change (a page's form sends every field it shows).
    changes = {name: value for name, value in changes.items() if getattr(programme, name) != value}
    opened = now >= programme.window_opens_at
    frozen = sorted(name for name in changes if name in _FROZEN_ONCE_OPEN and opened)
    if frozen:
        raise RuleViolation(
            "These change no more once the application window has opened",
            code="window_opened",
            errors={name: ["The application window has opened."] for name in frozen},
        )
    lottery = programme_lottery(programme.id)
    if "capacity" in changes:
        if changes["capacity"] < programme.enrolled:
            raise RuleViolation(
                "Fewer places than already given",
                errors={"capacity": [f"{programme.enrolled} places are given already."]},
            )
        if lottery is not None and lottery.is_drawn:
            raise RuleViolation(
                "The draw has run: its places stay as drawn",
                code="lottery_drawn",
                errors={"capacity": ["The lottery was drawn."]},
            )
    before = _state(programme)
    for name, value in changes.items():
        setattr(programme, name, value)
    if programme.min_age > programme.max_age:
        raise RuleViolation(
            "The age band is upside down",
            errors={"min_age": [f"At most max_age ({programme.max_age})."]},
        )
    if programme.min_enrolment > programme.capacity:
        raise RuleViolation(
            "The minimum is more than the places",
            errors={"min_enrolment": [f"At most {programme.capacity}."]},
        )
    if "window_opens_at" in changes or "window_closes_at" in changes:
        if programme.window_closes_at <= programme.window_opens_at:
            raise RuleViolation(
                "The window closes after it opens", errors={"window_closes_at": ["Too early."]}
            )
        _check_schedule(programme, now)
    if lottery is not None:
        lottery.places = programme.capacity
        lottery.window_opens_at = programme.window_opens_at
        lottery.window_closes_at = programme.window_closes_at
    db.session.flush()
    audit.record(
        actor,
        "programme.update",
        "programme",
        programme.id,
        now=now,
        before=before,
        after=_state(programme),
    )
    return programme


def programme_lottery(programme_id: int) -> Lottery | None:
    return db.session.scalar(select(Lottery).where(Lottery.programme_id == programme_id))


def query_programmes(
    now: datetime,
    *,
    facility_id: int | None = None,
    level: str | None = None,
    age: int | None = None,
    open_for_application: bool | None = None,
) -> Select:
    """Programmes not cancelled whose term has not ended, soonest term first. ``age``: those
    whose age band includes it; ``open_for_application``: those whose window is open now (or,
    when false, not open now)."""
    today = local_date(now, CITY_TIME_ZONE)
    stmt = select(Programme).where(Programme.status == "open", Programme.term_end >= today)
    if facility_id is not None:
        stmt = stmt.where(Programme.facility_id == facility_id)
    if level is not None:
        stmt = stmt.where(Programme.level == level)
    if age is not None:
        stmt = stmt.where(Programme.min_age <= age, Programme.max_age >= age)
    if open_for_application is not None:
        is_open = (Programme.window_opens_at <= now) & (Programme.window_closes_at > now)
        stmt = stmt.where(is_open if open_for_application else ~is_open)
    return stmt.order_by(Programme.term_start, Programme.id)


def describe(programme: Programme, now: datetime) -> dict:
    """A programme as residents and machines see it."""
    sessions = db.session.execute(
        select(func.count(), func.min(ProgrammeSession.starts_at)).where(
            ProgrammeSession.programme_id == programme.id,
            ProgrammeSession.status == "scheduled",
        )
    ).one()
    lottery = programme_lottery(programme.id)
    tz = zone(programme.facility.timezone)
    return {
        "programme": programme,
        "remaining": programme.remaining,
        "window": {
            "opens_at": programme.window_opens_at,
            "closes_at": programme.window_closes_at,
            "state": window_state(programme, now),
        },
        "lottery_id": lottery.id if lottery else None,
        "sessions": sessions[0],
        "first_session": sessions[1].astimezone(tz) if sessions[1] else None,
    }


def list_programmes(now: datetime, *, page: Callable[[Select], Iterable], **filters) -> list:
    """The programmes ``query_programmes`` finds, the page the door's ``page`` takes of them,
    described."""
    return [describe(programme, now) for programme in page(query_programmes(now, **filters))]


def programme_details(programme_id: int, now: datetime) -> dict:
    return describe(get_programme(programme_id), now)


# What the residents' pages show (``facilities.programme_pages``) ---------------------------

PAGE_SIZE = 100


def browse(now: datetime, **filters) -> dict:
    """The programmes page: the first ``PAGE_SIZE`` programmes the API's filters find, and
    the facilities to filter by."""
    found = list_programmes(
        now, page=lambda stmt: db.session.scalars(stmt.limit(PAGE_SIZE)), **filters
    )
    facilities = db.session.scalars(select(Facility).order_by(Facility.id)).all()
    return {"programmes": found, "facilities": facilities}


def application_form(user: User | None, programme_id: int, now: datetime) -> dict:
    """A programme's page: its details and, for a signed-in person, the dependents they can
    apply for."""
    return {
        **programme_details(programme_id, now),
        "dependents": list_dependents(user) if user is not None else [],
    }


# Dependents ------------------------------------------------------------------------------


def add_dependent(user: User, name: str, birth_year: int, now: datetime) -> Dependent:
    existing = db.session.scalar(
        select(Dependent.id).where(Dependent.user_id == user.id, Dependent.name == name)
    )
    if existing is not None:
        raise Conflict(
            "You already have a dependent of this name",
            code="dependent_exists",
            errors={"name": ["Already registered."]},
        )
    dependent = Dependent(user_id=user.id, name=name, birth_year=birth_year, created_at=now)
    db.session.add(dependent)
    db.session.flush()
    return dependent


def list_dependents(user: User) -> list[Dependent]:
    return db.session.scalars(
        select(Dependent).where(Dependent.user_id == user.id).order_by(Dependent.id)
    ).all()


def get_dependent(user: User, dependent_id: int) -> Dependent:
    dependent = find(Dependent, dependent_id)
    if dependent is None or dependent.user_id != user.id:
        raise RuleViolation(
            "No such dependent of yours",
            code="dependent_unknown",
            errors={"dependent_id": [f"No dependent {dependent_id} of yours."]},
        )
    return dependent


def for_managers(facility_id: int) -> list[dict]:
    """A facility's programmes for its managers (cancelled ones too), latest term first, each
    with its places given (``enrolled``: held or paid), ``capacity`` and how many wait."""
    get_facility(facility_id)
    found = db.session.scalars(
        select(Programme)
        .where(Programme.facility_id == facility_id)
        .order_by(Programme.term_start.desc(), Programme.id.desc())
    ).all()
    waiting = dict(
        db.session.execute(
            select(Application.programme_id, func.count(Application.id))
            .where(
                Application.programme_id.in_([p.id for p in found] or [0]),
                Application.status == "waiting",
            )
            .group_by(Application.programme_id)
        ).all()
    )
    return [{"programme": p, "waiting": waiting.get(p.id, 0)} for p in found]


def sessions_of(programme_id: int) -> list[ProgrammeSession]:
    """A programme's sessions in time order (scheduled and cancelled)."""
    return db.session.scalars(
        select(ProgrammeSession)
        .where(ProgrammeSession.programme_id == programme_id)
        .order_by(ProgrammeSession.starts_at)
    ).all()
