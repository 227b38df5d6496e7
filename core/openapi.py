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
    request_id = ma.fields.String(
        metadata={"description": "On a 500: the id to quote when reporting it"}
    )


def error_with(name: str, **fields: ma.fields.Field) -> type[ErrorSchema]:
    """The error shape with the fields a particular answer adds (``current_version`` on a
    stale record's 409): named ``<name>Error`` in the document."""
    return type(f"{name}ErrorSchema", (ErrorSchema,), dict(fields))


_PAGE_NUMBER = {"type": "integer", "minimum": 1}

# What X-Pagination carries: a JSON object in the header's text. flask-smorest documents the
# header with the object's schema alone, which says the header *is* that object (OpenAPI's
# "simple" style, comma-separated key,value pairs); ``content`` says it is JSON text.
PAGINATION_HEADER = {
    "description": "Pagination metadata, as a JSON object",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "total": {"type": "integer", "minimum": 0},
                    "total_pages": {"type": "integer", "minimum": 0},
                    "first_page": _PAGE_NUMBER,
                    "last_page": _PAGE_NUMBER,
                    "page": _PAGE_NUMBER,
                    "previous_page": _PAGE_NUMBER,
                    "next_page": _PAGE_NUMBER,
                },
                "required": ["total", "total_pages"],
                "additionalProperties": False,
            }
        }
    },
}


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        # core.errors registers the one error handler for the whole app.
        pass

    def _register_pagination_header(self):
        self.spec.components.header("PAGINATION", PAGINATION_HEADER, lazy=True)
