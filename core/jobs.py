"""Background jobs on Huey.

The queue's storage comes from the app's config when the app is built (``init_app``): SQLite
in ``instance/`` by default, Redis when ``REDIS_URL`` is set, immediate (run in the calling
thread, in-memory storage) when ``JOBS_IMMEDIATE`` is on, as in tests. Tasks register on the one
``huey`` at import time, before any app exists, so it starts with in-memory storage. Every job
runs in its own app context with its own database session, as one unit of work.

Side effects that must not happen if the transaction rolls back are queued with
``after_commit(task, ...)``: they are enqueued only once the session commits.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

from flask import Flask, current_app, has_app_context
from huey import Huey, crontab, signals  # noqa: F401  (crontab re-exported)
from huey.exceptions import HueyException
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from core import audit
from core.errors import Conflict
from core.extensions import db
from core.lookup import get
from core.models import FailedJob, User
from core.transactions import unit_of_work

log = logging.getLogger(__name__)


class NormalSyncSqliteStorage(SqliteStorage):
    """Huey's SQLite storage in WAL mode with ``synchronous=NORMAL``, as the main database.

    Huey's default is FULL: an fsync on every enqueue, about 0.6 ms spent after each commit
    that queues a job (every booking, every loan). With NORMAL a queued task survives a crash
    of any process; only a power cut can lose the last moment's tasks, and the periodic
    sweeps (notification retries, hold expiry, reminders) pick up what they would have done.
    """

    def _create_connection(self):
        connection = super()._create_connection()
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection


def storage_for(settings) -> tuple[type, dict]:
    """The storage class and its arguments that ``settings`` (an app's config) ask for."""
    if settings["REDIS_URL"]:
        return RedisStorage, {"url": settings["REDIS_URL"]}
    path = Path(settings["JOBS_DB_PATH"])
    path.parent.mkdir(parents=True, exist_ok=True)
    return NormalSyncSqliteStorage, {"filename": str(path)}


class ClaimingHuey(Huey):
    """Huey whose periodic tasks run once per due minute however many consumers check the
    schedule.

    Every consumer enqueues the periodic tasks due in the minute it checks. On a queue that
    several consumers share (Redis: one consumer per machine), each task due at 03:10 would
    run once per consumer; here the first consumer to claim (task, minute) in Redis
    (``SET NX``, kept an hour) enqueues it and the others skip it. On SQLite there is one
    machine and one consumer: nothing to claim."""

    CLAIM_SECONDS = 3600

    def read_periodic(self, timestamp):
        due = super().read_periodic(timestamp)
        if not isinstance(self.storage, RedisStorage):
            return due
        minute = timestamp.strftime("%Y%m%dT%H%M")
        return [task for task in due if self._claim(f"{task.name}.{minute}")]

    def _claim(self, what: str) -> bool:
        key = f"huey.periodic-claim.{self.name}.{what}"
        return bool(self.storage.conn.set(key, "1", nx=True, ex=self.CLAIM_SECONDS))


# results=False: nothing reads a job's return value, and a queue that kept each one (a
# periodic job's count every quarter hour, for ever) would only grow Redis's memory.
huey = ClaimingHuey("happyhub", results=False, storage_class=MemoryStorage, utc=True)
_bound_app: Flask | None = None


def init_app(app: Flask) -> None:
    """Put the queue on the storage this app's config names; jobs run in this app."""
    global _bound_app
    _bound_app = app
    huey.storage_class, huey.storage_kwargs = storage_for(app.config)
    huey.immediate = bool(app.config["JOBS_IMMEDIATE"])
    huey.storage = huey.create_storage()


def _app() -> Flask:
    """The caller's app (immediate mode, CLI), else the consumer's own app."""
    if has_app_context():
        return current_app._get_current_object()
    if _bound_app is None:
        raise RuntimeError("No app: start the consumer with `flask --app wsgi jobs worker`")
    return _bound_app


def _in_app_context(fn):
    @functools.wraps(fn)
    def run(*args, **kwargs):
        with _app().app_context(), unit_of_work():
            return fn(*args, **kwargs)

    return run


def task(**options):
    """``@task()``: a Huey task that runs in an app context and commits once."""

    def decorator(fn):
        return huey.task(**options)(_in_app_context(fn))

    return decorator


def periodic(schedule, **options):
    """``@periodic(crontab(minute="*/5"))``: a periodic task, in an app context."""

    def decorator(fn):
        return huey.periodic_task(schedule, **options)(_in_app_context(fn))

    return decorator


def after_commit(job, *args, **kwargs) -> None:
    """Enqueue ``job(*args, **kwargs)`` once the current transaction commits."""
    db.session.info.setdefault("after_commit", []).append((job, args, kwargs))


class Deferred:
    """A job a use case asks for by name, bound later to the task that does it.

    Jobs are doors: they import the services to run them, so services cannot import the
    jobs. A services module names the job (``index_record = Deferred("index_record")``) and the
    domain's ``jobs.py`` binds its task to it (``@index_record.bind``) when it is imported."""

    def __init__(self, name: str):
        self.name = name
        self.task = None

    def bind(self, task):
        """Decorator for the task that does this work (returns it unchanged)."""
        self.task = task
        return task

    def after_commit(self, *args) -> None:
        """Queue the job with ``args`` once the current transaction commits."""
        if self.task is None:
            raise RuntimeError(f"No task is bound to the job {self.name}")
        after_commit(self.task, *args)

    def after_commit_in(self, delay: float, *args) -> None:
        """As ``after_commit``, to run ``delay`` seconds after the commit."""
        if self.task is None:
            raise RuntimeError(f"No task is bound to the job {self.name}")
        after_commit(self.task.schedule, args=args, delay=delay)

    def after_commit_once(self, *args) -> None:
        """As ``after_commit``, unless this transaction already queued it with ``args``."""
        pending = db.session.info.get("after_commit", [])
        if not any(job is self.task and queued == args for job, queued, _ in pending):
            self.after_commit(*args)

    def after_commit_gathered(self, item) -> None:
        """As ``after_commit``, but one job per transaction takes the list of every ``item``
        asked for in it (a batch of an import indexed at once, not a job per record)."""
        for job, queued, _ in db.session.info.get("after_commit", []):
            if job is self.task and len(queued) == 1 and isinstance(queued[0], list):
                if item not in queued[0]:
                    queued[0].append(item)
                return
        self.after_commit([item])


class Coalesced:
    """A job without arguments that takes up whatever is waiting (say, every unsent
    notification), asked for after many commits but queued at most twice per ``window``
    seconds by each process: at once for the first commit of a window, and once more, due at
    the window's end, for all the commits that come during it.

    Every commit is still followed by a run that starts after it: the one queued at once, or
    the one due at the end of its window. In a rush this turns one job per commit (on SQLite
    each run's writes wait in line with the bookings for the only write lock) into two a
    second per process, at the cost of up to ``window`` plus the consumer's one-second
    schedule check. In immediate mode (tests) every call runs the job at once.
    """

    def __init__(self, job, window: float, monotonic=time.monotonic):
        self.job = job
        self.window = window
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._window_ends = float("-inf")
        self._trailing_queued = False

    def __call__(self) -> None:
        if self.job.huey.immediate:
            self.job()
            return
        with self._lock:
            now = self._monotonic()
            if now >= self._window_ends:
                self._window_ends, self._trailing_queued = now + self.window, False
                delay = None
            elif not self._trailing_queued:
                self._trailing_queued, delay = True, self._window_ends - now
            else:
                return  # the run due at this window's end starts after this commit
        if delay is None:
            self.job()
        else:
            self.job.schedule(delay=delay)


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction) -> None:
    if transaction.nested:  # jobs queued inside a SAVEPOINT go if it rolls back
        marks = session.info.setdefault("after_commit_marks", {})
        marks[transaction] = len(session.info.get("after_commit", []))


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a SAVEPOINT was released: not committed yet
        return
    session.info.pop("after_commit_marks", None)
    pending = session.info.pop("after_commit", [])
    for job, args, kwargs in pending:
        job(*args, **kwargs)


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.nested:
        mark = session.info.get("after_commit_marks", {}).pop(previous_transaction, None)
        if mark is not None:
            del session.info.get("after_commit", [])[mark:]
        return
    session.info.pop("after_commit_marks", None)
    session.info.pop("after_commit", None)


