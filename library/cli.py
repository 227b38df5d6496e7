"""``flask --app wsgi library ...``: kiosk keys from the command line."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from core import clock
from core.cli import commit_or_fail
from library.services import kiosks as kiosk_rules

library_cli = AppGroup("library", help="Smart-library kiosks.")


@library_cli.command("kiosk-create")
@click.argument("code")
@click.option("--name", required=True, help="Shown to librarians and patrons.")
@click.option("--slots", "slot_count", required=True, type=click.IntRange(1, 2000))
@click.option("--location", default=None)
def kiosk_create(code, name, slot_count, location):
    """Register a kiosk and print {"id", "code", "key"} as JSON (the key is shown only now)."""
    kiosk, key = commit_or_fail(
        lambda: kiosk_rules.create_kiosk(
            "cli",
            code=code,
            name=name,
            slot_count=slot_count,
            location=location,
            now=clock.now(),
        )
    )
    click.echo(json.dumps({"id": kiosk.id, "code": kiosk.code, "key": key}))


@library_cli.command("kiosk-revoke")
@click.argument("code")
def kiosk_revoke(code):
    """Revoke a kiosk's device key."""
    kiosk = kiosk_rules.kiosk_by_code(code)
    if kiosk is None:
        raise click.ClickException(f"no kiosk {code}")
    commit_or_fail(lambda: kiosk_rules.revoke_key("cli", kiosk, now=clock.now()))
    click.echo(json.dumps({"id": kiosk.id, "code": kiosk.code, "revoked": True}))
