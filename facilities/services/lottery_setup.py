"""Making a lottery: its secret seed and the commitment published from then on.

Kept apart from the draw (``lotteries``) so that whatever opens a lottery (a programme, a
session of an ``allocation: lottery`` template) needs nothing of what runs it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, bindparam, exists, or_, select

from core.errors import Conflict, RuleViolation
from core.extensions import db
from facilities.models import PRIORITY_GROUPS, Application, Lottery
from facilities.services import draws

DEFAULT_GROUPS = ("resident", "everyone")


def check_groups(groups: list[str]) -> list[str]:
    """Priority groups in their order: known, each once, ending with ``everyone`` so that
    every applicant is in a group."""
    groups = list(groups)
    if (
        not groups
        or len(set(groups)) != len(groups)
        or not set(groups) <= set(PRIORITY_GROUPS)
        or groups[-1] != "everyone"
    ):
        raise RuleViolation(
            "Priority groups are resident and everyone, in order, ending with everyone",
            code="priority_groups_invalid",
            errors={"priority_groups": ['Use ["resident", "everyone"] or ["everyone"].']},
        )
    return groups


def group_of(groups: list[str], *, verified_resident: bool) -> str:
    """The first of the lottery's groups the applicant belongs to."""
    for group in groups:
        if group == "everyone" or (group == "resident" and verified_resident):
            return group
    return groups[-1]


def open_lottery(
    *,
    facility_id: int,
    places: int,
    opens: datetime,
    closes: datetime,
    now: datetime,
    groups: list[str] | None = None,
    second_ticket: bool = False,
    programme_id: int | None = None,
    slot_id: int | None = None,
) -> Lottery:
    """A lottery with a fresh secret seed; its commitment is public from now on."""
    seed = draws.new_seed()
    lottery = Lottery(
        facility_id=facility_id,
        programme_id=programme_id,
        slot_id=slot_id,
        places=places,
        window_opens_at=opens,
        window_closes_at=closes,
        priority_groups=check_groups(groups or DEFAULT_GROUPS),
        second_ticket=second_ticket,
        procedure=draws.PROCEDURE,
        commitment=draws.commitment(seed),
        seed=seed,
        status="open",
        created_at=now,
    )
    db.session.add(lottery)
    db.session.flush()
    return lottery


# The slot's places are the lottery's: applications are open, or drawn people still wait for
# an unpaid place (it goes to the next in the drawn order, not to whoever books first).
_HELD_BY_LOTTERY = select(Lottery.id).where(
    Lottery.slot_id == bindparam("slot_id"),
    or_(
        Lottery.status == "open",
        and_(
            Lottery.status == "drawn",
            exists().where(Application.lottery_id == Lottery.id, Application.status == "waiting"),
        ),
    ),
)


def refuse_if_drawn_by_lottery(slot_id: int) -> None:
    """A session of an ``allocation: lottery`` template is not booked first come while its
    lottery holds its places (409 ``slot_by_lottery``, naming the lottery)."""
    lottery_id = db.session.scalar(_HELD_BY_LOTTERY, {"slot_id": slot_id})
    if lottery_id is not None:
        raise Conflict(
            "This session's places are drawn by lottery: apply to the lottery",
            code="slot_by_lottery",
            errors={"slot_id": [f"Apply to lottery {lottery_id}."]},
        )
