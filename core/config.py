"""Every configuration key, with its default.

This is the only module that reads ``os.environ``. A key set in the environment under its
own name (``DATABASE_URL``, ``SECRET_KEY`` ...) overrides the default; values are parsed by the
type of the default. ``FLASK_*`` variables are applied afterwards by ``from_prefixed_env``.

Between the two lies the instance's own settings file, ``instance/settings.env`` (``KEY=value``
lines): ``make run`` writes it once with ``APP_ENV=development`` and a generated
``SECRET_KEY``, so every later command (``flask --app wsgi users create ...``) runs as the
server does without exporting anything.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_DIR", PROJECT_ROOT / "instance"))
LOCAL_SETTINGS = INSTANCE_DIR / "settings.env"


class ConfigurationError(RuntimeError):
    """A configuration that must never serve: said in one line, not a traceback."""


DEFAULTS: dict[str, object] = {
    # development | testing | production. Anything but development/testing needs SECRET_KEY.
    "APP_ENV": "production",
    "SECRET_KEY": "",
    "DATABASE_URL": f"sqlite:///{INSTANCE_DIR / 'happyhub.db'}",
    "SQLITE_BUSY_TIMEOUT_MS": 15000,
    "MEDIA_DIR": str(INSTANCE_DIR / "media"),
    "INDEX_DIR": str(INSTANCE_DIR / "index"),
    "REDIS_URL": "",
    "JOBS_DB_PATH": str(INSTANCE_DIR / "jobs.db"),
    "JOBS_IMMEDIATE": False,
    "TIMEZONE": "Asia/Seoul",
    # Behind a reverse proxy: how many X-Forwarded-For hops to trust (0 = none), and of
    # X-Forwarded-Proto and X-Forwarded-Host: a load balancer that ends TLS says the request
    # came as https, so the absolute links the app gives (IIIF ids, manifests) say https too.
    "PROXY_FIX_X_FOR": 0,
    "PROXY_FIX_X_PROTO": 0,
    "PROXY_FIX_X_HOST": 0,
    # Request bodies: JSON is small; multipart uploads (archive scans, CSV imports) may be big.
    "MAX_JSON_BYTES": 1 * 1024 * 1024,
    "MAX_UPLOAD_BYTES": 100 * 1024 * 1024,
    # Accounts
    "TOKEN_TTL_SECONDS": 12 * 3600,
    "PASSWORD_MIN_LENGTH": 10,
    # zxcvbn's score (0-4) a new password must reach: 2 refuses common and guessable ones.
    "PASSWORD_MIN_STRENGTH": 2,
    "ARGON2_TIME_COST": 3,
    "ARGON2_MEMORY_COST_KIB": 65536,
    "ARGON2_PARALLELISM": 2,
    # Rate limits, "<count>/<seconds>", shared by every worker (database, or Redis): failed
    # logins to one account from one address (the owner elsewhere is never locked out), all
    # login attempts from one address, registrations from one address.
    "LOGIN_LIMIT_PER_ACCOUNT": "5/900",
    "LOGIN_LIMIT_PER_ADDRESS": "30/300",
    "REGISTER_LIMIT_PER_ADDRESS": "10/3600",
    # Notifications: "log" writes them to the log; "smtp" sends e-mail through SMTP_HOST.
    "NOTIFY_SENDER": "log",
    "SMTP_HOST": "",
    "SMTP_PORT": 25,
    "SMTP_FROM": "noreply@happyhub.local",
    "SMTP_USER": "",
    "SMTP_PASSWORD": "",
    "SMTP_STARTTLS": False,
    # --- facilities ---
    # Shared secret of the payment provider's signed callbacks (HMAC-SHA256 of the body).
    "PAYMENT_CALLBACK_SECRET": "",
    # How many days ahead the daily job keeps slots generated from the templates.
    "FACILITIES_SLOT_DAYS_AHEAD": 60,
    # Hours a session lottery's winner has to pay the held booking (never past the start).
    "FACILITIES_SESSION_LOTTERY_PAYMENT_HOURS": 24,
    # --- end facilities ---
    # --- library ---
    # Loans a patron may hold at once (a patron's own loan_limit overrides it).
    "LIBRARY_LOAN_LIMIT": 5,
    # Loan period and renewal, in days; how many renewals one loan may get.
    "LIBRARY_LOAN_DAYS": 14,
    "LIBRARY_RENEWAL_DAYS": 7,
    "LIBRARY_MAX_RENEWALS": 1,
    # Overdue returns suspend borrowing (대출정지): "per_loan" (the longest suspension wins)
    # or "cumulative" (days add up), never beyond the cap (days from the return day).
    "LIBRARY_SUSPENSION_MODE": "per_loan",
    "LIBRARY_SUSPENSION_CAP_DAYS": 60,
    # Holds: active holds per patron, days to collect a ready hold, and the missed-pickup rule
    # (this many expired holds within the window bar new holds for the bar period).
    "LIBRARY_HOLD_LIMIT": 5,
    "LIBRARY_HOLD_PICKUP_DAYS": 3,
    "LIBRARY_MISSED_PICKUP_LIMIT": 3,
    "LIBRARY_MISSED_PICKUP_WINDOW_DAYS": 90,
    "LIBRARY_HOLD_BAR_DAYS": 30,
    # Library card PIN: wrong attempts before the card locks, and for how long.
    "LIBRARY_PIN_MAX_FAILURES": 5,
    "LIBRARY_PIN_LOCK_MINUTES": 15,
    # PIN hashing (Argon2id) has its own, lighter profile than account passwords: a PIN has
    # only 10^4-10^6 values, so a costly hash adds little against an offline attack, while the
    # lockout above is what stops guessing; a heavy hash would make every kiosk checkout pay
    # a quarter second of CPU on the shared web workers.
    "LIBRARY_PIN_ARGON2_TIME_COST": 1,
    "LIBRARY_PIN_ARGON2_MEMORY_COST_KIB": 8192,
    # A kiosk without a heartbeat for this long shows as offline.
    "LIBRARY_KIOSK_OFFLINE_SECONDS": 300,
    # Overdue reminders go out this many days before the due date (and on the due date).
    "LIBRARY_REMINDER_DAYS_BEFORE": 2,
    # How far in the future a kiosk's occurred_at may be (clock skew) before it is refused.
    "LIBRARY_MAX_CLOCK_SKEW_SECONDS": 300,
    # SIP2 server for self-check machines (``flask --app wsgi library sip2-serve``): whether
    # ``make run`` starts it, where it listens, the institution id (AO) it answers with, and
    # how long an idle connection stays open (seconds), and how many processes accept
    # connections (each with a thread per connection).
    "SIP2_ENABLED": False,
    "SIP2_HOST": "127.0.0.1",
    "SIP2_PORT": 6001,
    "SIP2_INSTITUTION_ID": "HAPPYHUB",
    "SIP2_IDLE_TIMEOUT": 300,
    "SIP2_WORKERS": 2,
    # --- end library ---
    # --- archive ---
    # search: results per page are capped; the bulk reindex writer's memory per process (MB)
    "SEARCH_MAX_PER_PAGE": 100,
    "SEARCH_INDEX_LIMITMB": 256,
    # search: result lists kept per web worker for paging and repeated queries (0 = none)
    "SEARCH_RESULT_CACHE": 16,
    # search: where the index lives. "whoosh": files in INDEX_DIR, written by the job consumer
    # (one machine). "postgres": tables in the PostgreSQL database, written in the transaction
    # that changes a record, shared by every app server (needs a PostgreSQL DATABASE_URL).
    "SEARCH_BACKEND": "whoosh",
    # postgres search: postings (one record's weight for one term) each web worker keeps for
    # the terms of recent queries until the next write anywhere (about 12 bytes each; 0 =
    # every query reads all its terms from the database)
    "SEARCH_POSTINGS_CACHE": 2_000_000,
    # Largest single media file accepted (bytes); bigger uploads get 413.
    "ARCHIVE_MAX_UPLOAD_BYTES": 60 * 1024 * 1024,
    # Largest image (pixels per page) decoded; bigger ones are refused as decompression bombs.
    "ARCHIVE_MAX_IMAGE_PIXELS": 80_000_000,
    # Most pages of a multi-page TIFF.
    "ARCHIVE_MAX_PAGES": 200,
    # Longest edge of the public derivatives (pixels).
    "ARCHIVE_THUMBNAIL_PX": 256,
    "ARCHIVE_DISPLAY_PX": 1600,
    # Tesseract: executable, languages, seconds per page before giving up.
    "ARCHIVE_TESSERACT_CMD": "tesseract",
    "ARCHIVE_OCR_LANG": "kor+eng",
    "ARCHIVE_OCR_TIMEOUT": 180,
    # Tesseract page segmentation: 4 (one column of text) reads Korean scans reliably; the
    # automatic layout (3) drops Korean lines it takes for pictures.
    "ARCHIVE_OCR_PSM": 4,
    # CSV import: rows per commit.
    "ARCHIVE_IMPORT_BATCH": 200,
    # An import job holds its run for this long, renewed at every batch; a run whose holder
    # died (its lease ran out) is taken up again where its last batch ended.
    "ARCHIVE_IMPORT_LEASE_SECONDS": 300,
    # A media job holds the item it processes for this long, renewed every third of it while
    # the job runs (one OCR page may take minutes). An item whose job died is taken up again
    # when its lease runs out, after its last finished step: a shorter lease is a quicker
    # take-up, at one small write per renewal.
    "ARCHIVE_MEDIA_LEASE_SECONDS": 60,
    # An item whose processing dies this many times in a row without finishing a step (an
    # image that crashes the consumer) is marked failed, for an archivist to retry.
    "ARCHIVE_MEDIA_MAX_ATTEMPTS": 3,
    # IIIF Image API: answers kept on disk (MEDIA_DIR/iiif/cache) up to this many bytes, the
    # least recently used dropped first; the largest answer given (width or height, pixels).
    "IIIF_CACHE_MAX_BYTES": 1024 * 1024 * 1024,
    "IIIF_MAX_WIDTH": 6000,
    "IIIF_MAX_AREA": 24_000_000,
    # OAI-PMH (/oai): the repository as harvesters see it. Items are named
    # oai:<OAI_REPOSITORY_DOMAIN>:<record identifier>; a record's dc:identifier is its page
    # under PUBLIC_BASE_URL (empty: the address the harvester called).
    "OAI_REPOSITORY_NAME": "HAPPY-HUB 향토문화 아카이브",
    "OAI_REPOSITORY_DOMAIN": "happyhub.local",
    "OAI_ADMIN_EMAIL": "archive@happyhub.local",
    # Records (or headers) per answer, then a resumption token valid for this many seconds.
    "OAI_PAGE_SIZE": 100,
    "OAI_TOKEN_TTL_SECONDS": 24 * 3600,
    # --- end archive ---
    # The public address of the site (https://archive.example.kr), for links given to other
    # systems; empty: the address each request came to.
    "PUBLIC_BASE_URL": "",
    # Tests only: a database URL for the suite (SQLite temp file when empty).
    "TEST_DATABASE_URL": "",
    # Tests only: the Redis database the two-server test may empty (no one else's).
    "TEST_REDIS_URL": "redis://127.0.0.1:6379/5",
}


def _parse(raw: str, default: object) -> object:
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    return raw


@functools.cache
def local_settings() -> dict[str, str]:
    """The instance's settings file, if there is one: known keys only."""
    if not LOCAL_SETTINGS.is_file():
        return {}
    found = {}
    for line in LOCAL_SETTINGS.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and not key.startswith("#") and key.strip() in DEFAULTS:
            found[key.strip()] = value.strip()
    return found


