"""Register, log in, call /api/me, log out — and every way of getting it wrong."""

import pytest

from tests.fixtures.users import PASSWORD, auth_headers, create_user


def _register(client, **overrides):
    body = {"email": "Minji@Example.kr", "password": "correct horse battery", "name": "김민지"}
    body.update(overrides)
    return client.post("/api/auth/register", json=body)


def _login(client, email="minji@example.kr", password="correct horse battery"):
    return client.post("/api/auth/token", json={"email": email, "password": password})


def test_register_login_me_logout(client):
    created = _register(client, phone="010-1234-5678")
    assert created.status_code == 201
    assert created.json["email"] == "minji@example.kr"
    assert created.json["roles"] == ["resident"]
    assert "password" not in created.json and "password_hash" not in created.json

    login = _login(client, email="MINJI@example.kr")
    assert login.status_code == 200
    assert login.json["token_type"] == "Bearer"
    assert "+00:00" in login.json["expires_at"]
    headers = {"Authorization": f"Bearer {login.json['access_token']}"}

    me = client.get("/api/me", headers=headers)
    assert me.status_code == 200
    assert me.json["name"] == "김민지" and me.json["roles"] == ["resident"]

    assert client.delete("/api/auth/token", headers=headers).status_code == 204
    again = client.get("/api/me", headers=headers)
    assert again.status_code == 401
    assert again.json["code"] == "unauthorized"


def test_email_is_unique_case_insensitively(client):
    assert _register(client).status_code == 201
    duplicate = _register(client, email="MINJI@EXAMPLE.KR")
    assert duplicate.status_code == 409
    assert duplicate.json["code"] == "email_taken"
    assert "email" in duplicate.json["errors"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"password": "short"}, "password"),
        ({"email": "not-an-email"}, "email"),
        ({"name": ""}, "name"),
        ({"name": 12}, "name"),
        ({"phone": "call me"}, "phone"),
        ({"is_admin": True}, "is_admin"),
    ],
)
def test_register_rejects_bad_input_naming_the_field(client, overrides, field):
    response = _register(client, **overrides)
    assert response.status_code == 422
    assert response.json["status"] == 422
    assert field in response.json["errors"]
    assert field in response.json["message"].lower()


def test_missing_fields_are_named(client):
    response = client.post("/api/auth/register", json={})
    assert response.status_code == 422
    assert {"email", "password", "name"} <= set(response.json["errors"])


def test_wrong_password_is_401_without_telling_which_part(client):
    user = create_user()
    response = _login(client, email=user.email, password="wrong password!")
    assert response.status_code == 401
    assert response.json["code"] == "invalid_credentials"
    unknown = _login(client, email="nobody@example.kr", password=PASSWORD)
    assert unknown.status_code == 401
    assert unknown.json["message"] == response.json["message"]


@pytest.mark.parametrize(
    "header",
    ["Bearer not-a-token", "Basic dXNlcjpwYXNz", "Bearer", "Token abc"],
)
def test_bad_tokens_are_rejected(client, header):
    response = client.get("/api/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_expired_token_is_rejected(client, clock):
    headers = auth_headers(create_user())
    assert client.get("/api/me", headers=headers).status_code == 200
    clock.advance(hours=13)
    assert client.get("/api/me", headers=headers).status_code == 401


def test_deactivated_user_loses_access(client, admin):
    user = create_user()
    headers = auth_headers(user)
    response = client.post(f"/api/users/{user.id}/deactivate", headers=auth_headers(admin))
    assert response.status_code == 200 and response.json["is_active"] is False
    assert client.get("/api/me", headers=headers).status_code == 401
    assert _login(client, email=user.email, password=PASSWORD).status_code == 401


def test_token_is_stored_only_as_hash(client):
    from sqlalchemy import select

    from core.extensions import db
    from core.models import ApiToken

    user = create_user()
    raw = _login(client, email=user.email, password=PASSWORD).json["access_token"]
    stored = db.session.scalars(select(ApiToken.token_hash)).all()
    assert raw not in stored and len(stored) == 1 and len(stored[0]) == 64


def test_korean_text_is_sent_as_utf8_not_escaped(client):
    response = _register(client)
    assert "김민지".encode() in response.data
    assert b"\\u" not in response.data


def test_the_caller_is_loaded_clean_with_roles_read_when_asked(app, client):
    """The caller comes from one plain statement, made an object of the request's session:
    unchanged (a flush writes nothing), with roles loaded when a check reads them, and a
    change a view makes to it saved as to any loaded object."""
    from flask import g
    from sqlalchemy import event

    from core.auth import require_user
    from core.extensions import db

    staff = create_user(email="staff@example.kr", roles=["librarian"])
    headers = auth_headers(staff)
    db.session.expunge_all()  # as in a request of its own: the session holds nobody yet
    statements = []

    def _seen(_conn, _cursor, statement, *_args):
        statements.append(statement.split()[0].upper())

    with app.test_request_context("/api/me", headers=headers):
        event.listen(db.engine, "before_cursor_execute", _seen)
        try:
            person = require_user(("librarian",))  # the roles, read for the check
            assert person is g.user and person in db.session
            assert person.email == "staff@example.kr" and person.roles == ["librarian"]
            assert not db.session.dirty and not db.session.new
            db.session.flush()
            assert "UPDATE" not in statements and "INSERT" not in statements
            assert statements.count("SELECT") == 2  # the token with the person, then roles
            person.name = "바뀐 이름"
            db.session.commit()
        finally:
            event.remove(db.engine, "before_cursor_execute", _seen)
    db.session.expunge_all()
    assert client.get("/api/me", headers=headers).json["name"] == "바뀐 이름"
