"""Liveness, readiness (with named checks any domain can add) and offline API docs assets."""

from __future__ import annotations

import hashlib
import hmac
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

import marshmallow as ma
import redis
from flask import Flask, current_app, jsonify, send_from_directory
from sqlalchemy import text
from swagger_ui_bundle import swagger_ui_path

from core import jobs
from core.auth import current_user
from core.extensions import db
from core.http import Blueprint
from core.roles import STAFF_ROLES

log = logging.getLogger(__name__)
blp = Blueprint("health", __name__, url_prefix="/api", description="Service health")


class HealthSchema(ma.Schema):
    status = ma.fields.String(metadata={"example": "ok"})


class ReadySchema(ma.Schema):
    status = ma.fields.String(metadata={"example": "ok"})
    checks = ma.fields.Dict(metadata={"example": {"database": "ok", "ocr": "unavailable"}})
    failing = ma.fields.List(ma.fields.String(), metadata={"example": []})


def register_check(app: Flask, name: str, check: Callable[[], str | None], critical=True) -> None:
    """``check`` returns None when fine, or a short reason. Non-critical checks only report."""
    app.extensions.setdefault("ready_checks", {})[name] = (check, critical)


def _writable(directory: str) -> None:
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path, prefix=".ready-"):
        pass


def check_database() -> None:
    db.session.execute(text("SELECT 1"))


def register_core_checks(app: Flask) -> None:
    register_check(app, "database", check_database)
    register_check(app, "media_dir", lambda: _writable(current_app.config["MEDIA_DIR"]))
    register_check(app, "index_dir", lambda: _writable(current_app.config["INDEX_DIR"]))
    register_check(app, "job_queue", jobs.ping)
    register_check(
        app,
        "rate_limits",
        lambda: None if current_app.extensions["limiter"].ping() else "unreachable",
    )
    if app.config["REDIS_URL"]:
        store = redis.Redis.from_url(app.config["REDIS_URL"])
        fingerprint = secrets_fingerprint(app.config)
        register_check(
            app, "shared_secrets", lambda: secrets_check(store, fingerprint), critical=False
        )


# --- several servers: do they sign with the same keys? ---------------------------------------

SECRETS_PREFIX = "happyhub:secrets-in-use:"
# How long a server's answer counts as "in use": a few of a load balancer's probes.
SECRETS_SEEN_SECONDS = 300


def secrets_fingerprint(config) -> str:
    """A short fingerprint of the keys every server must share (SECRET_KEY signs sessions,
    CSRF tokens, check-in codes and OAI-PMH tokens; PAYMENT_CALLBACK_SECRET the provider's
    callbacks), which tells nothing of the keys themselves."""
    digest = hashlib.sha256()
    for key in ("SECRET_KEY", "PAYMENT_CALLBACK_SECRET"):
        secret = str(config[key] or "").encode()
        digest.update(hmac.new(secret, b"happyhub shared secrets check", "sha256").digest())
    return digest.hexdigest()[:16]


def secrets_check(store: redis.Redis, fingerprint: str, prefix: str = SECRETS_PREFIX) -> str | None:
    """Every server that answers /api/ready says which keys it signs with; more than one set
    in use means a server was given keys of its own (say, generated in its instance's
    settings file), and what one server signs another refuses. Only reported: during a key
    rotation two sets are in use for a while, and no server is wrong to keep serving."""
    store.set(prefix + fingerprint, "1", ex=SECRETS_SEEN_SECONDS)
    in_use = sum(1 for _ in store.scan_iter(prefix + "*", count=1000))
    if in_use > 1:
        return f"differ: {in_use} sets of SECRET_KEY/PAYMENT_CALLBACK_SECRET in use"
    return None


@blp.get("/health")
@blp.response(200, HealthSchema)
def health():
    """Liveness: the process answers."""
    return {"status": "ok"}


@blp.get("/ready")
@blp.response(200, ReadySchema)
@blp.alt_response(503, schema=ReadySchema, description="A critical check failed")
def ready():
    """Readiness: database, media and index directories, job queue; optional components report.

    The public answer is the status alone (503 when a critical check fails); staff (a bearer
    token with any staff role) also get every check by name, which may name devices."""
    results, failing = {}, []
    for name, (check, critical) in current_app.extensions.get("ready_checks", {}).items():
        try:
            problem = check()
        except Exception as error:  # a failing dependency is a result here, not a crash
            log.warning("ready check %s failed: %s", name, error)
            problem = "error: " + type(error).__name__
        results[name] = problem or "ok"
        if problem and critical:
            failing.append(name)
    db.session.rollback()
    body = {"status": "fail" if failing else "ok"}
    user = current_user()
    if user is not None and user.has_any_role(STAFF_ROLES):
        body |= {"checks": results, "failing": failing}
    return jsonify(body), 503 if failing else 200


def register_docs_assets(app: Flask) -> None:
    """Serve Swagger UI's files from the installed package, so /api/docs works offline."""

    @app.get("/api/docs/assets/<path:filename>")
    def swagger_ui_asset(filename):
        return send_from_directory(swagger_ui_path, filename, max_age=86400)
