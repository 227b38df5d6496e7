"""The archive's pages over HTTP: search and browse with facets, year range and pages; the
collections; a record with its images, rights, text and related records. Unpublished records
appear nowhere, and record text is always shown as text."""

from __future__ import annotations

import io
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

from archive.pages import rights_of
from archive.services import media as media_service
from archive.services import records as record_service
from core.extensions import db
from tests.fixtures.archive import archive_settings, image_bytes, now
from tests.fixtures.archive_search import create_search_record, fresh_index  # noqa: F401

pytestmark = pytest.mark.usefixtures("fresh_index")


def page_text(response) -> str:
    """What a person reads on the page: its main part, tags taken out, entities read."""
    html = response.get_data(as_text=True)
    main = html[html.index("<main") : html.index("</main>")]
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", main)))


def result_titles(response) -> list[str]:
    html = response.get_data(as_text=True)
    return [
        unescape(title)
        for title in re.findall(r'<h3><a href="/archive/records/[^"]+">([^<]*)</a></h3>', html)
    ]


def links(response, text: str) -> list[str]:
    """The addresses of the links whose text starts with ``text``."""
    html = response.get_data(as_text=True)
    return [
        unescape(href)
        for href, label in re.findall(r'<a href="([^"]+)"[^>]*>(.*?)</a>', html, re.S)
        if unescape(re.sub(r"<[^>]+>", "", label)).strip().startswith(text)
    ]


def record(title, **fields):
    return create_search_record(title=title, **fields)


# --- unpublished records -----------------------------------------------------------------


def test_unpublished_records_appear_nowhere(client):
    shown = record(
        "의정부 관아 공개 사진",
        subjects=["관아"],
        place="의정부동",
        collections=["유리건판 사진"],
    )
    draft = record(
        "의정부 관아 초안 사진",
        visibility="draft",
        subjects=["관아"],
        place="의정부동",
        collections=["유리건판 사진", "비공개 모음"],
    )
    withdrawn = record(
        "의정부 관아 회수 사진",
        subjects=["관아"],
        place="의정부동",
        collections=["유리건판 사진"],
    )
    record_service.withdraw("test", withdrawn, now=now())
    db.session.commit()
    # Another published record, to have something related to look at.
    other = record("의정부 관아 옛 터", subjects=["관아"], place="의정부동")

    searched = client.get("/archive", query_string={"q": "의정부 관아"})
    assert searched.status_code == 200
    assert sorted(result_titles(searched)) == sorted([shown.title, other.title])
    browsed = client.get("/archive")
    assert sorted(result_titles(browsed)) == sorted([shown.title, other.title])
    assert "초안" not in page_text(browsed) and "회수" not in page_text(browsed)

    listed = page_text(client.get("/archive/collections"))
    assert "유리건판 사진 자료 1건" in listed
    assert "비공개 모음" not in listed
    assert client.get("/archive/collections/비공개 모음").status_code == 404
    collection = client.get("/archive/collections/유리건판 사진")
    assert result_titles(collection) == [shown.title]

    page = client.get(f"/archive/records/{shown.identifier}")
    assert page.status_code == 200
    assert "의정부 관아 옛 터" in page_text(page)  # related: same subject and place
    assert "초안" not in page_text(page) and "회수" not in page_text(page)

    home = page_text(client.get("/"))
    assert shown.title in home and "초안" not in home and "회수" not in home

    for hidden in (draft, withdrawn):
        answer = client.get(f"/archive/records/{hidden.identifier}")
        assert answer.status_code == 404
        assert "페이지를 찾을 수 없습니다" in page_text(answer)
        assert hidden.title not in answer.get_data(as_text=True)
    assert client.get("/archive/records/NO-SUCH-RECORD").status_code == 404


def test_the_search_page_takes_no_visibility_from_anyone(client):
    record("의정부 초안 지도", visibility="draft")
    answer = client.get("/archive", query_string={"q": "의정부", "visibility": "all"})
    assert answer.status_code == 200
    assert result_titles(answer) == []


def test_a_mistyped_word_gets_a_link_to_the_right_one(client):
    record("회룡사 대웅전")
    answer = client.get("/archive", query_string={"q": "회룡샤"})
    assert answer.status_code == 200
    assert "이 낱말을 찾으셨나요? 회룡사" in page_text(answer)
    [url] = links(answer, "회룡사")
    assert parse_qs(urlsplit(url).query)["q"] == ["회룡사"]
    assert result_titles(client.get(url)) == ["회룡사 대웅전"]
    assert "찾으셨나요" not in page_text(client.get("/archive", query_string={"q": "회룡사"}))


