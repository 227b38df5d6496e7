"""The migrations are the schema: one head, and nothing the models have that they lack."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app

from core.db import render_migration_type
from core.extensions import db


def _script_directory() -> ScriptDirectory:
    config = current_app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config)


def test_single_head():
    assert len(_script_directory().get_heads()) == 1


def test_database_is_at_head():
    with db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    assert set(current) == set(_script_directory().get_heads())


def test_models_and_migrated_schema_do_not_drift():
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "render_item": render_migration_type},
        )
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_every_table_is_prefixed_by_its_package():
    prefixes = ("core_", "facilities_", "library_", "archive_")
    assert all(t.name.startswith(prefixes) for t in db.metadata.sorted_tables)
