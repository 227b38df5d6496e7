"""The admins' pages of the staff console (``/staff/admin``): users and their roles (assign,
remove, deactivate), the audit log with its filters, and the job queue (waiting jobs, failed
ones with their error, and a retry).

Doors like the JSON views of ``core.api``: the same schemas, the same use cases
(``core.services``, ``core.audit``, ``core.jobs``), audited by those use cases as the API's
calls are."""

from __future__ import annotations

import math
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from flask_smorest.pagination import PaginationParameters

from core import audit, jobs, services
from core.clock import now
from core.http import paginated
from core.roles import ROLES
from core.schemas import AuditQuerySchema, FailedJobQuerySchema, RolesSchema, UserQuerySchema
from core.web import (
    Form,
    PageBlueprint,
    PageQuerySchema,
    attempt,
    korean_message,
    read_form,
    read_query,
    refusal_form,
    refusal_status,
    signed_in_user,
    staff_page,
)

blp = PageBlueprint("admin_pages", __name__, url_prefix="/staff/admin")
ADMIN = "admin"
# The console's sections these pages open (registered by the app factory).
SECTIONS = (
    ("admin_pages.users", "사용자와 권한", "사용자를 찾아 권한을 주고 거두며, 계정을 정지합니다."),
    ("admin_pages.audit_log", "감사 기록", "누가 언제 무엇을 바꿨는지 조건으로 찾아봅니다."),
    (
        "admin_pages.job_queue",
        "작업 대기열",
        "기다리는 작업과 실패한 작업을 보고, 실패한 작업을 다시 실행합니다.",
    ),
)
PAGE_SIZE = 50
KST = ZoneInfo("Asia/Seoul")  # the city's time, as every page shows it

ROLE_LABELS = {
    "resident": "시민",
    "librarian": "사서",
    "archivist": "기록 담당",
    "facility_manager": "시설 관리",
    "admin": "관리자",
}
JOB_STATUS_LABELS = {"failed": "실패", "retried": "다시 실행함"}
MESSAGES = {
    "job_retried": "이미 다시 실행한 작업입니다.",
    "job_unknown": "더 이상 없는 작업이라 다시 실행할 수 없습니다.",
}


class UserPageQuerySchema(UserQuerySchema, PageQuerySchema):
    pass


class AuditPageQuerySchema(AuditQuerySchema, PageQuerySchema):
    pass


class FailedJobPageQuerySchema(FailedJobQuerySchema, PageQuerySchema):
    pass


_user_query = UserPageQuerySchema()
_audit_query = AuditPageQuerySchema()
_failed_query = FailedJobPageQuerySchema()
_roles_schema = RolesSchema()


@blp.context_processor
def _labels() -> dict:
    return {"role_labels": ROLE_LABELS, "job_status_labels": JOB_STATUS_LABELS, "kst": KST}


def _one_page(query_of, query: dict) -> dict:
    """One page of a use case's query (``query_of(**filters)``), as the API's pagination reads
    it."""
    pagination = PaginationParameters(query.pop("page", 1), PAGE_SIZE)
    rows = list(paginated(query_of(**query), pagination))
    return {
        "rows": rows,
        "page": pagination.page,
        "pages": max(1, math.ceil(pagination.item_count / PAGE_SIZE)),
        "total": pagination.item_count,
    }


def _page_links(form: Form, page: int) -> str:
    """A page link keeps the filters."""
    args = {key: value for key, value in form.values.items() if key != "page"}
    return url_for(request.endpoint, **request.view_args, **args, page=page)


def _empty_list() -> dict:
    return {"rows": [], "page": 1, "pages": 1, "total": 0}


# --- users and their roles --------------------------------------------------------------


@blp.get("/")
@staff_page(ADMIN)
def index():
    return redirect(url_for(".users"))


@blp.get("/users")
@staff_page(ADMIN)
def users():
    query, form = read_query(_user_query)
    if query is None:
        listing, status = _empty_list(), 422
    else:
        listing, status = _one_page(services.users_query, query), 200
    return render_template(
        "admin/users.html", form=form, roles=ROLES, link=_page_links, **listing
    ), status


def _user_page(user_id: int, form: Form | None = None, status: int = 200):
    user = services.get_user(user_id)
    history = list(
        paginated(
            audit.entries_query(target_type="user", target_id=str(user.id)),
            PaginationParameters(1, 20),
        )
    )
    form = form or Form.empty(roles=user.roles)
    return render_template(
        "admin/user.html", user=user, form=form, roles=ROLES, history=history
    ), status


@blp.get("/users/<int:user_id>")
@staff_page(ADMIN)
def user(user_id):
    return _user_page(user_id)


@blp.post("/users/<int:user_id>/roles")
@staff_page(ADMIN)
def set_roles(user_id):
    data, form = read_form(_roles_schema)
    if data is None:
        return _user_page(user_id, form, 422)
    target = services.get_user(user_id)
    changed, error = attempt(services.set_roles, signed_in_user(), target, data["roles"], now())
    if error is not None:
        return _user_page(user_id, refusal_form(form, error), refusal_status(error))
    labels = ", ".join(ROLE_LABELS[role] for role in changed.roles)
    flash(f"{changed.name}님의 권한을 {labels}(으)로 바꿨습니다.", "ok")
    return redirect(url_for(".user", user_id=user_id), 303)


@blp.post("/users/<int:user_id>/deactivate")
@staff_page(ADMIN)
def deactivate(user_id):
    target = services.deactivate(signed_in_user(), services.get_user(user_id), now())
    flash(f"{target.name}님의 계정을 정지했습니다. 로그인과 모든 세션이 끝났습니다.", "ok")
    return redirect(url_for(".user", user_id=user_id), 303)


# --- the audit log ------------------------------------------------------------------------


@blp.get("/audit")
@staff_page(ADMIN)
def audit_log():
    query, form = read_query(_audit_query)
    if query is None:
        listing, status = _empty_list(), 422
    else:
        listing, status = _one_page(audit.entries_query, query), 200
    return render_template("admin/audit.html", form=form, link=_page_links, **listing), status


# --- the job queue ------------------------------------------------------------------------


@blp.get("/jobs")
@staff_page(ADMIN)
def job_queue():
    query, form = read_query(_failed_query)
    if query is None:
        listing, status = _empty_list(), 422
    else:
        listing, status = _one_page(jobs.failed_jobs_query, query), 200
    return render_template(
        "admin/jobs.html",
        form=form,
        link=_page_links,
        queue=jobs.status(),
        waiting=jobs.pending(),
        **listing,
    ), status


@blp.post("/jobs/<int:failed_id>/retry")
@staff_page(ADMIN)
def retry_job(failed_id):
    failed = jobs.get_failed(failed_id)
    retried, error = attempt(jobs.retry, signed_in_user(), failed, now())
    if error is not None:
        flash(korean_message(error), "error")
    else:
        flash(f"작업 {retried.name}(#{retried.id})을 다시 대기열에 넣었습니다.", "ok")
    return redirect(url_for(".job_queue"), 303)
