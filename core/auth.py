"""Who is calling: bearer tokens for people (kiosk devices authenticate in ``library``)."""

from __future__ import annotations

from flask import g, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from core import clock
from core.errors import Forbidden, Unauthorized
from core.extensions import db
from core.models import ApiToken, User
from core.security import token_hash


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _load() -> tuple[User | None, ApiToken | None]:
    if "auth_loaded" in g:
        return g.user, g.token
    g.auth_loaded, g.user, g.token = True, None, None
    raw = bearer_token()
    if raw:
        # One query for token, user and roles: this runs on every authenticated request.
        stmt = (
            select(ApiToken)
            .filter_by(token_hash=token_hash(raw))
            .options(joinedload(ApiToken.user).joinedload(User.role_rows))
        )
        token = db.session.scalars(stmt).unique().first()
        now = clock.now()
        if (
            token is not None
            and token.revoked_at is None
            and token.expires_at > now
            and token.user.is_active
        ):
            g.user, g.token = token.user, token
    return g.user, g.token


def current_user() -> User | None:
    return _load()[0]


def current_token() -> ApiToken | None:
    return _load()[1]


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
