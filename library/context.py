"""What the library's HTTP views take from the app: the library settings."""

from __future__ import annotations

from flask import current_app

from library.services.common import LibrarySettings


def settings() -> LibrarySettings:
    return current_app.extensions["library_settings"]
