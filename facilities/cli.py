"""``flask --app wsgi facilities ...``: generate slots, run the periodic work by hand."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from core import clock
from core.extensions import db
from facilities import jobs
from facilities.services import slots

facilities_cli = AppGroup("facilities", help="Ice rink and curling centre.")


@facilities_cli.command("generate-slots")
@click.option("--days", default=60, show_default=True, type=click.IntRange(1, 366))
@click.option("--facility-id", type=int, default=None)
def generate_slots(days, facility_id):
    """Materialize slots from the templates for the next DAYS days (safe to repeat)."""
    created = slots.generate(days, clock.now(), facility_id)
    db.session.commit()
    click.echo(json.dumps({"created": created}, ensure_ascii=False))


@facilities_cli.command("expire-holds")
def expire_holds():
    """Expire unpaid holds now."""
    count = jobs.expire_holds_now()
    db.session.commit()
    click.echo(f"expired {count}")


@facilities_cli.command("mark-no-shows")
def mark_no_shows():
    """Mark bookings not checked in as no-shows now."""
    count = jobs.mark_no_shows_now()
    db.session.commit()
    click.echo(f"marked {count}")