# --- text is text ------------------------------------------------------------------------


def test_markup_in_record_text_is_shown_as_text(client):
    shown = record(
        "<script>alert(1)</script> 의정부 관아",
        description='<img src=x onerror="alert(2)"> 의정부 관아 앞 <b>거리</b>',
        transcription="<script>alert(3)</script>",
    )
    searched = client.get("/archive", query_string={"q": "의정부"})
    html = searched.get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; 의정부 관아" in html
    # The snippet: the record's own text escaped, the marks ours.
    snippet = re.search(r'<p class="snippet">(.*?)</p>', html, re.S)[1]
    assert snippet.startswith("&lt;img src=x onerror=&#34;alert(2)&#34;&gt; <mark>의정부</mark>")
    assert "&lt;b&gt;거리&lt;/b&gt;" in snippet
    assert result_titles(searched) == [shown.title]

    page = client.get(f"/archive/records/{shown.identifier}")
    html = page.get_data(as_text=True)
    assert "<script>alert" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in html
    assert "<title>&lt;script&gt;alert(1)&lt;/script&gt; 의정부 관아 - 향토문화 아카이브" in html


# --- facets, years, sorting, pages -------------------------------------------------------


def test_a_facet_link_narrows_the_results_and_can_be_taken_off(client):
    photo = record("의정부역 앞 사진", type="photo", subjects=["교통"], place="의정부동")
    record("의정부 지도", type="map", subjects=["지리"], place="호원동")
    record("의정부 읍지", type="book", subjects=["지리"], place="호원동")
    everything = client.get("/archive", query_string={"q": "의정부"})
    assert len(result_titles(everything)) == 3
    text = page_text(everything)
    assert "사진 1건" in text and "지도 1건" in text and "도서 1건" in text
    assert "지리 2건" in text and "호원동 2건" in text

    (photos,) = links(everything, "사진 1건")
    assert parse_qs(urlsplit(photos).query) == {"q": ["의정부"], "type": ["photo"]}
    narrowed = client.get(photos)
    assert result_titles(narrowed) == [photo.title]
    assert "유형: 사진" in page_text(narrowed)
    (removal,) = links(narrowed, "해제")
    assert len(result_titles(client.get(removal))) == 3

    (geography,) = links(everything, "지리 2건")
    by_subject = client.get(geography)
    assert sorted(result_titles(by_subject)) == ["의정부 읍지", "의정부 지도"]
    # The form keeps the facet filter for the next search.
    assert '<input type="hidden" name="subject" value="지리">' in by_subject.get_data(as_text=True)
    assert result_titles(client.get("/archive", query_string={"q": "읍지", "subject": "지리"})) == [
        "의정부 읍지"
    ]


def test_year_range_and_decade_narrow_the_results(client):
    record("중랑천 빨래터", date_text="1950년대")
    record("중랑천 나루", date_text="19세기 후반")
    record("중랑천 다리 공사", date_text="1972")
    in_range = client.get(
        "/archive", query_string={"q": "중랑천", "year_from": 1955, "year_to": 1990}
    )
    assert sorted(result_titles(in_range)) == ["중랑천 다리 공사", "중랑천 빨래터"]
    assert "연도: 1955년 ~ 1990년" in page_text(in_range)
    assert result_titles(client.get("/archive", query_string={"q": "중랑천", "year_to": 1900})) == [
        "중랑천 나루"
    ]

    everything = client.get("/archive", query_string={"q": "중랑천"})
    (seventies,) = links(everything, "1970년대 1건")
    narrowed = client.get(seventies)
    assert result_titles(narrowed) == ["중랑천 다리 공사"]
    assert "연도: 1970년대" in page_text(narrowed)


def test_a_year_range_backwards_is_refused_next_to_its_field(client):
    record("중랑천 빨래터", date_text="1950년대")
    answer = client.get(
        "/archive", query_string={"q": "중랑천", "year_from": 1990, "year_to": 1950}
    )
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert re.search(r'id="f-year_to-error">\s*끝 연도는 시작 연도보다 앞설 수 없습니다.</p>', html)
    assert 'value="1990"' in html and 'value="중랑천"' in html  # what was typed stays
    assert result_titles(answer) == []
    not_a_year = client.get("/archive", query_string={"year_from": "옛날"})
    assert not_a_year.status_code == 422
    assert "숫자로 입력해 주세요." in page_text(not_a_year)
    # What came in the address, not from a field of the form, is said at the top.
    for address in ({"type": "painting"}, {"page": 0}, {"sort": "random"}):
        answer = client.get("/archive", query_string=address)
        assert answer.status_code == 422
        assert "주소에 든 검색 조건 중 올바르지 않은 값이 있습니다" in page_text(answer)
    assert client.get("/archive/collections/민속 기록", query_string={"page": 0}).status_code == 422


