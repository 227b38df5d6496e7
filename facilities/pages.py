"""Residents' facility pages: the ice rink and the curling centre, their sessions by day and by
week, booking with the price shown before confirming, the hold and its payment, my bookings
with their check-in QR codes, cancelling with the refund shown first, waitlists and calendars.

The same use cases as the JSON API's (``facilities.api``), the same schemas and refusals; a
refusal comes back next to its field, in Korean (``MESSAGES``)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import marshmallow as ma
import segno
from flask import Response, current_app, redirect, render_template, request, url_for

from core import input_guard
from core.clock import now
from core.db import intent
from core.errors import RuleViolation
from core.settings import settings_of
from core.web import (
    Form,
    PageBlueprint,
    attempt,
    korean_errors,
    login_required,
    read_form,
    refusal_form,
    refusal_status,
    signed_in_user,
    submitted_key,
)
from facilities.api import calendar_domain
from facilities.models import CATEGORIES, Booking
from facilities.schemas import CancelSchema, PartyFormSchema, ScheduleQuerySchema
from facilities.services import availability, calendars, catalog, checkin, feeds, mine, waitlist
from facilities.services import booking as bookings
from facilities.services.local_time import zone
from facilities.settings import FacilitySettings

blp = PageBlueprint("facilities_pages", __name__, template_folder="templates")

SANDBOX = "facilities_sandbox"  # the local test payment page's Blueprint (sandbox_pages)

_party_schema = PartyFormSchema()
_schedule_schema = ScheduleQuerySchema()
_cancel_schema = CancelSchema()

# The Korean text of every refusal the facilities' use cases give (core.web shows them).
MESSAGES = {
    "slot_full": "남은 자리가 없습니다. 대기 신청을 하실 수 있습니다.",
    "slot_closed": "운영하지 않는 회차입니다.",
    "booking_closed": "이미 시작한 회차는 예약할 수 없습니다.",
    "booking_not_open": "아직 예약이 열리지 않은 회차입니다.",
    "booking_overlap": "같은 시간에 다른 예약이 있습니다.",
    "daily_limit": "이 시설의 하루 예약 한도를 넘었습니다. 같은 날 다른 예약이 있습니다.",
    "active_limit": "이 시설에서 한꺼번에 가질 수 있는 예약 수를 넘었습니다.",
    "booking_suspended": "예약하고 오지 않은 일이 반복되어 예약이 일시 정지되었습니다.",
    "party_invalid": "인원은 0 이상의 숫자로 입력해 주세요.",
    "party_size": "예약 인원이 이 시설에서 받을 수 있는 범위를 벗어났습니다.",
    "already_waiting": "이미 이 회차의 대기자 명단에 있습니다.",
    "slot_not_full": "아직 자리가 있습니다. 대기 신청 대신 바로 예약해 주세요.",
    "not_cancellable": "취소할 수 없는 예약입니다. 이미 취소되었거나 이용이 끝났습니다.",
    "cancellation_closed": "시작한 회차는 취소할 수 없습니다.",
    "not_held": "결제를 기다리는 예약이 아닙니다.",
    "hold_expired": "결제 시간이 지나 자리가 풀렸습니다. 다시 예약해 주세요.",
    "payment_required": "결제해야 확정되는 예약입니다.",
    "payment_reused": "이미 다른 예약에 쓰인 결제입니다.",
    "amount_mismatch": "결제 금액이 예약 금액과 다릅니다.",
    "bad_signature": "결제 확인 서명이 올바르지 않습니다.",
    "idempotency_key_reused": "같은 요청으로 다른 내용이 이미 접수되었습니다. 다시 해 주세요.",
    "already_checked_in": "이미 입장 확인된 예약입니다.",
    "not_confirmed": "확정되지 않은 예약입니다.",
    "checkin_window": "입장 확인은 시작 30분 전부터 시작 15분 뒤까지 할 수 있습니다.",
    "invalid_code": "올바른 입장 코드가 아닙니다.",
    "gate_wrong_facility": "다른 시설의 예약입니다.",
    "invalid_gate_key": "게이트 키가 올바르지 않거나 사용 중지되었습니다.",
    "gate_key_required": "게이트 키가 필요합니다.",
    "already_revoked": "이미 사용 중지된 게이트입니다.",
    "template_overlap": "회차 시간이 겹칩니다. 정빙 시간까지 두고 정해 주세요.",
    "closure_lifted": "이미 해제된 휴장입니다.",
    "schedule_out_of_range": "볼 수 있는 날짜 범위를 벗어났습니다.",
    "schedule_query_invalid": "날짜나 보기 방식이 올바르지 않습니다.",
    # Programmes and lotteries
    "slot_by_lottery": "이 회차는 추첨으로 자리를 정합니다. 추첨에 신청해 주세요.",
    "age_band": "이 강습의 나이 기준에 맞지 않습니다.",
    "already_applied": "이미 이 강습에 신청하셨습니다. 한 사람은 한 번만 신청할 수 있습니다.",
    "birth_year_required": "본인 신청에는 출생 연도가 필요합니다.",
    "category_not_offered": "이 강습에 없는 요금 구분입니다.",
    "dependent_exists": "같은 이름의 가족이 이미 등록되어 있습니다.",
    "dependent_unknown": "등록된 가족이 아닙니다.",
    "ice_taken": "그 시간의 빙상(링크 자리나 시트)은 이미 쓰이고 있습니다.",
    "lottery_drawn": "추첨이 이미 끝나 정원을 바꿀 수 없습니다.",
    "lottery_not_drawn": "아직 추첨하지 않았습니다.",
    "no_sessions": "강습 기간에 고른 요일의 수업이 없습니다.",
    "not_withdrawable": "취소할 수 없는 신청입니다.",
    "priority_groups_invalid": "우선 순위 그룹이 올바르지 않습니다.",
    "programme_cancelled": "취소된 강습입니다.",
    "window_closed": "신청 기간이 끝났습니다.",
    "window_not_open": "아직 신청 기간이 아닙니다.",
    "window_opened": "신청 기간이 시작되어 바꿀 수 없는 항목입니다.",
}


# --- how things read in Korean ----------------------------------------------------------

CATEGORY_LABELS = {
    "adult": "성인",
    "youth": "청소년",
    "child": "어린이",
    "senior": "어르신",
    "disabled": "장애인",
    "veteran": "국가유공자",
    "sheet": "시트 1면",
}
REASON_LABELS = {**CATEGORY_LABELS, "resident": "시민"}
KIND_LABELS = {"ice_rink": "아이스링크", "curling_centre": "컬링센터"}
STATUS_LABELS = {
    "held": "결제 대기",
    "confirmed": "예약 확정",
    "checked_in": "입장 완료",
    "no_show": "미입장",
    "cancelled": "취소됨",
    "expired": "기한 만료",
}
STATUS_BADGES = {"confirmed": "ok", "checked_in": "ok", "held": "warn", "no_show": "error"}
WEEKDAYS = "월화수목금토일"


def _moment(value: datetime | str) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


class Formats:
    """Dates, times and money as the pages show them, in the facility's time zone."""

    categories = CATEGORIES
    category_labels = CATEGORY_LABELS
    kind_labels = KIND_LABELS
    status_labels = STATUS_LABELS
    status_badges = STATUS_BADGES

    @staticmethod
    def won(amount: int) -> str:
        return f"{amount:,}원"

    @staticmethod
    def day(value: date) -> str:
        return f"{value.month}월 {value.day}일 ({WEEKDAYS[value.weekday()]})"

    @staticmethod
    def local(value: datetime | str, tz: str = "Asia/Seoul") -> datetime:
        return _moment(value).astimezone(zone(tz))

    @classmethod
    def time(cls, value: datetime | str, tz: str = "Asia/Seoul") -> str:
        return cls.local(value, tz).strftime("%H:%M")

    @classmethod
    def when(cls, value: datetime | str, tz: str = "Asia/Seoul") -> str:
        moment = cls.local(value, tz)
        return f"{cls.day(moment.date())} {moment:%H:%M}"

    @staticmethod
    def iso(value: datetime | str) -> str:
        return _moment(value).isoformat()

    @staticmethod
    def left(until: datetime | str, at: datetime) -> str:
        """Time left, for pages read without JavaScript (site.js counts it down)."""
        seconds = int((_moment(until) - at).total_seconds())
        if seconds <= 0:
            return "0분"
        days, rest = divmod(seconds, 86400)
        hours, rest = divmod(rest, 3600)
        minutes = rest // 60
        parts = [f"{days}일"] * bool(days) + [f"{hours}시간"] * bool(days or hours)
        return " ".join([*parts, f"{minutes}분"])

    @staticmethod
    def party(party: dict) -> str:
        return ", ".join(
            f"{CATEGORY_LABELS.get(category, category)} {party[category]}명"
            for category in CATEGORIES
            if party.get(category)
        )

    @staticmethod
    def reason(line: dict) -> str:
        if not line.get("discount_percent"):
            return "할인 없음"
        return f"{REASON_LABELS.get(line['discount_reason'], '')} 할인 {line['discount_percent']}%"


