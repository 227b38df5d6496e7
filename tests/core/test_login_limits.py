"""Login and registration limits: shared by every worker, kept across restarts, and never a
way to lock an account's owner out; passwords that are easy to guess are refused."""

from __future__ import annotations

import pytest
import requests

from core.app import create_app
from core.extensions import db
from tests.fixtures.users import PASSWORD, create_user


def _login(client, email, password, address="198.51.100.7"):
    return client.post(
        "/api/auth/token",
        json={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_a_stranger_guessing_does_not_lock_the_owner_out(client):
    user = create_user()
    for _ in range(5):
        assert _login(client, user.email, "wrong password!", "203.0.113.66").status_code == 401
    stopped = _login(client, user.email, PASSWORD, "203.0.113.66")
    assert stopped.status_code == 429
    assert 0 < int(stopped.headers["Retry-After"]) <= 900
    # The owner, from their own address, logs in with the right password.
    assert _login(client, user.email, PASSWORD, "198.51.100.7").status_code == 200


def test_login_limits_survive_a_restart(client, test_settings):
    # The email is read once: touching a committed ORM object here would begin a write
    # transaction in this test's session and hold SQLite's lock against the second app.
    email = create_user().email
    for _ in range(5):
        assert _login(client, email, "wrong password!").status_code == 401
    restarted = create_app(test_settings).test_client()
    assert _login(restarted, email, PASSWORD).status_code == 429


@pytest.mark.slow
def test_login_limits_hold_across_workers(live_server):
    email = create_user().email
    db.session.rollback()  # no transaction of this test's may hold SQLite's lock meanwhile
    statuses = []
    for _ in range(9):
        # A new connection each time: the four workers share the attempts.
        response = requests.post(
            live_server("/api/auth/token"),
            json={"email": email, "password": "wrong password!"},
            headers={"Connection": "close"},
            timeout=10,
        )
        statuses.append(response.status_code)
    assert statuses == [401] * 5 + [429] * 4


def test_registrations_are_limited_per_address(client):
    for i in range(10):
        response = client.post(
            "/api/auth/register",
            json={"email": f"new{i}@example.kr", "password": PASSWORD, "name": "새 주민"},
            environ_base={"REMOTE_ADDR": "192.0.2.10"},
        )
        assert response.status_code == 201
    refused = client.post(
        "/api/auth/register",
        json={"email": "one-more@example.kr", "password": PASSWORD, "name": "새 주민"},
        environ_base={"REMOTE_ADDR": "192.0.2.10"},
    )
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    elsewhere = client.post(
        "/api/auth/register",
        json={"email": "one-more@example.kr", "password": PASSWORD, "name": "새 주민"},
        environ_base={"REMOTE_ADDR": "192.0.2.11"},
    )
    assert elsewhere.status_code == 201


def test_refused_registrations_count_too(client):
    create_user(email="taken@example.kr")
    for _ in range(10):
        client.post(
            "/api/auth/register",
            json={"email": "taken@example.kr", "password": PASSWORD, "name": "새 주민"},
            environ_base={"REMOTE_ADDR": "192.0.2.20"},
        )
    refused = client.post(
        "/api/auth/register",
        json={"email": "free@example.kr", "password": PASSWORD, "name": "새 주민"},
        environ_base={"REMOTE_ADDR": "192.0.2.20"},
    )
    assert refused.status_code == 429


@pytest.mark.parametrize(
    "password",
    ["1234567890", "password12", " " * 10, "minji@example.kr", "qwertyuiop", "iloveyou12"],
)
def test_easily_guessed_passwords_are_refused_with_help(client, password):
    response = client.post(
        "/api/auth/register",
        json={"email": "minji@example.kr", "password": password, "name": "minji kim"},
    )
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "weak_password"
    [message] = body["errors"]["password"]
    assert len(message) > 20


def test_a_strong_password_is_accepted(client):
    response = client.post(
        "/api/auth/register",
        json={"email": "minji@example.kr", "password": "빙판 위 세 바퀴 2026", "name": "김민지"},
    )
    assert response.status_code == 201
