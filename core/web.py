"""What every HTML door shares: the page Blueprint, the cookie session, CSRF, forms read
through the API's own schemas, Korean messages, and errors rendered as pages.

A page is a door like a JSON view: it parses (the same marshmallow schema, through the same
input guard), checks who is calling, makes one service call and renders. Its session is the
API's own token, kept in a signed, HttpOnly cookie: the same accounts, roles, expiry, login
limits and revocation (logging out revokes it; deactivating an account ends its sessions).
The cookie is read only by page Blueprints, so the JSON API never acts on a cookie and needs
no CSRF token; every page form carries one (Flask-WTF).
"""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import flask
import marshmallow as ma
from flask import current_app, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.datastructures import MultiDict

from core import input_guard
from core.auth import current_user, require_user
from core.errors import DomainError
from core.transactions import in_unit_of_work, settle_refusal

csrf = CSRFProtect()

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# Paths that belong to machines (JSON, IIIF, OAI): their errors are never pages.
MACHINE_PREFIXES = ("/api/", "/iiif/", "/oai")
# What a browser's form sends (pages take nothing else).
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Form fields that belong to the page machinery, not to the use case's schema.
FORM_MACHINERY = {"csrf_token", "idempotency_key", "next"}

# A page's own policy: nothing inline, nothing from elsewhere. Images may be data: URLs (the
# check-in QR code) and the archive's own image answers (blob: for the zoomable viewer).
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'"
)


class PageBlueprint(flask.Blueprint):
    """A Blueprint of HTML pages: every view one unit of work (as API views), the caller read
    from the session cookie, and CSRF checked on every form sent."""

    def __init__(self, name: str, import_name: str, **kwargs):
        kwargs.setdefault("template_folder", "templates")
        super().__init__(name, import_name, **kwargs)
        self.before_request(_enter_page)

    def add_url_rule(self, rule, endpoint=None, view_func=None, *args, **kwargs):
        if view_func is not None:
            view_func = in_unit_of_work(view_func)
        return super().add_url_rule(rule, endpoint, view_func, *args, **kwargs)


def _enter_page() -> None:
    g.page = True
    if request.method not in SAFE_METHODS:
        csrf.protect()


def is_page_request() -> bool:
    if g.get("page"):
        return True
    return not request.path.startswith(MACHINE_PREFIXES) and request.path != "/api"


# --- who is calling ---------------------------------------------------------------------


def signed_in_user():
    """The person signed in on this page, or None (read once per request, as the API does)."""
    return current_user()


def login_required(*roles: str):
    """A page for signed-in people (with one of ``roles``, if given): anyone else is sent to
    the login page, and back here afterwards."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            require_user(roles)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def start_session(raw_token: str) -> None:
    """Sign in: a fresh session (no fixation) holding the API token."""
    session.clear()
    session["token"] = raw_token
    session.permanent = True


def end_session() -> None:
    session.clear()


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a path on this site: never redirect a person elsewhere after they sign in."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


# --- forms ------------------------------------------------------------------------------


@dataclass
class Form:
    """What a person sent and what was wrong with it, for rendering the form again."""

    values: dict
    errors: dict

    def error(self, name: str) -> str | None:
        messages = self.errors.get(name)
        return messages[0] if messages else None

    @classmethod
    def empty(cls, **values) -> Form:
        return cls(values=values, errors={})


class PageQuerySchema(ma.Schema):
    """Which page of a list a page shows: counted from 1, as the API's; a number far past any
    list's end is refused (it would only make the database count its way there)."""

    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=100_000))


def read_form(schema: ma.Schema) -> tuple[dict | None, Form]:
    """Load the submitted form with the API's schema, after the API's input guard. Empty
    fields count as not given (a browser sends "" for every blank input). Returns the loaded
    data (None when invalid) and the form to render again, errors in Korean."""
    return _load(request.form, schema)


def read_query(schema: ma.Schema) -> tuple[dict | None, Form]:
    """``read_form`` for a form sent with GET (a search and its filters): the query string,
    loaded the same way."""
    return _load(request.args, schema)


def _load(source: MultiDict, schema: ma.Schema) -> tuple[dict | None, Form]:
    raw = MultiDict(
        (key, value)
        for key, value in source.items(multi=True)
        if key not in FORM_MACHINERY and value.strip() != ""
    )
    values = {key: raw.getlist(key) if len(raw.getlist(key)) > 1 else raw[key] for key in raw}
    lists = {name for name, field in schema.fields.items() if isinstance(field, ma.fields.List)}
    loadable = {key: (raw.getlist(key) if key in lists else raw[key]) for key in raw}
    try:
        input_guard.check_raw(raw, schema)
        data = schema.load(loadable, unknown=ma.EXCLUDE)
        input_guard.check_loaded(data)
    except ma.ValidationError as error:
        return None, Form(values, korean_errors(error.messages))
    return data, Form(values, {})


