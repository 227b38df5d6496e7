"""Library domain: unmanned smart-library kiosks (lending, returns, holds, fleet)."""

from core.health import register_check
from core.settings import register
from library import api as resident_api
from library import cli, demo, health, kiosk_api, staff_api
from library import jobs as _jobs  # noqa: F401  (registers the periodic jobs)
from library.services.kiosks import KIOSK
from library.settings import LibrarySettings, pin_passwords


def init_app(app, api):
    """Register settings, blueprints, the kiosk key's security scheme, CLI commands, jobs,
    ready checks and demo data."""
    register(app, LibrarySettings.from_config(app.config, pin_passwords(app.config)))
    KIOSK.document(api)
    api.register_blueprint(resident_api.blp)
    api.register_blueprint(staff_api.blp)
    api.register_blueprint(kiosk_api.blp)
    app.cli.add_command(cli.library_cli)
    register_check(app, "library_kiosks", health.fleet_check, critical=False)
    app.extensions.setdefault("demo_seeders", []).append(demo.seed_demo)
