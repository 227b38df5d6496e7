"""The archive's jobs: media processing, uploaded imports, search index writes.

Each job runs one use case from ``archive.services`` in its own unit of work; the services ask
for these jobs through ``archive.services.background``, to which each is bound here.
"""

from __future__ import annotations

from datetime import timedelta

from archive.services import background, imports, indexing, media_processing
from archive.settings import ArchiveSettings
from core import clock, jobs
from core.settings import settings_of


@background.process_media.bind
@jobs.task()
def process_media(media_id: int) -> None:
    """Derivatives and OCR of one media item, or the rest of them after a job that died."""
    media_processing.process_waiting(
        media_id, clock=clock.now, settings=settings_of(ArchiveSettings)
    )


@background.run_import.bind
@jobs.task()
def run_import(import_id: int) -> None:
    """An uploaded CSV import."""
    imports.run_import(import_id, clock=clock.now, settings=settings_of(ArchiveSettings))


# Leases that run out within this time of a sweep get a take-up at their end: up to the next
# sweep (a minute, its crontab), with half a minute's room for a sweep that starts late.
SWEEP_HORIZON = timedelta(seconds=90)


@jobs.periodic(jobs.crontab(minute="*"))
def resume_stalled_work() -> None:
    """Take up again the imports and media processing whose job died (their lease ran out,
    or their queued job was lost), each after its last kept step; and ask for a take-up at
    the end of every lease that runs out before the next sweep."""
    now, settings = clock.now(), settings_of(ArchiveSettings)
    imports.resume_stalled(now, settings, horizon=SWEEP_HORIZON)
    media_processing.resume_stalled(now, settings, horizon=SWEEP_HORIZON)


@jobs.huey.on_startup()
def _resume_after_a_restart() -> None:
    # A consumer that starts after a crash asks at once, not at the next minute; and runs the
    # sweep here rather than queue it, where it would wait behind every job left in the queue.
    resume_stalled_work.call_local()


@background.index_record.bind
@jobs.task()
def index_record(record_id: int) -> None:
    """(Re)index one record, or remove it from the index when it no longer exists. Only the
    job consumer (and the reindex command) writes the index, never a web worker."""
    indexing.index_record(record_id, settings_of(ArchiveSettings).index_dir)


@background.index_records.bind
@jobs.task()
def index_records(record_ids: list[int]) -> None:
    """(Re)index the records one transaction changed, with one commit of the index."""
    indexing.index_records(record_ids, settings_of(ArchiveSettings).index_dir)
