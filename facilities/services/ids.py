"""Identifiers from clients: anything outside a database integer is simply not found.

PostgreSQL's ``integer`` stops at 2**31 - 1; looking up a bigger number there fails with a
driver error instead of "no row", so such ids are answered before they reach the database.
"""

from __future__ import annotations

from core.db import MAX_INTEGER_ID
from core.extensions import db


def in_range(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_INTEGER_ID


def lookup(model, value: object):
    """The ``model`` row with the client-given id ``value``, or None (also for an id that no
    database integer holds)."""
    return db.session.get(model, value) if in_range(value) else None