@blp.context_processor
def _formats() -> dict:
    return {"fmt": Formats}


def home_panel() -> dict:
    """The home page's part: the sessions one can book today, and this week's by day."""
    return {"facilities": availability.week_ahead(now()), "fmt": Formats}


# --- reading the query string -----------------------------------------------------------


def _read_query(schema: ma.Schema) -> dict:
    """The query string through the API's input guard and ``schema``; a page asked for with
    a wrong one is answered as an error page naming what was wrong."""
    try:
        input_guard.check_raw(request.args, schema)
        return schema.load(request.args.to_dict(), unknown=ma.EXCLUDE)
    except ma.ValidationError as error:
        raise RuleViolation(
            "Invalid query", code="schedule_query_invalid", errors=korean_errors(error.messages)
        ) from None


# --- facilities and their sessions ------------------------------------------------------


@blp.get("/facilities")
def facilities():
    return render_template("facilities/list.html", facilities=catalog.list_facilities())


@blp.get("/facilities/<int:facility_id>")
def facility(facility_id):
    query = _read_query(_schedule_schema)
    view = query["view"]
    days = 7 if view == "week" else 1
    at = now()
    schedule = availability.schedule(facility_id, at, first=query.get("date"), days=days)
    step = timedelta(days=days)
    return render_template(
        "facilities/facility.html",
        view=view,
        now=at,
        earlier=schedule["first"] - step,
        later=schedule["first"] + step,
        **schedule,
    )


