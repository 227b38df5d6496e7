"""Work the archive's use cases hand to the job queue, to run once their transaction commits.

The jobs are doors (``archive/jobs.py``): they import the services to run them, so the
services cannot import the jobs. Each job is named here instead, and ``archive.jobs`` binds
its task to the name when it is imported (``archive/__init__.py`` imports it, so every
process that loads the archive has them bound before any use case runs).
"""

from __future__ import annotations

from core.jobs import Deferred

index_record = Deferred("index_record")  # (re)index one record, or drop it from the index
index_records = Deferred("index_records")  # the same for every record a transaction changed
process_media = Deferred("process_media")  # derivatives and OCR of one media item
run_import = Deferred("run_import")  # one uploaded CSV import
