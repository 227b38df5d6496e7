"""Bad input is a 4xx in the one error shape, naming the field, whatever the client sends
(core.input_guard)."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.users import auth_headers

HUGE = "9223372036854775808"  # 2**63: past every 64-bit integer


def _assert_error(response, status, field=None):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == status
    assert body["code"] and body["message"]
    if field:
        assert field in body["errors"], body


@pytest.mark.parametrize("path", ["/api/users", "/api/audit"])
@pytest.mark.parametrize("value", [HUGE, "-" + HUGE, "2147483648", "1" * 400])
def test_pages_past_the_integers_are_422_naming_the_page(client, admin, path, value):
    _assert_error(client.get(f"{path}?page={value}", headers=auth_headers(admin)), 422, "page")


def test_a_far_page_is_empty_not_an_error(client, admin):
    response = client.get("/api/users?page=2147483647", headers=auth_headers(admin))
    assert response.status_code == 200
    assert response.get_json() == []


def test_an_actor_past_the_integers_is_422(client, admin):
    response = client.get(f"/api/audit?actor_id={HUGE}", headers=auth_headers(admin))
    _assert_error(response, 422, "actor_id")


@pytest.mark.parametrize("field", ["email", "password", "name"])
@pytest.mark.parametrize("bad", ["\ud800", "a\x00b"])
def test_unstorable_text_is_422_naming_the_field(client, field, bad):
    body = {"email": "minji@example.kr", "password": "빙판 위 세 바퀴 2026", "name": "김민지"}
    body[field] = body[field] + bad
    raw = json.dumps(body)  # ASCII with \u escapes, as a client's encoder would send it
    response = client.post(
        "/api/auth/register", data=raw, headers={"Content-Type": "application/json"}
    )
    _assert_error(response, 422, field)


def test_lone_surrogates_sent_as_escapes_are_422(client):
    raw = '{"email": "a@example.kr", "password": "\\ud800\\ud800 long enough", "name": "x"}'
    response = client.post(
        "/api/auth/token", data=raw, headers={"Content-Type": "application/json"}
    )
    _assert_error(response, 422, "password")


def test_deep_nesting_is_400(client):
    deep = "[" * 50_000 + "]" * 50_000
    for path in ("/api/auth/token", "/api/auth/register"):
        response = client.post(path, data=deep, headers={"Content-Type": "application/json"})
        _assert_error(response, 400)


def test_nesting_just_past_the_limit_is_400(client):
    nested = '{"email": ' + "[" * 40 + "]" * 40 + ', "password": "x"}'
    response = client.post(
        "/api/auth/token", data=nested, headers={"Content-Type": "application/json"}
    )
    _assert_error(response, 400)


@pytest.mark.parametrize("number", ["9" * 5000, "1e999999", "NaN", "-Infinity", "1" + "0" * 60])
def test_absurd_numbers_are_4xx(client, number):
    raw = '{"email": "a@example.kr", "password": ' + number + "}"
    response = client.post(
        "/api/auth/token", data=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert response.get_json()["status"] == response.status_code


def test_an_integer_past_the_integers_in_a_body_is_422_naming_it(client, admin):
    response = client.put(
        "/api/users/1/roles",
        json={"roles": ["resident"], "extra": 2**63},
        headers=auth_headers(admin),
    )
    _assert_error(response, 422, "extra")


def test_a_body_that_is_not_utf8_is_400(client):
    response = client.post(
        "/api/auth/token", data=b'{"email": "\xff"}', headers={"Content-Type": "application/json"}
    )
    _assert_error(response, 400)


def test_a_closure_at_the_end_of_time_is_422(client, manager):
    response = client.post(
        "/api/facilities/1/closures",
        json={
            "starts_at": "9999-12-31T00:00:00-12:00",
            "ends_at": "9999-12-31T10:00:00-12:00",
            "reason": "점검",
        },
        headers=auth_headers(manager),
    )
    _assert_error(response, 422, "starts_at")


def test_an_import_file_named_dot_dot_is_taken_safely(client, archivist):
    import io

    headers = auth_headers(archivist)
    response = client.post(
        "/api/archive/imports",
        data={"file": (io.BytesIO("identifier,title,type\nA-1,옛 사진,photo\n".encode()), "..")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 202
    run = client.get(f"/api/archive/imports/{response.json['id']}", headers=headers).json
    assert (run["status"], run["created"]) == ("done", 1)