def refusal_form(form: Form, error: DomainError) -> Form:
    """The form again with a refused use case's message: next to its fields when it names
    them, else at the top of the form (``_form``)."""
    errors = dict(form.errors)
    if error.errors:
        for name, messages in korean_errors(error.errors).items():
            # A message with no Korean form of its own takes its refusal's (email_taken).
            errors[name] = [
                korean
                if korean != original or error.code not in _CODE_MESSAGES
                else _CODE_MESSAGES[error.code]
                for korean, original in zip(messages, _originals(error.errors, name), strict=True)
            ]
    else:
        errors["_form"] = [korean_message(error)]
    return Form(form.values, errors)


def _originals(messages: dict, name: str) -> list[str]:
    found = messages.get(name, [])
    return [str(m) for m in (found if isinstance(found, list | tuple) else [found])]


def refusal_status(error: DomainError) -> int:
    """A refused form is shown again: 422, or 429 when a limit said to wait."""
    return 429 if error.status == 429 else 422


def attempt(use_case, *args, **kwargs):
    """Call a use case for a form: its refusal comes back instead of raising, with its writes
    undone (or kept) exactly as a refused API request's are. Returns (result, error)."""
    try:
        return use_case(*args, **kwargs), None
    except DomainError as error:
        settle_refusal(error)
        return None, error


def idempotency_key() -> str:
    """A fresh key for a form that must act once: a double click sends the same key twice."""
    return uuid.uuid4().hex


def submitted_key() -> str | None:
    key = request.form.get("idempotency_key", "")
    return key if re.fullmatch(r"[0-9a-f]{32}", key) else None


# --- Korean messages --------------------------------------------------------------------

# marshmallow's and the input guard's messages, in Korean. Patterns, since some carry numbers.
_FIELD_MESSAGES: list[tuple[str, str]] = [
    (r"Missing data for required field\.", "꼭 입력해 주세요."),
    (r"Field may not be null\.", "꼭 입력해 주세요."),
    (r"Not a valid email address\.", "올바른 이메일 주소를 입력해 주세요."),
    (r"Shorter than minimum length (\d+)\.", r"\1자 이상 입력해 주세요."),
    (r"Shorter than (\d+) characters\.", r"\1자 이상 입력해 주세요."),
    (r"Longer than maximum length (\d+)\.", r"\1자 이하로 입력해 주세요."),
    (r"Length must be between (\d+) and (\d+)\.", r"\1자에서 \2자 사이로 입력해 주세요."),
    (r"String does not match expected pattern\.", "형식이 올바르지 않습니다."),
    (r"Not a valid integer\.", "숫자로 입력해 주세요."),
    (r"Not a valid number\.", "숫자로 입력해 주세요."),
    (r"Not a valid date(time)?\.", "올바른 날짜를 입력해 주세요."),
    (r"Not a valid boolean\.", "예 또는 아니요를 골라 주세요."),
    (r"Must be one of: .*", "목록에 있는 값을 골라 주세요."),
    (r"Must be greater than or equal to (-?\d+)\.", r"\1 이상이어야 합니다."),
    (r"Must be less than or equal to (-?\d+)\.", r"\1 이하이어야 합니다."),
    (
        r"Must be greater than or equal to (-?\d+) and less than or equal to (-?\d+)\.",
        r"\1에서 \2 사이여야 합니다.",
    ),
    (r"Must not contain the NUL character.*", "쓸 수 없는 문자가 들어 있습니다."),
    (r"Must be valid Unicode text.*", "쓸 수 없는 문자가 들어 있습니다."),
    (r"Not a valid id\.", "올바른 번호가 아닙니다."),
]

# A refused use case's code, in Korean. Domains add theirs at start-up (``add_messages``).
_CODE_MESSAGES: dict[str, str] = {
    "invalid_credentials": "이메일 또는 비밀번호가 맞지 않습니다.",
    "too_many_requests": "시도가 너무 많습니다. 잠시 후에 다시 해 주세요.",
    "email_taken": "이미 가입된 이메일입니다.",
    "weak_password": "더 안전한 비밀번호를 정해 주세요.",
    "not_found": "찾는 내용이 없습니다.",
    "forbidden": "이 페이지를 볼 권한이 없습니다.",
    "unauthorized": "로그인이 필요합니다.",
    "conflict": "다른 변경과 충돌했습니다. 다시 확인해 주세요.",
}


def add_messages(messages: dict[str, str]) -> None:
    """A domain's Korean texts for its refusal codes."""
    _CODE_MESSAGES.update(messages)


def add_field_messages(*messages: tuple[str, str]) -> None:
    """A domain's Korean texts for its schemas' own messages: (pattern, Korean) pairs."""
    _FIELD_MESSAGES.extend(messages)


def korean_message(error: DomainError) -> str:
    return _CODE_MESSAGES.get(error.code) or error.message


