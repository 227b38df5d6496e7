"""Role checks, role changes, resident verification, and the audit trail they leave."""

import pytest
from sqlalchemy import select

from core.extensions import db
from core.models import AuditLog
from tests.fixtures.users import auth_headers, create_user


@pytest.mark.parametrize(
    ("roles", "status"),
    [
        (("resident",), 403),
        (("librarian",), 403),
        (("facility_manager",), 403),
        (("archivist",), 403),
        (("admin",), 200),
    ],
)
def test_only_admin_sets_roles(client, roles, status):
    target = create_user()
    response = client.put(
        f"/api/users/{target.id}/roles",
        json={"roles": ["librarian", "resident"]},
        headers=auth_headers(create_user(roles)),
    )
    assert response.status_code == status
    if status == 200:
        assert response.json["roles"] == ["librarian", "resident"]


def test_role_change_is_audited_with_before_and_after(client, admin):
    target = create_user()
    client.put(
        f"/api/users/{target.id}/roles", json={"roles": ["archivist"]}, headers=auth_headers(admin)
    )
    entry = db.session.scalars(select(AuditLog).filter_by(action="user.set_roles")).one()
    assert entry.actor_id == admin.id
    assert entry.target_id == str(target.id)
    assert entry.before["roles"] == ["resident"]
    assert entry.after["roles"] == ["archivist"]
    listed = client.get("/api/audit?target_type=user", headers=auth_headers(admin))
    assert listed.status_code == 200
    assert [e["action"] for e in listed.json] == ["user.set_roles"]


def test_unknown_role_is_rejected(client, admin):
    target = create_user()
    response = client.put(
        f"/api/users/{target.id}/roles", json={"roles": ["superuser"]}, headers=auth_headers(admin)
    )
    assert response.status_code == 422
    assert "roles" in response.json["errors"]


def test_missing_user_is_404(client, admin):
    response = client.put(
        "/api/users/999/roles", json={"roles": ["resident"]}, headers=auth_headers(admin)
    )
    assert response.status_code == 404
    assert response.json == {"code": "not_found", "status": 404, "message": "User 999 not found"}


@pytest.mark.parametrize(
    ("roles", "status"),
    [(("resident",), 403), (("facility_manager",), 200), (("librarian",), 200), (("admin",), 200)],
)
def test_staff_verify_residents(client, roles, status):
    target = create_user()
    response = client.put(
        f"/api/users/{target.id}/resident-verification", headers=auth_headers(create_user(roles))
    )
    assert response.status_code == status
    if status == 200:
        assert response.json["is_verified_resident"] is True
        removed = client.delete(
            f"/api/users/{target.id}/resident-verification",
            headers=auth_headers(create_user(roles)),
        )
        assert removed.json["is_verified_resident"] is False


def test_audit_log_is_append_only(admin):
    from core import audit
    from core.clock import SystemClock

    entry = audit.record(admin, "test.action", "thing", 1, now=SystemClock().now())
    db.session.commit()
    entry.action = "rewritten"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(AuditLog, entry.id))
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()


def test_staff_list_users_with_filters(client, librarian):
    create_user(email="alpha@example.kr")
    create_user(("archivist",), email="beta@example.kr")
    headers = auth_headers(librarian)
    by_email = client.get("/api/users?email=ALPHA", headers=headers)
    assert [u["email"] for u in by_email.json] == ["alpha@example.kr"]
    by_role = client.get("/api/users?role=archivist", headers=headers)
    assert [u["email"] for u in by_role.json] == ["beta@example.kr"]
    assert "X-Pagination" in by_role.headers
    assert client.get("/api/users", headers=auth_headers(create_user())).status_code == 403
