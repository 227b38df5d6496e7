"""The smart library in a real browser: a resident searches the catalogue, opens a title,
places a hold for pickup at a kiosk and finds it on their page; and renews a loan there."""

from __future__ import annotations

import re

import pytest

from core.clock import now
from core.extensions import db
from library.pages import last_day_text
from library.services import loans
from tests.fixtures.library import create_copy, create_kiosk, create_patron, create_title
from tests.fixtures.library import lib_settings as library_settings
from tests.fixtures.users import PASSWORD, create_user

pytestmark = pytest.mark.slow


def named_kiosk(code: str, name: str, location: str):
    handle = create_kiosk(code)
    handle.kiosk.name, handle.kiosk.location = name, location
    db.session.commit()
    return handle


def log_in(page, user) -> None:
    page.open("/login").check()
    page.fill(email=user.email, password=PASSWORD).submit()
    assert "김도서님" in page.find(".account").text


def test_search_open_a_title_and_hold_it_for_pickup(page):
    user = create_user(name="김도서")
    create_patron(user=user, name="김도서", card="HH-2026-000777")
    gangnam = named_kiosk("GN-01", "강남역 스마트도서관", "강남역 2번 출구")
    seocho = named_kiosk("SC-01", "서초구청 스마트도서관", "서초구청 1층")
    title = create_title("소년이 온다", "한강", publisher="창비", year=2014)
    create_copy(title, kiosk=gangnam)
    create_copy(title, kiosk=gangnam)
    create_copy(title)  # on the library's shelf
    create_title("코스모스", "칼 세이건")

    log_in(page, user)
    # The home page's library panel searches the catalogue.
    page.fill(within=".library-panel", q="한강").submit(".library-panel button[type=submit]")
    assert page.path == "/library?q=%ED%95%9C%EA%B0%95"
    assert page.find("h2#results-heading").text.startswith("‘한강’ 검색 결과")
    [card] = page.find_all("ul.results > li")
    assert "강남역 스마트도서관 2권 대출 가능" in card.text
    assert "도서관 서가 1권 · 전체 소장 3권" in card.text
    assert "코스모스" not in page.text
    page.check()

    link = card.find_element("css selector", "h3 a")
    assert link.text == "소년이 온다"
    page.open(link.get_attribute("href").removeprefix(page.server.url)).check()
    assert page.find("h1").text == "소년이 온다"
    rows = [r.text for r in page.find_all("table tbody tr")]
    assert rows == ["강남역 스마트도서관 2권"]

    # Nothing chosen: the refusal next to the field, and the page still passes its checks.
    page.submit()
    assert page.find("#f-kiosk_id-error").text == "꼭 입력해 주세요."
    page.check()

    # Picked up at a kiosk that has a copy: it is set aside there at once.
    page.fill(kiosk_id=gangnam.id).submit()
    assert page.path == "/library/me"
    assert "『소년이 온다』을(를) 예약했습니다. 강남역 스마트도서관에 있으니" in page.text
    [hold] = page.find_all("[id^=hold-]")
    assert "찾아갈 수 있음" in hold.text and "강남역 스마트도서관" in hold.text
    # The countdown runs (site.js) from the pickup deadline, three days ahead.
    countdown = hold.find_element("css selector", "time[data-countdown]")
    assert re.fullmatch(r"\d일 \d+시간 \d\d분 \d\d초", countdown.text), countdown.text
    page.check()

    # A second title, to a kiosk without a copy: it waits.
    other = create_title("아몬드", "손원평")
    create_copy(other)
    page.open(f"/library/titles/{other.id}")
    page.fill(kiosk_id=seocho.id).submit()
    assert "서초구청 스마트도서관에 도착하면 알려 드립니다." in page.text
    statuses = [h.find_element("css selector", ".badge").text for h in page.find_all("[id^=hold-]")]
    assert statuses == ["찾아갈 수 있음", "대기 중"]
    page.check()


def test_a_loan_renewed_from_my_page(page):
    user = create_user(name="김도서")
    patron = create_patron(user=user, name="김도서")
    kiosk = create_kiosk("GN-01")
    copy = create_copy(create_title("채식주의자", "한강"), kiosk=kiosk)
    settings = library_settings()
    moment = now()
    loan = loans.checkout(
        kiosk.kiosk, patron, copy.barcode, at=moment, now=moment, settings=settings
    )
    db.session.commit()
    due = loan.due_at

    log_in(page, user)
    page.open("/library/me").check()
    card = page.find(f"#loan-{loan.id}")
    assert "채식주의자" in card.text and "연체" not in card.text
    assert f"반납 예정일\n{last_day_text(due)}까지" in card.text

    page.submit(f"#loan-{loan.id} button[type=submit]")
    assert page.path == "/library/me"
    db.session.refresh(loan)
    assert loan.renewals == 1 and (loan.due_at - due).days == settings.renewal_days
    renewed = last_day_text(loan.due_at)
    assert f"『채식주의자』 대출을 연장했습니다. 반납 예정일: {renewed}" in page.text
    assert f"반납 예정일\n{renewed}까지" in page.find(f"#loan-{loan.id}").text
    page.check()

    # Once only: the second time is refused next to the loan.
    page.submit(f"#loan-{loan.id} button[type=submit]")
    alert = page.find(f"#loan-{loan.id} [role=alert]")
    assert alert.text == "연장할 수 있는 횟수를 모두 썼습니다."
    page.check()