def env(key: str) -> object:
    """The value of one key: the environment if set there, else the instance's settings file,
    else the default."""
    default = DEFAULTS[key]
    raw = os.environ.get(key) or local_settings().get(key)
    return default if raw is None or raw == "" else _parse(raw, default)


def from_environment() -> dict[str, object]:
    return {key: env(key) for key in DEFAULTS}


def normalize_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


SEARCH_BACKENDS = ("whoosh", "postgres")


def check(config: dict) -> None:
    """Refuse configurations that must never serve real traffic (before anything is built
    from them)."""
    if config["SEARCH_BACKEND"] not in SEARCH_BACKENDS:
        raise ConfigurationError(
            f"SEARCH_BACKEND={config['SEARCH_BACKEND']!r}: use one of {', '.join(SEARCH_BACKENDS)}"
        )
    url = config.get("SQLALCHEMY_DATABASE_URI") or config["DATABASE_URL"]
    if config["SEARCH_BACKEND"] == "postgres" and not url.startswith(("postgresql", "postgres:")):
        raise ConfigurationError(
            "SEARCH_BACKEND=postgres keeps the search index in the PostgreSQL database, but "
            "DATABASE_URL is not PostgreSQL: use SEARCH_BACKEND=whoosh with SQLite"
        )
    if config["APP_ENV"] not in {"development", "testing"} and not config["SECRET_KEY"]:
        raise ConfigurationError(
            f"SECRET_KEY is not set (APP_ENV={config['APP_ENV']}). Set it in the environment, "
            f"or run `make run` once for a local setup ({LOCAL_SETTINGS})."
        )