def korean_field_message(message: str) -> str:
    for pattern, korean in _FIELD_MESSAGES:
        if re.fullmatch(pattern, message):
            return re.sub(pattern, korean, message)
    return message


def korean_errors(messages) -> dict[str, list[str]]:
    """``{field: [message, ...]}`` with each message in Korean; nested fields flattened."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), child)
        elif isinstance(value, list | tuple):
            for item in value:
                if isinstance(item, dict | list):
                    walk(prefix, item)
                else:
                    flat.setdefault(prefix or "_form", []).append(korean_field_message(str(item)))
        else:
            flat.setdefault(prefix or "_form", []).append(korean_field_message(str(value)))

    walk("", messages)
    return flat


# --- errors as pages --------------------------------------------------------------------

TITLES = {
    400: "요청을 처리할 수 없습니다",
    401: "로그인이 필요합니다",
    403: "권한이 없습니다",
    404: "페이지를 찾을 수 없습니다",
    405: "허용되지 않는 요청입니다",
    409: "다른 변경과 충돌했습니다",
    413: "파일이 너무 큽니다",
    415: "지원하지 않는 형식입니다",
    422: "입력 내용을 확인해 주세요",
    429: "요청이 너무 많습니다",
    500: "일시적인 오류가 발생했습니다",
    503: "잠시 서비스를 이용할 수 없습니다",
}
HINTS = {
    404: "주소를 다시 확인하시거나 첫 화면에서 찾아 주세요.",
    429: "잠시 기다린 뒤 다시 시도해 주세요.",
    500: "불편을 드려 죄송합니다. 잠시 후 다시 시도해 주세요.",
}


def error_page(status: int, message: str | None = None, headers=None, code: str | None = None):
    """An error as a page in the site's look, or to the login page for a page that needs a
    signed-in person."""
    if status == 401:
        return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
    if code in _CODE_MESSAGES:
        message = _CODE_MESSAGES[code]
    body = render_template(
        "errors/error.html",
        status=status,
        title=TITLES.get(status, "요청을 처리할 수 없습니다"),
        message=message if status < 500 else None,
        hint=HINTS.get(status),
        request_id=g.get("request_id"),
    )
    return body, status, headers or {}


def _csrf_failed(error: CSRFError):
    return error_page(400, "페이지가 만료되었습니다. 새로 고친 뒤 다시 보내 주세요.")


def page_headers(response) -> None:
    if g.get("page"):
        response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # Pages show a person's own bookings and loans: never kept by a shared cache.
        if signed_in_user() is not None or request.method not in SAFE_METHODS:
            response.headers.setdefault("Cache-Control", "private, no-store")


# --- navigation and start-up ------------------------------------------------------------


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    signed_in_only: bool = False
    # Shown only to people holding one of these roles (the page itself checks them too).
    roles: tuple[str, ...] = ()

    def shown_to(self, user) -> bool:
        if self.roles:
            return user is not None and user.has_any_role(self.roles)
        return user is not None or not self.signed_in_only


def add_nav(app, *items: NavItem) -> None:
    app.extensions.setdefault("page_nav", []).extend(items)


@dataclass(frozen=True)
class StaffSection:
    """A part of the staff console (``/staff/``): a domain's pages for one role's daily work.
    The console's menu lists the sections a person's roles open; each page still checks its
    roles itself (``staff_page``)."""

    endpoint: str
    label: str
    roles: tuple[str, ...]
    description: str = ""


def add_staff_section(app, *sections: StaffSection) -> None:
    app.extensions.setdefault("staff_sections", []).extend(sections)


def staff_sections_for(user) -> list[StaffSection]:
    sections = current_app.extensions.get("staff_sections", [])
    return [s for s in sections if user is not None and user.has_any_role(s.roles)]


def staff_page(*roles: str):
    """A staff console page: signed in (else to the login page) with one of ``roles`` (else
    the 403 page). Admins hold every role (``User.has_any_role``)."""
    return login_required(*roles)


def add_home_panel(app, template: str, context) -> None:
    """A domain's part of the home page: its template and a function giving its context."""
    app.extensions.setdefault("home_panels", []).append((template, context))


def _template_context() -> dict:
    user = signed_in_user() if g.get("page") else None
    return {
        "nav": [item for item in current_app.extensions.get("page_nav", []) if item.shown_to(user)],
        "staff_sections": staff_sections_for(user),
        "current_user": user,
        "korean_message": korean_message,
    }


def init_app(app) -> None:
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # checked by page Blueprints only
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid as long as the session
    csrf.init_app(app)
    app.register_error_handler(CSRFError, _csrf_failed)
    app.context_processor(_template_context)
    app.jinja_env.globals["idempotency_key"] = idempotency_key
    app.extensions["error_page"] = error_page
    app.extensions["is_page_request"] = is_page_request
