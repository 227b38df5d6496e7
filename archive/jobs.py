"""Media processing on the job queue: derivatives and OCR of one media item."""

from __future__ import annotations

from flask import current_app

from archive import media as media_service
from archive.models import Media
from archive.settings import ArchiveSettings
from core import clock, jobs
from core.extensions import db


@jobs.task()
def process_media(media_id: int) -> None:
    media = db.session.get(Media, media_id)
    if media is None or media.status != "processing":
        return  # deleted meanwhile, or already handled by an earlier delivery
    media_service.process(
        media,
        now=clock.now(),
        settings=ArchiveSettings.from_config(current_app.config),
    )
