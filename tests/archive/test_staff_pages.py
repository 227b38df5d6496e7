"""The archivists' pages of the staff console over HTTP: who may open them; the records list
and its filters; the record form with its messages, fuzzy dates and stale saves; uploads,
OCR correction, the publishing checklist, bulk actions, CSV import and export. Every action is
audited as the API's."""

from __future__ import annotations

import io
import re
from html import unescape

import pytest
from sqlalchemy import func, select

from archive.models import Media, Record
from archive.services import media as media_service
from archive.services import records as record_service
from core.extensions import db
from core.models import AuditLog
from tests.fixtures.archive import (
    archive_settings,
    create_record,
    image_bytes,
    korean_png,
    now,
    use_archive_settings,
)
from tests.fixtures.archive_search import fresh_index  # noqa: F401
from tests.fixtures.pages import csrf_of, log_in
from tests.fixtures.users import create_user

pytestmark = pytest.mark.usefixtures("fresh_index")

BASE = "/staff/archive"


def page_text(response) -> str:
    html = response.get_data(as_text=True)
    main = html[html.index("<main") : html.index("</main>")]
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", main)))


def field_error(response, name: str) -> str | None:
    found = re.search(
        rf'<p class="field-error" id="f-{re.escape(name)}-error">([^<]*)</p>',
        response.get_data(as_text=True),
    )
    return unescape(found[1]) if found else None


def audit_actions(target_type: str, target_id) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditLog.action)
            .filter_by(target_type=target_type, target_id=str(target_id))
            .order_by(AuditLog.id)
        )
    )


@pytest.fixture
def staff(client, archivist):
    """The test client signed in as an archivist, and a CSRF token of its session."""
    log_in(client, archivist.email)
    client.token = csrf_of(client.get(f"{BASE}/new"))
    return client


def form(staff, **fields) -> dict:
    return {"csrf_token": staff.token, **fields}


RECORD_FORM = {
    "identifier": "UJB-STAFF-1",
    "title": "의정부 장터 풍경",
    "type": "photo",
    "date_text": "1950년대",
    "description": "장날의 의정부 장터.",
    "subjects": ["장터", "거리"],
    "place": "의정부동",
    "collections": ["유리건판 사진"],
    "language": "ko",
    "rights": "공공누리 제1유형",
    "source": "의정부시립박물관",
}


# --- who may open them --------------------------------------------------------------------


def _pages(record_id: int, media_id: int) -> list[tuple[str, str]]:
    media = f"{BASE}/records/{record_id}/media/{media_id}"
    return [
        ("GET", f"{BASE}/"),
        ("GET", f"{BASE}/new"),
        ("POST", f"{BASE}/new"),
        ("GET", f"{BASE}/records/{record_id}"),
        ("POST", f"{BASE}/records/{record_id}"),
        ("POST", f"{BASE}/records/{record_id}/publish"),
        ("POST", f"{BASE}/records/{record_id}/withdraw"),
        ("POST", f"{BASE}/records/{record_id}/media"),
        ("GET", f"{BASE}/records/{record_id}/media.json"),
        ("GET", f"{media}/thumbnail"),
        ("GET", f"{media}/text"),
        ("POST", f"{media}/text"),
        ("POST", f"{media}/rerun"),
        ("POST", f"{BASE}/bulk"),
        ("GET", f"{BASE}/dates?text=1911"),
        ("GET", f"{BASE}/imports"),
        ("POST", f"{BASE}/imports"),
        ("GET", f"{BASE}/imports/1"),
        ("GET", f"{BASE}/export"),
    ]


def _record_with_scan(actor="test"):
    record = create_record(actor)
    media = media_service.upload(
        actor,
        record,
        io.BytesIO(image_bytes("JPEG")),
        "scan.jpg",
        now=now(),
        settings=archive_settings(),
    )
    db.session.commit()
    return record, media


