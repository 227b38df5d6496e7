"""The librarians' pages in a real browser: a librarian finds a hold's copy on the 예약대출
work list, loads it into a slot of the pickup kiosk, and the resident's own page shows it ready
there; the fleet dashboard reloads its table by itself. axe-core checks every page."""

from __future__ import annotations

import pytest
from selenium.webdriver.support.wait import WebDriverWait

from core.clock import now
from core.extensions import db
from library.services import holds, kiosks
from tests.fixtures.library import create_copy, create_kiosk, create_patron, create_title
from tests.fixtures.library import lib_settings as library_settings
from tests.fixtures.users import PASSWORD, create_user

pytestmark = pytest.mark.slow


def log_in(page, user) -> None:
    page.open("/login")
    page.fill(email=user.email, password=PASSWORD).submit()
    assert f"{user.name}님" in page.find(".account").text


def test_a_librarian_loads_a_holds_copy_and_the_resident_sees_it_ready(page):
    librarian = create_user(("librarian",), name="이사서")
    resident = create_user(name="김도서")
    patron = create_patron(user=resident, name="김도서", card="HH-2026-000777")
    kiosk = create_kiosk("GN-01", slots=6)
    kiosk.kiosk.name = "강남역 스마트도서관"
    title = create_title("소년이 온다", "한강")
    copy = create_copy(title, barcode="LIB-0001")  # on the library's shelf
    hold = holds.place_hold(patron, title, kiosk.id, now=now(), settings=library_settings())
    db.session.commit()

    log_in(page, librarian)
    page.open("/staff/").check()
    page.find("main a[href='/staff/library/']").click()
    assert page.find("h1").text == "키오스크 현황"
    row = page.find(f"#kiosk-{kiosk.id}")
    assert "정상" in row.text and "0 / 6칸" in row.text
    page.check()

    page.open("/staff/library/holds").check()
    card = page.find(f"#hold-{hold.id}")
    assert "소년이 온다" in card.text and "GN-01 강남역 스마트도서관" in card.text
    assert "LIB-0001" in card.text
    link = card.find_element("css selector", "a[href*='barcode=LIB-0001']")
    page.open(link.get_attribute("href").removeprefix(page.server.url)).check()
    assert page.find("#f-barcode").get_attribute("value") == "LIB-0001"
    assert page.find("#f-slot").get_attribute("value") == "1"

    # A slot that does not exist: refused next to the field, the page still passes its checks.
    page.fill(slot=9).submit("#load button[type=submit]")
    assert page.find("#f-slot-error").text == "1에서 6 사이로 입력해 주세요."
    page.check()

    page.fill(slot=4).submit("#load button[type=submit]")
    assert f"/staff/library/kiosks/{kiosk.id}" == page.path
    assert "LIB-0001 『소년이 온다』을(를) 4번 칸에 넣었습니다." in page.text
    assert "예약 보관 중" in page.find("#slot-4").text
    page.check()
    db.session.refresh(copy)
    assert copy.status == "reserved_for_pickup" and copy.slot == 4

    # The resident's own page shows it ready at the kiosk, in slot 4.
    page.submit(".account button[type=submit]")  # 로그아웃
    log_in(page, resident)
    page.open("/library/me").check()
    shown = page.find(f"#hold-{hold.id}")
    assert "찾아갈 수 있음" in shown.text and "강남역 스마트도서관 · 4번 칸" in shown.text
    # The librarians' pages are not the resident's.
    page.open("/staff/library/").check()
    assert "권한이 없습니다" in page.text


def test_the_fleet_dashboard_reloads_its_table_by_itself(page):
    librarian = create_user(("librarian",), name="이사서")
    kiosk = create_kiosk("GN-01", slots=6)
    log_in(page, librarian)
    page.open("/staff/library/").check()
    assert "정상" in page.find(f"#kiosk-{kiosk.id}").text

    # The kiosk reports a jammed return slot; the table shows it without a reload of the page.
    kiosks.heartbeat(
        db.session.merge(kiosk.kiosk),
        ["return_slot_jammed"],
        now=now(),
        settings=library_settings(),
    )
    db.session.commit()
    page.driver.execute_script("window.__stayed = true;")
    page.driver.execute_script(
        "document.getElementById('fleet').dispatchEvent(new Event('refresh'));"
    )
    # Read through the document, not an element: the region's nodes are being replaced.
    row_text = f"return document.getElementById('kiosk-{kiosk.id}').innerText;"
    WebDriverWait(page.driver, 10).until(
        lambda driver: "반납구 걸림" in (driver.execute_script(row_text) or "")
    )
    assert page.driver.execute_script("return window.__stayed === true;")  # the same document
    assert "반납 (고장)" in page.find(f"#kiosk-{kiosk.id}").text
    assert "(자동 갱신)" in page.find("#fleet-status").text
    page.check()
