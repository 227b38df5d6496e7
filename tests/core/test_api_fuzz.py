"""A property-based fuzz of the whole OpenAPI document (schemathesis, in process): no request
a client can make gets a 5xx, and every answer matches what the document says of it (status,
content type, body schema, headers such as X-Pagination).

Requests are made as an administrator (kiosk operations with a kiosk's key), on the demo data,
with credentials made afresh for every example: an earlier example may well have logged the
caller out, deactivated them or revoked the kiosk."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from core.clock import now
from core.extensions import db
from core.models import ApiToken, User, UserRole
from core.security import new_token, token_hash
from tests.fixtures.library import create_kiosk

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 20
_serial = itertools.count(1)


def _admin_headers() -> dict:
    at = now()
    user = User(
        email=f"fuzz{next(_serial)}@example.kr",
        password_hash="not a usable hash",
        name="퍼즈 관리자",
        created_at=at,
    )
    user.role_rows = [UserRole(role="admin")]
    raw = new_token()
    db.session.add_all(
        [
            user,
            ApiToken(
                user=user,
                token_hash=token_hash(raw),
                created_at=at,
                expires_at=at + timedelta(hours=1),
            ),
        ]
    )
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def _credentials(operation) -> dict:
    schemes = {
        name for requirement in operation.definition.raw.get("security", []) for name in requirement
    }
    if schemes == {"kioskKey"}:
        return create_kiosk().headers
    return _admin_headers()


def _fuzz(operation) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        # Hypothesis seeds Python's global random generator alike for every example; Whoosh
        # names new index segments with it, and the same name twice breaks its commit.
        random.seed()
        case.headers = {**(case.headers or {}), **_credentials(operation)}
        case.call_and_validate(checks=CHECKS)

    run()


@pytest.mark.slow
def test_no_request_gets_a_5xx_or_breaks_the_document(app):
    seeded = app.test_cli_runner().invoke(args=["seed-demo"])
    assert seeded.exit_code == 0, seeded.output
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 80
    failures = {}
    for operation in operations:
        try:
            _fuzz(operation)
        except (Exception, BaseExceptionGroup) as failure:  # every operation, every failure
            failures[operation.label] = str(failure)[:3000]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
