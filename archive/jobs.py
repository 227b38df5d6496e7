"""The archive's jobs: media processing, uploaded imports, search index writes.

Each job runs one use case from ``archive.services`` in its own unit of work; the services ask
for these jobs through ``archive.services.background``, to which each is bound here.
"""

from __future__ import annotations

from archive.services import background, imports, indexing
from archive.services import media as media_service
from archive.settings import ArchiveSettings
from core import clock, jobs
from core.settings import settings_of


@background.process_media.bind
@jobs.task()
def process_media(media_id: int) -> None:
    """Derivatives and OCR of one media item."""
    media_service.process_waiting(media_id, now=clock.now(), settings=settings_of(ArchiveSettings))


@background.run_import.bind
@jobs.task()
def run_import(import_id: int) -> None:
    """An uploaded CSV import."""
    imports.run_import(import_id, clock=clock.now, settings=settings_of(ArchiveSettings))


@jobs.periodic(jobs.crontab(minute="*"))
def resume_stalled_work() -> None:
    """Take up again the work whose job died: imports (where their last batch ended, once
    their lease ran out) and media processing (stuck for half an hour)."""
    now = clock.now()
    imports.resume_stalled(now, settings_of(ArchiveSettings))
    media_service.resume_stalled(now)


@jobs.huey.on_startup()
def _resume_after_a_restart() -> None:
    # A consumer that starts after a crash asks at once, not at the next minute.
    resume_stalled_work()


@background.index_record.bind
@jobs.task()
def index_record(record_id: int) -> None:
    """(Re)index one record, or remove it from the index when it no longer exists. Only the
    job consumer (and the reindex command) writes the index, never a web worker."""
    indexing.index_record(record_id, settings_of(ArchiveSettings).index_dir)
