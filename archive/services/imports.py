"""CSV import of records: from a file on the server (the CLI) or uploaded and run as a job.

Columns: ``identifier,title,description,creator,date,type,subjects,place,rights,
transcription,files`` (subjects and files separated by ``;``, files relative to the CSV or
the files directory); ``alt_title,contributor,collections,language,source`` are read too.
UTF-8 (with or without BOM) and CP949 are read. The file is streamed row by row and
committed in batches, so memory stays flat however long the file is. Each row runs in a
savepoint: a bad row is reported with its line number and the good rows go in.

A bulk load is the archive's one use case that commits by itself (in batches, see
``import_csv``); every other one flushes and leaves the commit to the door's unit of work.
"""

from __future__ import annotations

import codecs
import csv
import logging
import shutil
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from archive.models import (
    ImportRun,
    Media,
    Record,
    check_identifier,
    normalize_rights,
    normalize_type,
    split_list,
)
from archive.services import background, leases, storage
from archive.services import media as media_service
from archive.services import records as record_service
from archive.settings import ArchiveSettings
from core import audit, lookup
from core.errors import DomainError, PayloadTooLarge, RuleViolation
from core.extensions import db
from core.models import User

log = logging.getLogger(__name__)

COLUMNS = (
    "identifier",
    "title",
    "description",
    "creator",
    "date",
    "type",
    "subjects",
    "place",
    "rights",
    "transcription",
    "files",
)
EXTRA_COLUMNS = ("alt_title", "contributor", "collections", "language", "source")
REQUIRED = ("identifier", "title", "type")
MAX_REPORTED_ERRORS = 1000
LIMITS = {
    "title": 500,
    "creator": 200,
    "contributor": 200,
    "place": 200,
    "date": 100,
    "alt_title": 500,
    "language": 20,
    "source": 500,
}


class ImportFileError(Exception):
    """The file as a whole cannot be imported (encoding, header)."""


class RowError(Exception):
    def __init__(self, message: str, errors: dict | None = None):
        super().__init__(message)
        self.message, self.errors = message, errors


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[dict] = field(default_factory=list)

    def add_error(self, line: int, identifier: str | None, message: str, errors=None) -> None:
        self.failed += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(
                {"line": line, "identifier": identifier, "message": message, "errors": errors}
            )

    def as_dict(self) -> dict:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "errors": self.errors,
        }


def _decodes(stream, encoding: str) -> bool:
    """Whether the whole stream, read from its start in chunks, is text in ``encoding``."""
    stream.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        while chunk := stream.read(storage.CHUNK):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path: Path) -> str:
    """utf-8-sig, utf-8 or cp949 — decided by reading the whole file (in chunks)."""
    with open(path, "rb") as stream:
        if stream.read(3) == codecs.BOM_UTF8:
            return "utf-8-sig"
        for encoding in ("utf-8", "cp949"):
            if _decodes(stream, encoding):
                return encoding
    raise ImportFileError("The file is neither UTF-8 nor CP949 text")


