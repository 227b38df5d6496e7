"""CSV export: every record as an import row, so an export imports back unchanged.

Spreadsheet programs run a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(CSV injection). Such cells are written with a leading apostrophe, which Excel shows as text
and hides; the importer takes that apostrophe off again (``imports.cell``)."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select

from archive.models import Media, Record
from archive.services import storage
from archive.services.imports import COLUMNS, EXTRA_COLUMNS
from core.extensions import db


def export_rows(*, visibility: str | None = None) -> Iterator[dict]:
    """Every record as an import row (``files`` names ``<identifier>/<file name>``)."""
    query = select(Record).order_by(Record.id)
    if visibility:
        query = query.where(Record.visibility == visibility)
    last_id = 0
    while True:
        batch = db.session.scalars(query.where(Record.id > last_id).limit(500)).all()
        if not batch:
            return
        for record in batch:
            yield {
                "identifier": record.identifier,
                "title": record.title,
                "description": record.description or "",
                "creator": record.creator or "",
                "date": record.date_text or "",
                "type": record.type,
                "subjects": ";".join(record.subjects),
                "place": record.place or "",
                "rights": record.rights or "",
                "transcription": record.transcription or "",
                "files": ";".join(export_name(record, item) for item in record.media),
                "alt_title": record.alt_title or "",
                "contributor": record.contributor or "",
                "collections": ";".join(record.collections or []),
                "language": record.language or "",
                "source": record.source or "",
                "_media": list(record.media),
            }
            last_id = record.id
        db.session.expunge_all()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(row: dict) -> dict:
    """The row with every text cell that a spreadsheet would run as a formula made inert."""
    return {
        key: "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value
        for key, value in row.items()
    }


def export_name(record: Record, media: Media) -> str:
    name = media.original_filename or f"{media.sha256}.{Path(media.original_path).suffix[1:]}"
    return f"{record.identifier}/{media.id}-{name.replace(';', '_')}"


def write_csv(
    stream,
    *,
    all_columns: bool = False,
    visibility: str | None = None,
    files_dir: Path | None = None,
    media_dir: str | None = None,
) -> int:
    """Write the export to a text stream; with ``files_dir`` copy the originals there
    under the names the ``files`` column gives. Returns the number of records."""
    columns = COLUMNS + (EXTRA_COLUMNS if all_columns else ())
    writer = csv.DictWriter(stream, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    count = 0
    for row in export_rows(visibility=visibility):
        if files_dir is not None and media_dir is not None:
            for item, name in zip(row["_media"], row["files"].split(";"), strict=False):
                target = Path(files_dir) / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(storage.absolute(media_dir, item.original_path), target)
        writer.writerow(spreadsheet_safe(row))
        count += 1
    return count


def csv_chunks(*, chunk_size: int = 64 * 1024) -> Iterator[str]:
    """The export as import CSV text in pieces of about ``chunk_size`` characters, starting
    with a byte order mark so that spreadsheet programs read the Hangul as UTF-8."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in export_rows():
        writer.writerow(spreadsheet_safe(row))
        if buffer.tell() > chunk_size:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