def status() -> dict:
    backend = "immediate" if huey.immediate else type(huey.storage).__name__
    return {
        "backend": backend,
        "pending": huey.pending_count(),
        "scheduled": huey.scheduled_count(),
        "periodic_tasks": sorted(t.name for t in huey._registry.periodic_tasks),
    }


def ping() -> None:
    """Raises when the queue's storage cannot be reached."""
    huey.pending_count()


# --- failed jobs: kept with their error, retried by an admin ------------------------------

# What the pages and the API show of a job's arguments and error (the message keeps them all).
SHOWN_CHARACTERS = 2000


@huey.signal(signals.SIGNAL_ERROR, signals.SIGNAL_TIMEOUT)
def _record_failure(_signal, task, error=None) -> None:
    """A job that failed with no retry left is kept (``core_failed_job``) in a transaction of
    its own, after the job's own has rolled back, so an admin sees it and can run it again."""
    if task.retries:
        return  # Huey queues it again
    try:
        with _app().app_context(), unit_of_work():
            record_failure(task, error, current_app.extensions["clock"].now())
    except Exception:  # the queue goes on even when the failure cannot be written down
        log.exception("Could not record the failure of job %s", task.id)


def _describe(error: BaseException | None) -> str:
    if error is None:
        return "TaskTimeout: the job ran out of time"
    return f"{type(error).__name__}: {error}"[:SHOWN_CHARACTERS]


