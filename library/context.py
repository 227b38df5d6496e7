"""What the library's HTTP views take from the app: the time and the library settings."""

from __future__ import annotations

from datetime import datetime

from flask import current_app

from library.services.common import LibrarySettings


def now() -> datetime:
    return current_app.extensions["clock"].now()


def settings() -> LibrarySettings:
    return current_app.extensions["library_settings"]
