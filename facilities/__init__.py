"""Facilities domain: the ice rink and the curling centre, booked safely under a rush."""


def init_app(app, api):
    """Register blueprints, the gate key's security scheme, CLI commands, jobs, ready checks
    and demo data."""
    from core.health import register_check
    from facilities import api as resident_api
    from facilities import cli, demo, gate_auth, health, manager_api
    from facilities import jobs as _jobs  # noqa: F401  (registers the periodic jobs)

    register_check(app, "facility_slots", health.slots_ahead, critical=False)
    gate_auth.register_security_scheme(api)
    api.register_blueprint(resident_api.blp)
    api.register_blueprint(manager_api.blp)
    app.cli.add_command(cli.facilities_cli)
    app.extensions.setdefault("demo_seeders", []).append(demo.seed)