def test_results_come_in_pages(client):
    for n in range(1, 6):
        record(f"회룡사 사진 {n}")
    first = client.get("/archive", query_string={"q": "회룡사", "per_page": 2, "sort": "title"})
    assert result_titles(first) == ["회룡사 사진 1", "회룡사 사진 2"]
    assert "‘회룡사’ 검색 결과 5건" in page_text(first)
    html = first.get_data(as_text=True)
    assert re.search(r'aria-current="page"><span class="visually-hidden">페이지 </span>1<', html)
    (following,) = links(first, "다음")
    assert parse_qs(urlsplit(following).query)["page"] == ["2"]
    second = client.get(following)
    assert result_titles(second) == ["회룡사 사진 3", "회룡사 사진 4"]
    assert '<ol class="results" start="3">' in second.get_data(as_text=True)
    (last,) = links(second, "페이지 3")
    third = client.get(last)
    assert result_titles(third) == ["회룡사 사진 5"]
    assert links(third, "다음") == [] and len(links(third, "이전")) == 1
    beyond = client.get("/archive", query_string={"q": "회룡사", "per_page": 2, "page": 9})
    assert beyond.status_code == 200 and result_titles(beyond) == []
    assert "이 페이지에는 자료가 없습니다" in page_text(beyond)


def test_browsing_without_words_lists_the_newest_first(client):
    for title in ("가장 오래 전에 올린 자료", "그다음 자료", "가장 최근에 올린 자료"):
        record(title)
    answer = client.get("/archive")
    assert result_titles(answer) == [
        "가장 최근에 올린 자료",
        "그다음 자료",
        "가장 오래 전에 올린 자료",
    ]
    assert "자료 목록 3건" in page_text(answer)
    assert "관련도순" not in answer.get_data(as_text=True)  # no words: nothing to rank by


# --- collections -------------------------------------------------------------------------


def test_collections_list_their_published_records(client):
    record("호원동 사진", collections=["시정 사진", "민속 기록"])
    record("호원동 풍물", collections=["민속 기록"])
    record("호원동 장터", collections=["민속 기록"], type="document")
    listed = page_text(client.get("/archive/collections"))
    assert listed.index("민속 기록 자료 3건") < listed.index("시정 사진 자료 1건")

    page = client.get("/archive/collections/민속 기록")
    assert page.status_code == 200
    assert len(result_titles(page)) == 3
    (documents,) = links(page, "문서 1건")
    assert (
        urlsplit(documents).path == "/archive/collections/%EB%AF%BC%EC%86%8D%20%EA%B8%B0%EB%A1%9D"
    )
    assert result_titles(client.get(documents)) == ["호원동 장터"]
    # Narrowed to nothing is an empty page, not a missing collection.
    empty = client.get("/archive/collections/민속 기록", query_string={"type": "map"})
    assert empty.status_code == 200 and result_titles(empty) == []
    assert client.get("/archive/collections/없는 모음").status_code == 404


# --- one record --------------------------------------------------------------------------


def test_a_record_page_shows_images_metadata_rights_text_and_collection(client, clock):
    clock.advance(hours=15)  # 16:00 UTC on 2 March: already 3 March in Seoul
    shown = record(
        "의정부 관아 정문",
        alt_title="議政府 官衙",
        description="1911년 관아 정문 앞에서 찍은 유리건판 사진.",
        creator="미상",
        place="의정부동",
        subjects=["관아", "근대건축"],
        collections=["유리건판 사진"],
        rights="공공누리 제2유형",
        transcription="議政府 官衙 正門",
        date_text="1911",
    )
    media = media_service.upload(
        "test",
        shown,
        io.BytesIO(image_bytes()),
        "scan.jpg",
        now=now(),
        settings=archive_settings(),
    )
    db.session.commit()  # the media job runs now: derivatives, OCR
    media = db.session.get(type(media), media.id)
    media_service.correct_text("test", media, "의정부 관아 정문 교정문", now=now())
    db.session.commit()

    answer = client.get(f"/archive/records/{shown.identifier}")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    text = page_text(answer)
    base = f"/api/archive/records/{shown.id}/media/{media.id}"
    # The thumbnail links to the large image (the plain image without the viewer), and names
    # its IIIF image service (the viewer reads it through the record's manifest).
    assert f'<a href="{base}/display" data-viewer data-iiif-image="/iiif/3/{media.id}">' in html
    assert (
        f'<img src="{base}/thumbnail" '
        'alt="의정부 관아 정문: 1911년 관아 정문 앞에서 찍은 유리건판 사진.">'
    ) in html
    assert client.get(f"{base}/thumbnail").status_code == 200
    assert client.get(f"{base}/display").status_code == 200
    assert '<script src="/archive/static/viewer.js" defer></script>' in html
    assert client.get("/archive/static/viewer.js").status_code == 200
    for shown_text in (
        "議政府 官衙",
        "자료 번호 " + shown.identifier,
        "유형 사진",
        "날짜 1911",
        "만든 이 미상",
        "장소 의정부동",
        "주제 관아 근대건축",
        "공공누리 제2유형",
        "상업적으로는 이용할 수 없습니다",
        "전사문 議政府 官衙 正門",
        "교정한 글자 인식(OCR) 결과 의정부 관아 정문 교정문",
        "공개일 2026년 3월 3일",
    ):
        assert shown_text in text, shown_text
    assert (
        '<a href="/archive/collections/%EC%9C%A0%EB%A6%AC%EA%B1%B4%ED%8C%90%20%EC%82%AC%EC%A7%84">'
        in html
    )
    assert 'href="https://www.kogl.or.kr/info/licenseType2.do" rel="license"' in html


