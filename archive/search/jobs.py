"""Index writes: done only by the job consumer (or the reindex command), never by web workers."""

from core import jobs


@jobs.task()
def index_record(record_id: int) -> None:
    """(Re)index one record, or remove it from the index when it no longer exists."""
