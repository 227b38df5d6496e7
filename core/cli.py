"""``flask --app wsgi users ...``, ``seed-demo`` and ``jobs ...``."""

from __future__ import annotations

import json
import secrets

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from core import (
    clock,
    jobs,
    notifications,  # noqa: F401  (registers the delivery jobs with the consumer)
    services,
)
from core.errors import DomainError
from core.roles import ROLES
from core.settings import settings_of
from core.transactions import unit_of_work

users_cli = AppGroup("users", help="Manage accounts and roles.")
jobs_cli = AppGroup("jobs", help="Background job queue.")

DEMO_ROLES = {
    "admin@demo.happyhub.kr": ("관리자", ["admin"]),
    "manager@demo.happyhub.kr": ("시설 담당자", ["facility_manager"]),
    "librarian@demo.happyhub.kr": ("사서", ["librarian"]),
    "archivist@demo.happyhub.kr": ("기록연구사", ["archivist"]),
    "resident@demo.happyhub.kr": ("김시민", ["resident"]),
}


def user_or_fail(email: str):
    """The account with this email, or a CLI error saying there is none."""
    user = services.find_user_by_email(email)
    if user is None:
        raise click.ClickException(f"no user with email {email}")
    return user


def commit_or_fail(action):
    """Run ``action`` as one unit of work; a DomainError becomes a CLI error."""
    try:
        with unit_of_work():
            return action()
    except DomainError as error:
        detail = f" {json.dumps(error.errors, ensure_ascii=False)}" if error.errors else ""
        raise click.ClickException(error.message + detail) from error


role_option = click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(ROLES),
    help="Repeat for several roles.",
)


@users_cli.command("create")
@click.argument("email")
@click.option("--password", required=True)
@click.option("--name", default=None)
@role_option
def create_user(email, password, name, roles):
    """Create an account with the given roles."""
    user = commit_or_fail(
        lambda: services.create_user(
            email=email,
            password=password,
            name=name or email.split("@")[0],
            phone=None,
            roles=roles,
            now=clock.now(),
            settings=settings_of(services.AccountSettings),
        )
    )
    click.echo(f"created user {user.id} {user.email} roles={','.join(user.roles)}")


@users_cli.command("set-roles")
@click.argument("email")
@role_option
def set_roles(email, roles):
    """Replace an account's roles."""
    user = commit_or_fail(
        lambda: services.set_roles("cli", user_or_fail(email), roles, clock.now())
    )
    click.echo(f"{user.email} roles={','.join(user.roles)}")


@users_cli.command("set-password")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def set_password(email, password):
    """Set an account's password."""
    commit_or_fail(
        lambda: services.set_password(
            user_or_fail(email), password, settings_of(services.AccountSettings)
        )
    )
    click.echo(f"password set for {email}")


@users_cli.command("deactivate")
@click.argument("email")
def deactivate(email):
    """Deactivate an account and revoke its tokens."""
    user = commit_or_fail(lambda: services.deactivate("cli", user_or_fail(email), clock.now()))
    click.echo(f"{user.email} deactivated")


@users_cli.command("verify-resident")
@click.argument("email")
def verify_resident(email):
    """Mark an account as a verified city resident."""
    commit_or_fail(
        lambda: services.set_resident_verification("cli", user_or_fail(email), True, clock.now())
    )
    click.echo(f"{email} verified as a city resident")


def ensure_demo_users() -> list[str]:
    """Create the demo accounts that are missing; return lines to print (passwords once)."""
    lines = []
    for email, (name, roles) in DEMO_ROLES.items():
        if services.find_user_by_email(email) is not None:
            lines.append(f"  {email:32} (exists; password was printed when it was created)")
            continue
        password = secrets.token_urlsafe(9)
        user = services.create_user(
            email=email,
            password=password,
            name=name,
            phone=None,
            roles=roles,
            now=clock.now(),
            settings=settings_of(services.AccountSettings),
        )
        if "resident" in roles:
            services.set_resident_verification("seed", user, True, clock.now())
        lines.append(f"  {email:32} password: {password}   roles: {','.join(roles)}")
    return lines


@click.command("seed-demo")
def seed_demo():
    """Load demo data into every domain (safe to run again)."""
    lines = ["Demo accounts:", *commit_or_fail(ensure_demo_users)]
    for seeder in current_app.extensions.get("demo_seeders", []):
        lines.extend(commit_or_fail(lambda seeder=seeder: seeder(clock.now())) or [])
    click.echo("\n".join(lines))


@jobs_cli.command("worker")
@click.option("--workers", default=1, show_default=True)
def worker(workers):
    """Run the job consumer (periodic tasks included; with several consumers on Redis each
    periodic run is claimed by one of them) until interrupted."""
    consumer = jobs.huey.create_consumer(workers=workers, periodic=True, check_worker_health=True)
    consumer.run()


@jobs_cli.command("status")
def status():
    """Print the job queue status as JSON."""
    click.echo(json.dumps(jobs.status()))


def register(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(seed_demo)
    app.extensions.setdefault("demo_seeders", [])
