"""A resident's account in a real browser: register, out, in, profile; errors as pages."""

from __future__ import annotations

import pytest

from tests.fixtures.users import PASSWORD, create_user

pytestmark = pytest.mark.slow


def test_register_log_out_and_back_in(page):
    page.open("/").check()
    page.open("/register").check()
    page.fill(name="김하늘", email="haneul@example.kr", password="짧음", phone="010-12")
    page.submit()
    # Refused: the message next to its field, in Korean, with what was typed kept.
    assert page.find("#f-phone-error").text == "형식이 올바르지 않습니다."
    assert page.find("#f-name").get_attribute("value") == "김하늘"
    assert page.find("#f-email").get_attribute("value") == "haneul@example.kr"
    assert page.find("#f-password").get_attribute("value") == ""  # never sent back
    page.check()
    page.fill(password="짧음", phone="010-1234-5678").submit()
    assert page.find("#f-password-error").text == "10자 이상 입력해 주세요."
    assert page.find("#f-phone").get_attribute("value") == "010-1234-5678"

    page.fill(password="푸른 하늘 은하수 하얀 쪽배").submit()
    assert page.path == "/"
    assert "김하늘님" in page.find(".account").text

    page.submit(".account button[type=submit]")  # 로그아웃
    assert "로그인" in page.find(".account").text

    page.open("/login").fill(email="haneul@example.kr", password="틀린 비밀번호입니다").submit()
    assert "이메일 또는 비밀번호가 맞지 않습니다." in page.text
    assert page.find("#f-email").get_attribute("value") == "haneul@example.kr"
    page.check()
    page.fill(password="푸른 하늘 은하수 하얀 쪽배").submit()
    assert "김하늘님" in page.find(".account").text


def test_a_page_for_signed_in_people_sends_others_to_login_and_back(page):
    user = create_user(name="박지민")
    page.open("/profile")
    assert page.path.startswith("/login?next=/profile")
    page.fill(email=user.email, password=PASSWORD).submit()
    assert page.path == "/profile", page.text
    page.check()
    page.fill(name="박지민 (수정)", phone="").submit()
    assert "저장했습니다." in page.text
    assert page.find("#f-name").get_attribute("value") == "박지민 (수정)"


def test_errors_are_pages_in_the_sites_look(page):
    page.open("/no-such-page")
    assert page.find("h1").text == "페이지를 찾을 수 없습니다"
    assert page.find("html").get_attribute("lang") == "ko"
    page.check()
