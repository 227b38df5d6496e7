"""IIIF Presentation API 3.0: a record's Manifest and the collections, valid against the
Presentation 3 JSON Schema shipped in tests/fixtures/iiif, linked from the record page and
the API, public for published records only."""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema_rs
import pytest
from PIL import Image

from archive.models import Media
from archive.services import iiif_manifests
from core.extensions import db
from tests.fixtures.archive import create_record, image_bytes, multipage_tiff, upload
from tests.fixtures.users import auth_headers

SCHEMA = json.loads(
    (
        Path(__file__).resolve().parent.parent / "fixtures/iiif/presentation-3.schema.json"
    ).read_text()
)
CONTEXT = "http://iiif.io/api/presentation/3/context.json"


def schema_errors(document: dict) -> list[str]:
    """What the Presentation 3 schema finds wrong with a Manifest or a Collection."""
    kind = document.get("type")
    assert kind in ("Manifest", "Collection")
    checker = jsonschema_rs.validator_for({"$ref": f"#/$defs/{kind}", "$defs": SCHEMA["$defs"]})
    return [
        "/" + "/".join(map(str, error.instance_path)) + ": " + error.message
        for error in checker.iter_errors(document)
    ]


def add_image(client, record, headers, data: bytes, filename="scan.jpg") -> int:
    response = upload(client, record.id, data, headers, filename)
    assert response.status_code == 202, response.json
    assert db.session.get(Media, response.json["id"]).status == "ready"
    return response.json["id"]


@pytest.fixture
def described(client, archivist, archivist_headers):
    """A published record with a photo (1200×800) and a two-page TIFF; (record, photo id,
    TIFF id)."""
    record = create_record(
        archivist,
        visibility="published",
        title="의정부 관아",
        alt_title="議政府 官衙",
        description="관아 앞 거리 풍경",
        creator="조선총독부",
        contributor="의정부시",
        rights="KOGL-1",
        subjects=["관아", "거리"],
        collections=["유리건판 사진"],
        source="국립중앙박물관",
        language="ko",
    )
    photo = add_image(
        client, record, archivist_headers, image_bytes("JPEG", size=(1200, 800)), "photo.jpg"
    )
    pages = [Image.new("RGB", (600, 900), "white"), Image.new("RGB", (700, 500), "gray")]
    tiff = add_image(client, record, archivist_headers, multipage_tiff(pages), "pages.tif")
    return record, photo, tiff


def test_a_record_is_a_valid_manifest(client, described):
    record, photo, tiff = described
    response = client.get(f"/iiif/3/records/{record.identifier}/manifest.json")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    manifest = response.json
    assert schema_errors(manifest) == []
    assert manifest["@context"] == CONTEXT
    assert manifest["id"] == f"http://localhost/iiif/3/records/{record.identifier}/manifest.json"
    assert manifest["label"] == {"ko": ["의정부 관아"], "ko-Hani": ["議政府 官衙"]}
    assert manifest["summary"] == {"ko": ["관아 앞 거리 풍경"]}
    assert manifest["rights"] == "http://www.kogl.or.kr/info/licenseType1.do"
    assert manifest["requiredStatement"]["value"] == {
        "ko": ["의정부시, 「의정부 관아」, 공공누리 제1유형: 출처표시"]
    }
    metadata = {pair["label"]["en"][0]: pair["value"] for pair in manifest["metadata"]}
    assert metadata["Identifier"] == {"none": [record.identifier]}
    assert metadata["Type"] == {"ko": ["사진"]}
    assert metadata["Creator"] == {"ko": ["조선총독부"]}
    assert metadata["Subjects"] == {"ko": ["관아", "거리"]}
    assert metadata["Collections"] == {"ko": ["유리건판 사진"]}
    assert manifest["partOf"][0]["id"].endswith(
        "/iiif/3/collections/%EC%9C%A0%EB%A6%AC%EA%B1%B4%ED%8C%90%20%EC%82%AC%EC%A7%84.json"
    )
    assert manifest["homepage"][0]["id"] == f"http://localhost/archive/records/{record.identifier}"
    assert manifest["behavior"] == ["paged"]

    canvases = manifest["items"]
    assert [(c["width"], c["height"]) for c in canvases] == [(1200, 800), (600, 900), (700, 500)]
    assert [c["label"]["ko"][0] for c in canvases] == [
        "이미지 1",
        "이미지 2 - 1쪽",
        "이미지 2 - 2쪽",
    ]
    services = [c["items"][0]["items"][0]["body"]["service"][0] for c in canvases]
    assert [s["id"] for s in services] == [
        f"http://localhost/iiif/3/{photo}",
        f"http://localhost/iiif/3/{tiff}",
        f"http://localhost/iiif/3/{tiff}-p2",
    ]
    assert {(s["type"], s["profile"]) for s in services} == {("ImageService3", "level2")}
    for canvas in canvases:
        annotation = canvas["items"][0]["items"][0]
        assert annotation["motivation"] == "painting" and annotation["target"] == canvas["id"]
        body = annotation["body"]
        # every image the manifest names is there, at the size it says
        image = client.get(body["id"].removeprefix("http://localhost"))
        assert image.status_code == 200
        assert Image.open(io.BytesIO(image.data)).size == (body["width"], body["height"])
        info = client.get(body["service"][0]["id"].removeprefix("http://localhost") + "/info.json")
        assert (info.json["width"], info.json["height"]) == (canvas["width"], canvas["height"])
        thumbnail = canvas["thumbnail"][0]
        answer = client.get(thumbnail["id"].removeprefix("http://localhost"))
        assert answer.status_code == 200
        assert Image.open(io.BytesIO(answer.data)).size == (thumbnail["width"], thumbnail["height"])
    assert manifest["thumbnail"] == canvases[0]["thumbnail"]


