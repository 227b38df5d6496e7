"""Settings objects the domains build from the app's config at start-up, one per type.

``register(app, LibrarySettings.from_config(...))`` in a domain's ``init_app``; a door asks
``settings_of(LibrarySettings)``. Services never ask: the door passes the settings in.
"""

from __future__ import annotations

from typing import TypeVar

from flask import Flask, current_app

T = TypeVar("T")


def register(app: Flask, settings: object) -> None:
    app.extensions.setdefault("settings", {})[type(settings)] = settings


def settings_of(kind: type[T]) -> T:
    return current_app.extensions["settings"][kind]
