"""Check-in gates authenticate with their own key: ``Authorization: Gate <key>``.

``@gate_or_staff(blp, role)`` lets in either a gate or a person with the role (bearer token).
Inside the view ``flask.g.gate`` is the calling gate, or None when a person called (then
``flask.g.user`` is that person).
"""

from __future__ import annotations

import functools

from flask import g, request

from core.auth import credentials, read_only, require_user
from core.errors import Unauthorized
from facilities.models import Gate
from facilities.services import gates

SECURITY_SCHEME = "gateKey"
# Sent when neither credential came: both ways in are named.
EITHER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="happyhub", Gate realm="happyhub"'}


def current_gate() -> Gate | None:
    """The gate calling (None when the caller does not use the Gate scheme); a missing, unknown
    or revoked key is a 401."""
    raw = credentials("gate")
    if raw is None:
        return None
    if not raw:
        raise Unauthorized(
            "A gate key is required: Authorization: Gate <key>",
            code="gate_key_required",
            headers=gates.CHALLENGE,
        )
    # The key is checked on a snapshot: a gate with a wrong key is refused without waiting
    # for SQLite's write lock, which the check-in itself takes afterwards.
    with read_only():
        return gates.gate_by_key(raw)


def gate_or_staff(blp, *roles: str):
    """Decorator factory: a valid gate key, or a bearer token with one of ``roles``.

    Documents both security alternatives and the 401/403 answers."""

    def decorator(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            g.gate = current_gate()
            if g.gate is None:
                if not request.headers.get("Authorization"):
                    raise Unauthorized(
                        "A staff bearer token or a gate key is required",
                        headers=EITHER_CHALLENGE,
                    )
                require_user(roles)
            return func(*args, **kwargs)

        wrapper = blp.doc(security=[{"bearerAuth": []}, {SECURITY_SCHEME: []}])(wrapper)
        return blp.errors(401, 403)(wrapper)

    return decorator


def register_security_scheme(api) -> None:
    """Describe the Gate scheme in the OpenAPI document, beside core's bearerAuth."""
    api.spec.components.security_scheme(
        SECURITY_SCHEME,
        {"type": "apiKey", "in": "header", "name": "Authorization", "description": "Gate <key>"},
    )
