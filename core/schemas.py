"""Request and response schemas for accounts, audit and jobs."""

import marshmallow as ma
from marshmallow import validate

from core.models import OPTIONAL_NOTIFICATIONS
from core.roles import ROLES

NOTIFICATION_GROUPS = tuple(OPTIONAL_NOTIFICATIONS)


class RegisterSchema(ma.Schema):
    email = ma.fields.Email(
        required=True, validate=validate.Length(max=254), metadata={"example": "minji@example.kr"}
    )
    password = ma.fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(max=200),
        metadata={"example": "correct horse battery"},
    )
    name = ma.fields.String(
        required=True, validate=validate.Length(min=1, max=100), metadata={"example": "김민지"}
    )
    phone = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^\+?[0-9][0-9 -]{6,28}$"),
        metadata={"example": "010-1234-5678"},
    )


class ProfileSchema(ma.Schema):
    """What a person may change of their own account."""

    name = RegisterSchema._declared_fields["name"]
    phone = RegisterSchema._declared_fields["phone"]
    notifications_off = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(NOTIFICATION_GROUPS)),
        validate=validate.Length(max=len(NOTIFICATION_GROUPS)),
        metadata={
            "description": "Optional notification groups turned off: booking_receipts "
            "(held, confirmed, cancelled, expired) and library_reminders (due soon, due "
            "today). Waitlist offers, closures, strikes, suspensions and holds are always sent.",
            "example": ["library_reminders"],
        },
    )


class TokenRequestSchema(ma.Schema):
    email = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=254),
        metadata={"example": "minji@example.kr"},
    )
    password = ma.fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(max=200),
        metadata={"example": "correct horse battery"},
    )


class TokenSchema(ma.Schema):
    access_token = ma.fields.String(metadata={"example": "q3J0...Zk"})
    token_type = ma.fields.String(metadata={"example": "Bearer"})
    expires_at = ma.fields.AwareDateTime(metadata={"example": "2026-11-25T22:00:00+00:00"})


class UserSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 7})
    email = ma.fields.String(metadata={"example": "minji@example.kr"})
    name = ma.fields.String(metadata={"example": "김민지"})
    phone = ma.fields.String(allow_none=True)
    notifications_off = ma.fields.List(ma.fields.String())
    roles = ma.fields.List(ma.fields.String(), metadata={"example": ["resident"]})
    is_active = ma.fields.Boolean()
    is_verified_resident = ma.fields.Boolean()
    resident_verified_at = ma.fields.AwareDateTime(allow_none=True)
    created_at = ma.fields.AwareDateTime()


class UserQuerySchema(ma.Schema):
    email = ma.fields.String(metadata={"description": "Substring of the email"})
    role = ma.fields.String(validate=validate.OneOf(ROLES))


class RolesSchema(ma.Schema):
    roles = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(ROLES)),
        required=True,
        validate=validate.Length(min=1),
        metadata={"example": ["librarian"]},
    )


class AuditEntrySchema(ma.Schema):
    id = ma.fields.Integer()
    at = ma.fields.AwareDateTime()
    actor_id = ma.fields.Integer(allow_none=True)
    actor_label = ma.fields.String()
    action = ma.fields.String(metadata={"example": "user.set_roles"})
    target_type = ma.fields.String(metadata={"example": "user"})
    target_id = ma.fields.String(metadata={"example": "7"})
    before = ma.fields.Dict(allow_none=True)
    after = ma.fields.Dict(allow_none=True)
    request_id = ma.fields.String(allow_none=True)


class AuditQuerySchema(ma.Schema):
    target_type = ma.fields.String()
    target_id = ma.fields.String()
    action = ma.fields.String()
    actor_id = ma.fields.Integer()


class JobStatusSchema(ma.Schema):
    backend = ma.fields.String(metadata={"example": "NormalSyncSqliteStorage"})
    pending = ma.fields.Integer()
    scheduled = ma.fields.Integer()
    periodic_tasks = ma.fields.List(ma.fields.String())


class FailedJobSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 12})
    task_id = ma.fields.String(metadata={"example": "6f1c0b9e-2f0e-4d7b-9a53-0c7f3b0e8a11"})
    name = ma.fields.String(metadata={"example": "deliver_notifications"})
    arguments = ma.fields.String(metadata={"example": "42"})
    error = ma.fields.String(metadata={"example": "SMTPServerDisconnected: Connection closed"})
    status = ma.fields.String(metadata={"example": "failed", "description": "failed or retried"})
    failed_at = ma.fields.AwareDateTime()
    retried_at = ma.fields.AwareDateTime(allow_none=True)
    retried_by_id = ma.fields.Integer(allow_none=True)


class FailedJobQuerySchema(ma.Schema):
    retried = ma.fields.Boolean(metadata={"description": "Only jobs (not) retried yet"})
