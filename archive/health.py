"""Records and media: wires blueprints, CLI, jobs and demo data into the app."""

import logging

from flask import current_app

log = logging.getLogger(__name__)


def _ocr_check():
    """Non-critical: the archive works without Tesseract, only scans are not read."""
    from archive import ocr

    config = current_app.config
    reason = ocr.problem(config["ARCHIVE_TESSERACT_CMD"], config["ARCHIVE_OCR_LANG"])
    if reason:
        log.warning("OCR unavailable: %s", reason)
        return "unavailable"
    return None


def init_app(app, api):
    from archive import api as records_api
    from archive import imports_api, jobs, models
    from archive.cli import archive_cli
    from archive.demo import seed_demo_records
    from core.health import register_check

    del jobs, models  # imported for their side effects: the media job, the tables
    api.register_blueprint(records_api.blp)
    api.register_blueprint(imports_api.blp)
    app.cli.add_command(archive_cli)
    register_check(app, "ocr", _ocr_check, critical=False)
    app.extensions.setdefault("demo_seeders", []).append(seed_demo_records)