def read_rows(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number where the row starts, row) for every data row."""
    encoding = detect_encoding(path)
    with open(path, encoding=encoding, newline="") as stream:
        reader = csv.reader(stream)
        try:
            header = next(reader)
        except StopIteration as error:
            raise ImportFileError("The file is empty") from error
        names = [name.strip().lower() for name in header]
        unknown = [n for n in names if n and n not in COLUMNS + EXTRA_COLUMNS]
        missing = [n for n in REQUIRED if n not in names]
        if unknown or missing:
            parts = []
            if missing:
                parts.append(f"missing columns: {', '.join(missing)}")
            if unknown:
                parts.append(f"unknown columns: {', '.join(unknown)}")
            raise ImportFileError(
                "Bad header (" + "; ".join(parts) + f"). Expected: {','.join(COLUMNS)}"
            )
        line = reader.line_num
        for cells in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(names):
                yield start, {"__error__": f"{len(cells)} cells but {len(names)} columns"}
                continue
            yield (
                start,
                {
                    name: _unescaped(cells[i]) if i < len(cells) else ""
                    for i, name in enumerate(names)
                },
            )


def _cell(row: dict, name: str) -> str | None:
    value = (row.get(name) or "").strip()
    return value or None


def _unescaped(cell: str) -> str:
    """The export writes a cell a spreadsheet would run as a formula with a leading
    apostrophe (``exports.spreadsheet_safe``): take it off, so an export imports back
    unchanged."""
    stripped = cell.lstrip()
    if stripped.startswith("'") and stripped[1:2] in ("=", "+", "-", "@", "\t", "\r"):
        return stripped[1:]
    return cell


def row_data(row: dict) -> tuple[dict, list[str]]:
    """Record fields and file names of one row, or RowError naming the bad cells."""
    if "__error__" in row:
        raise RowError(row["__error__"])
    errors: dict[str, list[str]] = {}
    data: dict = {}
    for name in REQUIRED:
        if not _cell(row, name):
            errors[name] = ["Missing data for required field."]
    for name, limit in LIMITS.items():
        value = _cell(row, name)
        if value and len(value) > limit:
            errors[name] = [f"Longer than {limit} characters."]
    checks: tuple[tuple[str, Callable], ...] = (
        ("identifier", check_identifier),
        ("type", normalize_type),
        ("rights", normalize_rights),
    )
    for name, check in checks:
        value = _cell(row, name)
        if value and name not in errors:
            try:
                data[name] = check(value)
            except ValueError as error:
                errors[name] = [str(error)]
    if errors:
        summary = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in errors.items())
        raise RowError(summary, errors)
    data.setdefault("rights", None)
    data.update(
        title=_cell(row, "title"),
        description=_cell(row, "description"),
        creator=_cell(row, "creator"),
        date_text=_cell(row, "date"),
        subjects=split_list(row.get("subjects")),
        place=_cell(row, "place"),
        transcription=_cell(row, "transcription"),
    )
    for name in EXTRA_COLUMNS:
        if name in row:
            data[name] = split_list(row[name]) if name == "collections" else _cell(row, name)
    return data, split_list(row.get("files"))


def _resolve(base: Path, name: str) -> Path:
    """The file a row names, inside ``base``. Windows separators are accepted, and Hangul
    names match whichever Unicode form the file system stored (macOS writes NFD)."""
    root = base.resolve()
    path = (root / name.replace("\\", "/")).resolve()
    if not path.is_relative_to(root):
        raise RowError(f"File {name} is outside the files directory", {"files": [name]})
    if not path.is_file():
        path = _match_unicode_form(root, path.relative_to(root).parts)
    if path is None:
        raise RowError(f"File {name} not found", {"files": [f"{name}: not found"]})
    return path


def _match_unicode_form(root: Path, parts) -> Path | None:
    current = root
    for part in parts:
        wanted = unicodedata.normalize("NFC", part)
        if not current.is_dir():
            return None
        found = [p for p in current.iterdir() if unicodedata.normalize("NFC", p.name) == wanted]
        if not found:
            return None
        current = found[0]
    return current if current.is_file() else None


def _attach_files(actor, record: Record, names, base: Path, *, now, settings) -> None:
    """Ingest the row's files; a file whose bytes the record already has is skipped."""
    for name in names:
        path = _resolve(base, name)
        staged = storage.stage_file(path, settings.media_dir, settings.max_upload_bytes)
        known = db.session.scalar(
            select(Media.id).where(Media.record_id == record.id, Media.sha256 == staged.sha256)
        )
        if known is not None:
            staged.path.unlink(missing_ok=True)
            continue
        try:
            media_service.ingest(actor, record, staged, path.name, now=now, settings=settings)
        except DomainError as error:
            raise RowError(f"File {name}: {error.message}", {"files": [error.message]}) from error


