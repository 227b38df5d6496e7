"""The app factory."""

from __future__ import annotations

import importlib
import logging
import uuid

from flask import Flask, g, request
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from core import admin_pages, cli, health, jobs, pages, settings, staff_pages, web
from core import api as accounts_api
from core import config as config_module
from core.clock import SystemClock
from core.db import configure_postgresql, configure_sqlite, render_migration_type, write_intent
from core.errors import register_error_handlers
from core.extensions import api, db, migrate
from core.ratelimit import build_limiter
from core.roles import STAFF_ROLES
from core.security import Passwords
from core.services import AccountSettings, LoginGuard

# Domain packages, in a fixed order. Each exposes ``init_app(app, api)``.
DOMAINS = ("facilities", "library", "archive")

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
BODY_TYPES = ("application/json", "multipart/form-data")
# Machine doors whose protocol sends forms: OAI-PMH's POST is application/x-www-form-urlencoded.
FORM_DOORS = ("/oai",)


class DatabaseIntConverter(IntegerConverter):
    """``<int:id>`` that only matches what an INTEGER column holds (0 .. 2**31-1).

    Larger numbers do not match the route at all, so they are a plain 404 — not a database
    error on PostgreSQL, and not the 405 werkzeug answers when a converter rejects a value
    after its pattern matched.
    """

    regex = (
        r"(?:[0-9]{1,9}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}"
        r"|2147[0-3][0-9]{5}|21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}"
        r"|21474836[0-3][0-9]|214748364[0-7])"
    )


def _settings(overrides: dict | None) -> dict:
    values = config_module.from_environment()
    values.update(overrides or {})
    return values


def _apply_config(app: Flask, overrides: dict | None) -> None:
    app.config.update(_settings(overrides))
    app.config.from_prefixed_env()
    app.config.update(overrides or {})
    config_module.check(app.config)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = "insecure-development-key"
    app.config["TESTING"] = app.config["APP_ENV"] == "testing" or app.config.get("TESTING", False)
    app.config["SQLALCHEMY_DATABASE_URI"] = config_module.normalize_database_url(
        app.config.get("SQLALCHEMY_DATABASE_URI") or app.config["DATABASE_URL"]
    )
    # No pool_pre_ping: on PostgreSQL only idle connections are pinged (core.db), and a
    # SQLite file's connection cannot go stale.
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_UPLOAD_BYTES"]
    # Pages' cookie session (core.web): it carries the API token, so it lives as long.
    app.config.update(
        SESSION_COOKIE_NAME="happyhub_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=app.config["APP_ENV"] not in {"development", "testing"},
        PERMANENT_SESSION_LIFETIME=app.config["TOKEN_TTL_SECONDS"],
    )
    app.config.update(
        API_TITLE="HAPPY-HUB",
        API_VERSION="1.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/api/docs/assets/",
        # No validator badge: it would call an external service from the docs page.
        OPENAPI_SWAGGER_UI_CONFIG={"validatorUrl": None, "deepLinking": True},
        API_SPEC_OPTIONS={
            "info": {
                "description": "City smart services: facility booking, smart-library "
                "kiosks and the local-culture archive. Errors share one JSON shape: "
                "{code, status, message, errors?}."
            },
            "components": {
                "securitySchemes": {
                    # Device schemes (kioskKey, gateKey) are added by their domains.
                    "bearerAuth": {"type": "http", "scheme": "bearer"},
                }
            },
        },
    )


