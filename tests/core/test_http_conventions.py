"""One JSON error shape for every error, request ids, body limits, rate limits."""

import logging

import pytest
from flask import Blueprint

from core.app import create_app
from tests.fixtures.users import PASSWORD, create_user

ERROR_KEYS = {"code", "status", "message"}


def _assert_error(response, status):
    assert response.status_code == status
    assert response.is_json
    assert ERROR_KEYS <= set(response.json)
    assert response.json["status"] == status
    assert "Traceback" not in response.get_data(as_text=True)


def test_malformed_json_is_400(client):
    response = client.post("/api/auth/register", data="{not json", content_type="application/json")
    _assert_error(response, 400)


def test_wrong_types_are_422_naming_the_field(client):
    response = client.post("/api/auth/token", json={"email": ["a"], "password": 5})
    _assert_error(response, 422)
    assert set(response.json["errors"]) == {"email", "password"}


def test_unknown_fields_are_422(client):
    response = client.post(
        "/api/auth/token", json={"email": "a@b.kr", "password": "x" * 12, "role": "admin"}
    )
    _assert_error(response, 422)
    assert response.json["errors"] == {"role": ["Unknown field."]}


def test_huge_json_body_is_413(client):
    response = client.post(
        "/api/auth/register", data="[" + "1," * 600_000 + "1]", content_type="application/json"
    )
    _assert_error(response, 413)


def test_non_json_body_is_415(client):
    response = client.post("/api/auth/token", data="email=a", content_type="text/plain")
    _assert_error(response, 415)


def test_unknown_path_is_404_json(client):
    _assert_error(client.get("/api/nothing-here"), 404)


def test_wrong_method_is_405_with_allow(client):
    response = client.put("/api/health", json={})
    _assert_error(response, 405)
    assert "GET" in response.headers["Allow"]


def test_missing_token_is_401_and_wrong_role_is_403(client):
    _assert_error(client.get("/api/audit"), 401)
    from tests.fixtures.users import auth_headers

    _assert_error(client.get("/api/audit", headers=auth_headers(create_user())), 403)


def test_unexpected_error_is_generic_500_without_details(test_settings, caplog):
    from core.app import create_app

    app = create_app(test_settings)
    failing = Blueprint("failing_test", __name__)

    @failing.get("/api/test-crash")
    def crash():
        raise ValueError("secret internal detail")

    app.register_blueprint(failing)
    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/api/test-crash", headers={"X-Request-ID": "abc-123"})
    _assert_error(response, 500)
    assert "secret internal detail" not in response.get_data(as_text=True)
    assert response.json["request_id"] == "abc-123"
    assert "abc-123" in caplog.text


def test_request_id_is_echoed_or_generated(client):
    echoed = client.get("/api/health", headers={"X-Request-ID": "req-42"})
    assert echoed.headers["X-Request-ID"] == "req-42"
    generated = client.get("/api/health", headers={"X-Request-ID": "bad id with spaces"})
    assert len(generated.headers["X-Request-ID"]) == 32
    assert generated.headers["X-Request-ID"] != client.get("/api/health").headers["X-Request-ID"]


def test_login_is_rate_limited_per_account_with_retry_after(client):
    user = create_user()
    for _ in range(5):
        response = client.post("/api/auth/token", json={"email": user.email, "password": "nope"})
        assert response.status_code == 401
    blocked = client.post("/api/auth/token", json={"email": user.email, "password": PASSWORD})
    _assert_error(blocked, 429)
    assert 0 < int(blocked.headers["Retry-After"]) <= 900


def test_login_is_rate_limited_per_address(client):
    for i in range(30):
        client.post("/api/auth/token", json={"email": f"u{i}@example.kr", "password": "x"})
    blocked = client.post("/api/auth/token", json={"email": "fresh@example.kr", "password": "x"})
    _assert_error(blocked, 429)
    assert int(blocked.headers["Retry-After"]) > 0


