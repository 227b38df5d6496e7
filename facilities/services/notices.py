"""Korean notification texts for every booking event, sent through the core outbox."""

from __future__ import annotations

from datetime import datetime

from core.notifications import notify
from facilities.models import Booking, Closure, Slot, Suspension, WaitlistEntry
from facilities.services.local_time import zone

WEEKDAYS = "월화수목금토일"


def when(moment: datetime, tz: str) -> str:
    local = moment.astimezone(zone(tz))
    return (
        f"{local.year}년 {local.month}월 {local.day}일 ({WEEKDAYS[local.weekday()]}) {local:%H:%M}"
    )


def _what(slot: Slot) -> str:
    facility = slot.facility
    return f"{facility.name} {slot.resource.name} {when(slot.starts_at, facility.timezone)}"


def booking_held(booking: Booking, now: datetime) -> None:
    tz = booking.slot.facility.timezone
    notify(
        booking.user,
        "booking_held",
        "[해피허브] 예약이 임시 확보되었습니다",
        f"{_what(booking.slot)} 예약(번호 {booking.id})이 임시 확보되었습니다. "
        f"{when(booking.hold_expires_at, tz)}까지 결제하지 않으면 자동 취소됩니다. "
        f"결제 금액: {booking.price:,}원",
        now=now,
    )


def booking_confirmed(booking: Booking, now: datetime) -> None:
    notify(
        booking.user,
        "booking_confirmed",
        "[해피허브] 예약이 확정되었습니다",
        f"{_what(booking.slot)} 예약(번호 {booking.id})이 확정되었습니다. "
        f"입장 시 예약 화면의 QR 코드를 보여 주세요.",
        now=now,
    )


def booking_cancelled(booking: Booking, now: datetime) -> None:
    refund = booking.refund_amount or 0
    notify(
        booking.user,
        "booking_cancelled",
        "[해피허브] 예약이 취소되었습니다",
        f"{_what(booking.slot)} 예약(번호 {booking.id})이 취소되었습니다. "
        f"환불 금액: {refund:,}원"
        + (f" (사유: {booking.cancel_reason})" if booking.cancel_reason else ""),
        now=now,
    )


def booking_expired(booking: Booking, now: datetime) -> None:
    notify(
        booking.user,
        "booking_expired",
        "[해피허브] 결제 시간이 지나 예약이 취소되었습니다",
        f"{_what(booking.slot)} 예약(번호 {booking.id})은 결제 기한이 지나 자동 취소되었습니다.",
        now=now,
    )


def waitlist_offer(entry: WaitlistEntry, booking: Booking, now: datetime) -> None:
    tz = booking.slot.facility.timezone
    notify(
        entry.user,
        "waitlist_offer",
        "[해피허브] 대기하신 시간에 자리가 났습니다",
        f"{_what(booking.slot)}에 자리가 났습니다. 예약(번호 {booking.id})을 "
        f"{when(booking.hold_expires_at, tz)}까지 확정해 주세요. 기한이 지나면 다음 대기자에게 "
        f"기회가 넘어갑니다.",
        now=now,
    )


def closure(booking: Booking, item: Closure, now: datetime) -> None:
    notify(
        booking.user,
        "facility_closure",
        "[해피허브] 시설 운영 중단으로 예약이 취소되었습니다",
        f"{_what(booking.slot)} 예약(번호 {booking.id})이 시설 운영 중단({item.reason})으로 "
        f"취소되었습니다. 결제 금액 {booking.refund_amount or 0:,}원은 전액 환불됩니다.",
        now=now,
    )


def closure_waitlist(entry: WaitlistEntry, item: Closure, now: datetime) -> None:
    notify(
        entry.user,
        "facility_closure",
        "[해피허브] 시설 운영 중단으로 대기가 종료되었습니다",
        f"{_what(entry.slot)} 대기 신청이 시설 운영 중단({item.reason})으로 종료되었습니다.",
        now=now,
    )


def strike(booking: Booking, strikes: int, limit: int, now: datetime) -> None:
    notify(
        booking.user,
        "no_show_strike",
        "[해피허브] 노쇼(미입장) 경고",
        f"{_what(booking.slot)} 예약(번호 {booking.id})에 입장 기록이 없어 노쇼로 처리되었습니다. "
        f"현재 경고 {strikes}회 / {limit}회 (누적 시 예약이 일시 제한됩니다).",
        now=now,
    )


def suspension(item: Suspension, tz: str, now: datetime, user) -> None:
    notify(
        user,
        "booking_suspension",
        "[해피허브] 예약 이용이 일시 제한되었습니다",
        f"노쇼 경고 누적으로 {when(item.ends_at, tz)}까지 새 예약을 하실 수 없습니다.",
        now=now,
    )
