"""Readiness report (non-critical): kiosks that stopped sending heartbeats or report faults."""

from __future__ import annotations

from core import clock
from core.settings import settings_of
from library.services import kiosks as kiosk_rules
from library.settings import LibrarySettings


def fleet_check() -> str | None:
    """None when every active kiosk is online without faults, else which ones are not."""
    now = clock.now()
    settings = settings_of(LibrarySettings)
    active = kiosk_rules.active_kiosks()
    problems = [
        f"{kiosk.code} {state}"
        for kiosk in active
        if (state := kiosk_rules.state(kiosk, now, settings)) != "online"
    ]
    return ", ".join(sorted(problems)[:20]) or None
