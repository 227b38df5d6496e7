"""Shapes the library's HTTP views return for kiosks and titles (dicts for the schemas)."""

from __future__ import annotations

from datetime import datetime

from library.models import Kiosk
from library.services import catalogue
from library.services import kiosks as kiosk_rules
from library.services.common import LibrarySettings


def kiosk_view(
    kiosk: Kiosk,
    now: datetime,
    settings: LibrarySettings,
    *,
    occupied: int | None = None,
    detail: bool = False,
) -> dict:
    if occupied is None:
        occupied = kiosk_rules.occupancy([kiosk.id]).get(kiosk.id, 0)
    view = {
        "id": kiosk.id,
        "code": kiosk.code,
        "name": kiosk.name,
        "location": kiosk.location,
        "latitude": kiosk.latitude,
        "longitude": kiosk.longitude,
        "slot_count": kiosk.slot_count,
        "state": kiosk_rules.state(kiosk, now, settings),
        "online": kiosk_rules.is_online(kiosk, now, settings),
        "last_heartbeat_at": kiosk.last_heartbeat_at,
        "faults": list(kiosk.faults or []),
        "functions": kiosk_rules.functions(kiosk),
        "enabled_functions": kiosk_rules.enabled_functions(kiosk),
        "occupied_slots": occupied,
        "fill_rate": round(occupied / kiosk.slot_count, 3),
    }
    if detail:
        view["slots"] = kiosk_rules.slots(kiosk)
    return view


def titles_view(titles) -> list[dict]:
    titles = list(titles)
    availability = catalogue.availability([t.id for t in titles])
    return [
        {
            "id": t.id,
            "isbn": t.isbn,
            "title": t.title,
            "author": t.author,
            "publisher": t.publisher,
            "year": t.year,
            "kdc": t.kdc,
            "availability": availability[t.id],
        }
        for t in titles
    ]
