"""SEARCH_BACKEND is checked when the app is built: a value it does not know, or the
PostgreSQL backend on a database that is not PostgreSQL, is a clear configuration error."""

import pytest

from core.app import create_app
from core.config import ConfigurationError
from tests.fixtures.archive_search import WHOOSH_ONLY

pytestmark = WHOOSH_ONLY  # about building an app, not about searching


def test_postgres_search_on_sqlite_is_refused_at_start_up(test_settings, tmp_path):
    settings = {
        **test_settings,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'other.db'}",
        "SEARCH_BACKEND": "postgres",
    }
    with pytest.raises(ConfigurationError, match="SEARCH_BACKEND=postgres.*not PostgreSQL"):
        create_app(settings)


def test_an_unknown_search_backend_is_refused_at_start_up(test_settings):
    with pytest.raises(ConfigurationError, match="SEARCH_BACKEND='opensearch'.*whoosh, postgres"):
        create_app({**test_settings, "SEARCH_BACKEND": "opensearch"})
