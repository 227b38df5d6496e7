"""``flask --app wsgi archive ...`` commands."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
from flask.cli import AppGroup

from archive.services import exports, imports, indexing, media_files
from archive.settings import ArchiveSettings
from core import clock
from core.cli import commit_or_fail, user_or_fail
from core.settings import settings_of

archive_cli = AppGroup("archive", help="Local-culture archive: import, export, media, index.")


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
        report = commit_or_fail(
            lambda: imports.import_csv(
                actor,
                csv_file,
                files_dir=files_dir,
                publish=publish,
                now=clock.now(),
                settings=settings_of(ArchiveSettings),
                progress=lambda done: click.echo(f"  {done} rows ...", err=True),
            )
        )
    except imports.ImportFileError as error:
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
        "media_dir": settings_of(ArchiveSettings).media_dir,
    }
    if csv_file is None:
        count = exports.write_csv(sys.stdout, **options)
    else:
        with open(csv_file, "w", encoding="utf-8", newline="") as stream:
            count = exports.write_csv(stream, **options)
    click.echo(f"{count} records exported", err=True)


@archive_cli.command("regenerate-derivatives")
@click.option("--record", "record_id", type=int, help="Only this record's media.")
def regenerate_derivatives(record_id):
    """Rebuild every thumbnail and display image from the originals."""

    def report(media, error):
        click.echo(f"media {media.id}: {type(error).__name__}: {error}", err=True)

    done, failed = commit_or_fail(
        lambda: media_files.regenerate_derivatives(
            settings_of(ArchiveSettings), record_id=record_id, on_failure=report
        )
    )
    click.echo(f"{done} rebuilt, {failed} failed")
    if failed:
        sys.exit(1)


@archive_cli.command("verify-fixity")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def verify_fixity(as_json):
    """Re-hash every original and compare with the SHA-256 recorded at ingest. Exits with 1
    when a file is missing or changed."""
    result = commit_or_fail(
        lambda: media_files.verify_fixity(settings_of(ArchiveSettings).media_dir)
    )
    checked, missing, mismatched = result["checked"], result["missing"], result["mismatched"]
    if as_json:
        click.echo(json.dumps(result))
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
    if missing or mismatched:
        sys.exit(1)


@archive_cli.command("reindex")
@click.option(
    "--if-stale",
    is_flag=True,
    help="Only when there is no index or it was built by an older version (make run).",
)
def reindex_command(if_stale):
    """Rebuild the search index from the database (a fresh copy, swapped in when complete)."""
    settings = settings_of(ArchiveSettings)
    if if_stale and not commit_or_fail(lambda: indexing.needs_rebuild(settings)):
        click.echo("the search index is current")
        return
    summary = commit_or_fail(lambda: indexing.reindex(settings))
    click.echo(
        f"indexed {summary['records']} records in {summary['seconds']} s "
        f"(caught up {summary['caught_up']}, removed {summary['removed']})"
    )