# --- booking: the party, the price, then the booking ------------------------------------


def _slot_form(template: str, slot_id: int, form: Form) -> str:
    at = now()
    return render_template(template, form=form, now=at, **availability.slot_details(slot_id, at))


@blp.get("/facilities/slots/<int:slot_id>/book")
@login_required()
def booking_form(slot_id):
    return _slot_form("facilities/book.html", slot_id, Form.empty())


@blp.post("/facilities/slots/<int:slot_id>/quote")
@login_required()
def quote(slot_id):
    """The price of the party, discounts applied, before anything is booked."""
    data, form = read_form(_party_schema)
    status = 422
    if data is not None:
        quoted, error = attempt(bookings.quote, signed_in_user(), slot_id, data["party"], now())
        if quoted is not None:
            return render_template("facilities/quote.html", form=form, now=now(), **quoted)
        form, status = refusal_form(form, error), refusal_status(error)
    return _slot_form("facilities/book.html", slot_id, form), status


def _booked(booking: Booking) -> dict:
    """What a booking made from a page answers (and a repeated form is answered again)."""
    return {"id": booking.id}


@blp.post("/facilities/slots/<int:slot_id>/book")
# As the API's booking: the person and the use case's first checks are read on a snapshot
# (bookings.book), so a refused booking never queues for SQLite's writer.
@intent(writes=False)
@login_required()
def book(slot_id):
    """Book with the form's ``idempotency_key``: the same form sent twice books once."""
    data, form = read_form(_party_schema)
    status = 422
    if data is not None:
        answer, error = attempt(
            bookings.book,
            signed_in_user(),
            slot_id,
            data["party"],
            idempotency_key=submitted_key(),
            now=now(),
            render=_booked,
        )
        if answer is not None:
            body, _ = answer
            return redirect(url_for(".booking", booking_id=body["id"]), 303)
        form, status = refusal_form(form, error), refusal_status(error)
    return _slot_form("facilities/book.html", slot_id, form), status


# --- waitlists --------------------------------------------------------------------------


@blp.get("/facilities/slots/<int:slot_id>/waitlist")
@login_required()
def waitlist_form(slot_id):
    return _slot_form("facilities/waitlist.html", slot_id, Form.empty())


