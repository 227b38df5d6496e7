"""Facilities domain: the ice rink and the curling centre, booked safely under a rush."""

from core.health import register_check
from core.settings import register
from facilities import api as resident_api
from facilities import cli, demo, health, manager_api
from facilities import jobs as _jobs  # noqa: F401  (registers the periodic jobs)
from facilities.services.gates import GATE
from facilities.settings import FacilitySettings


def init_app(app, api):
    """Register settings, blueprints, the gate key's security scheme, CLI commands, jobs,
    ready checks and demo data."""
    register(app, FacilitySettings.from_config(app.config))
    register_check(app, "facility_slots", health.slots_ahead, critical=False)
    GATE.document(api)
    api.register_blueprint(resident_api.blp)
    api.register_blueprint(manager_api.blp)
    app.cli.add_command(cli.facilities_cli)
    app.extensions.setdefault("demo_seeders", []).append(demo.seed)
