"""CSV import (CLI and upload) and export."""

import csv
import io
import time
import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import func, select

from archive.jobs import index_records
from archive.models import Media, Record
from archive.services import imports as importer
from core.extensions import db
from core.models import AuditLog
from tests.fixtures.archive import archive_settings, image_bytes, now, use_archive_settings
from tests.fixtures.users import auth_headers, create_user

HEADER = "identifier,title,description,creator,date,type,subjects,place,rights,transcription,files"


def write(path: Path, rows: list[str], encoding="utf-8", bom=False) -> Path:
    text = "\r\n".join([HEADER, *rows]) + "\r\n"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))
    return path


def run(app, *args):
    return app.test_cli_runner().invoke(args=["archive", *args])


def records() -> dict[str, Record]:
    return {r.identifier: r for r in db.session.scalars(select(Record))}


GOOD = [
    'UJB-1,의정부역 앞,"역 앞 거리 풍경\n두 줄 설명",미상,1950년대,사진,철도;거리,의정부동,'
    "공공누리 제1유형,,",
    "UJB-2,회룡사 중수기,,회룡사,광무 3년,document,사찰,호원동,KOGL-1,절을 고쳐 지은 내력,",
    "UJB-3,옛 지도,,,옛날 옛적,map,,,CC-BY-4.0,,",
]


@pytest.mark.parametrize("encoding, bom", [("utf-8", True), ("utf-8", False), ("cp949", False)])
def test_cli_import_reads_korean_encodings(app, tmp_path, encoding, bom):
    path = write(tmp_path / "records.csv", GOOD, encoding, bom)
    result = run(app, "import", str(path))
    assert result.exit_code == 0, result.output
    assert "3 created" in result.output
    found = records()
    assert set(found) == {"UJB-1", "UJB-2", "UJB-3"}
    first = found["UJB-1"]
    assert first.title == "의정부역 앞"
    assert first.description == "역 앞 거리 풍경\n두 줄 설명"
    assert first.type == "photo"
    assert first.subjects == ["철도", "거리"]
    assert first.rights == "KOGL-1"
    assert (first.year_from, first.year_to) == (1950, 1959)
    assert first.visibility == "draft"
    assert found["UJB-2"].transcription == "절을 고쳐 지은 내력"
    assert (found["UJB-2"].year_from, found["UJB-2"].date_parsed) == (1899, True)
    assert (found["UJB-3"].date_text, found["UJB-3"].date_parsed) == ("옛날 옛적", False)


def test_bad_rows_are_reported_by_line_and_good_rows_go_in(app, tmp_path):
    rows = [
        GOOD[0],  # lines 2-3 (a quoted line break)
        "UJB-4,,설명,,,photo,,,,,",  # line 4: no title
        "UJB-5,제목,,,,painting,,,,,",  # line 5: unknown type
        "UJB-6,제목,,,,photo,,,all rights reserved,,",  # line 6: unknown rights
        "bad id,제목,,,,photo,,,,,",  # line 7
        "UJB-8,제목,,,,photo,,,,,missing.jpg",  # line 8: the file is not there
        GOOD[1],  # line 9
    ]
    path = write(tmp_path / "records.csv", rows)
    result = run(app, "import", str(path))
    assert result.exit_code == 1
    assert "2 created" in result.output and "5 failed" in result.output
    for line in (
        "line 4 [UJB-4]: title",
        "line 5 [UJB-5]: type",
        "line 6 [UJB-6]: rights",
        "line 7 [bad id]: identifier",
        "line 8 [UJB-8]: File missing.jpg",
    ):
        assert line in result.output
    assert set(records()) == {"UJB-1", "UJB-2"}


def test_reimport_updates_with_a_new_version_never_duplicates(app, tmp_path):
    path = write(tmp_path / "a.csv", GOOD)
    assert run(app, "import", str(path)).exit_code == 0
    again = run(app, "import", str(path))
    assert "0 created, 0 updated, 3 unchanged" in again.output
    changed = [GOOD[0].replace("의정부역 앞", "의정부역 광장"), *GOOD[1:]]
    result = run(app, "import", str(write(tmp_path / "b.csv", changed)))
    assert "0 created, 1 updated, 2 unchanged" in result.output
    found = records()
    assert len(found) == 3
    assert found["UJB-1"].title == "의정부역 광장"
    assert found["UJB-1"].version == 2
    assert found["UJB-2"].version == 1
    update = db.session.scalar(select(AuditLog).filter_by(action="archive.record.update"))
    assert (update.before["title"], update.after["title"]) == ("의정부역 앞", "의정부역 광장")
    # --publish publishes what is already there
    assert run(app, "import", str(path), "--publish").exit_code == 0
    assert {r.visibility for r in records().values()} == {"published"}


