"""Suite-wide fixtures: one app on the migrated schema (SQLite temp file, or the PostgreSQL
database named by TEST_DATABASE_URL), emptied after every test; clients; a frozen clock; a
live gunicorn server for tests that need real HTTP and several worker processes."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from flask_migrate import upgrade
from huey.storage import SqliteStorage
from sqlalchemy import text

from core import config as config_module
from core.app import create_app
from core.clock import FrozenClock, SystemClock
from core.extensions import db

pytest_plugins = ["tests.fixtures.users"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _on_postgresql() -> bool:
    return config_module.normalize_database_url(
        str(config_module.env("TEST_DATABASE_URL"))
    ).startswith("postgresql")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgresql`` claim something about several servers sharing one
    PostgreSQL database, which a SQLite file (one machine's) cannot stand in for: the SQLite
    run deselects them (pytest reports how many), the PostgreSQL run runs them."""
    if _on_postgresql():
        return
    deselected = [item for item in items if item.get_closest_marker("postgresql")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("postgresql")]


def _database_url(tmp_path_factory) -> str:
    url = config_module.env("TEST_DATABASE_URL")
    if url:
        return config_module.normalize_database_url(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def _reset_postgres_schema(url: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def test_settings(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("instance")
    return {
        "APP_ENV": "testing",
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": _database_url(tmp_path_factory),
        "MEDIA_DIR": str(base / "media"),
        "INDEX_DIR": str(base / "index"),
        "JOBS_IMMEDIATE": True,
        "REDIS_URL": "",
        # Cheap but still Argon2id, so the suite stays fast.
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST_KIB": 1024,
        "ARGON2_PARALLELISM": 1,
        "PAYMENT_CALLBACK_SECRET": "test-payment-secret",
    }


@pytest.fixture(scope="session")
def app(test_settings):
    url = test_settings["DATABASE_URL"]
    if url.startswith("postgresql"):
        _reset_postgres_schema(url)
    app = create_app(test_settings)
    with app.app_context():
        upgrade()
    return app


def _empty_all_tables() -> None:
    # DELETE, child tables first: on PostgreSQL a TRUNCATE of every table costs far more
    # (file and catalog work per table) than deleting the few rows a test leaves behind.
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture(autouse=True)
def _app_context(app):
    """Each test runs in an app context and leaves every table empty behind it."""
    app.extensions["clock"] = SystemClock()
    app.extensions.pop("notification_sender", None)
    app.extensions["limiter"].__init__()
    with app.app_context():
        yield
        db.session.rollback()
        _empty_all_tables()
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def clock(app):
    """A frozen clock the app uses for 'now'; tests move it with ``clock.advance(...)``."""
    frozen = FrozenClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    app.extensions["clock"] = frozen
    return frozen


class SentNotifications(list):
    def send(self, item):
        self.append(
            {
                "kind": item.kind,
                "user_id": item.user_id,
                "subject": item.subject,
                "body": item.body,
                "recipient": item.recipient,
            }
        )


@pytest.fixture
def outbox(app):
    """Collects delivered notifications (the real outbox and job deliver them)."""
    sent = SentNotifications()
    app.extensions["notification_sender"] = sent
    return sent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    def __init__(self, url: str, process: subprocess.Popen):
        self.url, self.process = url, process

    def __call__(self, path: str) -> str:
        return self.url + path

    def workers(self) -> list[int]:
        """The worker processes' ids: the processes whose parent is the gunicorn master."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                    stat = (entry / "stat").read_text()
                    if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                        found.append(int(entry.name))
        return found


def _live_env(test_settings, tmp_path, **overrides) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in config_module.DEFAULTS}
    env.update({k: str(v) for k, v in test_settings.items()})
    env["JOBS_DB_PATH"] = str(tmp_path / "jobs.db")
    env.update(overrides)
    return env


LIVE_WORKERS = 4


def _serve(env: dict[str, str], tmp_path, workers: int = LIVE_WORKERS):
    """gunicorn with 4 workers (or ``workers``) on the test database (real processes, real
    HTTP), yielded once it answers and all its workers are forked (the master forks them one
    after another, and a quick test could otherwise run before the last one exists)."""
    port = _free_port()
    log_file = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--no-control-socket",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--preload",
            "wsgi:app",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    server = LiveServer(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + 60
    while True:
        try:
            answered = requests.get(server("/api/health"), timeout=1).status_code == 200
        except requests.ConnectionError:
            answered = False
        if answered and len(server.workers()) == workers:
            break
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError((tmp_path / "gunicorn.log").read_text())
        time.sleep(0.2)
    yield server
    process.terminate()
    process.wait(timeout=30)
    log_file.close()


@pytest.fixture
def live_server(app, test_settings, tmp_path):
    """gunicorn with 4 workers on the test database; jobs run inside the request."""
    yield from _serve(_live_env(test_settings, tmp_path), tmp_path)


class JobQueue:
    """The live server's job queue (SQLite) and, once started, its one consumer."""

    def __init__(self, env: dict[str, str]):
        self.env, self.consumer = env, None
        self.storage = SqliteStorage("happyhub", filename=env["JOBS_DB_PATH"])

    def waiting(self) -> int:
        return self.storage.queue_size()

    def start_consumer(self) -> None:
        self.consumer = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker"],
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.consumer is not None:
            self.consumer.terminate()
            self.consumer.wait(timeout=30)
        self.storage.close()


@pytest.fixture
def live_server_with_queue(app, test_settings, tmp_path):
    """gunicorn as in production: jobs go to a queue on SQLite, for a consumer the test
    starts when it wants (``queue.start_consumer()``). Yields (server, queue)."""
    env = _live_env(test_settings, tmp_path, JOBS_IMMEDIATE="0")
    queue = JobQueue(env)
    try:
        for server in _serve(env, tmp_path):
            yield server, queue
    finally:
        queue.stop()
