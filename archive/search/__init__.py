"""Korean full-text search over archive records (Whoosh)."""

import sys

from flask import current_app


def _index_check():
    """Non-critical: without an index search answers with no results until it is built."""
    from archive.search import index

    if index.current_path(current_app.config["INDEX_DIR"]) is None:
        return "empty: run `flask --app wsgi archive reindex`"
    return None


def init_app(app, api):
    from archive.cli import archive_cli
    from archive.search import analysis, jobs
    from archive.search import api as search_api
    from archive.search.cli import reindex_command
    from core.health import register_check

    del jobs  # imported so the job consumer knows index_record
    api.register_blueprint(search_api.blp)
    archive_cli.add_command(reindex_command)
    register_check(app, "search_index", _index_check, critical=False)
    if "gunicorn" in sys.modules:
        # ``gunicorn --preload`` builds the app in the master: load the morphology model
        # there, once, so every forked worker shares its memory instead of loading a copy.
        analysis.warm_up(for_fork=True)
