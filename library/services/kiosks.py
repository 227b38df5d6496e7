"""The kiosk fleet: device keys, heartbeats and faults, slots, loading and unloading stock,
and how a kiosk is described to librarians."""

from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy import func, select

from core import audit
from core.device_keys import DeviceKind
from core.errors import Conflict, RuleViolation, Unauthorized
from core.extensions import db
from library.models import FAULT_EFFECTS, KIOSK_FUNCTIONS, Copy, Kiosk
from library.services import holds as hold_rules
from library.services.catalogue import copy_by_barcode
from library.services.holds import open_hold_for_copy
from library.services.locks import lock_copy, lock_kiosk
from library.services.slots import check_slot_number, slot_taken
from library.settings import LibrarySettings

# Kiosks call with their own key: ``Authorization: Kiosk <key>`` (the kioskKey scheme).
KIOSK = DeviceKind(scheme="Kiosk", model=Kiosk, revoked_attribute="key_revoked_at")


def _snapshot(kiosk: Kiosk) -> dict:
    return {
        "name": kiosk.name,
        "location": kiosk.location,
        "slot_count": kiosk.slot_count,
        "functions": enabled_functions(kiosk),
        "revoked": kiosk.key_revoked_at is not None,
        "sip2_encoding": kiosk.sip2_encoding,
    }


def create_kiosk(
    actor,
    *,
    code: str,
    name: str,
    slot_count: int,
    now: datetime,
    location: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
) -> tuple[Kiosk, str]:
    """A new kiosk and its device key (returned once; only its hash is stored)."""
    code = code.strip().upper()
    if kiosk_by_code(code) is not None:
        raise Conflict(
            f"Kiosk {code} exists", errors={"code": ["Already used."]}, code="kiosk_exists"
        )
    if slot_count < 1:
        raise RuleViolation("A kiosk has at least one slot", errors={"slot_count": [">= 1"]})
    raw, key_hash = KIOSK.new_key()
    kiosk = Kiosk(
        code=code,
        name=name.strip(),
        location=location,
        latitude=latitude,
        longitude=longitude,
        slot_count=slot_count,
        key_hash=key_hash,
        faults=[],
        created_at=now,
    )
    db.session.add(kiosk)
    db.session.flush()
    audit.record(
        actor, "library.kiosk.create", "library_kiosk", kiosk.id, now=now, after=_snapshot(kiosk)
    )
    return kiosk, raw


def issue_key(actor, kiosk: Kiosk, *, now: datetime) -> str:
    """Replace the device key (the old one stops working at once)."""
    before = _snapshot(kiosk)
    raw, kiosk.key_hash = KIOSK.new_key()
    kiosk.key_revoked_at = None
    _audit(actor, "library.kiosk.issue_key", kiosk, before, now)
    return raw


def _audit(actor, action: str, kiosk: Kiosk, before: dict, now: datetime) -> None:
    audit.record(
        actor, action, "library_kiosk", kiosk.id, now=now, before=before, after=_snapshot(kiosk)
    )


def revoke_key(actor, kiosk: Kiosk, *, now: datetime) -> Kiosk:
    if kiosk.key_revoked_at is not None:
        raise Conflict("The kiosk key is already revoked", code="already_revoked")
    before = _snapshot(kiosk)
    kiosk.key_revoked_at = now
    _audit(actor, "library.kiosk.revoke", kiosk, before, now)
    return kiosk


def update_kiosk(actor, kiosk: Kiosk, changes: dict, *, now: datetime) -> Kiosk:
    before = _snapshot(kiosk)
    if "slot_count" in changes:
        highest = db.session.scalar(select(func.max(Copy.slot)).where(Copy.kiosk_id == kiosk.id))
        if highest and changes["slot_count"] < highest:
            raise Conflict(
                f"Slot {highest} is still loaded",
                errors={"slot_count": [f"Unload slots above {changes['slot_count']} first."]},
                code="slots_in_use",
            )
    functions = changes.pop("functions", None) or {}
    for name, enabled in functions.items():
        setattr(kiosk, f"{name}_enabled", bool(enabled))
    for key, value in changes.items():
        setattr(kiosk, key, value)
    db.session.flush()
    _audit(actor, "library.kiosk.update", kiosk, before, now)
    return kiosk


def enabled_functions(kiosk: Kiosk) -> dict[str, bool]:
    return {name: bool(getattr(kiosk, f"{name}_enabled")) for name in KIOSK_FUNCTIONS}


def functions(kiosk: Kiosk) -> dict[str, bool]:
    """What the kiosk may do now: switched on by librarians and not disabled by a fault."""
    disabled = set().union(*(FAULT_EFFECTS.get(f, frozenset()) for f in kiosk.faults or []))
    return {
        name: enabled and name not in disabled for name, enabled in enabled_functions(kiosk).items()
    }


def is_online(kiosk: Kiosk, now: datetime, settings: LibrarySettings) -> bool:
    last = kiosk.last_heartbeat_at
    return last is not None and (now - last).total_seconds() <= settings.kiosk_offline_seconds


