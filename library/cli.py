"""``flask --app wsgi library ...``: kiosk keys from the command line, and the SIP2 server."""

from __future__ import annotations

import json
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from core import clock
from core.cli import commit_or_fail
from core.settings import settings_of
from library.services import kiosks as kiosk_rules
from library.settings import Sip2Settings
from library.sip2.server import serve

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


@library_cli.command("sip2-serve")
@click.option("--host", default=None, help="Default: SIP2_HOST.")
@click.option("--port", default=None, type=click.IntRange(0, 65535), help="Default: SIP2_PORT.")
@click.option("--workers", default=None, type=click.IntRange(1, 64), help="Default: SIP2_WORKERS.")
@click.option(
    "--if-enabled", is_flag=True, help="Exit at once unless SIP2_ENABLED is set (for make run)."
)
def sip2_serve(host, port, workers, if_enabled):
    """Serve SIP2 2.00 to self-check machines until SIGTERM or Ctrl-C."""
    sip = settings_of(Sip2Settings)
    if if_enabled and not sip.enabled:
        return
    serve(
        current_app._get_current_object(),
        host or sip.host,
        sip.port if port is None else port,
        sip.idle_timeout,
        workers or sip.workers,
        ready=lambda line: click.echo(line, nl=True) or sys.stdout.flush(),
    )