def test_successful_login_clears_the_account_counter(client):
    user = create_user()
    for _ in range(4):
        client.post("/api/auth/token", json={"email": user.email, "password": "nope"})
    ok = client.post("/api/auth/token", json={"email": user.email, "password": PASSWORD})
    assert ok.status_code == 200
    for _ in range(4):
        client.post("/api/auth/token", json={"email": user.email, "password": "nope"})
    assert (
        client.post("/api/auth/token", json={"email": user.email, "password": PASSWORD}).status_code
        == 200
    )


@pytest.mark.parametrize("limiter_kind", ["database", "redis"])
def test_limiters_count_and_expire(limiter_kind, clock):
    import uuid

    from core.ratelimit import DatabaseLimiter, RedisLimiter

    limiter = (
        DatabaseLimiter()
        if limiter_kind == "database"
        else RedisLimiter("redis://127.0.0.1:6379/0")
    )
    key = f"test:{uuid.uuid4().hex}"
    assert limiter.retry_after(key, 2, 60) == 0
    limiter.hit(key, 60)
    limiter.hit(key, 60)
    assert 0 < limiter.retry_after(key, 2, 60) <= 60
    limiter.reset(key)
    assert limiter.retry_after(key, 2, 60) == 0


def test_a_database_window_ends_and_a_new_one_counts_from_one(clock):
    from core.ratelimit import DatabaseLimiter

    limiter = DatabaseLimiter()
    limiter.hit("test:window", 60)
    limiter.hit("test:window", 60)
    assert limiter.retry_after("test:window", 2, 60) == 60
    clock.advance(seconds=45)
    assert limiter.retry_after("test:window", 2, 60) == 15
    clock.advance(seconds=15)
    assert limiter.retry_after("test:window", 2, 60) == 0
    limiter.hit("test:window", 60)  # the lapsed window starts again at one
    assert limiter.retry_after("test:window", 2, 60) == 0
    limiter.hit("test:window", 60)
    assert limiter.retry_after("test:window", 2, 60) == 60


def test_ids_beyond_the_integer_column_are_404(client, admin):
    from tests.fixtures.users import auth_headers

    response = client.put(
        f"/api/users/{2**40}/roles", json={"roles": ["resident"]}, headers=auth_headers(admin)
    )
    _assert_error(response, 404)


def test_ids_in_bodies_and_query_strings_beyond_integer_are_422(client, librarian):
    from tests.fixtures.users import auth_headers

    headers = auth_headers(librarian)
    big = 2**40
    restock = client.get(f"/api/library/restock-plan?kiosk_id={big}", headers=headers)
    _assert_error(restock, 422)
    assert "kiosk_id" in restock.json["errors"]
    copy = client.post(
        "/api/library/copies", json={"title_id": big, "barcode": "BC-0001"}, headers=headers
    )
    _assert_error(copy, 422)
    assert "title_id" in copy.json["errors"]


def test_security_headers(client, resident):
    from tests.fixtures.users import auth_headers

    health = client.get("/api/health")
    assert health.headers["X-Content-Type-Options"] == "nosniff"
    assert health.headers["X-Frame-Options"] == "DENY"
    docs = client.get("/api/docs")
    policy = docs.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy
    token = client.post("/api/auth/token", json={"email": "nobody@example.kr", "password": "x"})
    assert token.headers["Cache-Control"] == "no-store"
    me = client.get("/api/me", headers=auth_headers(resident))
    assert me.headers["Cache-Control"] == "no-store"
    assert "Cache-Control" not in health.headers


FORWARDED = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "archive.example.kr",
    "X-Forwarded-For": "203.0.113.9",
}


def test_behind_a_load_balancer_that_ends_tls_the_links_given_say_https(client, test_settings):
    behind = create_app(
        {**test_settings, "PROXY_FIX_X_FOR": 1, "PROXY_FIX_X_PROTO": 1, "PROXY_FIX_X_HOST": 1}
    ).test_client()
    answer = behind.get("/iiif/3/17", headers=FORWARDED)
    assert answer.status_code == 303
    assert answer.headers["Location"] == "https://archive.example.kr/iiif/3/17/info.json"
    # Trusted only when configured: otherwise a client cannot choose the links' address.
    plain = client.get("/iiif/3/17", headers=FORWARDED)
    assert plain.headers["Location"] == "http://localhost/iiif/3/17/info.json"
