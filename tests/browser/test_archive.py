"""The archive in a real browser: search from the home page, narrow by a facet, open a record
and its image in the zoomable IIIF viewer, browse the collections; every page checked."""

from __future__ import annotations

import io

import pytest
from flask import current_app
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.wait import WebDriverWait

from archive.search import index
from archive.services import media as media_service
from core.extensions import db
from tests.fixtures.archive import archive_settings, korean_png, now
from tests.fixtures.archive_search import create_search_record

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def empty_shared_index(app):
    """The live server searches the suite's own index directory, where this process indexes
    too. Other tests leave documents there whose rows are gone: start empty, leave empty."""
    base = current_app.config["INDEX_DIR"]
    index.rebuild(base, [])
    yield
    index.rebuild(base, [])


def _record_with_image():
    record = create_search_record(
        title="의정부 관아 정문",
        description="1911년 의정부 관아 정문 앞에서 찍은 유리건판 사진.",
        type="photo",
        subjects=["관아"],
        place="의정부동",
        collections=["유리건판 사진"],
        rights="KOGL-1",
        date_text="1911",
    )
    media_service.upload(
        "test",
        record,
        io.BytesIO(korean_png(["의정부 관아 정문", "광무 3년"])),
        "gate.png",
        now=now(),
        settings=archive_settings(),
    )
    db.session.commit()  # the media job runs now (derivatives, OCR) and reindexes the record
    return record


def _wait(page, condition):
    return WebDriverWait(page.driver, 10).until(lambda driver: condition())


def test_search_narrow_open_a_record_and_zoom_its_image(page):
    shown = _record_with_image()
    create_search_record(
        title="의정부 읍내 지도", type="map", subjects=["지리"], place="의정부동", date_text="1872"
    )
    create_search_record(title="의정부 관아 초안", visibility="draft")

    page.open("/").check()
    page.fill(within=".archive-panel", q="의정부").submit(".archive-panel button[type=submit]")
    assert page.path.startswith("/archive?q=")
    titles = [a.text for a in page.find_all(".result h3 a")]
    assert sorted(titles) == ["의정부 관아 정문", "의정부 읍내 지도"]
    assert [m.text for m in page.find_all(".snippet mark")][:1] == ["의정부"]
    page.check()

    # A facet narrows the results, and can be taken off again.
    (maps,) = [a for a in page.find_all(".facet a") if a.text.startswith("지도")]
    assert maps.text == "지도 1건"
    page.submit(f".facet a[href='{maps.get_attribute('href').removeprefix(page.server.url)}']")
    assert [a.text for a in page.find_all(".result h3 a")] == ["의정부 읍내 지도"]
    assert "유형: 사진" not in page.text and "유형: 지도" in page.text
    page.check()
    page.submit(".active-filters a")
    assert len(page.find_all(".result h3 a")) == 2

    page.submit(f".result h3 a[href='/archive/records/{shown.identifier}']")
    assert page.path == f"/archive/records/{shown.identifier}"
    assert page.find("h1").text == "의정부 관아 정문"
    thumbnail = page.find(".gallery a[data-viewer] img")
    alt = "의정부 관아 정문: 1911년 의정부 관아 정문 앞에서 찍은 유리건판 사진."
    assert thumbnail.get_attribute("alt") == alt
    assert page.driver.execute_script("return arguments[0].naturalWidth", thumbnail) > 0
    assert "공공누리 제1유형" in page.find(".badge.rights").text
    assert "의정부 관아" in page.text  # the OCR text of the image
    page.check()

    # The record's IIIF manifest is linked from the page.
    manifest = page.find("a.iiif-manifest").get_attribute("href")
    assert manifest.endswith(f"/iiif/3/records/{shown.identifier}/manifest.json")

    # The viewer reads the manifest: the image from its IIIF image service in a dialog, zoomed
    # and moved with the keyboard, sharpened by the service's tiles of the part in view.
    page.find(".gallery a[data-viewer]").click()
    dialog = page.find("dialog.viewer")
    _wait(page, lambda: dialog.get_attribute("open") is not None)
    large = page.find(".viewer-frame img.viewer-base")
    assert large.get_attribute("alt") == alt
    _wait(page, lambda: "/iiif/3/" in (large.get_attribute("src") or ""))
    assert large.get_attribute("src").endswith("/0/default.jpg")
    _wait(page, lambda: page.driver.execute_script("return arguments[0].complete", large))
    assert page.driver.execute_script("return arguments[0].naturalWidth", large) > 0
    stage = page.find(".viewer-stage")
    keys = ActionChains(page.driver)
    keys.send_keys("+").send_keys("+").perform()
    assert page.find(".viewer-status").text == "확대 225%"
    _wait(page, lambda: len(page.find_all(".viewer-tile")) > 0)
    tile = page.find_all(".viewer-tile")[0]
    assert "/iiif/3/" in tile.get_attribute("src")
    _wait(page, lambda: page.driver.execute_script("return arguments[0].naturalWidth", tile) > 0)
    before = stage.value_of_css_property("transform")
    keys.send_keys(Keys.ARROW_RIGHT).perform()
    assert stage.value_of_css_property("transform") != before
    keys.send_keys("-").perform()
    assert page.find(".viewer-status").text == "확대 150%"
    page.check()
    keys.send_keys(Keys.ESCAPE).perform()
    _wait(page, lambda: dialog.get_attribute("open") is None)
    active = page.driver.switch_to.active_element
    assert active.get_attribute("data-viewer") is not None  # focus back on the thumbnail

    # The record's collection, and the list of collections.
    page.submit(".meta a[href^='/archive/collections/']")
    assert page.find("h1").text == "유리건판 사진"
    assert [a.text for a in page.find_all(".result h3 a")] == ["의정부 관아 정문"]
    page.check()
    page.open("/archive/collections")
    assert "유리건판 사진" in page.text
    page.check()


def test_browsing_and_a_hidden_record(page):
    draft = create_search_record(title="의정부 비공개 자료", visibility="draft")
    create_search_record(title="회룡사 대웅전")
    page.open("/archive")
    assert [a.text for a in page.find_all(".result h3 a")] == ["회룡사 대웅전"]
    page.check()
    page.open(f"/archive/records/{draft.identifier}")
    assert page.find("h1").text == "페이지를 찾을 수 없습니다"
    page.check()
    page.open("/archive?year_from=1990&year_to=1950")
    assert page.find("#f-year_to-error").text == "끝 연도는 시작 연도보다 앞설 수 없습니다."
    page.check()
