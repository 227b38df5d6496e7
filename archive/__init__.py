"""Local-culture archive: records, scanned media, OCR and Korean full-text search."""

import sys

from archive import (
    api,
    cli,
    demo,
    health,
    iiif,
    imports_api,
    oai,
    pages,
    search_api,
    staff_pages,
)
from archive import jobs as _jobs  # noqa: F401  (binds the jobs the services queue)
from archive.search import analysis
from archive.services import documents
from archive.settings import ArchiveSettings, OaiSettings
from core import settings, web
from core.extensions import db
from core.health import register_check


def init_app(app, api_docs):
    """Register settings, blueprints, CLI commands, jobs, ready checks and demo data."""
    archive_settings = ArchiveSettings.from_config(app.config)
    settings.register(app, archive_settings)
    with app.app_context():  # this app's engine: its transactions write their search terms
        documents.index_in_transaction(db.engine, archive_settings.search_backend == "postgres")
    settings.register(app, OaiSettings.from_config(app.config))
    api_docs.register_blueprint(api.blp)
    api_docs.register_blueprint(imports_api.blp)
    api_docs.register_blueprint(search_api.blp)
    app.register_blueprint(pages.blp)
    app.register_blueprint(iiif.blp)
    app.register_blueprint(oai.blp)
    web.add_nav(app, web.NavItem("archive_pages.search", "향토문화 아카이브"))
    web.add_home_panel(app, "archive/home_panel.html", pages.home_panel)
    web.add_field_messages(*pages.FIELD_MESSAGES)
    app.register_blueprint(staff_pages.blp)
    web.add_staff_section(
        app,
        web.StaffSection(
            "archive_staff_pages.records",
            "향토문화 자료",
            roles=staff_pages.ROLES,
            description="자료 기술, 스캔 올리기, 글자 고치기, 공개, CSV 가져오기·내보내기",
        ),
    )
    web.add_messages(staff_pages.MESSAGES)
    web.add_field_messages(*staff_pages.FIELD_MESSAGES)
    app.cli.add_command(cli.archive_cli)
    register_check(app, "ocr", health.ocr_check, critical=False)
    register_check(app, "search_index", health.search_index_check, critical=False)
    app.extensions.setdefault("demo_seeders", []).append(demo.seed_demo_records)
    if "gunicorn" in sys.modules:
        # ``gunicorn --preload`` builds the app in the master: load the morphology model
        # there, once, so every forked worker shares its memory instead of loading a copy.
        analysis.warm_up(for_fork=True)
