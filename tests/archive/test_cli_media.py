"""verify-fixity, regenerate-derivatives and the demo data."""

import json
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from archive.models import Media, Record
from core.extensions import db
from tests.fixtures.archive import create_record, image_bytes, upload, use_archive_settings


def run(app, *args):
    return app.test_cli_runner().invoke(args=["archive", *args])


def _two_media(client, archivist, headers):
    record = create_record(archivist)
    ids = [
        upload(client, record.id, image_bytes(fmt), headers).json["id"] for fmt in ("PNG", "JPEG")
    ]
    return [db.session.get(Media, media_id) for media_id in ids]


def test_verify_fixity_reports_changed_and_missing_files(app, client, archivist, archivist_headers):
    first, second = _two_media(client, archivist, archivist_headers)
    first_id, second_id = first.id, second.id
    first_path = Path(app.config["MEDIA_DIR"], first.original_path)
    second_path = Path(app.config["MEDIA_DIR"], second.original_path)
    clean = run(app, "verify-fixity")
    assert clean.exit_code == 0, clean.output
    assert "2 checked, 0 missing, 0 changed" in clean.output

    first_path.write_bytes(first_path.read_bytes() + b"bit rot")
    second_path.unlink()
    result = run(app, "verify-fixity", "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["checked"] == 2
    assert [m["media_id"] for m in report["mismatched"]] == [first_id]
    assert [m["media_id"] for m in report["missing"]] == [second_id]
    text = run(app, "verify-fixity").output
    assert f"CHANGED  media {first_id}" in text and f"MISSING  media {second_id}" in text


def test_regenerate_derivatives_rebuilds_them(
    app, client, archivist, archivist_headers, monkeypatch
):
    media = _two_media(client, archivist, archivist_headers)
    thumbs = [Path(app.config["MEDIA_DIR"], m.thumbnail_path) for m in media]
    for path in thumbs:
        path.unlink()
    use_archive_settings(monkeypatch, thumbnail_px=100)
    result = run(app, "regenerate-derivatives")
    assert result.exit_code == 0, result.output
    assert "2 rebuilt, 0 failed" in result.output
    for path in thumbs:
        with Image.open(path) as image:
            assert max(image.size) == 100


def test_demo_seeder_is_idempotent(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    found = db.session.scalars(select(Record).where(Record.identifier.like("UJB-DEMO-%"))).all()
    assert len(found) >= 5
    assert {r.visibility for r in found} == {"published"}
    assert all(r.media and r.media[0].status == "ready" for r in found)
    assert any("관아" in (m.ocr_text or "") for r in found for m in r.media)
    again = app.test_cli_runner().invoke(args=["seed-demo"])
    assert again.exit_code == 0, again.output
    assert "UJB-DEMO-0001 (exists)" in again.output
    count = db.session.scalar(
        select(db.func.count()).select_from(Record).where(Record.identifier.like("UJB-DEMO-%"))
    )
    assert count == len(found)
