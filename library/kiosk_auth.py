"""Kiosk devices authenticate with their own key: ``Authorization: Kiosk <key>``.

Keys are random, shown once when issued, stored only as SHA-256 hashes, and revocable by
librarians. ``flask.g.kiosk`` is the calling kiosk inside a ``@kiosk_required(blp)`` view.
"""

from __future__ import annotations

import contextlib
import functools

from flask import g, request

from core import clock
from core.db import write_intent
from core.errors import Unauthorized
from core.extensions import db
from library.services import kiosks as kiosk_rules


def kiosk_key() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "kiosk" or not value.strip():
        return None
    return value.strip()


def current_kiosk():
    raw = kiosk_key()
    if raw is None:
        raise Unauthorized(
            "A kiosk key is required: Authorization: Kiosk <key>",
            code="kiosk_key_required",
            headers={"WWW-Authenticate": 'Kiosk realm="happyhub"'},
        )
    return kiosk_rules.kiosk_by_key(raw, clock.now())


@contextlib.contextmanager
def read_only():
    """Read without taking the write lock (SQLite takes it at BEGIN IMMEDIATE on POST) and end
    the read transaction after, so slow work in between (Argon2) holds no lock."""
    token = write_intent.set(False)
    try:
        yield
    finally:
        db.session.rollback()
        write_intent.reset(token)


def kiosk_required(blp):
    """Decorator factory: require a valid kiosk key; documents the kioskKey scheme and 401."""

    def decorator(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with read_only():
                g.kiosk = current_kiosk()
            return func(*args, **kwargs)

        wrapper = blp.doc(security=[{"kioskKey": []}])(wrapper)
        return blp.errors(401)(wrapper)

    return decorator
