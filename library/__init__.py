"""Library domain: unmanned smart-library kiosks (lending, returns, holds, fleet)."""


def init_app(app, api):
    """Register blueprints, CLI commands, jobs, ready checks and demo data."""
    from core.health import register_check
    from core.security import Passwords
    from library import api as library_api
    from library import (
        jobs,  # noqa: F401  (registers the periodic tasks)
        kiosk_api,
        staff_api,
    )
    from library.cli import library_cli
    from library.demo import seed_demo
    from library.health import fleet_check
    from library.services.common import LibrarySettings

    pin_hasher = Passwords(
        time_cost=app.config["LIBRARY_PIN_ARGON2_TIME_COST"],
        memory_cost_kib=app.config["LIBRARY_PIN_ARGON2_MEMORY_COST_KIB"],
        parallelism=1,
    )
    app.extensions["library_settings"] = LibrarySettings.from_config(app.config, pin_hasher)
    api.register_blueprint(library_api.blp)
    api.register_blueprint(staff_api.blp)
    api.register_blueprint(kiosk_api.blp)
    app.cli.add_command(library_cli)
    register_check(app, "library_kiosks", fleet_check, critical=False)
    app.extensions.setdefault("demo_seeders", []).append(seed_demo)