def test_files_are_attached_once(app, tmp_path):
    scans = tmp_path / "scans"
    scans.mkdir()
    (scans / "a.jpg").write_bytes(image_bytes("JPEG"))
    (scans / "b.png").write_bytes(image_bytes("PNG"))
    rows = ["UJB-9,사진 두 장,,,1911,photo,,,,,scans/a.jpg;scans/b.png"]
    path = write(tmp_path / "records.csv", rows)
    assert run(app, "import", str(path), "--publish").exit_code == 0
    assert run(app, "import", str(path)).exit_code == 0  # same files: nothing new
    record = records()["UJB-9"]
    assert sorted(m.original_filename for m in record.media) == ["a.jpg", "b.png"]
    assert {m.status for m in record.media} == {"ready"}
    # --files-dir: names resolve there instead of next to the CSV
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "c.webp").write_bytes(image_bytes("WEBP"))
    rows = ["UJB-10,웹피,,,1911,photo,,,,,c.webp"]
    result = run(app, "import", str(write(tmp_path / "c.csv", rows)), "--files-dir", str(other))
    assert result.exit_code == 0, result.output
    assert records()["UJB-10"].media[0].mime == "image/webp"
    # Windows separators, and a Hangul file name stored decomposed (as macOS does)
    (other / "옛사진").mkdir()
    nfd = unicodedata.normalize("NFD", "관아.png")
    (other / "옛사진" / nfd).write_bytes(image_bytes("PNG", size=(50, 50)))
    rows = ["UJB-15,한글 이름,,,1911,photo,,,,,옛사진\\관아.png"]
    result = run(app, "import", str(write(tmp_path / "e.csv", rows)), "--files-dir", str(other))
    assert result.exit_code == 0, result.output
    # a path leaving the files directory is refused
    rows = ["UJB-11,밖,,,1911,photo,,,,,../records.csv"]
    result = run(app, "import", str(write(tmp_path / "d.csv", rows)), "--files-dir", str(other))
    assert "outside the files directory" in result.output


def test_a_non_image_file_fails_its_row_and_leaves_no_file(app, tmp_path):
    (tmp_path / "notes.txt").write_text("메모")
    rows = ["UJB-12,메모,,,1911,photo,,,,,notes.txt", GOOD[1]]
    result = run(app, "import", str(write(tmp_path / "records.csv", rows)))
    assert "line 2 [UJB-12]: File notes.txt" in result.output
    assert set(records()) == {"UJB-2"}
    originals = Path(app.config["MEDIA_DIR"], "originals")
    assert not originals.exists() or not any(p.is_file() for p in originals.rglob("*"))