def state(kiosk: Kiosk, now: datetime, settings: LibrarySettings) -> str:
    if kiosk.key_revoked_at is not None:
        return "revoked"
    if not is_online(kiosk, now, settings):
        return "offline"
    return "fault" if kiosk.faults else "online"


def require_function(kiosk: Kiosk, name: str) -> None:
    if not functions(kiosk)[name]:
        raise Conflict(
            f"{name.capitalize()} is out of service at this kiosk",
            code="function_unavailable",
            function=name,
            faults=list(kiosk.faults or []),
        )


def heartbeat(kiosk: Kiosk, faults: list[str], *, now: datetime, settings: LibrarySettings):
    """The machine reports the faults it has now; a fault no longer reported is cleared. The
    answer tells it its state and what it may do."""
    kiosk = lock_kiosk(kiosk.id)
    kiosk.faults = sorted(set(faults))
    kiosk.last_heartbeat_at = now
    db.session.flush()
    return {
        "state": state(kiosk, now, settings),
        "faults": kiosk.faults,
        "functions": functions(kiosk),
        "server_time": now,
    }


def sip2_login(code: str, key: str) -> Kiosk:
    """The kiosk a SIP2 login names: its code (``CN``) and its device key (``CO``) must
    belong together, and the key must not be revoked."""
    kiosk = KIOSK.by_key(key)
    if kiosk.code != code.strip().upper():
        raise Unauthorized("The kiosk code does not match its key", code="invalid_kiosk_key")
    return kiosk


def logged_in(kiosk_id: int) -> Kiosk:
    """The kiosk a SIP2 session logged in as, while its key stays valid."""
    kiosk = db.session.get(Kiosk, kiosk_id)
    if kiosk is None or kiosk.key_revoked_at is not None:
        raise Unauthorized("The kiosk key is invalid or revoked", code="invalid_kiosk_key")
    return kiosk


# The SIP2 status message (99) reports a printer out of paper as status 1.
PRINTER_FAULT = "printer_error"


def status_report(
    kiosk: Kiosk, printer_ok: bool, *, now: datetime, settings: LibrarySettings
) -> dict:
    """A self-check machine's SIP2 status (99): a heartbeat that keeps the faults reported
    through the kiosk API and sets or clears only the printer's. Answers as ``heartbeat``."""
    faults = set(kiosk.faults or [])
    if printer_ok:
        faults.discard(PRINTER_FAULT)
    else:
        faults.add(PRINTER_FAULT)
    answer = heartbeat(kiosk, sorted(faults), now=now, settings=settings)
    return answer | {"name": kiosk.name, "code": kiosk.code, "location": kiosk.location}


def occupancy(kiosk_ids: list[int]) -> dict[int, int]:
    rows = db.session.execute(
        select(Copy.kiosk_id, func.count())
        .where(Copy.kiosk_id.in_(kiosk_ids))
        .group_by(Copy.kiosk_id)
    )
    return {kiosk_id: count for kiosk_id, count in rows}


def _distance_km(a: Kiosk, b: Kiosk) -> float:
    if None in (a.latitude, a.longitude, b.latitude, b.longitude):
        return math.inf
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371 * math.asin(math.sqrt(h))


def nearby_with_room(kiosk: Kiosk, now: datetime, settings: LibrarySettings, limit=3) -> list:
    """Other kiosks that take returns and have a free slot, nearest first."""
    others = list(
        db.session.scalars(
            select(Kiosk).where(Kiosk.id != kiosk.id, Kiosk.key_revoked_at.is_(None))
        )
    )
    used = occupancy([k.id for k in others])
    candidates = []
    for other in others:
        room = other.slot_count - used.get(other.id, 0)
        if room > 0 and functions(other)["return"] and is_online(other, now, settings):
            distance = _distance_km(kiosk, other)
            candidates.append((distance, -room, other.code, other, room))
    candidates.sort(key=lambda c: c[:3])
    return [
        {
            "id": other.id,
            "code": other.code,
            "name": other.name,
            "location": other.location,
            "free_slots": room,
            "distance_km": None if math.isinf(distance) else round(distance, 2),
        }
        for distance, _, _, other, room in candidates[:limit]
    ]


def slots(kiosk: Kiosk) -> list[dict]:
    by_slot = {
        copy.slot: copy
        for copy in db.session.scalars(select(Copy).where(Copy.kiosk_id == kiosk.id))
    }
    result = []
    for number in range(1, kiosk.slot_count + 1):
        copy = by_slot.get(number)
        result.append(
            {
                "slot": number,
                "barcode": copy.barcode if copy else None,
                "copy_id": copy.id if copy else None,
                "title": copy.title_ref.title if copy else None,
                "status": copy.status if copy else None,
            }
        )
    return result


