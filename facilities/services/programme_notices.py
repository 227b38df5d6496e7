"""Korean notification texts for programme applications and lottery outcomes, sent through
the core outbox like the booking notices."""

from __future__ import annotations

from datetime import datetime

from core.models import User
from core.notifications import notify, notify_many
from facilities.models import Application, Programme
from facilities.services.notices import when


def _what(programme: Programme) -> str:
    return (
        f"{programme.facility.name} {programme.title} "
        f"({programme.term_start:%Y.%m.%d}~{programme.term_end:%Y.%m.%d})"
    )


def _for(application: Application) -> str:
    return f"{application.participant_name}님의 신청(번호 {application.id})"


def received(programme: Programme, application: Application, now: datetime) -> None:
    if application.status == "applied":
        then = when(programme.window_closes_at, programme.facility.timezone)
        detail = f"신청 마감({then}) 후 추첨하며 결과를 알려 드립니다."
    elif application.status == "waiting":
        detail = f"정원이 차서 대기 {application.draw_position}번으로 등록되었습니다."
    else:
        return  # a place given at once is told by place_held / enrolled
    notify(
        application.user,
        "programme_applied",
        "[해피허브] 강습 신청이 접수되었습니다",
        f"{_what(programme)} {_for(application)}이 접수되었습니다. {detail}",
        now=now,
    )


def _place_held_message(programme: Programme, application: Application, drawn: bool):
    tz = programme.facility.timezone
    how = "추첨에 당첨되었습니다" if drawn else "자리가 확보되었습니다"
    return (
        application.user,
        "programme_place_held",
        f"[해피허브] 강습 {how}",
        f"{_what(programme)} {_for(application)}이 {how}. "
        f"{when(application.hold_expires_at, tz)}까지 {application.price:,}원을 결제해 주세요. "
        "기한이 지나면 다음 순번에게 자리가 넘어갑니다.",
    )


def place_held(programme: Programme, application: Application, now: datetime, *, drawn: bool):
    place_held_all(programme, [application], now, drawn=drawn)


def place_held_all(programme: Programme, applications, now: datetime, *, drawn: bool) -> None:
    """Places held for payment (the draw's winners, the next in order): one statement."""
    notify_many((_place_held_message(programme, a, drawn) for a in applications), now=now)


def enrolled(programme: Programme, application: Application, now: datetime) -> None:
    notify(
        application.user,
        "programme_enrolled",
        "[해피허브] 강습 등록이 확정되었습니다",
        f"{_what(programme)} {_for(application)}의 등록이 확정되었습니다.",
        now=now,
    )


def lost_all(programme: Programme, losers: list[tuple[int, str, int, User]], now: datetime):
    """Everyone the draw gave no place, ``(number, participant's name, place in the order,
    person)``, is told where they wait, in one statement."""
    what = _what(programme)
    notify_many(
        (
            (
                user,
                "programme_lost",
                "[해피허브] 강습 추첨 결과를 알려 드립니다",
                f"{what} {name}님의 신청(번호 {number})은 추첨되지 않았습니다. "
                f"대기 {position}번입니다: 결제되지 않은 자리는 추첨 순서대로 넘어갑니다.",
            )
            for number, name, position, user in losers
        ),
        now=now,
    )


def expired(programme: Programme, application: Application, now: datetime) -> None:
    notify(
        application.user,
        "programme_expired",
        "[해피허브] 결제 기한이 지나 강습 자리가 취소되었습니다",
        f"{_what(programme)} {_for(application)}은 결제 기한이 지나 취소되었습니다.",
        now=now,
    )


def cancelled(programme: Programme, application: Application, now: datetime) -> None:
    refund = application.refund_amount or 0
    notify(
        application.user,
        "programme_cancelled",
        "[해피허브] 강습이 취소되었습니다",
        f"{_what(programme)}이 취소되어 {_for(application)}도 취소되었습니다. "
        f"환불 금액: {refund:,}원 (사유: {programme.cancel_reason})",
        now=now,
    )


def sessions_refunded(
    programme: Programme, application: Application, amount: int, sessions: int, now: datetime
) -> None:
    notify(
        application.user,
        "programme_sessions_refunded",
        "[해피허브] 휴장으로 취소된 강습 회차를 환불해 드립니다",
        f"{_what(programme)}의 {sessions}회차가 휴장으로 취소되어 {_for(application)}에 "
        f"{amount:,}원을 환불해 드립니다.",
        now=now,
    )
