"""Configuration, layering, SQLite tuning, jobs after commit, outbox, idempotency, CLI."""

import ast
import json
from pathlib import Path

import pytest
from huey import Huey
from huey.storage import SqliteStorage
from sqlalchemy import select, text

from core import config as config_module
from core import jobs
from core.errors import Conflict
from core.extensions import db
from core.idempotency import run_once
from core.models import IdempotencyRecord, Notification, User
from core.notifications import notify
from tests.fixtures.users import create_user

ROOT = Path(__file__).resolve().parents[2]


def test_secret_key_is_required_outside_development_and_testing():
    settings = config_module.from_environment() | {"APP_ENV": "production", "SECRET_KEY": ""}
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        config_module.check(settings)
    config_module.check(settings | {"SECRET_KEY": "s3cret"})
    config_module.check(settings | {"APP_ENV": "development"})


def test_postgres_urls_use_psycopg3():
    assert (
        config_module.normalize_database_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    )
    assert config_module.normalize_database_url("sqlite:///x.db") == "sqlite:///x.db"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def _python_files(*names):
    for name in names:
        yield from (ROOT / name).rglob("*.py")


def test_services_never_import_flask():
    services = [
        p
        for p in _python_files("core", "facilities", "library", "archive")
        if p.name == "services.py" or "services" in p.parent.name
    ]
    assert services
    for path in services:
        assert not _imports(path) & {"flask", "flask_smorest"}, path


def test_only_config_reads_the_environment():
    for path in _python_files("core", "facilities", "library", "archive"):
        if path.name == "config.py" and path.parent.name == "core":
            continue
        assert "os.environ" not in path.read_text() and "getenv" not in path.read_text(), path


def test_domains_do_not_import_each_other():
    domains = {"facilities", "library", "archive"}
    for domain in domains:
        for path in _python_files(domain):
            assert not _imports(path) & (domains - {domain}), path


def test_database_connection_settings():
    if db.engine.dialect.name == "postgresql":
        assert db.engine.driver == "psycopg"
        assert db.session.execute(text("SHOW TIME ZONE")).scalar()
        return
    assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    assert db.session.execute(text("PRAGMA busy_timeout")).scalar() >= 1000
    assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_timestamps_come_back_timezone_aware_utc():
    user = create_user()
    db.session.expire_all()
    stored = db.session.get(User, user.id).created_at
    assert stored.tzinfo is not None and stored.utcoffset().total_seconds() == 0


def test_after_commit_jobs_run_only_when_the_transaction_commits(outbox, app):
    user = create_user()
    now = app.extensions["clock"].now()
    notify(user, "test", "제목", "본문", now=now)
    db.session.rollback()
    assert outbox == []
    assert db.session.scalars(select(Notification)).all() == []
    notify(user, "test", "예약 확정", "예약이 확정되었습니다.", now=now)
    db.session.commit()
    assert [n["subject"] for n in outbox] == ["예약 확정"]
    stored = db.session.scalars(select(Notification)).one()
    assert stored.status == "sent" and stored.attempts == 1


def test_jobs_status_lists_periodic_tasks():
    status = jobs.status()
    assert status["backend"] == "immediate"
    assert any("retry_pending_notifications" in name for name in status["periodic_tasks"])


def test_idempotent_action_runs_once_and_replays(app):
    now = app.extensions["clock"].now()
    calls = []

    def action():
        calls.append(1)
        return {"made": len(calls)}, 201

    kwargs = {"scope": "test", "owner": "user:1", "key": "k-1", "now": now, "action": action}
    first = run_once(payload={"a": 1}, **kwargs)
    second = run_once(payload={"a": 1}, **kwargs)
    assert first == second == ({"made": 1}, 201)
    assert len(calls) == 1
    with pytest.raises(Conflict):
        run_once(payload={"a": 2}, **kwargs)
    assert len(db.session.scalars(select(IdempotencyRecord)).all()) == 1


