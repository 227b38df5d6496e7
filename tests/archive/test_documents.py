"""The searchable document of a record and the reindex job every change queues."""

import ast
from pathlib import Path

import pytest

from archive.jobs import index_records
from archive.models import Media, Record
from archive.services import records as record_service
from archive.services.documents import record_document
from core.extensions import db
from tests.fixtures.archive import create_record, image_bytes, now, upload

KEYS = {
    "id",
    "identifier",
    "title",
    "alt_title",
    "description",
    "creator",
    "subjects",
    "place",
    "collections",
    "type",
    "year_from",
    "year_to",
    "date_text",
    "visibility",
    "text",
    "thumbnail_url",
    "updated_at",
}


def queued_index_jobs() -> list[int]:
    pending = db.session.info.get("after_commit", [])
    return [record_id for job, args, _ in pending if job is index_records for record_id in args[0]]


def test_document_has_the_agreed_keys_and_text(client, archivist, archivist_headers):
    record = create_record(
        archivist,
        visibility="published",
        transcription="필사한 본문",
        subjects=["관아", "사진"],
        collections=["유리건판"],
        alt_title="議政府",
    )
    first = upload(client, record.id, image_bytes("PNG"), archivist_headers).json["id"]
    second = upload(client, record.id, image_bytes("JPEG"), archivist_headers).json["id"]
    media = db.session.get(Media, first)
    media.ocr_text = "OCR 본문"
    db.session.get(Media, second).corrected_text = "고친 본문"
    db.session.get(Media, second).ocr_text = "틀린 본문"
    db.session.commit()

    document = record_document(db.session.get(Record, record.id))
    assert set(document) == KEYS
    assert document["subjects"] == ["관아", "사진"]
    assert document["collections"] == ["유리건판"]
    assert document["alt_title"] == "議政府"
    assert (document["year_from"], document["year_to"]) == (1911, 1911)
    assert document["text"].split("\n\n") == ["필사한 본문", "OCR 본문", "고친 본문"]
    assert document["thumbnail_url"] == (
        f"/api/archive/records/{record.id}/media/{first}/thumbnail"
    )


def test_no_media_means_no_thumbnail():
    record = create_record()
    assert record_document(record)["thumbnail_url"] is None
    assert record_document(record)["text"] == ""


@pytest.mark.parametrize(
    "change",
    [
        lambda r: record_service.update_record("test", r, {"title": "새 제목"}, now=now()),
        lambda r: record_service.publish("test", r, now=now()),
        lambda r: record_service.delete_record("test", r, now=now(), media_dir="/nonexistent"),
    ],
)
def test_every_change_queues_one_reindex_after_commit(change):
    record = create_record(rights="KOGL-1", transcription="관아 앞 거리")  # ready to publish
    record_id = record.id
    change(record)
    change_queue = queued_index_jobs()
    assert change_queue == [record_id]
    db.session.commit()
    assert queued_index_jobs() == []


def test_creating_queues_a_reindex_and_rollback_drops_it():
    record = record_service.create_record(
        "test", {"identifier": "UJB-Q-1", "title": "제목", "type": "photo"}, now=now()
    )
    assert queued_index_jobs() == [record.id]
    db.session.rollback()
    assert queued_index_jobs() == []


def test_unchanged_update_queues_nothing():
    record = create_record(title="같은 제목")
    record_service.update_record("test", record, {"title": "같은 제목"}, now=now())
    assert queued_index_jobs() == []


def test_media_text_changes_queue_a_reindex(client, archivist, archivist_headers):
    from archive.services import media as media_service

    record = create_record(archivist)
    media_id = upload(client, record.id, image_bytes(), archivist_headers).json["id"]
    media_service.correct_text("test", db.session.get(Media, media_id), "고친 글", now=now())
    assert queued_index_jobs() == [record.id]


def test_services_do_not_import_flask():
    """Rules stay callable from HTTP, CLI and jobs alike."""
    root = Path(__file__).resolve().parents[2] / "archive" / "services"
    service_modules = [
        "records.py",
        "media.py",
        "imports.py",
        "exports.py",
        "dates.py",
        "calendars.py",
        "imaging.py",
        "ocr.py",
        "storage.py",
        "documents.py",
    ]
    service_modules += [p.name for p in root.glob("*.py") if p.name not in service_modules]
    for name in service_modules:
        tree = ast.parse((root / name).read_text(encoding="utf-8"))
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {
            (node.module or "").split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
        }
        assert "flask" not in imported, name