@pytest.mark.parametrize("roles", [("resident",), ("librarian",), ("facility_manager",)])
def test_other_people_get_the_403_page_on_every_page_and_action(client, roles):
    record, media = _record_with_scan()
    record_id, media_id = record.id, media.id
    person = create_user(roles)
    log_in(client, person.email)
    token = csrf_of(client.get("/"))
    for method, url in _pages(record_id, media_id):
        if method == "GET":
            answer = client.get(url)
        else:
            answer = client.post(url, data={"csrf_token": token, "title": "바꿈", "ids": "1"})
        assert answer.status_code == 403, (method, url)
        assert "권한이 없습니다" in answer.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Record, record_id).version == 1
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == 2  # create, add


def test_signed_out_people_are_sent_to_log_in(client):
    answer = client.get(f"{BASE}/")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/login?next=/staff/archive/")


def test_the_console_lists_the_section_for_archivists_and_admins(client, app):
    admin = create_user(("admin",))
    log_in(client, admin.email)
    assert client.get(f"{BASE}/").status_code == 200
    console = client.get("/staff/")
    assert f'href="{BASE}/"' in console.get_data(as_text=True)
    assert "향토문화 자료" in page_text(console)


def test_a_form_without_its_csrf_token_is_refused(staff):
    answer = staff.post(f"{BASE}/new", data=RECORD_FORM)
    assert answer.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Record)) == 0


# --- the record form ----------------------------------------------------------------------


def test_creating_a_record_audits_it_and_opens_its_page(staff, archivist):
    answer = staff.post(f"{BASE}/new", data=form(staff, **RECORD_FORM))
    assert answer.status_code == 303
    record = db.session.scalar(select(Record))
    assert answer.headers["Location"] == f"{BASE}/records/{record.id}"
    assert record.visibility == "draft"
    assert record.subjects == ["장터", "거리"]
    assert record.collections == ["유리건판 사진"]
    assert record.rights == "KOGL-1"
    assert (record.year_from, record.year_to) == (1950, 1959)
    entry = db.session.scalar(select(AuditLog).filter_by(action="archive.record.create"))
    assert entry.actor_id == archivist.id
    assert entry.target_id == str(record.id)
    assert entry.after["title"] == "의정부 장터 풍경"
    shown = staff.get(answer.headers["Location"])
    assert "초안으로 만들었습니다" in page_text(shown)
    assert "1950년 ~ 1959년" in page_text(shown)  # the date as read


def test_the_form_shows_each_message_next_to_its_field_and_keeps_the_input(staff):
    data = {**RECORD_FORM, "identifier": "틀린 식별자", "title": "", "rights": "마음대로"}
    answer = staff.post(f"{BASE}/new", data=form(staff, **data))
    assert answer.status_code == 422
    assert field_error(answer, "title") == "꼭 입력해 주세요."
    assert field_error(answer, "identifier").startswith("영문·숫자")
    assert field_error(answer, "rights").startswith("공공누리 제1~4유형")
    html = answer.get_data(as_text=True)
    assert 'value="틀린 식별자"' in html and 'value="장터"' in html
    assert db.session.scalar(select(func.count()).select_from(Record)) == 0


def test_an_identifier_in_use_is_said_next_to_it(staff):
    create_record(identifier="UJB-STAFF-1")
    answer = staff.post(f"{BASE}/new", data=form(staff, **RECORD_FORM))
    assert answer.status_code == 422
    assert field_error(answer, "identifier") == "다른 자료가 이미 쓰는 식별자입니다."


def test_saving_the_form_changes_every_field_and_audits_it(staff):
    record = create_record(subjects=["관아", "근대"], alt_title="옛 제목")
    data = {**RECORD_FORM, "identifier": record.identifier, "version": "1"}
    data["subjects"] = ["관아"]  # one taken off; the alternative title left blank
    answer = staff.post(f"{BASE}/records/{record.id}", data=form(staff, **data))
    assert answer.status_code == 303
    db.session.expire_all()
    saved = db.session.get(Record, record.id)
    assert saved.subjects == ["관아"]
    assert saved.alt_title is None
    assert saved.title == "의정부 장터 풍경"
    assert saved.version == 2
    entry = db.session.scalar(select(AuditLog).filter_by(action="archive.record.update"))
    assert entry.before["alt_title"] == "옛 제목" and entry.after["alt_title"] is None
    assert "저장했습니다. (판 2)" in page_text(staff.get(answer.headers["Location"]))


