"""One commit per request, command and job (core.transactions), and the job queue built from
the app's own config."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from huey.storage import MemoryStorage, SqliteStorage
from sqlalchemy import func, select

from core import jobs
from core.app import create_app
from core.errors import Forbidden, Unauthorized
from core.extensions import db
from core.models import User
from core.transactions import unit_of_work
from tests.fixtures.users import auth_headers, create_user


def _users() -> int:
    return db.session.scalar(select(func.count(User.id)))


def _add_user(name: str) -> None:
    db.session.add(
        User(email=f"{name}@example.kr", password_hash="x", name=name, created_at=datetime.now(UTC))
    )
    db.session.flush()


def test_a_unit_commits_what_it_wrote_when_it_ends():
    with unit_of_work():
        _add_user("kept")
    db.session.rollback()  # nothing pending is left to undo: the unit committed
    assert _users() == 1


def test_a_unit_that_raises_writes_nothing():
    with pytest.raises(Forbidden), unit_of_work():
        _add_user("undone")
        raise Forbidden("no")
    assert _users() == 0


def test_a_refusal_keeping_its_changes_is_committed_then_raised():
    with pytest.raises(Unauthorized) as raised, unit_of_work():
        _add_user("counted")
        raise Unauthorized("wrong PIN").keeping_changes()
    assert raised.value.keeps_changes
    db.session.rollback()
    assert _users() == 1


def test_only_the_outermost_unit_commits():
    with pytest.raises(RuntimeError), unit_of_work():
        with unit_of_work():
            _add_user("inner")
        raise RuntimeError("the outer unit fails after the inner one ended")
    assert _users() == 0


def test_a_view_commits_once_it_answers(client, admin):
    admin_headers = auth_headers(admin)
    user_id = create_user(email="roles@example.kr").id
    response = client.put(
        f"/api/users/{user_id}/roles", json={"roles": ["librarian"]}, headers=admin_headers
    )
    assert response.status_code == 200
    db.session.remove()
    assert db.session.get(User, user_id).roles == ["librarian"]


def test_the_job_queue_takes_its_storage_from_the_app_config(app, test_settings, tmp_path):
    path = tmp_path / "queue" / "jobs.db"
    try:
        create_app({**test_settings, "JOBS_IMMEDIATE": False, "JOBS_DB_PATH": str(path)})
        assert isinstance(jobs.huey.storage, SqliteStorage)
        assert not jobs.huey.immediate
        assert path.exists()
    finally:
        jobs.init_app(app)  # back to the suite's app: immediate, in memory
    assert jobs.huey.immediate
    assert isinstance(jobs.huey.storage, MemoryStorage)
