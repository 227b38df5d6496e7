"""Timestamps as the library writes them into JSON it stores before any schema sees it: kiosk
answers kept in the journal for replay, error details, audit snapshots."""

from __future__ import annotations

from datetime import datetime


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