def test_a_stale_save_shows_what_changed_instead_of_overwriting(staff, archivist):
    record = create_record(title="처음 제목", place="의정부동")
    opened = staff.get(f"{BASE}/records/{record.id}")
    assert 'name="version" value="1"' in opened.get_data(as_text=True)
    # Meanwhile someone else changes the title and the place.
    record_service.update_record(
        "colleague", record, {"title": "동료의 제목", "place": "호원동"}, now=now()
    )
    db.session.commit()
    data = {**RECORD_FORM, "identifier": record.identifier, "title": "내 제목", "version": "1"}
    answer = staff.post(f"{BASE}/records/{record.id}", data=form(staff, **data))
    assert answer.status_code == 409
    text = page_text(answer)
    assert "그사이 다른 사람이 이 자료를 바꿔서 저장하지 않았습니다" in text
    assert "제목 처음 제목 동료의 제목 내 제목" in text
    assert "장소 의정부동 호원동 의정부동" in text
    db.session.expire_all()
    assert db.session.get(Record, record.id).title == "동료의 제목"  # not overwritten
    # The form kept what was typed, now based on the stored version: sent again, it saves.
    html = answer.get_data(as_text=True)
    assert 'name="version" value="2"' in html and 'value="내 제목"' in html
    data["version"] = "2"
    assert staff.post(f"{BASE}/records/{record.id}", data=form(staff, **data)).status_code == 303
    db.session.expire_all()
    assert db.session.get(Record, record.id).title == "내 제목"


def test_the_api_names_the_changed_fields_of_a_stale_change(client, archivist_headers):
    record = create_record(title="처음 제목")
    url = f"/api/archive/records/{record.id}"
    client.patch(url, json={"title": "둘째", "version": 1}, headers=archivist_headers)
    stale = client.patch(url, json={"title": "셋째", "version": 1}, headers=archivist_headers)
    assert stale.status_code == 409
    assert stale.json["changes"] == [{"field": "title", "seen": "처음 제목", "stored": "둘째"}]


@pytest.mark.parametrize(
    "text, label",
    [
        ("19세기 후반", "1851년 ~ 1900년"),
        ("광무 3년", "1899년"),
        ("1950년대", "1950년 ~ 1959년"),
        ("옛날 옛적", "읽을 수 없는 날짜입니다. 적은 그대로 두고 검토 목록에 올립니다."),
    ],
)
def test_the_date_is_read_by_the_servers_parser(staff, text, label):
    answer = staff.get(f"{BASE}/dates", query_string={"text": text})
    assert answer.status_code == 200
    assert answer.json["label"] == label


def test_the_form_suggests_the_vocabulary_in_use(staff):
    create_record(subjects=["관아", "근대건축"], place="호원동", collections=["유리건판 사진"])
    html = staff.get(f"{BASE}/new").get_data(as_text=True)
    for list_id, value in [
        ("subjects-list", "근대건축"),
        ("places-list", "호원동"),
        ("collections-list", "유리건판 사진"),
    ]:
        datalist = html[html.index(f'<datalist id="{list_id}">') :]
        datalist = datalist[: datalist.index("</datalist>")]
        assert f'<option value="{value}">' in datalist


# --- the list, its filters and bulk actions -----------------------------------------------


def _titles(response) -> list[str]:
    return [
        unescape(t)
        for t in re.findall(
            r'<th scope="row"><a href="/staff/archive/records/\d+">([^<]*)</a></th>',
            response.get_data(as_text=True),
        )
    ]


