"""Work the archive's use cases hand to the job queue, to run once their transaction commits.

The jobs are doors (``archive/jobs.py``): they import the services to run them, so the
services cannot import the jobs. Each job is named here instead, and ``archive.jobs`` binds
its task to the name when it is imported (``archive/__init__.py`` imports it, so every
process that loads the archive has them bound before any use case runs).
"""

from __future__ import annotations

from core.extensions import db
from core.jobs import after_commit


class Deferred:
    """A job a use case asks for by name; ``archive.jobs`` supplies the task."""

    def __init__(self, name: str):
        self.name = name
        self.task = None

    def bind(self, task):
        """Decorator for the task that does this work (returns it unchanged)."""
        self.task = task
        return task

    def after_commit(self, *args) -> None:
        """Queue the job with ``args`` once the current transaction commits."""
        if self.task is None:
            raise RuntimeError(f"No task is bound to the archive job {self.name}")
        after_commit(self.task, *args)

    def after_commit_once(self, *args) -> None:
        """As ``after_commit``, unless this transaction already queued it with ``args``."""
        pending = db.session.info.get("after_commit", [])
        if not any(job is self.task and queued == args for job, queued, _ in pending):
            self.after_commit(*args)


index_record = Deferred("index_record")  # (re)index one record, or drop it from the index
process_media = Deferred("process_media")  # derivatives and OCR of one media item
run_import = Deferred("run_import")  # one uploaded CSV import