def import_row(
    actor, data: dict, files, base: Path, *, publish: bool, now: datetime, settings: ArchiveSettings
) -> str:
    """Create or update one record; returns 'created', 'updated' or 'unchanged'."""
    record = record_service.find_by_identifier(data["identifier"])
    if record is None:
        record = record_service.create_record(
            actor, data, now=now, visibility="published" if publish else "draft"
        )
        outcome = "created"
    else:
        changed = record_service.update_record(actor, record, data, now=now)
        if publish and not record.is_published:
            record_service.publish(actor, record, now=now, checklist=False)
            changed = True
        outcome = "updated" if changed else "unchanged"
    media_before = len(record.media)
    _attach_files(actor, record, files, base, now=now, settings=settings)
    if outcome == "unchanged" and len(record.media) != media_before:
        outcome = "updated"
    return outcome


def import_csv(
    actor,
    path: Path,
    *,
    files_dir: Path | None,
    publish: bool,
    now: datetime,
    settings: ArchiveSettings,
    commit: Callable[[], None] = db.session.commit,
    progress: Callable[[int], None] | None = None,
    report: ImportReport | None = None,
    after_line: int = 0,
    checkpoint: Callable[[int, ImportReport], None] | None = None,
) -> ImportReport:
    """Import a CSV file, committing every ``settings.import_batch`` rows and at the end
    through ``commit``: one transaction for a whole file would hold the database's write
    lock (SQLite has only one) for as long as the file takes, and a crash would lose it all.
    Raises ImportFileError when the file as a whole cannot be read.

    A resumed run passes the ``report`` so far and skips the rows up to ``after_line``;
    ``checkpoint(last line, report)`` runs inside each batch's transaction, just before its
    commit, so progress and rows are kept together."""
    report = report or ImportReport()
    base = Path(files_dir) if files_dir else path.parent
    session = db.session
    actor_id = getattr(actor, "id", None)
    done = 0
    last_line = after_line
    for line, row in read_rows(path):
        if line <= after_line:
            continue  # done by an earlier run of this import
        last_line = line
        identifier = (row.get("identifier") or "").strip() or None
        queued = list(session.info.get("after_commit", []))
        created_files = list(session.info.get("archive_new_files", []))
        savepoint = session.begin_nested()
        try:
            data, files = row_data(row)
            outcome = import_row(
                actor, data, files, base, publish=publish, now=now, settings=settings
            )
            savepoint.commit()
        except (RowError, DomainError) as error:
            savepoint.rollback()
            _restore(session, queued, created_files)
            report.add_error(line, identifier, error.message, error.errors)
            continue
        except Exception as error:  # a database refusal: report it, keep going
            log.exception("import row at line %s failed", line)
            savepoint.rollback()
            _restore(session, queued, created_files)
            report.add_error(line, identifier, f"Could not be stored: {type(error).__name__}")
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
        done += 1
        if done % settings.import_batch == 0:
            if checkpoint:
                checkpoint(last_line, report)
            commit()
            session.expunge_all()
            actor = _reattach(actor, actor_id)
            if progress:
                progress(done)
    if checkpoint:
        checkpoint(last_line, report)
    commit()
    return report


def _reattach(actor, actor_id):
    """The acting user again after the session let go of every object."""
    return db.session.get(User, actor_id) if isinstance(actor, User) else actor


def _restore(session, queued: list, created_files: list) -> None:
    """After a row's savepoint rolled back: drop the files it wrote, keep the jobs that
    earlier rows queued (a rollback clears the whole after-commit list)."""
    new_files = [p for p in session.info.get("archive_new_files", []) if p not in created_files]
    storage.forget_new_files(session, new_files)
    session.info["after_commit"] = queued


# --- imports uploaded over HTTP, run by the job queue --------------------------------------


def import_dir(media_dir: str, import_id: int) -> Path:
    """Where an uploaded import's CSV and files wait for its job."""
    return Path(media_dir) / "imports" / str(import_id)


