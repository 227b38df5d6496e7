"""CSV import (as a background job) and export over HTTP, for archivists."""

from __future__ import annotations

import csv
import io
import logging
import shutil
from pathlib import Path

from flask import Response, current_app, g, stream_with_context
from sqlalchemy import func, select

from archive import exporter, importer, storage
from archive.errors import PayloadTooLarge
from archive.models import ImportRun
from archive.schemas import ImportQuerySchema, ImportSchema, ImportUploadSchema
from archive.settings import ArchiveSettings
from core import audit, clock, jobs
from core.errors import NotFound, RuleViolation
from core.extensions import db
from core.http import Blueprint
from core.models import User

log = logging.getLogger(__name__)
blp = Blueprint(
    "archive_imports", __name__, url_prefix="/api/archive", description="Archive CSV import/export"
)


def import_dir(media_dir: str, import_id: int) -> Path:
    return Path(media_dir) / "imports" / str(import_id)


@blp.post("/imports")
@blp.auth("archivist")
@blp.arguments(ImportUploadSchema, location="files")
@blp.arguments(ImportQuerySchema, location="query")
@blp.response(202, ImportSchema)
@blp.errors(413)
def create_import(files, query):
    """Upload a CSV (field ``file``) and the images it names (fields ``files``, matched by
    file name); ``?publish=true`` publishes the records. The import runs in the background;
    poll the returned import for the outcome, with the line number of every refused row."""
    settings = ArchiveSettings.from_config(current_app.config)
    now = clock.now()
    run = ImportRun(
        status="queued",
        filename=Path(files["file"].filename or "import.csv").name[:255],
        publish=query["publish"],
        created_by_id=g.user.id,
        created_at=now,
    )
    db.session.add(run)
    db.session.flush()
    folder = import_dir(settings.media_dir, run.id)
    try:
        _save(files["file"], folder / "data.csv", settings.max_upload_bytes, "file")
        for upload in files["files"]:
            name = Path(upload.filename or "").name
            if not name:
                raise RuleViolation("Every image needs a file name", errors={"files": ["name"]})
            _save(upload, folder / "files" / name, settings.max_upload_bytes, "files")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    audit.record(
        g.user,
        "archive.import.create",
        "archive_import",
        run.id,
        now=now,
        after={"filename": run.filename, "publish": run.publish},
    )
    jobs.after_commit(run_import, run.id)
    try:
        db.session.commit()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return run


def _save(upload, target: Path, limit: int, field: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with open(target, "wb") as out:
        while chunk := upload.stream.read(storage.CHUNK):
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(
                    f"{target.name} is larger than the limit of {limit} bytes",
                    errors={field: [f"Larger than {limit} bytes."]},
                )
            out.write(chunk)


@blp.get("/imports")
@blp.auth("archivist")
@blp.response(200, ImportSchema(many=True))
@blp.paginate()
def list_imports(pagination_parameters):
    """Imports, newest first."""
    query = select(ImportRun).order_by(ImportRun.id.desc())
    pagination_parameters.item_count = db.session.scalar(
        select(func.count()).select_from(ImportRun)
    )
    p = pagination_parameters
    return db.session.scalars(query.offset(p.first_item).limit(p.page_size)).all()


@blp.get("/imports/<int:import_id>")
@blp.auth("archivist")
@blp.response(200, ImportSchema)
@blp.errors(404)
def get_import(import_id):
    """An import's state and outcome."""
    run = db.session.get(ImportRun, import_id)
    if run is None:
        raise NotFound(f"Import {import_id} not found")
    return run


@blp.get("/export")
@blp.auth("archivist")
@blp.response(200, description="CSV (UTF-8 with BOM, so spreadsheet programs read Hangul)")
def export_csv():
    """All records as the import CSV (the ``files`` column names each record's originals)."""

    def generate():
        buffer = io.StringIO()
        buffer.write("\ufeff")
        writer = csv.DictWriter(buffer, fieldnames=importer.COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in exporter.export_rows():
            writer.writerow(row)
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="archive-records.csv"'},
    )


@jobs.task()
def run_import(import_id: int) -> None:
    run = db.session.get(ImportRun, import_id)
    if run is None or run.status != "queued":
        return
    settings = ArchiveSettings.from_config(current_app.config)
    now = clock.now()
    folder = import_dir(settings.media_dir, import_id)
    run.status = "running"
    db.session.commit()
    actor = db.session.get(User, run.created_by_id) if run.created_by_id else "import"
    try:
        report = importer.import_csv(
            actor,
            folder / "data.csv",
            files_dir=folder / "files",
            publish=run.publish,
            now=now,
            settings=settings,
            commit=db.session.commit,
        )
    except importer.ImportFileError as error:
        db.session.rollback()
        run = db.session.get(ImportRun, import_id)
        run.status, run.message = "failed", str(error)
    except Exception as error:
        log.exception("import %s failed", import_id)
        db.session.rollback()
        run = db.session.get(ImportRun, import_id)
        run.status = "failed"
        run.message = f"The import stopped: {type(error).__name__}. Rows before it were kept."
    else:
        run = db.session.get(ImportRun, import_id)
        run.status = "done"
        run.created, run.updated = report.created, report.updated
        run.unchanged, run.failed, run.errors = report.unchanged, report.failed, report.errors
        run.message = f"{report.created} created, {report.updated} updated, {report.failed} failed"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    run.finished_at = clock.now()
