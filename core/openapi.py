"""The API document's own pieces: the one error shape, and an Api that leaves error handling to
``core.errors``."""

from __future__ import annotations

import flask_smorest
import marshmallow as ma


class ErrorSchema(ma.Schema):
    code = ma.fields.String(metadata={"example": "not_found"})
    status = ma.fields.Integer(metadata={"example": 404})
    message = ma.fields.String(metadata={"example": "Booking 42 not found"})
    errors = ma.fields.Dict(metadata={"example": {"email": ["Not a valid email address."]}})


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        # core.errors registers the one error handler for the whole app.
        pass
