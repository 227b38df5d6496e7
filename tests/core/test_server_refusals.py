"""What gunicorn refuses before the app sees it still speaks the API's JSON error shape, and
the limits the API documents can be reached through it."""

from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.slow


def test_gunicorns_refusals_are_json_and_documented_limits_are_reachable(live_server):
    response = requests.get(live_server("/api/health?pad=" + "x" * 9000), timeout=10)
    assert response.status_code == 414
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == 414 and body["code"] and body["message"]

    # The search documents queries of up to 500 characters: about 4,500 bytes of Korean
    # once percent-encoded, past gunicorn's default request line.
    query = "의정부관아옛사진" * 62 + "의정부관아"  # 501 characters: one past the limit
    too_long = requests.get(live_server("/api/archive/search"), params={"q": query}, timeout=30)
    assert too_long.status_code == 422
    assert "q" in too_long.json()["errors"]
    answered = requests.get(
        live_server("/api/archive/search"), params={"q": query[:500]}, timeout=30
    )
    assert answered.status_code == 200, answered.text
