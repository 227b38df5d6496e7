"""The admins' pages of the staff console over HTTP: users and roles (assign, remove,
deactivate), the audit log with its filters, the job queue with failed jobs kept with their
error and retried (on the page and in the JSON API, by the same use case), each action audited
as the API's; everyone but an admin gets the 403 page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core import jobs
from core.extensions import db
from core.models import ApiToken, AuditLog, FailedJob, User
from tests.fixtures.pages import field_error, log_in, signed_in, text
from tests.fixtures.users import auth_headers, create_user

# A job that fails while ``FLAKY["fail"]`` is set, and counts its successful runs.
FLAKY = {"fail": True, "runs": []}


@jobs.task()
def flaky_job(value, *, label="x"):
    if FLAKY["fail"]:
        raise RuntimeError(f"mail server gone for {value}")
    FLAKY["runs"].append((value, label))


@pytest.fixture(autouse=True)
def _flaky():
    FLAKY.update(fail=True, runs=[])
    yield


def audit_entries(action: str) -> list[AuditLog]:
    db.session.commit()
    return db.session.scalars(select(AuditLog).filter_by(action=action).order_by(AuditLog.id)).all()


def fail_a_job(value=7) -> FailedJob:
    flaky_job(value, label="첫 시도")
    db.session.commit()
    return db.session.scalars(select(FailedJob).order_by(FailedJob.id.desc())).first()


PAGES = ["/staff/admin/users", "/staff/admin/audit", "/staff/admin/jobs"]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("role", ["resident", "librarian", "archivist", "facility_manager"])
def test_only_admins_open_the_admin_pages(client, path, role):
    user = create_user((role,))
    log_in(client, user.email)
    answer = client.get(path)
    assert answer.status_code == 403
    assert "권한이 없습니다" in text(answer)


def test_admin_actions_are_refused_to_other_staff(client, manager):
    target = create_user(("resident",))
    failed = fail_a_job()
    token = signed_in(client, manager)
    for path in (
        f"/staff/admin/users/{target.id}/roles",
        f"/staff/admin/users/{target.id}/deactivate",
        f"/staff/admin/jobs/{failed.id}/retry",
    ):
        answer = client.post(path, data={"csrf_token": token, "roles": "admin"})
        assert answer.status_code == 403, path
    db.session.expire_all()
    assert db.session.get(User, target.id).roles == ["resident"]
    assert db.session.get(User, target.id).is_active
    assert db.session.get(FailedJob, failed.id).retried_at is None


def test_signed_out_people_go_to_the_login_page(client):
    answer = client.get("/staff/admin/users")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/login?next=/staff/admin/users")


def test_the_admin_sections_are_in_the_console_for_admins(client, admin):
    signed_in(client, admin)
    page = text(client.get("/staff/"))
    for path, label in zip(PAGES, ("사용자와 권한", "감사 기록", "작업 대기열"), strict=True):
        assert f'href="{path}"' in page and label in page


# --- users and roles ----------------------------------------------------------------------


def test_users_are_found_by_email_and_role(client, admin):
    create_user(("librarian",), email="sarang@example.kr", name="한사랑")
    create_user(("resident",), email="minji@example.kr", name="김민지")
    signed_in(client, admin)
    page = text(client.get("/staff/admin/users?email=sarang"))
    assert "한사랑" in page and "김민지" not in page and "사서" in page
    page = text(client.get("/staff/admin/users?role=resident"))
    assert "김민지" in page and "한사랑" not in page
    refused = client.get("/staff/admin/users?role=king")
    assert refused.status_code == 422
    assert field_error(refused, "role") == "목록에 있는 값을 골라 주세요."


def test_the_user_list_is_paged(client, admin):
    for n in range(51):
        create_user(("resident",), email=f"p{n:02d}@example.kr")
    signed_in(client, admin)
    first = text(client.get("/staff/admin/users?role=resident"))
    assert "모두 51건, 1 / 2쪽" in first
    assert "/staff/admin/users?role=resident&amp;page=2" in first
    second = text(client.get("/staff/admin/users?role=resident&page=2"))
    assert second.count('id="user-') == 1


def test_an_admin_assigns_and_removes_roles_audited_as_the_api(client, admin):
    target = create_user(("resident",), name="박직원")
    token = signed_in(client, admin)
    page = client.get(f"/staff/admin/users/{target.id}")
    assert page.status_code == 200 and "박직원" in text(page)

    answer = client.post(
        f"/staff/admin/users/{target.id}/roles",
        data={"csrf_token": token, "roles": ["resident", "facility_manager"]},
    )
    assert answer.status_code == 303
    shown = text(client.get(answer.headers["Location"]))
    assert "권한을 시설 관리, 시민(으)로 바꿨습니다" in shown
    db.session.expire_all()
    assert db.session.get(User, target.id).roles == ["facility_manager", "resident"]
    (entry,) = audit_entries("user.set_roles")
    assert entry.actor_id == admin.id and entry.target_id == str(target.id)
    assert entry.before["roles"] == ["resident"]
    assert entry.after["roles"] == ["facility_manager", "resident"]

    client.post(
        f"/staff/admin/users/{target.id}/roles",
        data={"csrf_token": token, "roles": "facility_manager"},
    )
    db.session.expire_all()
    assert db.session.get(User, target.id).roles == ["facility_manager"]
    assert len(audit_entries("user.set_roles")) == 2


def test_no_role_at_all_is_refused_next_to_the_roles(client, admin):
    target = create_user(("librarian",))
    token = signed_in(client, admin)
    answer = client.post(f"/staff/admin/users/{target.id}/roles", data={"csrf_token": token})
    assert answer.status_code == 422
    assert field_error(answer, "roles") == "꼭 입력해 주세요."
    db.session.expire_all()
    assert db.session.get(User, target.id).roles == ["librarian"]
    assert audit_entries("user.set_roles") == []


def test_roles_need_the_forms_csrf_token(client, admin):
    target = create_user(("resident",))
    signed_in(client, admin)
    answer = client.post(f"/staff/admin/users/{target.id}/roles", data={"roles": "admin"})
    assert answer.status_code == 400
    db.session.expire_all()
    assert db.session.get(User, target.id).roles == ["resident"]


def test_deactivating_ends_the_persons_tokens_and_is_audited(client, admin):
    target = create_user(("librarian",))
    headers = auth_headers(target)
    token = signed_in(client, admin)
    answer = client.post(f"/staff/admin/users/{target.id}/deactivate", data={"csrf_token": token})
    assert answer.status_code == 303
    assert "계정을 정지했습니다" in text(client.get(answer.headers["Location"]))
    db.session.expire_all()
    assert not db.session.get(User, target.id).is_active
    assert all(
        t.revoked_at is not None
        for t in db.session.scalars(select(ApiToken).filter_by(user_id=target.id))
    )
    assert client.get("/api/me", headers=headers).status_code == 401
    (entry,) = audit_entries("user.deactivate")
    assert entry.actor_id == admin.id and entry.after["is_active"] is False


def test_an_unknown_user_is_the_404_page(client, admin):
    signed_in(client, admin)
    answer = client.get("/staff/admin/users/999999")
    assert answer.status_code == 404
    assert "찾는 내용이 없습니다" in text(answer)


# --- the audit log ------------------------------------------------------------------------


def test_the_audit_log_is_filtered(client, admin):
    first = create_user(("resident",))
    second = create_user(("resident",))
    token = signed_in(client, admin)
    for target in (first, second):
        client.post(
            f"/staff/admin/users/{target.id}/roles",
            data={"csrf_token": token, "roles": "librarian"},
        )
    client.post(f"/staff/admin/users/{first.id}/deactivate", data={"csrf_token": token})

    page = text(client.get(f"/staff/admin/audit?target_type=user&target_id={first.id}"))
    assert page.count('id="audit-') == 2
    assert "user.set_roles" in page and "user.deactivate" in page
    page = text(client.get("/staff/admin/audit?action=user.set_roles"))
    assert page.count('id="audit-') == 2 and "user.deactivate" not in page
    page = text(client.get(f"/staff/admin/audit?actor_id={admin.id}&action=user.deactivate"))
    assert page.count('id="audit-') == 1
    refused = client.get("/staff/admin/audit?actor_id=abc")
    assert refused.status_code == 422
    assert field_error(refused, "actor_id") == "숫자로 입력해 주세요."


# --- the job queue ------------------------------------------------------------------------


def test_a_job_that_fails_is_kept_with_its_error(app):
    failed = fail_a_job(41)
    assert failed.name == "flaky_job"
    assert failed.error == "RuntimeError: mail server gone for 41"
    assert failed.arguments == "41, label='첫 시도'"
    assert failed.status == "failed"


def test_the_job_queue_shows_failed_jobs_and_retries_one(client, admin):
    failed = fail_a_job(5)
    token = signed_in(client, admin)
    page = client.get("/staff/admin/jobs")
    assert page.status_code == 200
    shown = text(page)
    assert "RuntimeError: mail server gone for 5" in shown and "flaky_job" in shown
    assert f"/staff/admin/jobs/{failed.id}/retry" in shown

    FLAKY["fail"] = False
    answer = client.post(f"/staff/admin/jobs/{failed.id}/retry", data={"csrf_token": token})
    assert answer.status_code == 303
    assert "다시 대기열에 넣었습니다" in text(client.get(answer.headers["Location"]))
    assert FLAKY["runs"] == [(5, "첫 시도")]  # ran again as it first ran
    db.session.expire_all()
    assert db.session.get(FailedJob, failed.id).retried_by_id == admin.id
    (entry,) = audit_entries("job.retry")
    assert entry.actor_id == admin.id and entry.target_id == str(failed.id)

    # Once only: a second retry is refused in words.
    again = client.post(f"/staff/admin/jobs/{failed.id}/retry", data={"csrf_token": token})
    assert "이미 다시 실행한 작업입니다" in text(client.get(again.headers["Location"]))
    assert FLAKY["runs"] == [(5, "첫 시도")]
    assert not_retried_page_lists_nothing(client)


def not_retried_page_lists_nothing(client) -> bool:
    page = text(client.get("/staff/admin/jobs?retried=false"))
    return 'id="failed-' not in page and "실패한 작업이 없습니다" in page


def test_a_retry_that_fails_again_is_a_new_failure(client, admin):
    failed = fail_a_job(9)
    token = signed_in(client, admin)
    client.post(f"/staff/admin/jobs/{failed.id}/retry", data={"csrf_token": token})
    db.session.expire_all()
    rows = db.session.scalars(select(FailedJob).order_by(FailedJob.id)).all()
    assert [r.status for r in rows] == ["retried", "failed"]
    assert rows[1].task_id != rows[0].task_id and rows[1].arguments == rows[0].arguments


def test_the_api_lists_and_retries_failed_jobs_with_the_same_use_case(client, admin, manager):
    failed = fail_a_job(3)
    listing = client.get("/api/admin/jobs/failed", headers=auth_headers(admin))
    assert listing.status_code == 200
    assert [row["id"] for row in listing.json] == [failed.id]
    assert listing.json[0]["error"] == "RuntimeError: mail server gone for 3"

    assert (
        client.post(f"/api/admin/jobs/{failed.id}/retry", headers=auth_headers(manager)).status_code
        == 403
    )
    FLAKY["fail"] = False
    answer = client.post(f"/api/admin/jobs/{failed.id}/retry", headers=auth_headers(admin))
    assert answer.status_code == 200 and answer.json["status"] == "retried"
    assert FLAKY["runs"] == [(3, "첫 시도")]
    again = client.post(f"/api/admin/jobs/{failed.id}/retry", headers=auth_headers(admin))
    assert again.status_code == 409 and again.json["code"] == "job_retried"
    unknown = client.post("/api/admin/jobs/999999/retry", headers=auth_headers(admin))
    assert unknown.status_code == 404
    assert len(audit_entries("job.retry")) == 1


def test_the_job_queue_lists_the_jobs_waiting(client, admin):
    """With a queue (not run at once, as in the other tests) a job waits until a consumer
    takes it: the page lists it with its arguments."""
    jobs.huey.immediate = False  # the app's own storage: the test's jobs database
    try:
        jobs.huey.flush()
        flaky_job(12, label="대기")
        signed_in(client, admin)
        page = text(client.get("/staff/admin/jobs"))
        assert re.search(r'id="pending-count">1건<', page)
        assert "flaky_job" in page and "12, label=&#39;대기&#39;" in page
    finally:
        jobs.huey.flush()
        jobs.huey.immediate = True
    assert FLAKY["runs"] == []