def test_the_list_filters(staff):
    create_record(title="초안 사진", date_text="1911", rights="KOGL-1")
    create_record(title="공개 지도", type="map", date_text="1872", visibility="published")
    create_record(
        title="모음 문서", type="document", collections=["고문서 모음"], rights="CC0", date_text=""
    )
    failed = create_record(title="OCR 실패 사진", rights="KOGL-2", date_text="1960년대")
    media = Media(
        record=failed,
        sha256="0" * 64,
        original_path="x",
        mime="image/png",
        byte_size=1,
        status="ready",
        ocr_status="failed",
        created_at=now(),
        updated_at=now(),
    )
    db.session.add(media)
    db.session.commit()

    def listed(**query):
        answer = staff.get(f"{BASE}/", query_string=query)
        assert answer.status_code == 200
        return sorted(_titles(answer))

    assert len(listed()) == 4
    assert listed(visibility="published") == ["공개 지도"]
    assert listed(type="map") == ["공개 지도"]
    assert listed(collection="고문서 모음") == ["모음 문서"]
    assert listed(year_from=1900, year_to=1920) == ["초안 사진"]
    assert listed(rights_missing="true") == ["공개 지도"]
    assert listed(ocr_status="failed") == ["OCR 실패 사진"]
    assert listed(q="지도") == ["공개 지도"]
    assert listed(q="UJB-TEST") != []
    refused = staff.get(f"{BASE}/", query_string={"year_from": 1950, "year_to": 1900})
    assert refused.status_code == 422
    assert field_error(refused, "year_from") == "시작 연도가 끝 연도보다 뒤입니다."


def test_bulk_publish_does_each_it_can_and_says_why_not_the_others(staff, archivist):
    ready = create_record(title="갖춘 자료", rights="KOGL-1", transcription="옮겨 적은 글")
    lacking = create_record(title="모자란 자료")
    already = create_record(title="공개된 자료", visibility="published")
    ids = [str(ready.id), str(lacking.id), str(already.id)]
    answer = staff.post(
        f"{BASE}/bulk",
        data=form(staff, ids=ids, action="publish", next=f"{BASE}/?type=photo"),
    )
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"{BASE}/?type=photo"
    text = page_text(staff.get(answer.headers["Location"]))
    assert f"1건을 공개했습니다: {ready.identifier}" in text
    assert f"{lacking.identifier}: 공개하려면 확인 목록을 모두 채워야 합니다." in text
    assert "(빠진 것: 이용 조건 (공공누리·CC), 이미지 한 장 이상 또는 옮겨 적은 글)" in text
    assert f"{already.identifier}: 다른 변경과 충돌했습니다" in text
    db.session.expire_all()
    assert db.session.get(Record, ready.id).visibility == "published"
    assert db.session.get(Record, lacking.id).visibility == "draft"
    assert audit_actions("archive_record", ready.id)[-1] == "archive.record.publish"
    assert audit_actions("archive_record", lacking.id) == ["archive.record.create"]

    staff.post(f"{BASE}/bulk", data=form(staff, ids=[str(ready.id)], action="withdraw"))
    db.session.expire_all()
    assert db.session.get(Record, ready.id).visibility == "withdrawn"
    assert audit_actions("archive_record", ready.id)[-1] == "archive.record.withdraw"
    nothing = staff.post(f"{BASE}/bulk", data=form(staff, action="publish"))
    assert "고른 자료가 없습니다." in page_text(staff.get(nothing.headers["Location"]))


# --- publishing ---------------------------------------------------------------------------


def test_publishing_needs_a_green_checklist(staff):
    record = create_record(date_text="옛날 옛적")
    url = f"{BASE}/records/{record.id}"
    page = page_text(staff.get(url))
    assert "없음 읽을 수 있는 날짜" in page and "갖춤 제목" in page
    refused = staff.post(f"{url}/publish", data=form(staff))
    assert refused.status_code == 422
    assert "공개하려면 확인 목록을 모두 채워야 합니다." in page_text(refused)
    db.session.expire_all()
    assert db.session.get(Record, record.id).visibility == "draft"
    # The API refuses the same way.
    record_service.update_record(
        "test", record, {"date_text": "1911", "rights": "KOGL-1"}, now=now()
    )
    db.session.commit()
    assert staff.post(f"{url}/publish", data=form(staff)).status_code == 422

    record_service.update_record("test", record, {"transcription": "글"}, now=now())
    db.session.commit()
    published = staff.post(f"{url}/publish", data=form(staff))
    assert published.status_code == 303
    assert "공개했습니다" in page_text(staff.get(url))
    assert audit_actions("archive_record", record.id)[-1] == "archive.record.publish"
    withdrawn = staff.post(f"{url}/withdraw", data=form(staff))
    assert withdrawn.status_code == 303
    assert audit_actions("archive_record", record.id)[-1] == "archive.record.withdraw"
    again = staff.post(f"{url}/withdraw", data=form(staff))
    assert again.status_code == 422
    assert "다른 변경과 충돌했습니다" in page_text(again)


