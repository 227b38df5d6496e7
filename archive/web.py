"""Records and media: wires blueprints, CLI, jobs and demo data into the app."""


def init_app(app, api):
    pass