def start_import(
    actor, csv_upload, file_uploads, *, publish: bool, now: datetime, settings: ArchiveSettings
) -> ImportRun:
    """Accept an upload: keep the CSV (``csv_upload``: a file name and a binary ``stream``)
    and the image files it names, and queue the import to run once this transaction
    commits. The saved files are removed again if it rolls back or anything is refused."""
    run = ImportRun(
        status="queued",
        filename=Path(csv_upload.filename or "import.csv").name[:255],
        publish=publish,
        created_by_id=getattr(actor, "id", None),
        created_at=now,
    )
    db.session.add(run)
    db.session.flush()
    folder = import_dir(settings.media_dir, run.id)
    storage.stage_new_folder(db.session, folder)
    try:
        _save(csv_upload, folder / "data.csv", settings.max_upload_bytes, "file")
        for upload in file_uploads:
            name = Path(upload.filename or "").name
            if not name:
                raise RuleViolation("Every image needs a file name", errors={"files": ["name"]})
            _save(upload, folder / "files" / name, settings.max_upload_bytes, "files")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    audit.record(
        actor,
        "archive.import.create",
        "archive_import",
        run.id,
        now=now,
        after={"filename": run.filename, "publish": run.publish},
    )
    background.run_import.after_commit(run.id)
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


def _claim(import_id: int, now: datetime, settings: ArchiveSettings) -> ImportRun | None:
    """Take the run for this job, committed, unless it is finished or another job holds it
    (its lease has not run out)."""
    run = leases.claim(
        ImportRun,
        import_id,
        now=now,
        seconds=settings.import_lease_seconds,
        claimable=lambda found: found.status in ("queued", "running"),
    )
    if run is None:
        return None  # finished (a later delivery of the job), or another job is running it
    run.status = "running"
    db.session.commit()  # shown as running meanwhile
    return run


def run_import(import_id: int, *, clock: Callable[[], datetime], settings: ArchiveSettings):
    """Run a queued import (the job), or take up one whose job died: import in batches,
    each keeping the progress with its rows, then record the outcome, or the reason it
    stopped, on the import. Its files are removed once it ends. ``clock`` gives the time."""
    now = clock()
    run = _claim(import_id, now, settings)
    if run is None:
        return None
    folder = import_dir(settings.media_dir, import_id)
    actor = db.session.get(User, run.created_by_id) if run.created_by_id else "import"
    so_far = ImportReport(
        created=run.created,
        updated=run.updated,
        unchanged=run.unchanged,
        failed=run.failed,
        errors=list(run.errors or []),
    )

    def checkpoint(line: int, report: ImportReport) -> None:
        held = db.session.get(ImportRun, import_id)
        held.resume_after_line = line
        held.created, held.updated = report.created, report.updated
        held.unchanged, held.failed, held.errors = report.unchanged, report.failed, report.errors
        held.lease_until = leases.expiry(clock(), settings.import_lease_seconds)

    try:
        report = import_csv(
            actor,
            folder / "data.csv",
            files_dir=folder / "files",
            publish=run.publish,
            now=now,
            settings=settings,
            report=so_far,
            after_line=run.resume_after_line,
            checkpoint=checkpoint,
        )
    except ImportFileError as error:
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
        run.message = f"{report.created} created, {report.updated} updated, {report.failed} failed"
    shutil.rmtree(folder, ignore_errors=True)
    run.lease_until = None
    run.finished_at = clock()
    return run


def resume_stalled(now: datetime, settings: ArchiveSettings, *, horizon: timedelta) -> list[int]:
    """Queue again, after this transaction commits, every run whose job died: running with a
    lease that ran out, or queued for longer than a lease without a job taking it (a queue
    lost with its consumer); and, for the moment its lease runs out, every run whose lease
    runs out within ``horizon`` (before the next sweep). Returns the runs queued at once."""
    found = leases.due(
        ImportRun,
        active=ImportRun.status.in_(("queued", "running")),
        now=now,
        horizon=horizon,
        waiting_since=ImportRun.created_at,
        wait_limit=timedelta(seconds=settings.import_lease_seconds),
    )
    for import_id in found.lapsed + found.waiting:
        background.run_import.after_commit(import_id)
    for import_id, delay in found.expiring:
        background.run_import.after_commit_in(delay, import_id)
    return sorted(found.lapsed + found.waiting)


def imports_query():
    """Every import, newest first."""
    return select(ImportRun).order_by(ImportRun.id.desc())


def get_import(import_id: int) -> ImportRun:
    return lookup.get(ImportRun, import_id, label="Import")
