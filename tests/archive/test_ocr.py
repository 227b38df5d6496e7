"""OCR for real: Korean text rendered with the Nanum font, read back by Tesseract (kor+eng);
corrections; and the archive without Tesseract."""

import io

import pytest
from sqlalchemy import select

from archive.models import Media, Record
from archive.services.documents import record_document
from core.extensions import db
from core.models import AuditLog
from tests.fixtures.archive import (
    create_record,
    korean_page,
    korean_png,
    multipage_tiff,
    upload,
    use_archive_settings,
)
from tests.fixtures.users import auth_headers

pytestmark = pytest.mark.slow


def test_korean_scan_is_read(client, archivist, archivist_headers):
    record = create_record(archivist, visibility="published")
    data = korean_png(["의정부 향토문화 기록", "회룡사 절에서 바라본 도봉산", "Uijeongbu 1911"])
    media_id = upload(client, record.id, data, archivist_headers, "page.png").json["id"]
    shown = client.get(f"/api/archive/records/{record.id}/media/{media_id}").json
    assert shown["status"] == "ready"
    assert shown["ocr_status"] == "done"
    for word in ("의정부", "향토문화", "회룡사", "도봉산", "Uijeongbu", "1911"):
        assert word in shown["ocr_text"]
    assert shown["ocr_confidence"] > 60
    assert shown["ocr_pages"][0]["page"] == 1
    # the text reaches the searchable document
    assert "회룡사" in record_document(db.session.get(Record, record.id))["text"]


def test_every_tiff_page_is_read_and_corrections_win(client, archivist, archivist_headers):
    record = create_record(archivist)
    pages = [korean_page(["첫째 쪽 시립박물관"]), korean_page(["둘째 쪽 스마트도서관"])]
    media_id = upload(client, record.id, multipage_tiff(pages), archivist_headers, "book.tif").json[
        "id"
    ]
    media = db.session.get(Media, media_id)
    assert [page["page"] for page in media.ocr_pages] == [1, 2]
    assert "시립박물관" in media.ocr_pages[0]["text"]
    assert "스마트도서관" in media.ocr_pages[1]["text"]
    assert "시립박물관" in media.ocr_text and "스마트도서관" in media.ocr_text

    url = f"/api/archive/records/{record.id}/media/{media_id}"
    corrected = client.patch(
        url, json={"corrected_text": "첫째 쪽 의정부시립박물관"}, headers=archivist_headers
    )
    assert corrected.status_code == 200
    assert corrected.json["text"] == "첫째 쪽 의정부시립박물관"
    assert corrected.json["ocr_text"] == media.ocr_text  # the OCR stays for reference
    document = record_document(db.session.get(Record, record.id))
    assert "의정부시립박물관" in document["text"]
    assert "스마트도서관" not in document["text"]
    assert db.session.scalar(select(AuditLog).filter_by(action="archive.media.correct_text"))
    cleared = client.patch(url, json={"corrected_text": None}, headers=archivist_headers)
    assert cleared.json["text"] == media.ocr_text
    assert client.patch(url, json={"text": "x"}, headers=archivist_headers).status_code == 422


def test_without_tesseract_the_archive_still_works(
    app, client, archivist, archivist_headers, monkeypatch
):
    use_archive_settings(monkeypatch, tesseract_cmd="/nonexistent/tesseract")
    ready = client.get("/api/ready", headers=archivist_headers)
    assert ready.status_code == 200
    assert ready.json["checks"]["ocr"] == "unavailable"
    assert "ocr" not in ready.json["failing"]

    record = create_record(archivist)
    media_id = upload(client, record.id, korean_png(["의정부"]), archivist_headers).json["id"]
    url = f"/api/archive/records/{record.id}/media/{media_id}"
    shown = client.get(url, headers=archivist_headers).json
    assert shown["status"] == "ready"  # thumbnails work without OCR
    assert shown["ocr_status"] == "unavailable"
    assert "not installed" in shown["ocr_message"]
    assert client.get(url + "/thumbnail", headers=archivist_headers).status_code == 200

    # once Tesseract is back, the archivist retries and the text is read
    use_archive_settings(monkeypatch, tesseract_cmd="tesseract")
    assert client.post(url + "/retry", headers=archivist_headers).status_code == 202
    shown = client.get(url, headers=archivist_headers).json
    assert shown["ocr_status"] == "done"
    assert "의정부" in shown["ocr_text"]
    assert client.get("/api/ready", headers=archivist_headers).json["checks"]["ocr"] == "ok"


def test_ocr_error_fails_visibly(app, client, archivist, archivist_headers, monkeypatch):
    use_archive_settings(monkeypatch, ocr_psm=99)  # Tesseract refuses this mode
    record = create_record(archivist)
    buffer = io.BytesIO()
    korean_page(["의정부"]).save(buffer, "PNG")
    media_id = upload(client, record.id, buffer.getvalue(), archivist_headers).json["id"]
    shown = client.get(
        f"/api/archive/records/{record.id}/media/{media_id}", headers=archivist_headers
    ).json
    assert shown["status"] == "failed"
    assert shown["ocr_status"] == "failed"
    assert shown["failure_reason"].startswith("OCR failed")


def test_the_api_reads_a_scan_again_and_keeps_the_correction(
    client, archivist, archivist_headers, resident
):
    record = create_record(archivist)
    media_id = upload(client, record.id, korean_png(["의정부 회룡사"]), archivist_headers).json[
        "id"
    ]
    url = f"/api/archive/records/{record.id}/media/{media_id}"
    client.patch(url, json={"corrected_text": "의정부 회룡사 (고침)"}, headers=archivist_headers)

    assert client.post(url + "/ocr", headers=auth_headers(resident)).status_code == 403
    assert client.post(url + "1/ocr", headers=archivist_headers).status_code == 404
    again = client.post(url + "/ocr", headers=archivist_headers)
    assert again.status_code == 202
    shown = client.get(url, headers=archivist_headers).json
    assert shown["status"] == "ready" and shown["ocr_status"] == "done"
    assert "회룡사" in shown["ocr_text"]
    assert shown["text"] == "의정부 회룡사 (고침)"  # the archivist's correction stays
    actions = db.session.scalars(select(AuditLog.action).filter_by(target_id=str(media_id))).all()
    assert "archive.media.rerun_ocr" in actions
