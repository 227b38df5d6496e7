"""Readiness report (non-critical): kiosks that stopped sending heartbeats or report faults."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from core import clock
from core.extensions import db
from library.models import Kiosk
from library.services import kiosks as kiosk_rules


def fleet_check() -> str | None:
    """None when every active kiosk is online without faults, else which ones are not."""
    now = clock.now()
    settings = current_app.extensions["library_settings"]
    active = db.session.scalars(select(Kiosk).where(Kiosk.key_revoked_at.is_(None)))
    problems = [
        f"{kiosk.code} {state}"
        for kiosk in active
        if (state := kiosk_rules.state(kiosk, now, settings)) != "online"
    ]
    return ", ".join(sorted(problems)[:20]) or None