# --- scans --------------------------------------------------------------------------------


def test_several_scans_at_once_each_refusal_in_words(staff, monkeypatch):
    use_archive_settings(monkeypatch, max_upload_bytes=60_000, max_image_pixels=100_000)
    record = create_record()
    url = f"{BASE}/records/{record.id}/media"
    files = [
        (io.BytesIO(image_bytes("JPEG", size=(300, 200))), "good.jpg"),
        (io.BytesIO(image_bytes("PNG", size=(200, 200)) + b"\0" * 70_000), "big.png"),
        (io.BytesIO("이미지가 아닙니다".encode()), "note.txt"),
        (io.BytesIO(image_bytes("JPEG", size=(640, 480))), "huge.jpg"),
    ]
    answer = staff.post(url, data=form(staff, file=files), content_type="multipart/form-data")
    assert answer.status_code == 303
    text = page_text(staff.get(answer.headers["Location"]))
    assert "good.jpg: 올렸습니다." in text
    assert "big.png: 파일이 너무 큽니다. (0MB까지 올릴 수 있습니다.)" in text
    assert "note.txt: 이미지 파일이 아닙니다." in text
    assert "huge.jpg: 화소 수가 너무 많은 이미지입니다." in text
    (kept,) = db.session.scalars(select(Media)).all()
    assert kept.original_filename == "good.jpg" and kept.status == "ready"
    assert audit_actions("archive_media", kept.id)[0] == "archive.media.add"
    thumbnail = staff.get(f"{url}/{kept.id}/thumbnail")
    assert thumbnail.status_code == 200 and thumbnail.mimetype == "image/jpeg"
    assert thumbnail.headers["Cache-Control"] == "private, no-cache"
    states = staff.get(f"{url[: -len('/media')]}/media.json").json["media"]
    assert [(s["filename"], s["status"]) for s in states] == [("good.jpg", "ready")]
    assert states[0]["thumbnail_url"] == f"{url}/{kept.id}/thumbnail"


def test_the_upload_script_gets_each_files_answer_as_json(staff):
    record = create_record()
    url = f"{BASE}/records/{record.id}/media"
    headers = {"Accept": "application/json"}
    refused = staff.post(
        url,
        data=form(staff, file=(io.BytesIO(b"%PDF-1.4"), "doc.pdf")),
        content_type="multipart/form-data",
        headers=headers,
    )
    assert refused.status_code == 422
    assert refused.json["files"][0]["ok"] is False
    assert refused.json["files"][0]["message"].startswith("이미지 파일이 아닙니다.")
    taken = staff.post(
        url,
        data=form(staff, file=(io.BytesIO(image_bytes("PNG")), "scan.png")),
        content_type="multipart/form-data",
        headers=headers,
    )
    assert taken.status_code == 200
    assert taken.json["files"][0]["media"]["filename"] == "scan.png"
    none = staff.post(url, data=form(staff), headers=headers)
    assert none.status_code == 422 and none.json["message"] == "올릴 파일을 골라 주세요."


