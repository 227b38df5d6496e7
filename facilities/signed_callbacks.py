"""The payment provider's signed callbacks, as the JSON doors receive them (a booking's and a
programme place's): one header, one way to document the body, one way to read it. The
signature itself is checked by the use case (``payments.read_signed``) before the body is
read, so nothing in the body is trusted until it matches."""

from __future__ import annotations

import json
from collections.abc import Callable

from flask import request
from flask_smorest import abort
from marshmallow import Schema, ValidationError

SIGNATURE_HEADER = "X-Signature"


def signature() -> str | None:
    """The signature the provider sent with this request."""
    return request.headers.get(SIGNATURE_HEADER)


def documented(schema: type[Schema]) -> dict:
    """``blp.doc`` arguments for a signed callback whose JSON body has ``schema``'s shape
    (the body is read by hand, after the signature, so flask-smorest cannot document it)."""
    return {
        "parameters": [
            {
                "in": "header",
                "name": SIGNATURE_HEADER,
                "required": True,
                "schema": {"type": "string"},
                "description": "hex HMAC-SHA256 of the raw body under the shared secret",
            }
        ],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        },
    }


def reader(schema: type[Schema]) -> Callable[[bytes], dict]:
    """Reads a signed callback's body: JSON in ``schema``'s shape (400 / 422 otherwise)."""
    loader = schema()

    def read(raw: bytes) -> dict:
        try:
            return loader.load(json.loads(raw))
        except (ValueError, TypeError):
            abort(400, message="The body is not JSON")
        except ValidationError as error:
            abort(422, errors=error.messages)

    return read
