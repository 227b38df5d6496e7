"""Account rules. No flask here: the actor, the time and the settings come in as arguments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from zxcvbn import zxcvbn

from core import audit, lookup
from core.errors import Conflict, DomainError, RuleViolation, TooManyRequests, Unauthorized
from core.extensions import db
from core.models import ApiToken, User, UserRole
from core.ratelimit import parse_limit
from core.roles import ROLES
from core.security import Passwords, new_token, token_hash
from core.transactions import snapshot


@dataclass
class AccountSettings:
    passwords: Passwords
    password_min_length: int = 10
    # zxcvbn's score, 0-4: 2 stops the top-100k common passwords, keyboard runs, repeats and
    # passwords made of the person's own email or name (about 10^6 guesses and more).
    password_min_strength: int = 2
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


def _check_password(password: str, settings: AccountSettings, *, email: str, name: str) -> None:
    if len(password) < settings.password_min_length:
        raise RuleViolation(
            f"Password must be at least {settings.password_min_length} characters",
            errors={"password": [f"Shorter than {settings.password_min_length} characters."]},
        )
    # zxcvbn's time grows with length; the first 100 characters decide well enough.
    verdict = zxcvbn(password[:100], user_inputs=[email, email.split("@")[0], name])
    if verdict["score"] < settings.password_min_strength:
        feedback = verdict["feedback"]
        hint = feedback["warning"] or "It is too easy to guess."
        advice = " ".join(feedback["suggestions"]) or "Use a few unrelated words."
        raise RuleViolation(
            "Password is too easy to guess",
            errors={"password": [f"{hint} {advice}".strip()]},
            code="weak_password",
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
    _check_password(password, settings, email=email, name=name)
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


def register(*, email, password, name, phone, address, now, settings, guard) -> User:
    """A resident's own account. Every attempt counts against the address's limit, refused
    ones too: each costs a password hash or tells whether an email is registered."""
    guard.check_registration(address)
    try:
        return create_user(
            email=email,
            password=password,
            name=name,
            phone=phone,
            roles=["resident"],
            now=now,
            settings=settings,
        )
    except DomainError as refusal:
        raise refusal.keeping_changes() from None


def set_password(user: User, password: str, settings: AccountSettings) -> None:
    _check_password(password, settings, email=user.email, name=user.name)
    user.password_hash = settings.passwords.hash(password)


class LoginGuard:
    """Throttles guessing without letting anyone lock an account's owner out.

    Failed logins are counted per account *and address*: a stranger who fails five times is
    stopped for a quarter of an hour at their own address, while the owner, elsewhere, still
    logs in. Every attempt also counts per address, so one address cannot try many accounts;
    guessing from many addresses meets strong passwords (``_check_password``) and Argon2id.
    Registrations count per address too: each costs a 64 MiB hash."""

    def __init__(self, limiter, per_account: str, per_address: str, registrations: str):
        self.limiter = limiter
        self.per_account = parse_limit(per_account)
        self.per_address = parse_limit(per_address)
        self.registrations = parse_limit(registrations)

    @staticmethod
    def _failures_key(email: str, address: str) -> str:
        return f"login:fail:{address}:{email}"

    def refuse_if_over(self, email: str, address: str) -> None:
        """Only reads: a 429 when this account at this address, or this address, has used
        its attempts."""
        wait = max(
            self.limiter.retry_after(self._failures_key(email, address), *self.per_account),
            self.limiter.retry_after(f"login:addr:{address}", *self.per_address),
        )
        if wait:
            raise TooManyRequests("Too many login attempts; try again later", retry_after=wait)

    def attempted(self, address: str) -> None:
        self.limiter.hit(f"login:addr:{address}", self.per_address[1])

    def failed(self, email: str, address: str) -> None:
        self.limiter.hit(self._failures_key(email, address), self.per_account[1])

    def succeeded(self, email: str, address: str) -> None:
        self.limiter.reset(self._failures_key(email, address))

    def check_registration(self, address: str) -> None:
        key = f"register:addr:{address}"
        wait = self.limiter.retry_after(key, *self.registrations)
        if wait:
            raise TooManyRequests("Too many registrations from here; try later", retry_after=wait)
        self.limiter.hit(key, self.registrations[1])


_ACCOUNT = select(User.id, User.password_hash, User.is_active).where(
    User.email == bindparam("email")
)


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
    # Limits and the stored hash are read on a snapshot, and the hash (Argon2id, 64 MiB) is
    # checked with no transaction open: on SQLite a write transaction holds the database's
    # one write lock, and every booking would wait out each login's hashing. Attempts racing
    # past the read may overrun a window by a few; each is still counted below.
    with snapshot():
        guard.refuse_if_over(email, address)
        account = db.session.execute(_ACCOUNT, {"email": email}).first()
    valid = settings.passwords.verify(account.password_hash if account else None, password)
    guard.attempted(address)
    if not valid or account is None or not account.is_active:
        guard.failed(email, address)
        raise Unauthorized(
            "Email or password is wrong, or the account is deactivated", code="invalid_credentials"
        ).keeping_changes()  # the attempts counted above must stand
    guard.succeeded(email, address)
    return _new_token(account.id, now, settings)


def token_for_new_account(user: User, *, now: datetime, settings: AccountSettings):
    """A token for an account created in this same transaction (a page signs the person in
    as they register): its password was just set, so there is nothing to check again."""
    return _new_token(user.id, now, settings)


def _new_token(user_id: int, now: datetime, settings: AccountSettings) -> tuple[str, ApiToken]:
    raw = new_token()
    token = ApiToken(
        user_id=user_id,
        token_hash=token_hash(raw),
        created_at=now,
        expires_at=now + timedelta(seconds=settings.token_ttl_seconds),
    )
    db.session.add(token)
    db.session.flush()
    return raw, token


def update_profile(user: User, *, now: datetime, **changes) -> User:
    """A person's own name, phone and the optional notifications they turned off: those given
    are changed (audited as staff changes are)."""
    fields = ("name", "phone", "notifications_off")
    before = {field: getattr(user, field) for field in fields}
    if "name" in changes:
        user.name = changes["name"].strip()
    if "phone" in changes:
        user.phone = changes["phone"]
    if "notifications_off" in changes:
        user.notifications_off = sorted(set(changes["notifications_off"]))
    after = {field: getattr(user, field) for field in fields}
    audit.record(user, "user.profile_updated", "user", user.id, now=now, before=before, after=after)
    db.session.flush()
    return user


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
