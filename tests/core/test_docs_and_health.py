"""OpenAPI document, offline interactive docs, liveness and readiness."""

import re

from core.health import register_check
from tests.fixtures.users import auth_headers


def test_openapi_documents_schemas_errors_and_security(client):
    spec = client.get("/api/openapi.json").json
    assert spec["openapi"].startswith("3.")
    register = spec["paths"]["/api/auth/register"]["post"]
    assert {"201", "409", "422"} <= set(register["responses"])
    me = spec["paths"]["/api/me"]["get"]
    assert me["security"] == [{"bearerAuth": []}]
    assert "401" in me["responses"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    error = spec["components"]["schemas"]["Error"]["properties"]
    assert {"code", "status", "message", "errors"} <= set(error)
    assert spec["components"]["schemas"]["Register"]["properties"]["email"]["example"]


def test_every_operation_has_a_summary_and_documents_errors(client):
    spec = client.get("/api/openapi.json").json
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            assert operation.get("summary"), f"{method.upper()} {path} has no summary"
            codes = set(operation["responses"])
            assert any(c.startswith(("4", "5")) or c == "default" for c in codes), (
                f"{method.upper()} {path} documents no error response"
            )


def test_docs_page_uses_only_local_assets(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources, "the docs page loads no assets"
    for source in sources:
        assert source.startswith("/api/docs/assets/"), f"external asset {source}"
        asset = client.get(source)
        assert asset.status_code == 200 and len(asset.data) > 1000
        asset.close()
    assert "http://" not in html and "https://" not in html


def test_health_and_ready(client, admin):
    assert client.get("/api/health").json == {"status": "ok"}
    ready = client.get("/api/ready", headers=auth_headers(admin))
    assert ready.status_code == 200
    checks = ready.json["checks"]
    for name in ("database", "media_dir", "index_dir", "job_queue"):
        assert checks[name] == "ok"
    assert ready.json["failing"] == []


def test_the_public_ready_answer_is_the_status_alone(client, resident):
    assert client.get("/api/ready").json == {"status": "ok"}
    assert client.get("/api/ready", headers=auth_headers(resident)).json == {"status": "ok"}


def test_ready_names_the_failing_check(app, client, tmp_path, admin):
    headers = auth_headers(admin)
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("x")
    original = app.config["MEDIA_DIR"]
    app.config["MEDIA_DIR"] = str(blocked / "media")
    try:
        ready = client.get("/api/ready", headers=headers)
        public = client.get("/api/ready")
    finally:
        app.config["MEDIA_DIR"] = original
    assert public.status_code == 503
    assert public.json == {"status": "fail"}
    assert ready.status_code == 503
    assert ready.json["failing"] == ["media_dir"]
    assert ready.json["checks"]["media_dir"].startswith("error")


def test_non_critical_checks_only_report(app, client, admin):
    headers = auth_headers(admin)
    register_check(app, "optional_thing", lambda: "unavailable", critical=False)
    try:
        ready = client.get("/api/ready", headers=headers)
    finally:
        del app.extensions["ready_checks"]["optional_thing"]
    assert ready.status_code == 200
    assert ready.json["checks"]["optional_thing"] == "unavailable"


def test_conflicts_that_add_fields_document_them(client):
    spec = client.get("/api/openapi.json").json
    for path, method, extra in (
        ("/api/archive/records/{record_id}", "patch", "current_version"),
        ("/api/library/titles", "post", "title_id"),
        ("/api/library/kiosks/{kiosk_id}/slots/{slot}/load", "post", "barcode"),
    ):
        conflict = spec["paths"][path][method]["responses"]["409"]
        ref = conflict["content"]["application/json"]["schema"]["$ref"]
        schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert {"code", "status", "message", extra} <= set(schema["properties"]), path
