"""Account rules. No flask here: the actor, the time and the settings come in as arguments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from core import audit, lookup
from core.errors import Conflict, RuleViolation, TooManyRequests, Unauthorized
from core.extensions import db
from core.models import ApiToken, User, UserRole
from core.ratelimit import parse_limit
from core.roles import ROLES
from core.security import Passwords, new_token, token_hash


@dataclass
class AccountSettings:
    passwords: Passwords
    password_min_length: int = 10
    token_ttl_seconds: int = 12 * 3600


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).filter_by(email=normalize_email(email)))


def users_query(*, email: str | None = None, role: str | None = None):
    """Accounts for staff, by id: whose email contains ``email``, who hold ``role``."""
    stmt = select(User)
    if email:
        stmt = stmt.where(User.email.contains(email.lower()))
    if role:
        stmt = stmt.where(User.id.in_(select(UserRole.user_id).filter_by(role=role)))
    return stmt.order_by(User.id)


def get_user(user_id: int) -> User:
    return lookup.get(User, user_id)


def _check_password(password: str, settings: AccountSettings) -> None:
    if len(password) < settings.password_min_length:
        raise RuleViolation(
            f"Password must be at least {settings.password_min_length} characters",
            errors={"password": [f"Shorter than {settings.password_min_length} characters."]},
        )


def create_user(
    *,
    email: str,
    password: str,
    name: str,
    phone: str | None,
    roles,
    now: datetime,
    settings: AccountSettings,
) -> User:
    _check_password(password, settings)
    if find_user_by_email(email) is not None:
        raise Conflict(
            "An account with this email already exists",
            errors={"email": ["Already registered."]},
            code="email_taken",
        )
    user = User(
        email=normalize_email(email),
        password_hash=settings.passwords.hash(password),
        name=name.strip(),
        phone=phone,
        created_at=now,
    )
    user.role_rows = [UserRole(role=r) for r in sorted(set(roles))]
    db.session.add(user)
    db.session.flush()
    return user


def register(*, email, password, name, phone, now, settings) -> User:
    return create_user(
        email=email,
        password=password,
        name=name,
        phone=phone,
        roles=["resident"],
        now=now,
        settings=settings,
    )


def set_password(user: User, password: str, settings: AccountSettings) -> None:
    _check_password(password, settings)
    user.password_hash = settings.passwords.hash(password)


class LoginGuard:
    """Login throttling: failed attempts per account, all attempts per address."""

    def __init__(self, limiter, per_account: str, per_address: str):
        self.limiter = limiter
        self.per_account = parse_limit(per_account)
        self.per_address = parse_limit(per_address)

    def check(self, email: str, address: str) -> None:
        account_key, address_key = f"login:acct:{email}", f"login:addr:{address}"
        wait = max(
            self.limiter.retry_after(account_key, *self.per_account),
            self.limiter.retry_after(address_key, *self.per_address),
        )
        if wait:
            raise TooManyRequests("Too many login attempts; try again later", retry_after=wait)
        self.limiter.hit(address_key, self.per_address[1])

    def failed(self, email: str) -> None:
        self.limiter.hit(f"login:acct:{email}", self.per_account[1])

    def succeeded(self, email: str) -> None:
        self.limiter.reset(f"login:acct:{email}")


def issue_token(
    *,
    email: str,
    password: str,
    address: str,
    now: datetime,
    settings: AccountSettings,
    guard: LoginGuard,
) -> tuple[str, ApiToken]:
    email = normalize_email(email)
    guard.check(email, address)
    user = find_user_by_email(email)
    valid = settings.passwords.verify(user.password_hash if user else None, password)
    if not valid or user is None or not user.is_active:
        guard.failed(email)
        raise Unauthorized(
            "Email or password is wrong, or the account is deactivated", code="invalid_credentials"
        )
    guard.succeeded(email)
    raw = new_token()
    token = ApiToken(
        user=user,
        token_hash=token_hash(raw),
        created_at=now,
        expires_at=now + timedelta(seconds=settings.token_ttl_seconds),
    )
    db.session.add(token)
    db.session.flush()
    return raw, token


def revoke_token(token: ApiToken, now: datetime) -> None:
    token.revoked_at = now


def _snapshot(user: User) -> dict:
    return {
        "roles": user.roles,
        "is_active": user.is_active,
        "resident_verified": user.is_verified_resident,
    }


def set_roles(actor: User | str, user: User, roles, now: datetime) -> User:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise RuleViolation("Unknown role", errors={"roles": [f"Unknown: {', '.join(unknown)}"]})
    if not roles:
        raise RuleViolation("A user needs at least one role", errors={"roles": ["Empty."]})
    before = _snapshot(user)
    wanted = set(roles)
    user.role_rows = [r for r in user.role_rows if r.role in wanted] + [
        UserRole(role=r) for r in sorted(wanted - set(user.roles))
    ]
    db.session.flush()
    audit.record(
        actor, "user.set_roles", "user", user.id, now=now, before=before, after=_snapshot(user)
    )
    return user


def deactivate(actor: User | str, user: User, now: datetime) -> User:
    before = _snapshot(user)
    user.is_active = False
    for token in db.session.scalars(select(ApiToken).filter_by(user_id=user.id, revoked_at=None)):
        token.revoked_at = now
    audit.record(
        actor, "user.deactivate", "user", user.id, now=now, before=before, after=_snapshot(user)
    )
    return user


def set_resident_verification(actor: User | str, user: User, verified: bool, now: datetime) -> User:
    before = _snapshot(user)
    if verified:
        user.resident_verified_at = now
        user.resident_verified_by_id = actor.id if isinstance(actor, User) else None
    else:
        user.resident_verified_at = None
        user.resident_verified_by_id = None
    audit.record(
        actor,
        "user.resident_verification",
        "user",
        user.id,
        now=now,
        before=before,
        after=_snapshot(user),
    )
    return user
