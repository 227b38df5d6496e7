"""Records and media: wires blueprints, CLI, jobs and demo data into the app."""


def init_app(app, api):
    from archive import models  # noqa: F401  (tables for the metadata)
    from archive.cli import archive_cli

    app.cli.add_command(archive_cli)
