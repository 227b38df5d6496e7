"""Fetching a row by the id a client gave: the one way, for every domain and door.

PostgreSQL's ``integer`` stops at 2**31 - 1; looking up a bigger number there fails with a
driver error instead of "no row", so such ids are answered before they reach the database.
"""

from __future__ import annotations

from core.db import MAX_INTEGER_ID
from core.errors import NotFound
from core.extensions import db


def in_range(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_INTEGER_ID


def find(model, ident: object):
    """The ``model`` row with the client-given id, or None (also for an id no integer holds)."""
    return db.session.get(model, ident) if in_range(ident) else None


def get(model, ident: object, *, label: str | None = None, field: str | None = None, hint=None):
    """The ``model`` row with this id, or a 404 "<label> <id> not found"; with ``field``, the
    error names that field (``hint`` its message, default "No <label> <id>.")."""
    row = find(model, ident)
    if row is None:
        label = label or model.__name__
        errors = {field: [hint or f"No {label.lower()} {ident}."]} if field else None
        raise NotFound(f"{label} {ident} not found", errors=errors)
    return row