def _arguments(task) -> str:
    parts = [repr(a) for a in task.args or ()]
    parts += [f"{key}={value!r}" for key, value in (task.kwargs or {}).items()]
    return ", ".join(parts)[:SHOWN_CHARACTERS]


def record_failure(task, error: BaseException | None, now: datetime) -> FailedJob:
    failed = FailedJob(
        task_id=str(task.id),
        name=task.name,
        arguments=_arguments(task),
        message=huey.serialize_task(task),
        error=_describe(error),
        failed_at=now,
    )
    db.session.add(failed)
    db.session.flush()
    return failed


def failed_jobs_query(*, retried: bool | None = None):
    """Failed jobs, newest first; ``retried``: only those (not) retried yet."""
    stmt = select(FailedJob)
    if retried is not None:
        stmt = stmt.where(
            FailedJob.retried_at.is_not(None) if retried else FailedJob.retried_at.is_(None)
        )
    return stmt.order_by(FailedJob.id.desc())


def get_failed(failed_id: int) -> FailedJob:
    return get(FailedJob, failed_id)


def pending(limit: int = 100) -> list[dict]:
    """The jobs waiting in the queue (the first ``limit``), and those scheduled for later."""
    waiting = [
        {"id": task.id, "name": task.name, "arguments": _arguments(task), "eta": None}
        for task in huey.pending(limit)
    ]
    scheduled = [
        {"id": task.id, "name": task.name, "arguments": _arguments(task), "eta": task.eta}
        for task in huey.scheduled(limit)
    ]
    return waiting + scheduled


def retry(actor: User, failed: FailedJob, now: datetime) -> FailedJob:
    """Queue a failed job again, as it first ran (a new id, its retries afresh), once this
    transaction commits; a retry that fails again is kept as a new failure."""
    # Locked, and read again: a retry committed while we waited shows now.
    row = db.session.get(FailedJob, failed.id, with_for_update=True, populate_existing=True)
    if row.retried_at is not None:
        raise Conflict("This job was already retried", code="job_retried")
    try:
        task = huey.deserialize_task(row.message)
    except HueyException:
        raise Conflict("This job no longer exists", code="job_unknown") from None
    task.id = str(uuid.uuid4())
    task.retries = type(task).default_retries
    row.retried_at, row.retried_by_id = now, actor.id
    db.session.flush()
    after_commit(huey.enqueue, task)
    audit.record(
        actor,
        "job.retry",
        "job",
        row.id,
        now=now,
        before={"status": "failed"},
        after={"status": "retried", "name": row.name, "task_id": task.id},
    )
    return row
