"""One gate for what clients send, before any schema or service sees it.

Bad input must be a 4xx naming the field, never a 500 from deep inside: Python's JSON parser
recurses (50,000 nested arrays overflow the stack), converts a 5,000-digit number (slow, then
refused by ``int``), and accepts lone surrogates (``"\\ud800"``), which no database or encoder
will store; PostgreSQL refuses NUL in text; a 64-bit integer overflows SQLite and PostgreSQL's
``integer``; a datetime near the year 9999 overflows when moved to UTC. Every door that parses
with ``core.http.Blueprint`` goes through ``GuardedParser``.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime

import marshmallow as ma
from webargs.flaskparser import FlaskParser

from core.db import MAX_INTEGER_ID
from core.errors import DomainError

MAX_JSON_DEPTH = 32
# Integers a client may send anywhere: what the database's INTEGER columns hold.
MAX_INTEGER = MAX_INTEGER_ID
MAX_INTEGER_DIGITS = len(str(MAX_INTEGER))
# Datetimes a client may send: any offset moves them at most a day, far from year 1 or 9999.
EARLIEST, LATEST = datetime(1000, 1, 1, tzinfo=UTC), datetime(9000, 12, 31, tzinfo=UTC)


class MalformedBody(DomainError):
    status, code = 400, "malformed_body"


def _refuse_constant(name: str):
    raise MalformedBody(f"JSON does not allow {name}; send a number or null")


# Longer numerals are refused while parsing (converting thousands of digits is slow, and
# Python refuses past 4,300); shorter ones out of range are refused naming their field.
MAX_NUMERAL_LENGTH = 40


def _parse_int(text: str) -> int:
    if len(text) > MAX_NUMERAL_LENGTH:
        raise MalformedBody(f"A number in the body has {len(text)} digits; far too many")
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMERAL_LENGTH:
        raise MalformedBody(f"A number in the body has {len(text)} characters; far too many")
    return float(text)


def loads(raw: bytes | str):
    """Parse a JSON body, refusing what would crash or hang later (see the module's text)."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    try:
        value = json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_refuse_constant,
        )
    except RecursionError:
        raise MalformedBody(f"The body nests deeper than {MAX_JSON_DEPTH} levels") from None
    _check_depth(value)
    return value


def _check_depth(value) -> None:
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise MalformedBody(f"The body nests deeper than {MAX_JSON_DEPTH} levels")
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)


def _walk(value, path: tuple = ()) -> Iterator[tuple[tuple, object]]:
    """Every scalar in a JSON-like value (dict keys too) with the path that leads to it."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*path, key), key
            yield from _walk(child, (*path, key))
    elif isinstance(value, list | tuple):
        for index, child in enumerate(value):
            yield from _walk(child, (*path, index))
    else:
        yield path, value


def text_problem(text: str) -> str | None:
    """What makes a string unstorable, or None."""
    if "\x00" in text:
        return "Must not contain the NUL character (U+0000)."
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "Must be valid Unicode text (no lone surrogate code points)."
    return None


def _integer_problem(value: int) -> str | None:
    if not -MAX_INTEGER <= value <= MAX_INTEGER:
        return f"Must be between {-MAX_INTEGER} and {MAX_INTEGER}."
    return None


def _datetime_problem(value: datetime) -> str | None:
    try:
        in_utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except OverflowError:
        return "Is out of range."
    if not EARLIEST <= in_utc <= LATEST:
        return f"Must be between the years {EARLIEST.year} and {LATEST.year}."
    return None


def _field_name(path: tuple) -> str:
    return ".".join(str(part) for part in path) or "_schema"


# Per schema instance (the Blueprint builds each once): asked on every request.
_INTEGER_KEYS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _integer_keys(schema) -> set[str]:
    """The keys of a schema whose fields take integers (alone or in a list)."""
    if schema is None:
        return set()
    if schema not in _INTEGER_KEYS:
        _INTEGER_KEYS[schema] = _find_integer_keys(schema)
    return _INTEGER_KEYS[schema]


def _find_integer_keys(schema) -> set[str]:
    keys = set()
    for name, field in getattr(schema, "fields", {}).items():
        inner = getattr(field, "inner", field)
        if isinstance(inner, ma.fields.Integer):
            keys.add(field.data_key or name)
    return keys


def check_raw(data, schema=None) -> None:
    """Refuse unstorable text and out-of-range integers anywhere in a parsed body or in a
    query string or form (a ``MultiDict``), naming the field. A query string carries numbers
    as text: those of the schema's integer fields are bounded before the field converts them
    (an Integer field would pass 2**63 on to the database)."""
    errors: dict[str, list[str]] = {}
    if hasattr(data, "lists"):
        integer_keys = _integer_keys(schema)
        items = (((key,), value) for key, values in data.lists() for value in values)
    else:
        integer_keys = set()
        items = _walk(data)
    for path, value in items:
        problem = None
        if isinstance(value, str):
            problem = text_problem(value)
            if problem is None and path and path[0] in integer_keys:
                problem = _numeral_problem(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            problem = _integer_problem(value)
        if problem:
            errors.setdefault(_field_name(path), []).append(problem)
    if errors:
        raise ma.ValidationError(errors)


def _numeral_problem(text: str) -> str | None:
    digits = text.strip().lstrip("+-")
    if not digits.isdigit():
        return None  # not a number at all: the field itself says so
    if len(digits) > MAX_INTEGER_DIGITS:
        return f"Must be between {-MAX_INTEGER} and {MAX_INTEGER}."
    return _integer_problem(int(text))


def check_loaded(data) -> None:
    """Refuse datetimes that cannot be stored in UTC, naming the field."""
    errors = {
        _field_name(path): [problem]
        for path, value in _walk(data if isinstance(data, dict | list) else {})
        if isinstance(value, datetime) and (problem := _datetime_problem(value))
    }
    if errors:
        raise ma.ValidationError(errors)


class GuardedParser(FlaskParser):
    """webargs' Flask parser, with ``loads`` for JSON bodies and the checks above on every
    location before the schema loads, and on what it loaded."""

    def _raw_load_json(self, req):
        if not req.is_json:
            return ma.missing
        raw = req.get_data(cache=True)
        if not raw:
            raise json.JSONDecodeError("empty body", "", 0)  # webargs: no body given
        try:
            return loads(raw)
        except UnicodeDecodeError as error:
            raise MalformedBody("The body is not valid UTF-8") from error

    def pre_load(self, location_data, *, schema, req, location):
        check_raw(location_data, schema)
        return super().pre_load(location_data, schema=schema, req=req, location=location)

    def _process_location_data(self, location_data, schema, req, location, unknown, validators):
        data = super()._process_location_data(
            location_data, schema, req, location, unknown, validators
        )
        check_loaded(data)
        return data