@pytest.mark.parametrize(
    "content, message",
    [
        ("title,type\n제목,photo\n", "missing columns: identifier"),
        (HEADER + ",colour\n", "unknown columns: colour"),
        ("", "empty"),
    ],
)
def test_bad_file_stops_with_a_message(app, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    result = run(app, "import", str(path))
    assert result.exit_code != 0
    assert message in result.output


def test_neither_utf8_nor_cp949_is_refused(app, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(HEADER.encode() + b"\nUJB-1,\xff\xfe\xff,,,,photo,,,,,\n")
    result = run(app, "import", str(path))
    assert result.exit_code != 0
    assert "neither UTF-8 nor CP949" in result.output


def test_many_rows_in_batches_keep_every_index_job(app, tmp_path, monkeypatch):
    use_archive_settings(monkeypatch, import_batch=50)
    rows = [
        f"UJB-B{i:04d},기록 {i},설명 {i},,19{i % 100:02d},photo,주제{i % 7},,,," for i in range(400)
    ]
    rows[120] = "UJB-BAD,,,,,photo,,,,,"  # a bad row inside a batch
    path = write(tmp_path / "many.csv", rows)
    queued: list[int] = []

    def commit():
        # Record what each batch commit would enqueue; the indexing itself is the search
        # module's business (and slow to run 160 times here), so it is left out.
        pending = db.session.info.pop("after_commit", [])
        jobs = [args[0] for job, args, _ in pending if job is index_records]
        assert len(jobs) <= 1  # one index job per batch, not one per record
        queued.extend(record_id for ids in jobs for record_id in ids)
        db.session.commit()

    started = time.monotonic()
    report = importer.import_csv(
        "test",
        path,
        files_dir=None,
        publish=False,
        now=now(),
        settings=archive_settings(),
        commit=commit,
    )
    elapsed = time.monotonic() - started
    assert (report.created, report.failed) == (399, 1)
    assert report.errors[0]["line"] == 122
    assert db.session.scalar(select(func.count()).select_from(Record)) == 399
    ids = set(db.session.scalars(select(Record.id)))
    assert set(queued) == ids  # the bad row's rollback did not drop earlier rows' jobs
    assert elapsed < 60


def test_upload_import_runs_as_a_job(client, archivist):
    headers = auth_headers(archivist)
    rows = [GOOD[1], "UJB-13,사진,,,1911,photo,,,,,scan.png", "UJB-14,,,,,photo,,,,,"]
    body = ("\ufeff" + "\r\n".join([HEADER, *rows])).encode()
    response = client.post(
        "/api/archive/imports?publish=true",
        data={
            "file": (io.BytesIO(body), "records.csv"),
            "files": [(io.BytesIO(image_bytes("PNG")), "scan.png")],
        },
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 202, response.json
    outcome = client.get(f"/api/archive/imports/{response.json['id']}", headers=headers).json
    assert outcome["status"] == "done"
    assert (outcome["created"], outcome["failed"]) == (2, 1)
    assert outcome["errors"][0]["line"] == 4
    assert "title" in outcome["errors"][0]["errors"]
    found = records()
    assert found["UJB-13"].visibility == "published"
    assert found["UJB-13"].media[0].original_filename == "scan.png"
    assert db.session.scalar(select(func.count()).select_from(Media)) == 1


@pytest.mark.parametrize("roles, status", [(("resident",), 403), (("librarian",), 403)])
def test_only_archivists_import_and_export(client, roles, status):
    headers = auth_headers(create_user(roles))
    response = client.post(
        "/api/archive/imports",
        data={"file": (io.BytesIO(b"x"), "a.csv")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == status
    assert client.get("/api/archive/export", headers=headers).status_code == status


def test_export_writes_the_import_csv_and_round_trips(app, client, archivist, tmp_path):
    headers = auth_headers(archivist)
    scans = tmp_path / "scans"
    scans.mkdir()
    (scans / "a.jpg").write_bytes(image_bytes("JPEG"))
    rows = [*GOOD, "UJB-9,사진,,,1911,photo,,,,,scans/a.jpg"]
    assert run(app, "import", str(write(tmp_path / "in.csv", rows))).exit_code == 0
    out, files = tmp_path / "out.csv", tmp_path / "out-files"
    result = run(app, "export", str(out), "--files-dir", str(files))
    assert result.exit_code == 0, result.output
    with open(out, encoding="utf-8", newline="") as stream:
        exported = list(csv.DictReader(stream))
    assert list(exported[0]) == HEADER.split(",")
    by_id = {row["identifier"]: row for row in exported}
    assert by_id["UJB-1"]["subjects"] == "철도;거리"
    assert by_id["UJB-1"]["description"] == "역 앞 거리 풍경\n두 줄 설명"
    assert by_id["UJB-2"]["date"] == "광무 3년"
    exported_file = files / by_id["UJB-9"]["files"]
    assert exported_file.read_bytes() == (scans / "a.jpg").read_bytes()
    again = run(app, "import", str(out), "--files-dir", str(files))
    assert "0 created, 0 updated, 4 unchanged" in again.output
    # over HTTP, with a BOM so spreadsheet programs read the Hangul
    response = client.get("/api/archive/export", headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff" + HEADER)
    assert "회룡사 중수기" in text


def test_export_makes_formula_cells_inert_and_imports_them_back(app, client, archivist, tmp_path):
    rows = ['UJB-7,=HYPERLINK("http://x"),-3 도,@미상,+1911,photo,=합계;사찰,,,,']
    assert run(app, "import", str(write(tmp_path / "in.csv", rows))).exit_code == 0
    response = client.get("/api/archive/export", headers=auth_headers(archivist))
    [row] = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert row["title"] == '\'=HYPERLINK("http://x")'
    assert row["description"] == "'-3 도"
    assert row["creator"] == "'@미상"
    assert row["date"] == "'+1911"
    assert row["subjects"] == "'=합계;사찰"
    out = tmp_path / "out.csv"
    out.write_bytes(response.data)
    again = run(app, "import", str(out))
    assert "0 created, 0 updated, 1 unchanged" in again.output, again.output


def test_upload_import_with_a_bad_header_fails_visibly(client, archivist):
    headers = auth_headers(archivist)
    response = client.post(
        "/api/archive/imports",
        data={"file": (io.BytesIO("제목,종류\n가,나\n".encode()), "bad.csv")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 202
    outcome = client.get(f"/api/archive/imports/{response.json['id']}", headers=headers).json
    assert outcome["status"] == "failed"
    assert "missing columns" in outcome["message"]
    assert client.get("/api/archive/imports/999", headers=headers).status_code == 404
    listed = client.get("/api/archive/imports", headers=headers).json
    assert [run["id"] for run in listed] == [response.json["id"]]