def load(
    actor, kiosk: Kiosk, slot: int, barcode: str, *, now: datetime, settings: LibrarySettings
) -> Copy:
    """Put a copy from the library (or in transit) into a free slot. A copy on its way to a
    hold at this kiosk becomes ready for pickup; a free copy serves a hold waiting here first."""
    check_slot_number(kiosk, slot)
    copy = lock_copy(copy_by_barcode(barcode).id)
    lock_kiosk(kiosk.id)
    if copy.kiosk_id is not None:
        raise Conflict(
            f"Copy {copy.barcode} is in another slot; unload it first",
            errors={"barcode": ["Already in a kiosk."]},
            code="copy_in_kiosk",
        )
    if copy.status not in ("available", "in_transit"):
        raise Conflict(
            f"Copy {copy.barcode} is {copy.status}",
            errors={"barcode": [f"Status {copy.status}."]},
            code="copy_not_loadable",
        )
    occupant = slot_taken(kiosk, slot)
    if occupant is not None:
        raise Conflict(
            f"Slot {slot} holds {occupant.barcode}", code="slot_occupied", barcode=occupant.barcode
        )
    hold = open_hold_for_copy(copy.id) if copy.status == "in_transit" else None
    before = {"status": copy.status, "kiosk_id": None, "slot": None}
    copy.kiosk_id, copy.slot, copy.changed_at = kiosk.id, slot, max(copy.changed_at, now)
    db.session.flush()
    if hold is not None and hold.pickup_kiosk_id == kiosk.id:
        hold_rules.make_ready(hold, copy, now, settings)
    elif hold is None:
        copy.status = "in_kiosk"
        hold_rules.route_copy(copy, now, settings)
    audit.record(
        actor,
        "library.kiosk.load",
        "library_copy",
        copy.id,
        now=now,
        before=before,
        after={"status": copy.status, "kiosk_id": kiosk.id, "slot": slot},
    )
    return copy


def unload(actor, kiosk: Kiosk, slot: int, *, now: datetime, settings: LibrarySettings) -> Copy:
    """Take a copy out of a slot back to the library. A ready hold's copy goes back in
    transit (the hold waits for it to be loaded again); a free copy may serve a waiting hold."""
    check_slot_number(kiosk, slot)
    occupant = slot_taken(kiosk, slot)
    if occupant is None:
        raise Conflict(f"Slot {slot} is empty", code="slot_empty")
    copy = lock_copy(occupant.id)
    before = {"status": copy.status, "kiosk_id": kiosk.id, "slot": slot}
    hold = open_hold_for_copy(copy.id)
    copy.kiosk_id, copy.slot, copy.changed_at = None, None, max(copy.changed_at, now)
    if hold is not None:
        hold.status, hold.ready_at, hold.pickup_deadline = "in_transit", None, None
        copy.status = "in_transit"
        db.session.flush()
    else:
        copy.status = "available"
        db.session.flush()
        hold_rules.route_copy(copy, now, settings)
    audit.record(
        actor,
        "library.kiosk.unload",
        "library_copy",
        copy.id,
        now=now,
        before=before,
        after={"status": copy.status, "kiosk_id": None, "slot": None},
    )
    return copy


def describe(
    kiosk: Kiosk,
    now: datetime,
    settings: LibrarySettings,
    *,
    occupied: int | None = None,
    detail: bool = False,
) -> dict:
    """A kiosk as librarians see it: state, functions, fill rate (and its slots in detail)."""
    if occupied is None:
        occupied = occupancy([kiosk.id]).get(kiosk.id, 0)
    view = {
        "id": kiosk.id,
        "code": kiosk.code,
        "name": kiosk.name,
        "location": kiosk.location,
        "latitude": kiosk.latitude,
        "longitude": kiosk.longitude,
        "slot_count": kiosk.slot_count,
        "state": state(kiosk, now, settings),
        "online": is_online(kiosk, now, settings),
        "last_heartbeat_at": kiosk.last_heartbeat_at,
        "faults": list(kiosk.faults or []),
        "functions": functions(kiosk),
        "enabled_functions": enabled_functions(kiosk),
        "occupied_slots": occupied,
        "fill_rate": round(occupied / kiosk.slot_count, 3),
        "sip2_encoding": kiosk.sip2_encoding,
    }
    if detail:
        view["slots"] = slots(kiosk)
    return view


def describe_fleet(now: datetime, settings: LibrarySettings) -> list[dict]:
    """Every kiosk by code, each described as in ``describe`` (occupancy in one query)."""
    kiosks = list(db.session.scalars(select(Kiosk).order_by(Kiosk.code)))
    used = occupancy([k.id for k in kiosks])
    return [describe(k, now, settings, occupied=used.get(k.id, 0)) for k in kiosks]


def kiosk_by_code(code: str) -> Kiosk | None:
    return db.session.scalar(select(Kiosk).filter_by(code=code.strip().upper()))


def active_kiosks():
    """Kiosks whose key is not revoked."""
    return db.session.scalars(select(Kiosk).where(Kiosk.key_revoked_at.is_(None)))
