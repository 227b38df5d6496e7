"""Holds for pickup at a kiosk (예약대출): waiting → in_transit → ready → collected | expired |
cancelled. A copy set aside for a hold is never lent to anyone else."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from core import lookup
from core.errors import Conflict, Forbidden, RuleViolation
from core.extensions import db
from core.models import User
from core.notifications import notify
from library.models import OPEN_HOLD_STATUSES, Copy, Hold, Kiosk, Patron, Title
from library.services.locks import lock_copy, lock_patron, locked
from library.services.patrons import check_may_hold, patron_for_user
from library.settings import LibrarySettings


def _notify_patron(patron: Patron, kind: str, subject: str, body: str, now: datetime) -> None:
    user = db.session.get(User, patron.user_id) if patron.user_id else None
    if user is not None:
        notify(user, kind, subject, body, now=now)


def open_hold_for_copy(copy_id: int) -> Hold | None:
    """The hold a copy is set aside for (on its way, or ready in a slot), if any."""
    return db.session.scalar(
        select(Hold).where(Hold.copy_id == copy_id, Hold.status.in_(("in_transit", "ready")))
    )


def next_waiting_hold(title_id: int, kiosk_id: int | None = None) -> Hold | None:
    """The oldest waiting hold for a title (at one pickup kiosk if given)."""
    stmt = select(Hold).where(Hold.title_id == title_id, Hold.status == "waiting")
    if kiosk_id is not None:
        stmt = stmt.where(Hold.pickup_kiosk_id == kiosk_id)
    # Locked: two copies freed at once must not both go to the same hold.
    return locked(stmt.order_by(Hold.created_at, Hold.id).limit(1))


def make_ready(hold: Hold, copy: Copy, now: datetime, settings: LibrarySettings) -> Hold:
    """The copy sits in the pickup kiosk: reserve it and tell the patron where and until when."""
    kiosk = db.session.get(Kiosk, copy.kiosk_id)
    copy.status = "reserved_for_pickup"
    copy.changed_at = max(copy.changed_at, now)
    hold.copy_id, hold.status = copy.id, "ready"
    hold.ready_at = now
    hold.pickup_deadline = settings.day_end(
        settings.local_date(now) + timedelta(days=settings.hold_pickup_days)
    )
    db.session.flush()
    place = f"{kiosk.name}" + (f" ({kiosk.location})" if kiosk.location else "")
    _notify_patron(
        hold.patron,
        "library_hold_ready",
        "예약 도서 도착 안내",
        f"예약하신 『{hold.title_ref.title}』이(가) {place} 스마트도서관에 도착했습니다. "
        f"{settings.local_text(hold.pickup_deadline)}까지 카드와 비밀번호로 대출해 주세요.",
        now,
    )
    return hold


def route_copy(copy: Copy, now: datetime, settings: LibrarySettings) -> Hold | None:
    """Place a freed copy: a hold waiting at the kiosk it sits in gets it ready; otherwise the
    oldest waiting hold elsewhere gets it in transit; otherwise it goes back to stock."""
    if copy.kiosk_id is not None:
        hold = next_waiting_hold(copy.title_id, copy.kiosk_id)
        if hold is not None:
            return make_ready(hold, copy, now, settings)
    hold = next_waiting_hold(copy.title_id)
    if hold is not None:
        hold.status, hold.copy_id = "in_transit", copy.id
        copy.status = "in_transit"
    else:
        copy.status = "in_kiosk" if copy.kiosk_id is not None else "available"
    copy.changed_at = max(copy.changed_at, now)
    db.session.flush()
    return hold


def offers_pickup(kiosk: Kiosk) -> bool:
    """Whether holds may name this kiosk for pickup: its key not revoked, pickup switched on.
    Faults are passing and do not count here (``kiosks.functions`` pauses pickup meanwhile)."""
    return kiosk.key_revoked_at is None and kiosk.pickup_enabled


def pickup_kiosks() -> list[Kiosk]:
    """The kiosks a resident may choose for pickup, by name."""
    kiosks = db.session.scalars(select(Kiosk).order_by(Kiosk.name, Kiosk.id))
    return [kiosk for kiosk in kiosks if offers_pickup(kiosk)]


def place_hold(
    patron: Patron, title: Title, kiosk_id: int, *, now: datetime, settings: LibrarySettings
) -> Hold:
    patron = lock_patron(patron.id)  # one request at a time per patron: no double holds
    check_may_hold(patron, now=now, settings=settings)
    kiosk = lookup.get(Kiosk, kiosk_id, field="kiosk_id")
    if not offers_pickup(kiosk):
        raise RuleViolation(
            f"Kiosk {kiosk.code} does not take holds for pickup",
            errors={"kiosk_id": ["Pickup is not offered at this kiosk."]},
            code="pickup_unavailable",
        )
    duplicate = db.session.scalar(
        select(Hold).where(
            Hold.patron_id == patron.id,
            Hold.title_id == title.id,
            Hold.status.in_(OPEN_HOLD_STATUSES),
        )
    )
    if duplicate is not None:
        raise Conflict("You already hold this title", code="hold_exists", hold_id=duplicate.id)
    lendable = db.session.scalar(
        select(func.count())
        .select_from(Copy)
        .where(Copy.title_id == title.id, Copy.status.not_in(("lost", "withdrawn")))
    )
    if not lendable:
        raise RuleViolation(
            "The library has no copy of this title to lend",
            errors={"title_id": ["No lendable copy."]},
            code="no_copies",
        )
    hold = Hold(
        title_id=title.id,
        patron_id=patron.id,
        pickup_kiosk_id=kiosk.id,
        status="waiting",
        created_at=now,
    )
    db.session.add(hold)
    db.session.flush()
    # Only an older waiting hold at this kiosk could claim a free copy already in it first,
    # and free copies are routed to waiting holds as soon as they are freed: so take one now.
    copy_id = db.session.scalar(
        select(Copy.id)
        .where(Copy.title_id == title.id, Copy.kiosk_id == kiosk.id, Copy.status == "in_kiosk")
        .order_by(Copy.slot)
        .limit(1)
    )
    if copy_id is not None:
        copy = lock_copy(copy_id)
        if copy.status == "in_kiosk":
            make_ready(hold, copy, now, settings)
    return hold


def place_hold_for_user(
    user: User, title_id: int, kiosk_id: int, *, now: datetime, settings: LibrarySettings
) -> Hold:
    """A resident reserves a title for pickup with the library card linked to the account."""
    patron = patron_for_user(user)
    title = lookup.get(Title, title_id, field="title_id")
    return place_hold(patron, title, kiosk_id, now=now, settings=settings)


def _release(hold: Hold, now: datetime, settings: LibrarySettings) -> None:
    if hold.copy_id is None or hold.status not in ("in_transit", "ready"):
        return
    copy = lock_copy(hold.copy_id)
    if copy.status in ("reserved_for_pickup", "in_transit"):
        copy.status = "in_kiosk" if copy.kiosk_id is not None else "available"
        db.session.flush()
        route_copy(copy, now, settings)


def cancel_hold(patron: Patron, hold: Hold, *, now: datetime, settings: LibrarySettings) -> Hold:
    if hold.patron_id != patron.id:
        raise Forbidden("This hold belongs to another patron")
    if hold.status not in OPEN_HOLD_STATUSES:
        raise Conflict(f"The hold is already {hold.status}", code="hold_closed")
    _release(hold, now, settings)
    hold.status, hold.closed_at = "cancelled", now
    db.session.flush()
    return hold


def cancel_hold_for_user(
    user: User, hold_id: int, *, now: datetime, settings: LibrarySettings
) -> Hold:
    """A resident cancels one of their own holds."""
    patron = patron_for_user(user)
    return cancel_hold(patron, lookup.get(Hold, hold_id), now=now, settings=settings)


def missed_pickups(patron_id: int, now: datetime, settings: LibrarySettings) -> int:
    since = now - timedelta(days=settings.missed_pickup_window_days)
    return db.session.scalar(
        select(func.count())
        .select_from(Hold)
        .where(Hold.patron_id == patron_id, Hold.status == "expired", Hold.closed_at > since)
    )


def apply_missed_pickup_strike(patron: Patron, now: datetime, settings: LibrarySettings) -> bool:
    """Bar new holds once the patron missed too many pickups within the window."""
    if patron.holds_barred_until is not None and patron.holds_barred_until > now:
        return False
    if missed_pickups(patron.id, now, settings) < settings.missed_pickup_limit:
        return False
    patron.holds_barred_until = now + timedelta(days=settings.hold_bar_days)
    _notify_patron(
        patron,
        "library_holds_barred",
        "도서 예약 제한 안내",
        f"최근 {settings.missed_pickup_window_days}일 동안 예약 도서를 "
        f"{settings.missed_pickup_limit}회 찾아가지 않아 "
        f"{settings.local_text(patron.holds_barred_until)}까지 새 예약을 할 수 없습니다.",
        now,
    )
    return True


def expire_holds(*, now: datetime, settings: LibrarySettings) -> list[Hold]:
    """Ready holds past their pickup deadline expire; their copies go to the next hold or stock.
    Then ``apply_missed_pickup_strikes`` for their patrons."""
    due = list(
        db.session.scalars(
            select(Hold)
            .where(Hold.status == "ready", Hold.pickup_deadline < now)
            .order_by(Hold.pickup_deadline, Hold.id)
            .limit(500)
        )
    )
    expired = []
    for candidate in due:
        # Copy first, then the hold (the order checkouts use), and look again once locked:
        # the patron may have collected it meanwhile.
        if candidate.copy_id is not None:
            lock_copy(candidate.copy_id)
        hold = locked(select(Hold).where(Hold.id == candidate.id))
        if hold.status != "ready" or hold.pickup_deadline >= now:
            continue
        _release(hold, now, settings)
        hold.status, hold.closed_at = "expired", now
        db.session.flush()
        expired.append(hold)
        _notify_patron(
            hold.patron,
            "library_hold_expired",
            "예약 도서 미대출 안내",
            f"예약하신 『{hold.title_ref.title}』을(를) 기한 안에 찾아가지 않아 예약이 "
            "취소되었습니다.",
            now,
        )
    return expired


def apply_missed_pickup_strikes(patron_ids, *, now: datetime, settings: LibrarySettings) -> int:
    """Run apart from the expiry (its own transaction): it locks patrons, which checkouts lock
    before copies, while the expiry locks copies."""
    return sum(
        apply_missed_pickup_strike(lock_patron(pid), now, settings) for pid in sorted(patron_ids)
    )
