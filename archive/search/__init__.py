"""Korean full-text search over archive records (Whoosh)."""


def init_app(app, api):
    pass
