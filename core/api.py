"""Accounts over HTTP: register, tokens, me; staff views of users, audit log and jobs."""

from __future__ import annotations

from flask import g, request

from core import audit, jobs, services
from core.auth import current_token
from core.clock import now
from core.http import Blueprint, paginated
from core.roles import STAFF_ROLES
from core.schemas import (
    AuditEntrySchema,
    AuditQuerySchema,
    FailedJobQuerySchema,
    FailedJobSchema,
    JobStatusSchema,
    ProfileSchema,
    RegisterSchema,
    RolesSchema,
    TokenRequestSchema,
    TokenSchema,
    UserQuerySchema,
    UserSchema,
)
from core.settings import settings_of

blp = Blueprint("accounts", __name__, url_prefix="/api", description="Accounts and tokens")


@blp.post("/auth/register")
@blp.arguments(RegisterSchema)
@blp.response(201, UserSchema)
@blp.errors(409, 429)
def register(data):
    """Create a resident account."""
    user = services.register(
        address=request.remote_addr or "?",
        now=now(),
        settings=settings_of(services.AccountSettings),
        guard=settings_of(services.LoginGuard),
        **data,
    )
    return user


@blp.post("/auth/token")
@blp.arguments(TokenRequestSchema)
@blp.response(200, TokenSchema)
@blp.errors(401, 429)
def create_token(data):
    """Log in: exchange email and password for a bearer token."""
    raw, token = services.issue_token(
        email=data["email"],
        password=data["password"],
        address=request.remote_addr or "?",
        now=now(),
        settings=settings_of(services.AccountSettings),
        guard=settings_of(services.LoginGuard),
    )
    return {"access_token": raw, "token_type": "Bearer", "expires_at": token.expires_at}


@blp.delete("/auth/token")
@blp.auth()
@blp.response(204)
def revoke_token():
    """Log out: revoke the token used for this request."""
    services.revoke_token(current_token(), now())


@blp.get("/me")
@blp.auth()
@blp.response(200, UserSchema)
def me():
    """The calling user, with roles."""
    return g.user


@blp.patch("/me")
@blp.auth()
@blp.arguments(ProfileSchema(partial=True))
@blp.response(200, UserSchema)
def update_me(data):
    """Change your own name and phone (the fields sent; a null phone removes it)."""
    return services.update_profile(g.user, now=now(), **data)


@blp.get("/users")
@blp.auth(*STAFF_ROLES)
@blp.arguments(UserQuerySchema, location="query")
@blp.response(200, UserSchema(many=True))
@blp.paginate()
def list_users(query, pagination_parameters):
    """Users, for staff (filter by email substring or role)."""
    return paginated(services.users_query(**query), pagination_parameters)


@blp.put("/users/<int:user_id>/roles")
@blp.auth("admin")
@blp.arguments(RolesSchema)
@blp.response(200, UserSchema)
@blp.errors(404)
def set_roles(data, user_id):
    """Replace a user's roles (admin)."""
    user = services.set_roles(g.user, services.get_user(user_id), data["roles"], now())
    return user


@blp.post("/users/<int:user_id>/deactivate")
@blp.auth("admin")
@blp.response(200, UserSchema)
@blp.errors(404)
def deactivate(user_id):
    """Deactivate an account and revoke its tokens (admin)."""
    user = services.deactivate(g.user, services.get_user(user_id), now())
    return user


@blp.put("/users/<int:user_id>/resident-verification")
@blp.auth("admin", "facility_manager", "librarian")
@blp.response(200, UserSchema)
@blp.errors(404)
def verify_resident(user_id):
    """Mark a user as a verified city resident (used for resident discounts)."""
    user = services.set_resident_verification(g.user, services.get_user(user_id), True, now())
    return user


@blp.delete("/users/<int:user_id>/resident-verification")
@blp.auth("admin", "facility_manager", "librarian")
@blp.response(200, UserSchema)
@blp.errors(404)
def unverify_resident(user_id):
    """Withdraw a user's resident verification."""
    user = services.set_resident_verification(g.user, services.get_user(user_id), False, now())
    return user


@blp.get("/audit")
@blp.auth("admin")
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditEntrySchema(many=True))
@blp.paginate()
def audit_log(query, pagination_parameters):
    """The audit log, newest first (admin)."""
    return paginated(audit.entries_query(**query), pagination_parameters)


@blp.get("/admin/jobs")
@blp.auth(*STAFF_ROLES)
@blp.response(200, JobStatusSchema)
def job_status():
    """Job queue status: backend, pending and scheduled counts, periodic tasks."""
    return jobs.status()


@blp.get("/admin/jobs/failed")
@blp.auth("admin")
@blp.arguments(FailedJobQuerySchema, location="query")
@blp.response(200, FailedJobSchema(many=True))
@blp.paginate()
def failed_jobs(query, pagination_parameters):
    """Jobs that failed with no retry left, newest first, with their error (admin)."""
    return paginated(jobs.failed_jobs_query(**query), pagination_parameters)


@blp.post("/admin/jobs/<int:failed_id>/retry")
@blp.auth("admin")
@blp.response(200, FailedJobSchema)
@blp.errors(404, 409)
def retry_job(failed_id):
    """Queue a failed job again, as it first ran (admin). Retried already → 409 `job_retried`;
    a job the code no longer has → 409 `job_unknown`. A retry that fails is a new failure."""
    return jobs.retry(g.user, jobs.get_failed(failed_id), now())
