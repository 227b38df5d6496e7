"""The archive's readiness checks (``/api/ready``): both only report, neither is critical."""

from __future__ import annotations

import logging

from archive.search import index
from archive.services import indexing, ocr
from archive.settings import ArchiveSettings
from core.settings import settings_of

log = logging.getLogger(__name__)


def ocr_check():
    """The archive works without Tesseract, only scans are not read."""
    settings = settings_of(ArchiveSettings)
    reason = ocr.problem(settings.tesseract_cmd, settings.ocr_lang)
    if reason:
        log.warning("OCR unavailable: %s", reason)
        return "unavailable"
    return None


def search_index_check():
    """Without an index, search answers with no results until it is built."""
    settings = settings_of(ArchiveSettings)
    if settings.search_backend == "postgres":
        return indexing.postgres_problem()
    index_dir = settings.index_dir
    if index.current_path(index_dir) is None:
        return "empty: run `flask --app wsgi archive reindex`"
    if index.is_stale(index_dir):
        return "built by an older version: run `flask --app wsgi archive reindex`"
    return None