def test_the_manifest_is_json_ld_when_asked(client, described):
    record, _, _ = described
    response = client.get(
        f"/iiif/3/records/{record.identifier}/manifest.json",
        headers={"Accept": "application/ld+json"},
    )
    assert response.headers["Content-Type"] == f'application/ld+json;profile="{CONTEXT}"'


@pytest.mark.parametrize(
    "title, alt_title, label",
    [
        ("議政府 官衙", None, {"ko-Hani": ["議政府 官衙"]}),
        ("의정부 관아", "議政府 官衙", {"ko": ["의정부 관아"], "ko-Hani": ["議政府 官衙"]}),
        ("議政府 관아", None, {"ko": ["議政府 관아"]}),  # mixed script is Korean
        ("의정부 관아", "관아 정문", {"ko": ["의정부 관아"]}),  # the other title: metadata
    ],
)
def test_labels_are_language_maps(client, archivist, archivist_headers, title, alt_title, label):
    record = create_record(archivist, visibility="published", title=title, alt_title=alt_title)
    add_image(client, record, archivist_headers, image_bytes("PNG", size=(300, 200)), "a.png")
    manifest = client.get(f"/iiif/3/records/{record.identifier}/manifest.json").json
    assert manifest["label"] == label
    assert schema_errors(manifest) == []


@pytest.mark.parametrize(
    "rights, uri",
    [
        ("KOGL-2", "http://www.kogl.or.kr/info/licenseType2.do"),
        ("KOGL-4", "http://www.kogl.or.kr/info/licenseType4.do"),
        ("CC0", "http://creativecommons.org/publicdomain/zero/1.0/"),
        ("CC-BY-4.0", "http://creativecommons.org/licenses/by/4.0/"),
        ("CC-BY-NC-SA-2.0", "http://creativecommons.org/licenses/by-nc-sa/2.0/"),
        ("CC-BY-ND", "http://creativecommons.org/licenses/by-nd/4.0/"),
        (None, None),
    ],
)
def test_rights_are_licence_uris(rights, uri):
    assert iiif_manifests.rights_uri(rights) == uri
    if uri is not None:
        checker = jsonschema_rs.validator_for({"$ref": "#/$defs/rights", "$defs": SCHEMA["$defs"]})
        assert checker.is_valid(uri)


def test_the_schema_refuses_what_the_specification_forbids(client, described):
    record, _, _ = described
    manifest = client.get(f"/iiif/3/records/{record.identifier}/manifest.json").json
    broken = json.loads(json.dumps(manifest))
    broken["label"] = "의정부 관아"  # not a language map
    broken["rights"] = "https://example.com/licence"
    del broken["items"][0]["height"]
    broken["items"][1]["items"][0]["items"][0].pop("motivation")
    errors = "\n".join(schema_errors(broken))
    assert "/label" in errors and "/rights" in errors
    assert "/items/0" in errors and "/items/1/items/0/items/0" in errors
    assert schema_errors({**manifest, "items": []}) != []


