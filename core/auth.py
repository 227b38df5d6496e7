"""Who is calling over HTTP: bearer tokens for people, device keys for devices.

Devices (library kiosks, facility gates) send ``Authorization: <Scheme> <key>``; each domain
declares its kind (``core.device_keys.DeviceKind``) and ``device_from_request`` finds it.
"""

from __future__ import annotations

from flask import g, request, session
from sqlalchemy import bindparam, select
from sqlalchemy import inspect as inspect_mapping
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from core import clock
from core.db import execute_plain
from core.device_keys import DeviceKind
from core.errors import Forbidden, Unauthorized
from core.extensions import db
from core.models import ApiToken, User
from core.security import token_hash
from core.transactions import snapshot


def credentials(scheme: str) -> str | None:
    """What follows ``<scheme> `` in the Authorization header (the scheme in any case).

    None when the header is missing or names another scheme; "" when it names this scheme
    but carries nothing after it."""
    name, _, value = request.headers.get("Authorization", "").partition(" ")
    if name.lower() != scheme.lower():
        return None
    return value.strip()


def device_from_request(kind: DeviceKind):
    """The device of this kind calling, or None when the request uses another scheme (or
    none); a scheme with no key, an unknown key or a revoked one is a 401. The key is checked
    on a snapshot, so a device with a wrong key is refused without waiting for SQLite's write
    lock, which its action may take afterwards."""
    raw = credentials(kind.scheme)
    if raw is None:
        return None
    if not raw:
        raise kind.key_required()
    with snapshot():
        return kind.by_key(raw)


def bearer_token() -> str | None:
    return credentials("bearer") or None


# One query for the person and their token's state, built once: this runs on every
# authenticated request. It is a plain (Core) statement: the ORM's own loading of the same
# row cost about three times as much as running it. The person becomes an ORM object from the
# row (``_as_loaded``); roles are loaded only when a view asks for them (most requests need
# none).
_PERSON_ATTRIBUTES = tuple(a.key for a in inspect_mapping(User).column_attrs)
_TOKEN = (
    select(
        *(getattr(User, key).label(key) for key in _PERSON_ATTRIBUTES),
        ApiToken.id.label("token_id"),
        ApiToken.expires_at.label("token_expires_at"),
        ApiToken.revoked_at.label("token_revoked_at"),
    )
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def _as_loaded(row) -> User:
    """The person of ``row`` as a persistent object of this session, as if a query had loaded
    it: its columns set, no pending changes, its relationships loaded when first read. The
    session's own copy when it already holds one (a test or a command that loaded them)."""
    held = db.session.identity_map.get(db.session.identity_key(User, row.id))
    if held is not None:
        # As a query would: what it had expired (a commit expires everything) filled in from
        # the row, what it holds left as it is.
        unloaded = inspect_mapping(held).unloaded
        for key in _PERSON_ATTRIBUTES:
            if key in unloaded:
                set_committed_value(held, key, getattr(row, key))
        return held
    person = User(**{key: getattr(row, key) for key in _PERSON_ATTRIBUTES})
    make_transient_to_detached(person)  # history cleared: nothing for a flush to write
    db.session.add(person)
    return person


def _load() -> tuple[User | None, int | None]:
    if "auth_loaded" in g:
        return g.user, g.token_id
    g.auth_loaded, g.user, g.token_id = True, None, None
    raw = bearer_token()
    if raw is None and g.get("page"):
        # Pages (core.web) keep the same token in their signed session cookie; the JSON API
        # never reads the cookie, so no API request acts on a browser's ambient credential.
        raw = session.get("token")
    if raw:
        found = execute_plain(_TOKEN, {"token_hash": token_hash(raw)}).first()
        if (
            found is not None
            and found.token_revoked_at is None
            and found.token_expires_at > clock.now()
            and found.is_active
        ):
            g.user, g.token_id = _as_loaded(found), found.token_id
    return g.user, g.token_id


def current_user() -> User | None:
    return _load()[0]


def current_token() -> ApiToken | None:
    token_id = _load()[1]
    return db.session.get(ApiToken, token_id) if token_id is not None else None


def require_user(roles=()) -> User:
    user = current_user()
    if user is None:
        message = "A valid bearer token is required"
        if request.headers.get("Authorization"):
            message = "The bearer token is invalid, expired or revoked"
        raise Unauthorized(message, headers={"WWW-Authenticate": 'Bearer realm="happyhub"'})
    if roles and not user.has_any_role(roles):
        raise Forbidden(f"This needs one of the roles: {', '.join(roles)}")
    return user
