"""``flask --app wsgi archive ...`` commands."""

from flask.cli import AppGroup

archive_cli = AppGroup("archive", help="Local-culture archive: import, export, media, index.")