def test_drafts_only_for_archivists(client, archivist, archivist_headers, resident):
    record = create_record(archivist)
    add_image(client, record, archivist_headers, image_bytes("PNG", size=(300, 200)), "a.png")
    path = f"/iiif/3/records/{record.identifier}/manifest.json"
    refused = client.get(path)
    assert refused.status_code == 404 and refused.json["code"] == "not_found"
    assert client.get(path, headers=auth_headers(resident)).status_code == 404
    staff = client.get(path, headers=archivist_headers)
    assert staff.status_code == 200 and staff.headers["Cache-Control"] == "private, no-store"
    assert schema_errors(staff.json) == []
    # the images of the draft are the archivist's too
    image = staff.json["items"][0]["items"][0]["items"][0]["body"]["id"]
    assert client.get(image.removeprefix("http://localhost")).status_code == 404
    assert (
        client.get(image.removeprefix("http://localhost"), headers=archivist_headers).status_code
        == 200
    )


def test_withdrawn_records_and_records_without_images_have_no_manifest(
    client, archivist, archivist_headers, described
):
    record, _, _ = described
    path = f"/iiif/3/records/{record.identifier}/manifest.json"
    assert client.get(path).status_code == 200
    client.post(f"/api/archive/records/{record.id}/withdraw", headers=archivist_headers)
    assert client.get(path).status_code == 404
    bare = create_record(archivist, visibility="published")
    assert client.get(f"/iiif/3/records/{bare.identifier}/manifest.json").status_code == 404
    assert client.get("/iiif/3/records/NO-SUCH-1/manifest.json").status_code == 404


def test_collections_are_iiif_collections(client, archivist, archivist_headers, described):
    record, _, _ = described
    other = create_record(
        archivist, visibility="published", title="회룡사", collections=["유리건판 사진"]
    )
    add_image(client, other, archivist_headers, image_bytes("PNG", size=(300, 200)), "b.png")
    create_record(archivist, visibility="published", collections=["글만 있는 모음"])  # no image
    hidden = create_record(archivist, title="초안", collections=["유리건판 사진"])
    add_image(client, hidden, archivist_headers, image_bytes("PNG", size=(300, 200)), "c.png")
    response = client.get("/iiif/3/collections/유리건판 사진.json")
    assert response.status_code == 200
    collection = response.json
    assert schema_errors(collection) == []
    assert collection["label"] == {"ko": ["유리건판 사진"]}
    assert collection["id"] == (
        "http://localhost/iiif/3/collections/%EC%9C%A0%EB%A6%AC%EA%B1%B4%ED%8C%90%20%EC%82%AC%EC%A7%84.json"
    )
    items = {item["label"]["ko"][0]: item for item in collection["items"]}
    assert sorted(items) == ["의정부 관아", "회룡사"]  # not the draft
    assert items["회룡사"]["id"] == (
        f"http://localhost/iiif/3/records/{other.identifier}/manifest.json"
    )
    assert client.get(collection["id"].removeprefix("http://localhost")).status_code == 200
    top = client.get("/iiif/3/collections.json").json
    assert schema_errors(top) == []
    assert [item["id"] for item in top["items"]] == [collection["id"]]
    assert client.get("/iiif/3/collections/없는 모음.json").status_code == 404


def test_the_api_record_names_its_manifest(client, archivist, archivist_headers, described):
    record, _, _ = described
    found = client.get(f"/api/archive/records/{record.id}").json
    assert found["iiif_manifest"] == (
        f"http://localhost/iiif/3/records/{record.identifier}/manifest.json"
    )
    bare = create_record(archivist, visibility="published")
    assert client.get(f"/api/archive/records/{bare.id}").json["iiif_manifest"] is None


def test_the_record_page_links_its_manifest(client, described):
    record, photo, _ = described
    page = client.get(f"/archive/records/{record.identifier}").get_data(as_text=True)
    manifest = f"/iiif/3/records/{record.identifier}/manifest.json"
    assert f'href="{manifest}" title="IIIF Presentation 3.0"' in page
    assert f'data-manifest="{manifest}"' in page
    assert 'class="iiif-manifest"' in page
    assert f'data-iiif-image="/iiif/3/{photo}"' in page
