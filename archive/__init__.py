"""Local-culture archive: records, scanned media, OCR and Korean full-text search."""


def init_app(app, api):
    """Register blueprints, CLI commands, jobs, ready checks and demo data."""
    from archive import search, web

    web.init_app(app, api)
    search.init_app(app, api)