@blp.post("/facilities/slots/<int:slot_id>/waitlist")
@login_required()
def join_waitlist(slot_id):
    data, form = read_form(_party_schema)
    status = 422
    if data is not None:
        entry, error = attempt(waitlist.join, signed_in_user(), slot_id, data["party"], now())
        if entry is not None:
            return redirect(url_for(".my_bookings", _anchor="waiting"), 303)
        form, status = refusal_form(form, error), refusal_status(error)
    return _slot_form("facilities/waitlist.html", slot_id, form), status


@blp.post("/facilities/slots/<int:slot_id>/waitlist/leave")
@login_required()
def leave_waitlist(slot_id):
    waitlist.leave(signed_in_user(), slot_id, now())
    return redirect(url_for(".my_bookings", _anchor="waiting"), 303)


# --- my bookings ------------------------------------------------------------------------


def _qr(booking: Booking) -> str | None:
    """The check-in code as a QR code (a data: URL, which the pages' policy allows), made
    here: no image service sees the code."""
    code = checkin.code_for(booking, settings_of(FacilitySettings).checkin_secret)
    if code is None:
        return None
    return segno.make(code, error="m").svg_data_uri(scale=5, border=4)


def _payment_url(booking: Booking) -> str | None:
    """Where a held booking is paid. Only the local test payment page exists (development
    and testing); with no provider's page configured the booking shows no payment link."""
    if SANDBOX in current_app.blueprints:
        return url_for(f"{SANDBOX}.pay_form", booking_id=booking.id)
    return None


@blp.get("/bookings")
@login_required()
def my_bookings():
    at = now()
    mine_now = mine.my_bookings(signed_in_user(), at)
    return render_template(
        "facilities/my_bookings.html",
        now=at,
        qr={booking.id: _qr(booking) for booking in mine_now["upcoming"]},
        payment_url=_payment_url,
        **mine_now,
    )


def _booking_page(booking: Booking, error=None):
    return render_template(
        "facilities/booking.html",
        booking=booking,
        now=now(),
        qr=_qr(booking),
        payment_url=_payment_url(booking),
        error=error,
    )


@blp.get("/bookings/<int:booking_id>")
@login_required()
def booking(booking_id):
    return _booking_page(bookings.get_booking(booking_id, signed_in_user()))


@blp.post("/bookings/<int:booking_id>/accept")
@login_required()
def accept_offer(booking_id):
    """Accept a free waitlist offer (a paid one is accepted by paying it)."""
    user = signed_in_user()
    offer = bookings.get_booking(booking_id, user)
    accepted, error = attempt(bookings.confirm_free, offer, user, now())
    if accepted is not None:
        return redirect(url_for(".booking", booking_id=booking_id), 303)
    return _booking_page(offer, error), refusal_status(error)


@blp.get("/bookings/<int:booking_id>/cancel")
@login_required()
def cancel_form(booking_id):
    """The refund cancelling now would give, before the person confirms."""
    terms = bookings.cancellation_terms(booking_id, signed_in_user(), now())
    return render_template("facilities/cancel.html", form=Form.empty(), **terms)


@blp.post("/bookings/<int:booking_id>/cancel")
@login_required()
def cancel(booking_id):
    user = signed_in_user()
    data, form = read_form(_cancel_schema)
    if data is None:
        terms = bookings.cancellation_terms(booking_id, user, now())
        return render_template("facilities/cancel.html", form=form, **terms), 422
    bookings.cancel(bookings.get_booking(booking_id, user), user, now(), reason=data.get("reason"))
    return redirect(url_for(".booking", booking_id=booking_id), 303)


@blp.get("/bookings/<int:booking_id>/calendar.ics")
@login_required()
def booking_calendar(booking_id):
    body = calendars.booking_calendar(booking_id, signed_in_user(), now(), domain=calendar_domain())
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="booking-{booking_id}.ics"'},
    )


@blp.post("/bookings/calendar-feed")
@login_required()
def calendar_feed():
    """A new private feed URL, shown once (only its hash is kept); the old one stops."""
    raw = feeds.regenerate(signed_in_user(), now())
    url = url_for("facilities.calendar_feed", token=raw, _external=True)
    return render_template("facilities/feed.html", url=url)


@blp.post("/bookings/calendar-feed/off")
@login_required()
def calendar_feed_off():
    feeds.revoke(signed_in_user())
    return redirect(url_for(".my_bookings", _anchor="calendar"), 303)
