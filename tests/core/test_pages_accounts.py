"""Account pages over HTTP: the cookie session, CSRF, limits and tokens they share with the
API."""

from __future__ import annotations

from core.extensions import db
from core.models import ApiToken
from tests.fixtures.pages import csrf_of, log_in
from tests.fixtures.users import PASSWORD, auth_headers, create_user


def test_the_session_cookie_is_httponly_lax_and_holds_an_api_token(client):
    user = create_user()
    answer = log_in(client, user.email)
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    cookie = next(h for h in answer.headers.getlist("Set-Cookie") if "happyhub_session" in h)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # testing runs on plain HTTP; production sets it
    assert db.session.query(ApiToken).filter_by(user_id=user.id).count() == 1
    assert "님" in client.get("/").get_data(as_text=True)


def test_secure_cookies_outside_development(app):
    from core.app import create_app  # a second app, with production settings

    production = create_app({**app.config, "APP_ENV": "production", "SECRET_KEY": "s" * 32})
    assert production.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_a_form_without_its_csrf_token_is_refused(client):
    user = create_user()
    answer = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert answer.status_code == 400
    assert "페이지가 만료되었습니다" in answer.get_data(as_text=True)
    assert db.session.query(ApiToken).count() == 0


def test_logging_out_revokes_the_token_and_the_api_never_reads_the_cookie(client):
    user = create_user()
    log_in(client, user.email)
    # The cookie alone is no credential for the JSON API.
    assert client.get("/api/me").status_code == 401
    page = client.get("/profile")
    assert page.status_code == 200
    client.post("/logout", data={"csrf_token": csrf_of(page)})
    token = db.session.query(ApiToken).filter_by(user_id=user.id).one()
    assert token.revoked_at is not None
    assert client.get("/profile").status_code == 302


def test_a_deactivated_account_loses_its_page_session(client):
    user = create_user()
    log_in(client, user.email)
    assert client.get("/profile").status_code == 200
    user.is_active = False
    db.session.commit()
    assert client.get("/profile").status_code == 302


def test_page_logins_count_against_the_same_limits_as_the_api(client):
    user = create_user()
    answers = [log_in(client, user.email, "wrong password!").status_code for _ in range(6)]
    assert answers == [422] * 5 + [429]
    # The API sees the same count: the account is resting at this address.
    api = client.post("/api/auth/token", json={"email": user.email, "password": PASSWORD})
    assert api.status_code == 429


def test_registering_on_the_page_signs_in_and_refuses_like_the_api(client):
    token = csrf_of(client.get("/register"))
    weak = client.post(
        "/register",
        data={
            "name": "이수",
            "email": "isu@example.kr",
            "password": "1234567890",
            "csrf_token": token,
        },
    )
    assert weak.status_code == 422
    assert 'id="f-password-error"' in weak.get_data(as_text=True)
    good = client.post(
        "/register",
        data={
            "name": "이수",
            "email": "isu@example.kr",
            "password": "푸른 하늘 은하수 하얀 쪽배",
            "csrf_token": token,
        },
    )
    assert good.status_code == 302
    home = client.get("/")
    assert "이수님" in home.get_data(as_text=True)
    token = csrf_of(home)  # signing in started a new session, with a new token
    again = client.post(
        "/register",
        data={
            "name": "이수",
            "email": "ISU@example.kr",
            "password": "푸른 하늘 은하수 하얀 쪽배",
            "csrf_token": token,
        },
    )
    assert "이미 가입된 이메일입니다." in again.get_data(as_text=True)


def test_login_only_redirects_within_the_site(client):
    user = create_user()
    token = csrf_of(client.get("/login"))
    answer = client.post(
        "/login",
        data={
            "email": user.email,
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/",
        },
    )
    assert answer.headers["Location"] == "/"


def test_pages_carry_a_strict_content_security_policy(client):
    answer = client.get("/login")
    policy = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert answer.headers["X-Frame-Options"] == "DENY"


def test_the_api_updates_the_same_profile(client, resident):
    headers = auth_headers(resident)
    answer = client.patch("/api/me", json={"phone": "010-9999-0000"}, headers=headers)
    assert answer.status_code == 200 and answer.json["phone"] == "010-9999-0000"
    assert answer.json["name"] == resident.name


def test_turning_a_notification_group_off_on_the_profile_page(client, clock):
    from core.notifications import notify  # the outbox the use cases write to

    user = create_user()
    log_in(client, user.email)
    page = client.get("/profile")
    assert page.get_data(as_text=True).count('name="receive"') == 2
    answer = client.post(
        "/profile",
        data={"name": user.name, "receive": ["booking_receipts"], "csrf_token": csrf_of(page)},
    )
    assert answer.status_code == 200 and "저장했습니다." in answer.get_data(as_text=True)
    db.session.expire_all()
    assert user.notifications_off == ["library_reminders"]
    # A reminder is now skipped; a receipt and a message that is always sent still go out.
    assert notify(user, "library_due_soon", "반납 예정", "본문", now=clock.now()) is None
    assert notify(user, "booking_confirmed", "예약 확정", "본문", now=clock.now()) is not None
    assert notify(user, "waitlist_offer", "대기 제안", "본문", now=clock.now()) is not None


def test_the_api_sets_the_same_choices_and_refuses_unknown_groups(client, resident):
    headers = auth_headers(resident)
    answer = client.patch("/api/me", json={"notifications_off": ["nope"]}, headers=headers)
    assert answer.status_code == 422 and "notifications_off" in answer.json["errors"]
    answer = client.patch(
        "/api/me", json={"notifications_off": ["booking_receipts"]}, headers=headers
    )
    assert answer.status_code == 200
    assert answer.json["notifications_off"] == ["booking_receipts"]


def test_an_unexpected_failure_is_a_page_with_its_request_id(app):
    from core.app import create_app  # a second app, to add a failing page before it serves
    from core.web import PageBlueprint

    broken = create_app(dict(app.config))
    failing = PageBlueprint("failing", __name__)

    @failing.get("/failing")
    def fail():
        raise RuntimeError("a bug")

    broken.register_blueprint(failing)
    answer = broken.test_client().get("/failing", headers={"X-Request-ID": "req-500-page"})
    assert answer.status_code == 500
    assert answer.mimetype == "text/html"
    body = answer.get_data(as_text=True)
    assert "일시적인 오류가 발생했습니다" in body and "req-500-page" in body
    assert "a bug" not in body  # nothing of the failure itself reaches the person