def test_a_retry_not_looked_up_first_is_still_replayed(app):
    """run_once(looked_up=True) skips the lookup; a retry committed meanwhile is replayed
    once its action breaks a rule (the first answer's effects) or the record's own key."""
    now = app.extensions["clock"].now()
    kwargs = {"scope": "test", "owner": "user:1", "now": now, "looked_up": True}
    first = run_once(key="k-1", payload={"a": 1}, action=lambda: ({"made": 1}, 201), **kwargs)

    def clashing():
        raise Conflict("You already have a booking at this time", code="booking_overlap")

    assert run_once(key="k-1", payload={"a": 1}, action=clashing, **kwargs) == first
    # An action that succeeds again: the record's unique key catches the retry.
    again = run_once(key="k-1", payload={"a": 1}, action=lambda: ({"made": 2}, 201), **kwargs)
    assert again == first
    with pytest.raises(Conflict) as reused:
        run_once(key="k-1", payload={"a": 2}, action=clashing, **kwargs)
    assert reused.value.code == "idempotency_key_reused"
    with pytest.raises(Conflict) as fresh:
        run_once(key="k-2", payload={"a": 1}, action=clashing, **kwargs)
    assert fresh.value.code == "booking_overlap"
    assert len(db.session.scalars(select(IdempotencyRecord)).all()) == 1


def test_cli_creates_and_manages_users(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "users",
            "create",
            "Staff@Example.kr",
            "--password",
            "long enough pw",
            "--role",
            "librarian",
            "--role",
            "archivist",
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalars(select(User).filter_by(email="staff@example.kr")).one()
    assert user.roles == ["archivist", "librarian"]

    result = runner.invoke(args=["users", "set-roles", "staff@example.kr", "--role", "admin"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(User, user.id).roles == ["admin"]

    result = runner.invoke(args=["users", "deactivate", "staff@example.kr"])
    assert result.exit_code == 0
    db.session.expire_all()
    assert db.session.get(User, user.id).is_active is False

    bad = runner.invoke(
        args=["users", "create", "x@example.kr", "--password", "short", "--role", "resident"]
    )
    assert bad.exit_code != 0 and "at least 10" in bad.output
    missing = runner.invoke(args=["users", "deactivate", "ghost@example.kr"])
    assert missing.exit_code != 0 and "no user" in missing.output


def test_seed_demo_is_idempotent_and_prints_passwords_once(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert first.output.count("password:") == 5
    count = db.session.scalar(select(db.func.count()).select_from(User))
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert "password:" not in second.output
    assert db.session.scalar(select(db.func.count()).select_from(User)) == count
    roles = {r for u in db.session.scalars(select(User)) for r in u.roles}
    assert roles == {"admin", "facility_manager", "librarian", "archivist", "resident"}


def test_jobs_status_cli_prints_json(app):
    result = app.test_cli_runner().invoke(args=["jobs", "status"])
    assert json.loads(result.output)["backend"] == "immediate"


def test_job_queue_moves_to_redis_when_configured(monkeypatch):
    storage_class, options = jobs.storage_for(
        {"REDIS_URL": "redis://127.0.0.1:6379/15", "JOBS_DB_PATH": ""}
    )
    queue = Huey("happyhub", storage_class=storage_class, **options)
    assert type(queue.storage).__name__ == "RedisStorage"
    queue.storage.flush_queue()
    queue.storage.enqueue(b"payload")
    assert queue.pending_count() == 1
    queue.storage.flush_queue()
    assert queue.pending_count() == 0


def test_job_queue_defaults_to_sqlite_storage(monkeypatch, tmp_path):
    storage_class, options = jobs.storage_for(
        {"REDIS_URL": "", "JOBS_DB_PATH": str(tmp_path / "jobs" / "queue.db")}
    )
    queue = Huey("happyhub", storage_class=storage_class, **options)
    assert isinstance(queue.storage, SqliteStorage)
    assert (tmp_path / "jobs" / "queue.db").exists()
    # WAL with NORMAL sync: no fsync on every enqueue (Huey's own default is FULL).
    connection = queue.storage.conn
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA synchronous").fetchone()[0] == 1
