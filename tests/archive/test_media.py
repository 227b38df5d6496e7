"""Media upload: accepted by content, refused cleanly, originals kept byte for byte,
derivatives upright and without metadata, files served by visibility."""

import hashlib
import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from archive.models import Media
from core.extensions import db
from core.models import AuditLog
from tests.fixtures.archive import (
    create_record,
    exif_with_gps,
    image_bytes,
    multipage_tiff,
    upload,
    use_archive_settings,
)
from tests.fixtures.users import auth_headers, create_user


def media_files(app) -> list[Path]:
    root = Path(app.config["MEDIA_DIR"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.mark.parametrize(
    "fmt, mime, filename",
    [
        ("JPEG", "image/jpeg", "scan.png"),  # the name lies; the content decides
        ("PNG", "image/png", "scan.jpg"),
        ("WEBP", "image/webp", "scan.bin"),
        ("TIFF", "image/tiff", "scan.tif"),
    ],
)
def test_upload_is_accepted_by_content(
    app, client, archivist_headers, dummy_record, fmt, mime, filename
):
    data = image_bytes(fmt, size=(800, 500))
    response = upload(client, dummy_record.id, data, archivist_headers, filename)
    assert response.status_code == 202, response.json
    assert response.json["status"] == "processing"
    assert response.json["mime"] == mime
    assert (response.json["width"], response.json["height"]) == (800, 500)
    media = db.session.get(Media, response.json["id"])
    assert media.sha256 == hashlib.sha256(data).hexdigest()
    original = Path(app.config["MEDIA_DIR"]) / media.original_path
    assert original.read_bytes() == data
    assert media.sha256 in original.name
    # the job ran (immediate queue): derivatives exist and fit their limits
    assert media.status == "ready", media.failure_reason
    with Image.open(Path(app.config["MEDIA_DIR"]) / media.thumbnail_path) as thumb:
        assert max(thumb.size) <= 256
        assert thumb.format == "JPEG"
    with Image.open(Path(app.config["MEDIA_DIR"]) / media.display_path) as shown:
        assert shown.size == (800, 500)
    entry = db.session.scalar(select(AuditLog).filter_by(action="archive.media.add"))
    assert entry.after["sha256"] == media.sha256


def test_display_image_is_at_most_1600px(app, client, archivist_headers, dummy_record):
    response = upload(
        client, dummy_record.id, image_bytes("PNG", size=(3200, 1000)), archivist_headers
    )
    media = db.session.get(Media, response.json["id"])
    with Image.open(Path(app.config["MEDIA_DIR"]) / media.display_path) as shown:
        assert shown.size == (1600, 500)


def test_derivatives_are_upright_and_carry_no_exif_or_gps(
    app, client, archivist_headers, dummy_record
):
    # 600×300 stored, EXIF orientation 6: the photo is really 300 wide and 600 high
    data = image_bytes("JPEG", size=(600, 300), exif=exif_with_gps(orientation=6))
    with Image.open(io.BytesIO(data)) as check:
        assert check.getexif().get_ifd(0x8825)  # the upload really has GPS data
    response = upload(client, dummy_record.id, data, archivist_headers)
    media = db.session.get(Media, response.json["id"])
    assert Path(app.config["MEDIA_DIR"], media.original_path).read_bytes() == data
    for relpath in (media.thumbnail_path, media.display_path):
        raw = Path(app.config["MEDIA_DIR"], relpath).read_bytes()
        assert b"Exif" not in raw and b"TestCam" not in raw
        with Image.open(io.BytesIO(raw)) as image:
            assert image.height > image.width
            assert len(image.getexif()) == 0
            assert "exif" not in image.info
    served = client.get(
        f"/api/archive/records/{dummy_record.id}/media/{media.id}/display",
        headers=archivist_headers,
    )
    assert served.status_code == 200
    assert b"Exif" not in served.data


def test_multipage_tiff_counts_every_page(client, archivist_headers, dummy_record):
    pages = [Image.new("L", (300, 400), shade) for shade in (255, 200, 150)]
    response = upload(client, dummy_record.id, multipage_tiff(pages), archivist_headers, "book.tif")
    assert response.status_code == 202
    assert response.json["page_count"] == 3


def _png_header_only(width, height) -> bytes:
    """A tiny PNG whose header claims a huge image (a decompression bomb)."""

    def chunk(kind, body):
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    "data, status, code",
    [
        (b"%PDF-1.4 not an image at all", 415, "unsupported_media_type"),
        (b"", 415, "unsupported_media_type"),
        ("이미지가 아닙니다".encode(), 415, "unsupported_media_type"),
        (image_bytes("GIF"), 415, "unsupported_media_type"),
        (image_bytes("JPEG", size=(1200, 900))[:3000], 422, "corrupt_image"),
        (image_bytes("PNG", size=(1200, 900))[:-40], 422, "corrupt_image"),
        (_png_header_only(40000, 40000), 422, "image_too_large"),
    ],
)
def test_refused_files_leave_nothing_behind(
    app, client, archivist_headers, dummy_record, data, status, code
):
    response = upload(client, dummy_record.id, data, archivist_headers, "scan.jpg")
    assert response.status_code == status
    assert response.json["code"] == code
    assert "file" in response.json["errors"]
    assert response.json["message"]
    assert db.session.scalar(select(func.count()).select_from(Media)) == 0
    assert media_files(app) == []


def test_oversize_upload_is_413(app, client, archivist_headers, dummy_record, monkeypatch):
    use_archive_settings(monkeypatch, max_upload_bytes=10_000)
    response = upload(
        client,
        dummy_record.id,
        image_bytes("PNG", size=(400, 400)) + b"\0" * 20_000,
        archivist_headers,
    )
    assert response.status_code == 413
    assert response.json["code"] == "payload_too_large"
    assert media_files(app) == []


def test_upload_without_file_names_the_field(client, archivist_headers, dummy_record):
    response = client.post(
        f"/api/archive/records/{dummy_record.id}/media",
        data={"other": "x"},
        headers=archivist_headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "file" in response.json["errors"]


def test_same_bytes_twice_share_one_original(app, client, archivist_headers, dummy_record):
    data = image_bytes("PNG")
    first = upload(client, dummy_record.id, data, archivist_headers).json
    second = upload(client, dummy_record.id, data, archivist_headers).json
    a, b = db.session.get(Media, first["id"]), db.session.get(Media, second["id"])
    assert a.original_path == b.original_path
    # deleting one keeps the file the other still needs
    url = f"/api/archive/records/{dummy_record.id}/media/{a.id}"
    assert client.delete(url, headers=archivist_headers).status_code == 204
    assert Path(app.config["MEDIA_DIR"], b.original_path).is_file()
    url = f"/api/archive/records/{dummy_record.id}/media/{b.id}"
    assert client.delete(url, headers=archivist_headers).status_code == 204
    assert not Path(app.config["MEDIA_DIR"], b.original_path).exists()


def test_failed_transaction_removes_the_new_original(app, dummy_record):
    from archive.services import media as media_service
    from tests.fixtures.archive import archive_settings, now

    settings = archive_settings()
    staged = media_service.stage_upload(io.BytesIO(image_bytes("PNG")), settings)
    media = media_service.ingest(
        "test", dummy_record, staged, "x.png", now=now(), settings=settings
    )
    path = Path(settings.media_dir, media.original_path)
    assert path.is_file()
    db.session.rollback()
    assert not path.exists()
    assert [p for p in media_files(app) if "originals" in p.parts] == []


def _files(client, record, media_id, headers=None):
    base = f"/api/archive/records/{record.id}/media/{media_id}"
    return {
        kind: client.get(f"{base}/{kind}", headers=headers or {}).status_code
        for kind in ("thumbnail", "display", "original")
    }


def test_file_access_follows_visibility_and_role(client, archivist, archivist_headers):
    draft = create_record(archivist)
    published = create_record(archivist, visibility="published")
    draft_media = upload(client, draft.id, image_bytes(), archivist_headers).json["id"]
    public_media = upload(client, published.id, image_bytes(), archivist_headers).json["id"]
    resident = auth_headers(create_user(("resident",)))

    assert _files(client, draft, draft_media) == {"thumbnail": 404, "display": 404, "original": 401}
    assert _files(client, published, public_media) == {
        "thumbnail": 200,
        "display": 200,
        "original": 401,
    }
    assert _files(client, published, public_media, resident)["original"] == 403
    assert _files(client, draft, draft_media, archivist_headers) == {
        "thumbnail": 200,
        "display": 200,
        "original": 200,
    }
    original = client.get(
        f"/api/archive/records/{published.id}/media/{public_media}/original",
        headers=archivist_headers,
    )
    assert original.data == image_bytes()
    public = client.get(f"/api/archive/records/{published.id}").json
    assert public["thumbnail_url"].endswith(f"/media/{public_media}/thumbnail")
    # media of another record is not reachable through this one
    assert _files(client, published, draft_media, archivist_headers)["thumbnail"] == 404


def test_failed_processing_is_visible_and_retryable(app, client, archivist_headers, dummy_record):
    response = upload(client, dummy_record.id, image_bytes("PNG"), archivist_headers)
    media = db.session.get(Media, response.json["id"])
    url = f"/api/archive/records/{dummy_record.id}/media/{media.id}"
    assert client.post(url + "/retry", headers=archivist_headers).status_code == 409
    # the original disappears from the disk: processing it again fails, visibly
    original = Path(app.config["MEDIA_DIR"], media.original_path)
    data = original.read_bytes()
    original.unlink()
    media_id = media.id
    media.status = "processing"
    db.session.commit()
    from archive.jobs import process_media

    process_media(media_id)  # what the job consumer runs
    shown = client.get(url, headers=archivist_headers).json
    assert shown["status"] == "failed"
    assert "FileNotFoundError" in shown["failure_reason"]
    # fixed on disk, then retried
    original.write_bytes(data)
    retried = client.post(url + "/retry", headers=archivist_headers)
    assert retried.status_code == 202
    shown = client.get(url, headers=archivist_headers).json
    assert shown["status"] == "ready"
    assert shown["failure_reason"] is None
    actions = db.session.scalars(select(AuditLog.action).filter_by(target_type="archive_media"))
    assert "archive.media.retry" in list(actions)


def test_public_does_not_see_unfinished_media(client, archivist, archivist_headers):
    record = create_record(archivist, visibility="published")
    media_id = upload(client, record.id, image_bytes(), archivist_headers).json["id"]
    media = db.session.get(Media, media_id)
    media.status = "failed"
    db.session.commit()
    assert client.get(f"/api/archive/records/{record.id}").json["media"] == []
    assert client.get(f"/api/archive/records/{record.id}/media/{media_id}").status_code == 404
    assert (
        len(
            client.get(f"/api/archive/records/{record.id}", headers=archivist_headers).json["media"]
        )
        == 1
    )


def test_pixel_limit_refuses_before_decoding(
    app, client, archivist_headers, dummy_record, monkeypatch
):
    use_archive_settings(monkeypatch, max_image_pixels=100_000)
    response = upload(
        client, dummy_record.id, image_bytes("PNG", size=(500, 500)), archivist_headers
    )
    assert response.status_code == 422
    assert response.json["code"] == "image_too_large"
    assert "decompression bomb" in response.json["message"]
    assert media_files(app) == []


def test_processing_whose_job_was_lost_is_taken_up_by_the_sweep(
    client, clock, archivist, dummy_record
):
    from archive.jobs import resume_stalled_work
    from tests.fixtures.users import auth_headers

    headers = auth_headers(archivist)
    media_id = upload(client, dummy_record.id, image_bytes(), headers).json["id"]
    media = db.session.get(Media, media_id)
    # waiting for a job no consumer ever took (the queue was lost); see test_media_lease.py
    # for a job that took it and died
    media.status, media.updated_at = "processing", clock.now()
    db.session.commit()
    resume_stalled_work()
    assert db.session.get(Media, media_id).status == "processing"  # may still be running
    db.session.rollback()  # the sweep writes from a session of its own
    clock.advance(minutes=31)
    resume_stalled_work()
    assert db.session.get(Media, media_id).status == "ready"


def test_too_many_pages_are_refused(app, client, archivist_headers, dummy_record, monkeypatch):
    use_archive_settings(monkeypatch, max_pages=2)
    pages = [Image.new("L", (50, 50), 255) for _ in range(3)]
    response = upload(client, dummy_record.id, multipage_tiff(pages), archivist_headers)
    assert response.status_code == 422
    assert "3 pages" in response.json["message"]


def test_processing_whose_job_was_lost_can_be_retried(client, clock, archivist, dummy_record):
    from tests.fixtures.users import auth_headers

    headers = auth_headers(archivist)
    media_id = upload(client, dummy_record.id, image_bytes(), headers).json["id"]
    media = db.session.get(Media, media_id)
    media.status = "processing"  # as if its queued job was lost before any consumer took it
    media.updated_at = clock.now()
    db.session.commit()
    url = f"/api/archive/records/{dummy_record.id}/media/{media_id}/retry"
    assert client.post(url, headers=headers).status_code == 409  # may still be running
    clock.advance(minutes=31)
    assert client.post(url, headers=headers).status_code == 202
    assert db.session.get(Media, media_id).status == "ready"


def test_caching_follows_visibility_and_deleting_a_record_removes_its_files(
    app, client, archivist, archivist_headers
):
    record = create_record(archivist, visibility="published")
    media_id = upload(client, record.id, image_bytes(), archivist_headers).json["id"]
    url = f"/api/archive/records/{record.id}/media/{media_id}/thumbnail"
    public = client.get(url)
    # Shared caches may keep it, but must ask before each use: a withdrawal is seen at once.
    assert public.headers["Cache-Control"] == "public, no-cache"
    assert client.get(url, headers={"If-None-Match": public.headers["ETag"]}).status_code == 304
    client.post(f"/api/archive/records/{record.id}/withdraw", headers=archivist_headers)
    assert client.get(url).status_code == 404
    assert "private" in client.get(url, headers=archivist_headers).headers["Cache-Control"]
    assert len(media_files(app)) == 3  # original, thumbnail, display
    assert (
        client.delete(f"/api/archive/records/{record.id}", headers=archivist_headers).status_code
        == 204
    )
    assert media_files(app) == []


def test_phone_jpeg_with_preview_frames_is_one_photo(client, archivist_headers, dummy_record):
    preview = Image.new("RGB", (160, 100), (0, 0, 255))
    data = image_bytes("MPO", size=(800, 500), save_all=True, append_images=[preview])
    response = upload(client, dummy_record.id, data, archivist_headers, "phone.jpg")
    assert response.status_code == 202, response.json
    assert (response.json["mime"], response.json["page_count"]) == ("image/jpeg", 1)
    media = db.session.get(Media, response.json["id"])
    assert media.status == "ready"
    assert media.original_path.endswith(".jpg")