def test_ocr_text_is_corrected_beside_the_scan_and_read_again(staff, archivist):
    record = create_record()
    media = media_service.upload(
        "test",
        record,
        io.BytesIO(korean_png(["의정부 관아 정문"])),
        "gate.png",
        now=now(),
        settings=archive_settings(),
    )
    db.session.commit()
    media_id = media.id
    url = f"{BASE}/records/{record.id}/media/{media_id}"
    page = staff.get(f"{url}/text")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'src="{url}/display"' in html
    assert "관아" in page_text(page)  # the OCR text, ready to correct

    saved = staff.post(f"{url}/text", data=form(staff, corrected_text="의정부 관아 정문 (고침)"))
    assert saved.status_code == 303
    db.session.expire_all()
    assert db.session.get(Media, media_id).corrected_text == "의정부 관아 정문 (고침)"
    entry = db.session.scalar(select(AuditLog).filter_by(action="archive.media.correct_text"))
    assert entry.actor_id == archivist.id
    assert entry.after == {"corrected_text": "의정부 관아 정문 (고침)"}

    too_long = staff.post(f"{url}/text", data=form(staff, corrected_text="가" * 200_001))
    assert too_long.status_code == 422
    assert field_error(too_long, "corrected_text") == "200000자 이하로 입력해 주세요."

    rerun = staff.post(f"{url}/rerun", data=form(staff))
    assert rerun.status_code == 303
    db.session.expire_all()
    again = db.session.get(Media, media_id)
    assert again.status == "ready" and again.ocr_status == "done"  # the job ran at once
    assert "관아" in again.ocr_text
    assert again.corrected_text == "의정부 관아 정문 (고침)"  # the correction stays
    assert audit_actions("archive_media", media_id)[-1] == "archive.media.rerun_ocr"

    cleared = staff.post(f"{url}/text", data=form(staff, corrected_text="  "))
    assert cleared.status_code == 303
    db.session.expire_all()
    assert db.session.get(Media, media_id).corrected_text is None


def test_reading_again_is_refused_while_processing(staff):
    record, media = _record_with_scan()
    media.status = "processing"
    db.session.commit()
    answer = staff.post(f"{BASE}/records/{record.id}/media/{media.id}/rerun", data=form(staff))
    assert answer.status_code == 422
    assert "처리 중인 이미지는 끝난 뒤에 다시 읽을 수 있습니다." in page_text(answer)


# --- CSV import and export ----------------------------------------------------------------

HEADER = "identifier,title,description,creator,date,type,subjects,place,rights,transcription,files"


def test_csv_import_runs_as_a_job_with_a_per_line_report(staff, archivist):
    rows = [
        "UJB-31,회룡사 중수기,,회룡사,광무 3년,document,사찰,호원동,KOGL-1,내력,",
        "UJB-32,,,,,photo,,,,,",
        "UJB-33,사진,,,1911,photo,,,,,scan.png",
    ]
    body = ("\ufeff" + "\r\n".join([HEADER, *rows])).encode()
    answer = staff.post(
        f"{BASE}/imports",
        data=form(
            staff,
            file=(io.BytesIO(body), "records.csv"),
            files=[(io.BytesIO(image_bytes("PNG")), "scan.png")],
        ),
        content_type="multipart/form-data",
    )
    assert answer.status_code == 303
    report_url = answer.headers["Location"]
    report = staff.get(report_url)
    text = page_text(report)
    assert "상태: 끝남" in text
    assert re.search(r"새로 만듦 2 .* 실패한 줄 1", text)
    assert re.search(r"<th scope=\"row\">3</th><td>UJB-32</td>", report.get_data(as_text=True))
    progress = staff.get(report_url, headers={"Accept": "application/json"}).json
    assert (progress["status"], progress["created"], progress["failed"]) == ("done", 2, 1)
    entry = db.session.scalar(select(AuditLog).filter_by(action="archive.import.create"))
    assert entry.actor_id == archivist.id
    assert "#" in page_text(staff.get(f"{BASE}/imports"))

    exported = staff.get(f"{BASE}/export")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    csv_text = exported.get_data(as_text=True)
    assert "UJB-31" in csv_text and "회룡사 중수기" in csv_text


def test_an_import_needs_its_csv(staff):
    answer = staff.post(f"{BASE}/imports", data=form(staff), content_type="multipart/form-data")
    assert answer.status_code == 422
    assert field_error(answer, "file") == "꼭 입력해 주세요."
