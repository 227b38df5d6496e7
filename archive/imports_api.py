"""CSV import (as a background job) and export over HTTP, for archivists."""

from __future__ import annotations

from flask import Response, g, stream_with_context

from archive.schemas import ImportQuerySchema, ImportSchema, ImportUploadSchema
from archive.services import exports, imports
from archive.settings import ArchiveSettings
from core.clock import now
from core.http import Blueprint, paginated
from core.settings import settings_of

blp = Blueprint(
    "archive_imports", __name__, url_prefix="/api/archive", description="Archive CSV import/export"
)


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
    return imports.start_import(
        g.user,
        files["file"],
        files["files"],
        publish=query["publish"],
        now=now(),
        settings=settings_of(ArchiveSettings),
    )


@blp.get("/imports")
@blp.auth("archivist")
@blp.response(200, ImportSchema(many=True))
@blp.paginate()
def list_imports(pagination_parameters):
    """Imports, newest first."""
    return paginated(imports.imports_query(), pagination_parameters)


@blp.get("/imports/<int:import_id>")
@blp.auth("archivist")
@blp.response(200, ImportSchema)
@blp.errors(404)
def get_import(import_id):
    """An import's state and outcome."""
    return imports.get_import(import_id)


@blp.get("/export")
@blp.auth("archivist")
@blp.response(200, description="CSV (UTF-8 with BOM, so spreadsheet programs read Hangul)")
def export_csv():
    """All records as the import CSV (the ``files`` column names each record's originals).

    A cell starting with `=`, `+`, `-` or `@` is written with a leading apostrophe, so that a
    spreadsheet shows it as text instead of running it as a formula; importing the file back
    takes the apostrophe off."""
    return Response(
        stream_with_context(exports.csv_chunks()),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="archive-records.csv"'},
    )
