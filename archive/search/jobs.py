"""Index writes: done only by the job consumer (or the reindex command), never by web workers."""

from flask import current_app

from core import jobs


@jobs.task()
def index_record(record_id: int) -> None:
    """(Re)index one record, or remove it from the index when it no longer exists."""
    from archive.documents import record_document
    from archive.models import Record
    from archive.search import index
    from core.extensions import db

    record = db.session.get(Record, record_id)
    base = current_app.config["INDEX_DIR"]
    if record is None:
        index.update_documents(base, [], delete_ids=[record_id])
    else:
        index.update_documents(base, [record_document(record)])
