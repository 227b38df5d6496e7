"""flask-smorest's Blueprint, adapted: it knows about auth and device keys, documents our error
responses, and runs every view as one unit of work (``core.transactions``)."""

from __future__ import annotations

import functools
from http import HTTPStatus

import flask_smorest
import marshmallow as ma
from flask import g, request
from marshmallow import validate
from sqlalchemy import func, select

from core.auth import device_from_request, require_user
from core.db import MAX_INTEGER_ID
from core.device_keys import DeviceKind
from core.errors import Unauthorized
from core.extensions import db
from core.input_guard import GuardedParser
from core.roles import ROLES
from core.transactions import in_unit_of_work

ID_RANGE = validate.Range(min=1, max=MAX_INTEGER_ID, error="Not a valid id.")


class Id(ma.fields.Integer):
    """An identifier in a body or query string: 1 .. MAX_INTEGER_ID, else a 422 naming it."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validate", ID_RANGE)
        super().__init__(**kwargs)


class Blueprint(flask_smorest.Blueprint):
    # Every argument (body, query string, form, pagination) passes core.input_guard first.
    ARGUMENTS_PARSER = GuardedParser()
    PAGINATION_ARGUMENTS_PARSER = GuardedParser()

    def add_url_rule(self, rule, endpoint=None, view_func=None, *args, **kwargs):
        """Every view is one unit of work: committed once when it answers, rolled back when it
        raises. Views never commit by hand."""
        if view_func is not None and not isinstance(view_func, type):
            view_func = in_unit_of_work(view_func)
        return super().add_url_rule(rule, endpoint, view_func, *args, **kwargs)

    def arguments(self, schema, *args, **kwargs):
        """flask-smorest's, with a schema class made into one instance here, once: given the
        class, webargs builds a new instance for every request (about 0.1 ms each)."""
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)

    def errors(self, *statuses: int, detailed: dict | None = None):
        """Document error responses (all share the one error shape). ``detailed`` maps a
        status to the error schema (``core.openapi.error_with``) of an answer that adds fields
        of its own, such as a 409's ``current_version``. A detailed status stays detailed
        whichever decorator (``auth``, ``device``) names the same status too, above or below."""
        detailed = detailed or {}

        def decorator(func):
            for status in statuses:
                if status in detailed:
                    func = self.alt_response(
                        status, schema=detailed[status], description=HTTPStatus(status).phrase
                    )(func)
                    # flask-smorest prints a status's plain reference in preference to any
                    # schema given for it: keep only the detailed one.
                    responses = _documented(func)
                    responses[status] = responses[status][-1:]
                elif status not in _documented(func):
                    # Documented already (maybe detailed): a plain reference would hide it.
                    func = self.alt_response(status, response=HTTPStatus(status).name)(func)
            return func

        return decorator

    def auth(self, *roles: str):
        """Require a bearer token; with roles, require one of them (admin passes every check).

        Documents the security requirement and the 401/403 answers.
        """
        self._check_roles(roles)

        def decorator(func):
            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                require_user(roles)
                return func(*args, **kwargs)

            wrapper = self.doc(security=[{"bearerAuth": []}])(wrapper)
            return self.errors(401, 403)(wrapper) if roles else self.errors(401)(wrapper)

        return decorator

    def _check_roles(self, roles) -> None:
        for role in roles:
            if role not in ROLES:
                raise ValueError(f"unknown role {role!r}")

    def device(self, kind: DeviceKind):
        """Require a device key of this kind (``Authorization: Kiosk <key>``); the view finds
        the calling device in ``flask.g.device``. Documents the scheme and the 401."""

        def decorator(func):
            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                device = device_from_request(kind)
                if device is None:
                    raise kind.key_required()
                g.device = device
                return func(*args, **kwargs)

            wrapper = self.doc(security=[{kind.security_scheme: []}])(wrapper)
            return self.errors(401)(wrapper)

        return decorator

    def device_or_auth(self, kind: DeviceKind, *roles: str):
        """A device key of this kind, or a bearer token with one of ``roles``. ``flask.g.device``
        is the device, or None when a person called (then ``flask.g.user`` is that person)."""
        self._check_roles(roles)
        # Sent when neither credential came: both ways in are named.
        either = {"WWW-Authenticate": f'Bearer realm="happyhub", {kind.scheme} realm="happyhub"'}

        def decorator(func):
            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                g.device = device_from_request(kind)
                if g.device is None:
                    if not request.headers.get("Authorization"):
                        raise Unauthorized(
                            f"A staff bearer token or a {kind.noun} key is required",
                            headers=either,
                        )
                    require_user(roles)
                return func(*args, **kwargs)

            wrapper = self.doc(security=[{"bearerAuth": []}, {kind.security_scheme: []}])(wrapper)
            return self.errors(401, 403)(wrapper)

        return decorator


def _documented(func) -> dict:
    """The responses flask-smorest has recorded for a view so far, by status."""
    return getattr(func, "_apidoc", {}).get("response", {}).get("responses", {})


def paginated(stmt, pagination_parameters):
    """One page of a service's query for a ``@blp.paginate()`` view: counts every row the
    query finds (for ``X-Pagination``) and returns the rows of the page asked for."""
    pagination_parameters.item_count = db.session.scalar(
        select(func.count()).select_from(stmt.subquery())
    )
    return db.session.scalars(
        stmt.offset(pagination_parameters.first_item).limit(pagination_parameters.page_size)
    )
