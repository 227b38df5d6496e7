"""Kiosk devices authenticate with their own key: ``Authorization: Kiosk <key>``.

Keys are random, shown once when issued, stored only as SHA-256 hashes, and revocable by
librarians. ``flask.g.kiosk`` is the calling kiosk inside a ``@kiosk_required(blp)`` view.
"""

from __future__ import annotations

import functools

from flask import g

from core import clock
from core.auth import credentials, read_only
from core.errors import Unauthorized
from library.services import kiosks as kiosk_rules


def kiosk_key() -> str | None:
    return credentials("kiosk") or None


def current_kiosk():
    raw = kiosk_key()
    if raw is None:
        raise Unauthorized(
            "A kiosk key is required: Authorization: Kiosk <key>",
            code="kiosk_key_required",
            headers={"WWW-Authenticate": 'Kiosk realm="happyhub"'},
        )
    return kiosk_rules.kiosk_by_key(raw, clock.now())


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
