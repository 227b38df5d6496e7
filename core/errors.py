"""Domain errors and the one JSON error shape: ``{"code", "status", "message", "errors"?}``."""

from __future__ import annotations

import logging
import re

from flask import Flask, current_app, g, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class DomainError(Exception):
    status = 400
    code = "bad_request"
    # A refusal normally undoes everything the use case wrote; a few must keep what they
    # wrote (a wrong PIN's failure count): see ``keeping_changes``.
    keeps_changes = False

    def __init__(
        self,
        message: str,
        *,
        errors: dict | None = None,
        code: str | None = None,
        headers: dict | None = None,
        **details,
    ):
        super().__init__(message)
        self.message = message
        self.errors = errors
        self.headers = headers or {}
        self.details = details
        if code:
            self.code = code

    def keeping_changes(self) -> DomainError:
        """This refusal, marked so that the unit of work commits what was written before it
        (``core.transactions``) instead of rolling it back."""
        self.keeps_changes = True
        return self


class Unauthorized(DomainError):
    status, code = 401, "unauthorized"


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class NotFound(DomainError):
    status, code = 404, "not_found"


class Conflict(DomainError):
    status, code = 409, "conflict"


class RuleViolation(DomainError):
    status, code = 422, "rule_violation"


class PayloadTooLarge(DomainError):
    status, code = 413, "payload_too_large"


class UnsupportedMedia(DomainError):
    status, code = 415, "unsupported_media_type"


class TooManyRequests(DomainError):
    status, code = 429, "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, **kwargs):
        super().__init__(message, headers={"Retry-After": str(int(retry_after))}, **kwargs)
        self.retry_after = int(retry_after)


def error_body(status: int, code: str, message: str, errors=None, **details) -> dict:
    body = {"code": code, "status": status, "message": message}
    if errors:
        body["errors"] = errors
    body.update(details)
    return body


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _flatten_validation(messages: dict) -> dict:
    """webargs reports ``{"json": {"field": [...]}}``; clients want the fields themselves."""
    if len(messages) == 1:
        (only,) = messages.values()
        if isinstance(only, dict):
            return only
    return messages


def _page(status: int, message: str | None, headers=None, code: str | None = None):
    """The error as a page, when a person's browser asked (``core.web`` says which)."""
    render = current_app.extensions.get("error_page")
    if render is not None and current_app.extensions["is_page_request"]():
        return render(status, message, headers, code)
    return None


def handle_domain_error(error: DomainError):
    if (page := _page(error.status, error.message, error.headers, error.code)) is not None:
        return page
    body = error_body(error.status, error.code, error.message, error.errors, **error.details)
    return jsonify(body), error.status, error.headers


def handle_http_exception(error: HTTPException):
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = data.get("errors")
    if errors is None and "messages" in data:
        errors = _flatten_validation(data["messages"])
    code = _slug(error.name)
    if status == 422:
        code = "validation_error"
    message = data.get("message") or error.description or error.name
    if status == 422 and errors and "message" not in data:
        message = "Invalid input: " + ", ".join(sorted(map(str, errors)))
    if status == 400 and errors:
        message = "Malformed request body"
    headers = dict(data.get("headers") or {})
    # Keep protocol headers the exception carries (405's Allow, 503's Retry-After).
    headers.update({k: v for k, v in error.get_headers() if k in ("Allow", "Retry-After")})
    if (page := _page(status, message if errors is None else None, headers)) is not None:
        return page
    return jsonify(error_body(status, code, message, errors)), status, headers


def handle_unexpected(error: Exception):
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    log.exception("unhandled error (request %s)", g.get("request_id"))
    if (page := _page(500, None)) is not None:
        return page
    body = error_body(500, "internal_error", "An unexpected error occurred. It has been logged.")
    body["request_id"] = g.get("request_id")
    return jsonify(body), 500


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
