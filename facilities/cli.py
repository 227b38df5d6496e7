"""``flask --app wsgi facilities ...``: generate slots, run the periodic work by hand, issue and
revoke check-in gate keys, verify a drawn lottery."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from core import clock
from core.cli import commit_or_fail
from facilities import jobs
from facilities.services import catalog, gates, lotteries, slots

facilities_cli = AppGroup("facilities", help="Ice rink and curling centre.")


@facilities_cli.command("generate-slots")
@click.option("--days", default=60, show_default=True, type=click.IntRange(1, 366))
@click.option("--facility-id", type=int, default=None)
def generate_slots(days, facility_id):
    """Materialize slots from the templates for the next DAYS days (safe to repeat)."""
    created = commit_or_fail(lambda: slots.generate(days, clock.now(), facility_id))
    click.echo(json.dumps({"created": created}, ensure_ascii=False))


@facilities_cli.command("expire-holds")
def expire_holds():
    """Expire unpaid holds now."""
    count = commit_or_fail(jobs.expire_holds_now)
    click.echo(f"expired {count}")


@facilities_cli.command("mark-no-shows")
def mark_no_shows():
    """Mark bookings not checked in as no-shows now."""
    count = commit_or_fail(jobs.mark_no_shows_now)
    click.echo(f"marked {count}")


@facilities_cli.command("gate-create")
@click.option("--facility-id", required=True, type=int)
@click.option("--name", required=True, help="Shown to managers, and in the audit trail.")
def gate_create(facility_id, name):
    """Register a check-in gate and print {"id", "facility_id", "name", "key"} as JSON (the key
    is shown only now)."""
    gate, key = commit_or_fail(
        lambda: gates.create_gate("cli", catalog.get_facility(facility_id), name, clock.now())
    )
    body = {"id": gate.id, "facility_id": gate.facility_id, "name": gate.name, "key": key}
    click.echo(json.dumps(body, ensure_ascii=False))


@facilities_cli.command("gate-revoke")
@click.option("--id", "gate_id", required=True, type=int)
def gate_revoke(gate_id):
    """Revoke a gate's key at once."""
    gate = commit_or_fail(lambda: gates.revoke("cli", gates.get_gate(gate_id), clock.now()))
    click.echo(json.dumps({"id": gate.id, "revoked": True}))


@facilities_cli.command("draw-lotteries")
def draw_lotteries():
    """Draw every lottery whose application window has closed, now."""
    count = commit_or_fail(jobs.draw_lotteries_now)
    click.echo(f"drew {count}")


@facilities_cli.command("lottery-verify")
@click.argument("lottery_id", type=int)
def lottery_verify(lottery_id):
    """Recompute LOTTERY_ID's order from its published seed and applications (procedure
    draw-v1) and print whether it matches what was published; exits 1 when it does not."""
    result = commit_or_fail(lambda: lotteries.verify(lottery_id))
    click.echo(json.dumps(result, ensure_ascii=False))
    if result["ok"]:
        click.echo(f"lottery {lottery_id}: the published draw matches")
    else:
        click.echo(f"lottery {lottery_id}: the published draw DOES NOT match", err=True)
        raise SystemExit(1)