def test_related_records_share_a_subject_place_or_collection_most_first(client):
    shown = record("회룡사 대웅전", subjects=["사찰"], place="호원동", collections=["사찰 기록"])
    most = record("회룡사 석탑", subjects=["사찰"], place="호원동", collections=["사찰 기록"])
    subject = record("망월사 전경", subjects=["사찰"], place="망월동")
    place = record("호원동 논밭", subjects=["농업"], place="호원동")
    collection = record("사찰 기록 표지", subjects=["기록"], place=None, collections=["사찰 기록"])
    record("의정부역", subjects=["교통"], place="의정부동")  # nothing in common
    page = client.get(f"/archive/records/{shown.identifier}")
    html = page.get_data(as_text=True)
    related = html[html.index('id="related-heading"') :]
    titles = re.findall(r'<h3><a href="/archive/records/[^"]+">([^<]*)</a></h3>', related)
    assert titles[0] == most.title
    assert sorted(titles[1:]) == sorted([subject.title, place.title, collection.title])


@pytest.mark.parametrize(
    ("code", "badge", "name", "allows"),
    [
        ("KOGL-1", "공공누리 제1유형", "공공누리 제1유형: 출처표시", "상업적 이용과 변경을 포함해"),
        ("KOGL-2", "공공누리 제2유형", "상업적 이용금지", "상업적으로는 이용할 수 없습니다"),
        ("KOGL-3", "공공누리 제3유형", "출처표시 + 변경금지", "변경할 수 없습니다"),
        (
            "KOGL-4",
            "공공누리 제4유형",
            "상업적 이용금지 + 변경금지",
            "상업적으로 이용하거나 변경할",
        ),
        ("CC0", "CC0", "퍼블릭 도메인", "조건 없이"),
        ("CC-BY-4.0", "CC BY 4.0", "크리에이티브 커먼즈 저작자표시 4.0", "자유롭게"),
        (
            "CC-BY-NC-SA-4.0",
            "CC BY-NC-SA 4.0",
            "저작자표시-비영리-동일조건변경허락 4.0",
            "상업적으로 이용할 수 없습니다. 변경한 저작물은 같은 조건으로",
        ),
        ("CC-BY-ND", "CC BY-ND", "저작자표시-변경금지", "내용을 변경할 수 없습니다"),
    ],
)
def test_rights_statements_in_korean(code, badge, name, allows):
    rights = rights_of(code)
    assert rights.badge == badge
    assert name in rights.name
    assert allows in rights.allows
    assert rights.url.startswith("https://")


def test_a_record_without_rights_says_to_ask(client):
    shown = record("의정부 장터", rights=None)
    assert "이용 조건이 정해지지 않았습니다" in page_text(
        client.get(f"/archive/records/{shown.identifier}")
    )


# --- home and navigation -----------------------------------------------------------------


def test_home_has_the_archive_panel_and_the_nav_item(client):
    older = record("의정부 옛 시장")
    newer = record("의정부 새 시장")
    html = client.get("/").get_data(as_text=True)
    assert '<a href="/archive"' in html and "향토문화 아카이브</a>" in html
    assert 'action="/archive" role="search"' in html
    panel = html[html.index('id="archive-panel-heading"') :]
    assert panel.index(newer.title) < panel.index(older.title)
