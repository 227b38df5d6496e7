"""Facilities domain."""


def init_app(app, api):
    """Register blueprints, CLI commands, jobs, ready checks and demo data."""
