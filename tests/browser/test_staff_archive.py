"""The archivists' staff pages in a real browser: an archivist describes a new record (its date
read as typed), uploads a scan (progress, then its thumbnail), corrects the scan's OCR text,
publishes the record once its checklist is green, and a resident's archive search finds it by
the corrected text. A librarian gets the 403 page. Every page checked with axe-core."""

from __future__ import annotations

import pytest
from flask import current_app
from selenium.webdriver.support.wait import WebDriverWait

from archive.search import index
from tests.fixtures.archive import korean_png
from tests.fixtures.users import PASSWORD, create_user

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def empty_shared_index(app):
    """The live server indexes into the suite's own index directory: start and end empty."""
    base = current_app.config["INDEX_DIR"]
    index.rebuild(base, [])
    yield
    index.rebuild(base, [])


def _wait(page, condition, timeout=60):
    return WebDriverWait(page.driver, timeout).until(lambda driver: condition())


def log_in(page, user, name: str) -> None:
    page.open("/login").check()
    page.fill(email=user.email, password=PASSWORD).submit()
    assert f"{name}님" in page.find(".account").text


def test_describe_upload_correct_publish_and_a_resident_finds_it(page, tmp_path):
    archivist = create_user(("archivist",), name="박기록")
    resident = create_user(("resident",), name="김시민")
    scan = tmp_path / "gate.png"
    scan.write_bytes(korean_png(["의정부 관아 정문", "광무 3년"]))

    log_in(page, archivist, "박기록")
    page.open("/staff/").check()
    page.submit(".cards a[href='/staff/archive/']")
    assert page.find("h1").text == "향토문화 자료"
    page.check()

    # A new record: the date is read by the server's parser as it is typed.
    page.submit("a[href='/staff/archive/new']")
    page.fill(
        identifier="UJB-2026-000777",
        title="의정부 관아 정문",
        date_text="19세기 후반",
        rights="공공누리 제1유형",
        subjects="관아",
        place="의정부동",
    )
    _wait(page, lambda: page.find("#date-reading").text == "1851년 ~ 1900년", timeout=10)
    page.check()
    page.submit("form.arc-record-form button[type=submit]")
    assert page.path.startswith("/staff/archive/records/")
    assert "초안으로 만들었습니다" in page.text
    checklist = page.find(".arc-checklist").text
    assert "없음 이미지 한 장 이상 또는 옮겨 적은 글" in checklist
    page.check()

    # A scan: sent by the page's script with its progress, its thumbnail shown once ready.
    page.find("#f-file").send_keys(str(scan))
    page.find("form.arc-upload button[type=submit]").click()
    _wait(page, lambda: "올렸습니다" in page.find("#upload-progress").text)
    _wait(page, lambda: page.find_all("#media-list img"))
    thumbnail = page.find("#media-list img")
    _wait(page, lambda: page.driver.execute_script("return arguments[0].naturalWidth", thumbnail))
    assert "준비됨" in page.find("#media-list").text
    page.check()

    # The OCR text beside the scan, corrected.
    page.open(page.path)  # the page again: the checklist now sees the image
    assert "없음" not in page.find(".arc-checklist").text
    page.submit("#media-list a[href$='/text']")
    assert page.find("h1").text == "글자 고치기"
    assert page.find(".arc-scan img").get_attribute("alt").startswith("스캔 이미지")
    assert "관아" in page.find("#f-corrected_text").get_attribute("value")
    page.check()
    page.fill(corrected_text="의정부 관아 정문 광무 삼년 현판 해태석상")
    page.submit(".arc-text form button[type=submit]")
    assert "고친 글을 저장했습니다" in page.text
    page.check()

    # Published, now that its checklist is green.
    page.submit("a.arc-back")
    page.submit("#publish")
    assert "공개했습니다" in page.text
    assert page.find(".arc-publish").text.count("갖춤") == 4
    page.check()

    # A resident searches the public archive and finds it by the corrected text.
    page.submit(".account button[type=submit]")  # log out
    log_in(page, resident, "김시민")
    page.open("/archive?q=해태석상")
    titles = [a.text for a in page.find_all(".result h3 a")]
    assert titles == ["의정부 관아 정문"]
    page.check()
    page.open("/staff/archive/")
    assert page.find("h1").text == "권한이 없습니다"


def test_a_librarian_gets_the_403_page(page):
    librarian = create_user(("librarian",), name="이사서")
    log_in(page, librarian, "이사서")
    page.open("/staff/archive/")
    assert page.find("h1").text == "권한이 없습니다"
    page.check()
    page.open("/staff/archive/imports")
    assert page.find("h1").text == "권한이 없습니다"