def _has_body() -> bool:
    """A body is coming: a length, or chunks (no length known until they are read)."""
    return (
        bool(request.content_length)
        or "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    )


# The API docs page runs Swagger UI's own inline start-up script and styles, from this app only.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
# Answers only the caller may see: logging in, and anything asked for with credentials.
PERSONAL_PATHS = ("/api/auth/",)


def _security_headers(response) -> None:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    if request.path.rstrip("/") == "/api/docs":
        headers.setdefault("Content-Security-Policy", DOCS_POLICY)
    personal = "Authorization" in request.headers or request.path.startswith(PERSONAL_PATHS)
    if personal and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
    web.page_headers(response)


def _register_request_hooks(app: Flask) -> None:
    log = logging.getLogger("happyhub.request")

    @app.before_request
    def _before():
        incoming = request.headers.get("X-Request-ID", "")
        valid = 0 < len(incoming) <= 64 and incoming.replace("-", "").isalnum()
        g.request_id = incoming if valid else uuid.uuid4().hex
        # g outlives a request when an app context was already pushed (CLI, tests); the
        # caller, the page flag and the page's CSRF token (Flask-WTF keeps it in g) are the
        # request's own.
        for key in ("auth_loaded", "user", "token", "page", "csrf_token"):
            g.pop(key, None)
        write_intent.set(request.method not in SAFE_METHODS)
        if request.method in SAFE_METHODS or not _has_body():
            return
        mimetype = request.mimetype
        if web.is_page_request():
            if mimetype not in web.FORM_TYPES:
                raise UnsupportedMediaType("Pages take forms")
            return
        if request.path.startswith(FORM_DOORS) and mimetype == web.FORM_TYPES[0]:
            return
        if mimetype not in BODY_TYPES:
            raise UnsupportedMediaType(
                f"Send the body as application/json (or multipart/form-data for uploads), "
                f"not {mimetype or 'an unlabelled body'}"
            )
        if mimetype == "application/json":
            limit = app.config["MAX_JSON_BYTES"]
            if (request.content_length or 0) > limit:
                raise RequestEntityTooLarge(f"JSON bodies are limited to {limit} bytes")
            # A chunked body has no length to check first: reading stops at the limit.
            request.max_content_length = limit

    @app.teardown_request
    def _restore_write_intent(_error):
        # Back to the default for whatever runs next in this thread (CLI, tests, jobs).
        write_intent.set(True)

    @app.after_request
    def _after(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        _security_headers(response)
        log.info(
            "%s %s %s request_id=%s",
            request.method,
            request.path,
            response.status_code,
            g.get("request_id"),
        )
        return response


def _register_domains(app: Flask) -> None:
    for name in DOMAINS:
        importlib.import_module(name).init_app(app, api)


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(config_module.INSTANCE_DIR), static_folder=None)
    app.url_map.converters["int"] = DatabaseIntConverter
    app.json.ensure_ascii = False  # Korean text as UTF-8, not \uXXXX escapes
    _apply_config(app, config)
    trusted = {
        "x_for": app.config["PROXY_FIX_X_FOR"],
        "x_proto": app.config["PROXY_FIX_X_PROTO"],
        "x_host": app.config["PROXY_FIX_X_HOST"],
    }
    if any(trusted.values()):
        app.wsgi_app = ProxyFix(app.wsgi_app, **trusted)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(config_module.PROJECT_ROOT / "migrations"),
        compare_type=True,
        render_as_batch=True,
        render_item=render_migration_type,
    )
    api.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
        elif db.engine.dialect.name == "postgresql":
            configure_postgresql(db.engine)
    jobs.init_app(app)

    app.extensions["clock"] = SystemClock()
    limiter = build_limiter(app.config["REDIS_URL"])
    app.extensions["limiter"] = limiter
    settings.register(
        app,
        AccountSettings(
            passwords=Passwords(
                app.config["ARGON2_TIME_COST"],
                app.config["ARGON2_MEMORY_COST_KIB"],
                app.config["ARGON2_PARALLELISM"],
            ),
            password_min_length=app.config["PASSWORD_MIN_LENGTH"],
            password_min_strength=app.config["PASSWORD_MIN_STRENGTH"],
            token_ttl_seconds=app.config["TOKEN_TTL_SECONDS"],
        ),
    )
    settings.register(
        app,
        LoginGuard(
            limiter,
            app.config["LOGIN_LIMIT_PER_ACCOUNT"],
            app.config["LOGIN_LIMIT_PER_ADDRESS"],
            app.config["REGISTER_LIMIT_PER_ADDRESS"],
        ),
    )

    register_error_handlers(app)
    _register_request_hooks(app)
    health.register_core_checks(app)
    health.register_docs_assets(app)
    api.register_blueprint(health.blp)
    api.register_blueprint(accounts_api.blp)
    web.init_app(app)
    app.register_blueprint(pages.blp)
    app.register_blueprint(staff_pages.blp)
    app.register_blueprint(admin_pages.blp)
    web.add_messages(admin_pages.MESSAGES)
    web.add_staff_section(
        app,
        *(
            web.StaffSection(endpoint, label, roles=(admin_pages.ADMIN,), description=description)
            for endpoint, label, description in admin_pages.SECTIONS
        ),
    )
    cli.register(app)
    _register_domains(app)
    # Last in the menu, after the domains' pages for residents.
    web.add_nav(app, web.NavItem("staff.index", "업무", roles=STAFF_ROLES))
    return app
