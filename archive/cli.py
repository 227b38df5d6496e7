"""``flask --app wsgi archive ...`` commands."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from archive import exporter, importer, storage
from archive import media as media_service
from archive.models import Media
from archive.settings import ArchiveSettings
from core import clock
from core.cli import user_or_fail
from core.extensions import db

archive_cli = AppGroup("archive", help="Local-culture archive: import, export, media, index.")


def _settings() -> ArchiveSettings:
    return ArchiveSettings.from_config(current_app.config)


def _media_batches(query, size: int = 200):
    """Media in id order, a batch at a time (the session is emptied between batches)."""
    last_id = 0
    while True:
        batch = db.session.scalars(query.where(Media.id > last_id).order_by(Media.id).limit(size))
        items = batch.all()
        if not items:
            return
        yield items
        last_id = items[-1].id
        db.session.expunge_all()


@archive_cli.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--publish", is_flag=True, help="Publish the imported records.")
@click.option(
    "--files-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Where the files column points (default: the CSV's folder).",
)
@click.option("--user", "email", help="Record the changes under this account (default: cli).")
def import_command(csv_file, publish, files_dir, email):
    """Import records from CSV (UTF-8 or CP949). Existing identifiers are updated.
    Exits with 1 when any row was refused (each is listed with its line number)."""
    actor = user_or_fail(email) if email else "cli"
    started = time.monotonic()
    try:
        report = importer.import_csv(
            actor,
            csv_file,
            files_dir=files_dir,
            publish=publish,
            now=clock.now(),
            settings=_settings(),
            commit=db.session.commit,
            progress=lambda done: click.echo(f"  {done} rows ...", err=True),
        )
    except importer.ImportFileError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    for item in report.errors:
        detail = f" [{item['identifier']}]" if item["identifier"] else ""
        click.echo(f"line {item['line']}{detail}: {item['message']}", err=True)
    click.echo(
        f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.failed} failed in {time.monotonic() - started:.1f} s"
    )
    if report.failed:
        sys.exit(1)


@archive_cli.command("export")
@click.argument("csv_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--files-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Copy the originals here, under the names the files column gives.",
)
@click.option(
    "--all-columns",
    is_flag=True,
    help="Add alt_title, contributor, collections, language and source.",
)
@click.option("--published-only", is_flag=True)
def export_command(csv_file, files_dir, all_columns, published_only):
    """Write every record as import CSV (UTF-8) to CSV_FILE, or to standard output."""
    options = {
        "all_columns": all_columns,
        "visibility": "published" if published_only else None,
        "files_dir": files_dir,
        "media_dir": _settings().media_dir,
    }
    if csv_file is None:
        count = exporter.write_csv(sys.stdout, **options)
    else:
        with open(csv_file, "w", encoding="utf-8", newline="") as stream:
            count = exporter.write_csv(stream, **options)
    click.echo(f"{count} records exported", err=True)


@archive_cli.command("regenerate-derivatives")
@click.option("--record", "record_id", type=int, help="Only this record's media.")
def regenerate_derivatives(record_id):
    """Rebuild every thumbnail and display image from the originals."""
    settings = _settings()
    query = select(Media)
    if record_id is not None:
        query = query.where(Media.record_id == record_id)
    done = failed = 0
    for batch in _media_batches(query):
        for media in batch:
            try:
                media_service.build_derivatives(media, settings)
                done += 1
            except Exception as error:
                failed += 1
                click.echo(f"media {media.id}: {type(error).__name__}: {error}", err=True)
        db.session.commit()
    click.echo(f"{done} rebuilt, {failed} failed")
    if failed:
        sys.exit(1)


@archive_cli.command("verify-fixity")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def verify_fixity(as_json):
    """Re-hash every original and compare with the SHA-256 recorded at ingest. Exits with 1
    when a file is missing or changed."""
    media_dir = _settings().media_dir
    checked, missing, mismatched = 0, [], []
    for batch in _media_batches(select(Media)):
        for media in batch:
            checked += 1
            path = storage.absolute(media_dir, media.original_path)
            entry = {"media_id": media.id, "record_id": media.record_id, "path": str(path)}
            if not path.is_file():
                missing.append(entry)
                continue
            actual = storage.sha256_of(path)
            if actual != media.sha256:
                mismatched.append({**entry, "expected": media.sha256, "actual": actual})
    if as_json:
        click.echo(json.dumps({"checked": checked, "missing": missing, "mismatched": mismatched}))
    else:
        for entry in missing:
            click.echo(
                f"MISSING  media {entry['media_id']} (record {entry['record_id']}): {entry['path']}"
            )
        for entry in mismatched:
            click.echo(
                f"CHANGED  media {entry['media_id']} (record {entry['record_id']}): "
                f"{entry['path']} sha256 {entry['actual']} != {entry['expected']}"
            )
        click.echo(f"{checked} checked, {len(missing)} missing, {len(mismatched)} changed")
    db.session.rollback()
    if missing or mismatched:
        sys.exit(1)
