"""Concurrent archivists through real gunicorn workers."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from archive.models import Media, Record
from core.extensions import db
from tests.fixtures.archive import create_record, image_bytes
from tests.fixtures.users import auth_headers

pytestmark = pytest.mark.slow


def test_concurrent_changes_from_the_same_version_one_wins(live_server, archivist):
    record = create_record(archivist)
    headers = auth_headers(archivist)
    url = live_server(f"/api/archive/records/{record.id}")
    record_id = record.id
    db.session.rollback()  # hold no SQLite lock while the server works

    def change(number):
        response = requests.patch(
            url, json={"title": f"제목 {number}", "version": 1}, headers=headers, timeout=60
        )
        return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(change, range(4)))
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 409, 409, 409]
    winner = next(body for status, body in results if status == 200)
    db.session.expire_all()
    stored = db.session.get(Record, record_id)
    assert (stored.title, stored.version) == (winner["title"], 2)


def test_concurrent_uploads_of_the_same_scan_share_one_original(app, live_server, archivist):
    record = create_record(archivist)
    headers = auth_headers(archivist)
    data = image_bytes("PNG", size=(300, 200))
    url = live_server(f"/api/archive/records/{record.id}/media")
    record_id = record.id
    db.session.rollback()  # hold no SQLite lock while the server works

    def send(_):
        files = {"file": ("scan.png", data, "image/png")}
        return requests.post(url, files=files, headers=headers, timeout=120).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(send, range(4))) == [202] * 4
    db.session.expire_all()
    media = db.session.scalars(select(Media).filter_by(record_id=record_id)).all()
    assert len(media) == 4
    assert len({m.original_path for m in media}) == 1
    assert Path(app.config["MEDIA_DIR"], media[0].original_path).read_bytes() == data
    assert {m.status for m in media} == {"ready"}
