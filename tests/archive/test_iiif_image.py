"""IIIF Image API 3.0, level 2: requests parsed and refused as the API says, pixels cut from
the pyramid, visibility checked on every request, answers cached under a cap; and the
``iiif-validator`` suite at level 2 against the live gunicorn server."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from archive.models import Media
from archive.services import iiif_images
from archive.services.iiif_images import BadImageRequest, ImageId, Limits, NotSupported
from core.errors import NotFound
from core.extensions import db
from tests.fixtures.archive import (
    create_record,
    multipage_tiff,
    upload,
    use_archive_settings,
)
from tests.fixtures.users import auth_headers

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "iiif"
VALIDATOR_IMAGE = FIXTURES / "67352ccc-d1b0-11e1-89ae-279075081939.png"

RED, GREEN, BLUE, YELLOW = (220, 30, 30), (30, 200, 40), (30, 40, 220), (230, 220, 20)


def quadrants(size=(1200, 900)) -> Image.Image:
    """Red top left, green top right, blue bottom left, yellow bottom right."""
    w, h = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, w // 2 - 1, h // 2 - 1), fill=RED)
    draw.rectangle((w // 2, 0, w - 1, h // 2 - 1), fill=GREEN)
    draw.rectangle((0, h // 2, w // 2 - 1, h - 1), fill=BLUE)
    draw.rectangle((w // 2, h // 2, w - 1, h - 1), fill=YELLOW)
    return image


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def near(color, expected, tolerance=12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(color, expected, strict=False))


def color_at(image: Image.Image, x: int, y: int):
    return image.convert("RGB").getpixel((x, y))


def add_image(client, record, headers, data: bytes, filename="scan.png") -> int:
    response = upload(client, record.id, data, headers, filename)
    assert response.status_code == 202, response.json
    media = db.session.get(Media, response.json["id"])
    assert media.status == "ready", media.failure_reason
    return media.id


@pytest.fixture
def picture(client, archivist, archivist_headers):
    """A published record with the four-colour 1200×900 picture; yields its media id."""
    record = create_record(archivist, visibility="published")
    return add_image(client, record, archivist_headers, png(quadrants()))


def get_image(client, path: str, **kwargs) -> Image.Image:
    response = client.get(path, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    return Image.open(io.BytesIO(response.data))


# --- parsing (pure) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "region, size, rotation, qf",
    [
        ("full", "max", "0", "default.jpg"),
        ("square", "^max", "90", "color.png"),
        ("10,20,30,40", "120,", "180", "gray.webp"),
        ("pct:10.5,0,50,50", ",80", "!270", "bitonal.png"),
        ("full", "pct:50", "!0", "default.jpg"),
        ("full", "^pct:150", "360", "default.jpg"),
        ("full", "100,80", "0", "default.jpg"),
        ("full", "!100,80", "0", "default.jpg"),
        ("full", "^!1000,800", "0", "default.jpg"),
    ],
)
def test_well_formed_requests_parse(region, size, rotation, qf):
    request = iiif_images.parse("12", region, size, rotation, qf)
    assert request.image == ImageId(12, 1)
    assert request.rotation in (0, 90, 180, 270)
    assert request.mirror == rotation.startswith("!")


@pytest.mark.parametrize(
    "region, size, rotation, qf",
    [
        ("10,20,30", "max", "0", "default.jpg"),
        ("0,0,0,5", "max", "0", "default.jpg"),
        ("pct:10,10,0,10", "max", "0", "default.jpg"),
        ("-1,0,10,10", "max", "0", "default.jpg"),
        ("fullish", "max", "0", "default.jpg"),
        ("full", "full", "0", "default.jpg"),  # 2.x's full is max in 3.0
        ("full", "0,", "0", "default.jpg"),
        ("full", ",0", "0", "default.jpg"),
        ("full", "!10,", "0", "default.jpg"),
        ("full", "pct:0", "0", "default.jpg"),
        ("full", ",", "0", "default.jpg"),
        ("full", "max", "-90", "default.jpg"),
        ("full", "max", "361", "default.jpg"),
        ("full", "max", "ninety", "default.jpg"),
        ("full", "max", "0", "best.jpg"),
        ("full", "max", "0", "default.xyz"),
        ("full", "max", "0", "default"),
    ],
)
def test_malformed_requests_are_400(region, size, rotation, qf):
    with pytest.raises(BadImageRequest) as caught:
        iiif_images.parse("12", region, size, rotation, qf)
    assert caught.value.status == 400


@pytest.mark.parametrize(
    "rotation, qf",
    [("45", "default.jpg"), ("!22.5", "default.jpg"), ("0", "default.tif"), ("0", "color.gif")],
)
def test_what_level_2_does_not_require_is_501(rotation, qf):
    with pytest.raises(NotSupported) as caught:
        iiif_images.parse("12", "full", "max", rotation, qf)
    assert caught.value.status == 501


@pytest.mark.parametrize("text", ["abc", "0", "12-p1", "12-p", "12-x2", "99999999999", "1/2"])
def test_identifiers_of_no_image_are_404(text):
    with pytest.raises(NotFound):
        iiif_images.parse_identifier(text)


def test_pages_are_named_after_the_media_item():
    assert iiif_images.parse_identifier("7") == ImageId(7, 1)
    assert iiif_images.parse_identifier("7-p12") == ImageId(7, 12)
    assert ImageId(7, 12).text == "7-p12" and ImageId(7).text == "7"


LIMITS = Limits(max_width=2000, max_height=2000, max_area=2_000_000)


@pytest.mark.parametrize(
    "size, expected",
    [
        ("max", (1200, 900)),
        ("600,", (600, 450)),
        (",450", (600, 450)),
        ("pct:25", (300, 225)),
        ("300,300", (300, 300)),
        ("!300,300", (300, 225)),
        ("^1600,", (1600, 1200)),
        ("^max", (1632, 1224)),  # the area limit decides
    ],
)
def test_sizes_resolve(size, expected):
    request = iiif_images.parse("1", "full", size, "0", "default.jpg")
    assert iiif_images.resolve(request, 1200, 900, LIMITS).size == expected


@pytest.mark.parametrize("size", ["1600,", ",1000", "pct:101", "1300,900", "!2000,3000"])
def test_larger_than_the_region_needs_the_caret(size):
    request = iiif_images.parse("1", "full", size, "0", "default.jpg")
    with pytest.raises(BadImageRequest, match="upscale"):
        iiif_images.resolve(request, 1200, 900, LIMITS)


def test_beyond_the_service_limits_is_400():
    request = iiif_images.parse("1", "full", "^2100,", "0", "default.jpg")
    with pytest.raises(BadImageRequest, match="maxWidth"):
        iiif_images.resolve(request, 1200, 900, LIMITS)


def test_regions_are_cut_to_the_image_and_outside_is_400():
    parse = iiif_images.parse
    assert iiif_images.resolve(
        parse("1", "1000,800,500,500", "max", "0", "default.jpg"), 1200, 900, LIMITS
    ).box == (1000, 800, 200, 100)
    assert iiif_images.resolve(
        parse("1", "square", "max", "0", "default.jpg"), 1200, 900, LIMITS
    ).box == (150, 0, 900, 900)
    resolved = iiif_images.resolve(
        parse("1", "pct:50,50,50,50", "max", "!90", "gray.png"), 1200, 900, LIMITS
    )
    assert resolved.box == (600, 450, 600, 450)
    assert resolved.canonical == "600,450,600,450/max/!90/gray.png"
    with pytest.raises(BadImageRequest, match="outside"):
        iiif_images.resolve(
            parse("1", "1200,0,10,10", "max", "0", "default.jpg"), 1200, 900, LIMITS
        )


# --- over HTTP ----------------------------------------------------------------------------


def test_info_json_describes_a_level_2_service(client, picture):
    response = client.get(f"/iiif/3/{picture}/info.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert 'rel="profile"' in response.headers["Link"]
    info = response.json
    assert info["@context"] == "http://iiif.io/api/image/3/context.json"
    assert info["id"] == f"http://localhost/iiif/3/{picture}"
    assert (info["type"], info["protocol"], info["profile"]) == (
        "ImageService3",
        "http://iiif.io/api/image",
        "level2",
    )
    assert (info["width"], info["height"]) == (1200, 900)
    assert info["tiles"] == [{"width": 512, "height": 512, "scaleFactors": [1, 2, 4]}]
    assert info["sizes"] == [
        {"width": 300, "height": 225},
        {"width": 600, "height": 450},
        {"width": 1200, "height": 900},
    ]
    assert info["maxWidth"] == 6000 and info["maxArea"] == 24_000_000


def test_info_json_is_json_ld_when_asked(client, picture):
    response = client.get(f"/iiif/3/{picture}/info.json", headers={"Accept": "application/ld+json"})
    assert response.headers["Content-Type"] == (
        'application/ld+json;profile="http://iiif.io/api/image/3/context.json"'
    )
    assert response.json["id"].endswith(f"/iiif/3/{picture}")


def test_the_base_uri_redirects_to_info_json(client, picture):
    response = client.get(f"/iiif/3/{picture}")
    assert response.status_code == 303
    assert response.headers["Location"] == f"http://localhost/iiif/3/{picture}/info.json"


def test_regions_sizes_and_colours(client, picture):
    base = f"/iiif/3/{picture}"
    full = get_image(client, f"{base}/full/max/0/default.jpg")
    assert full.size == (1200, 900) and full.format == "JPEG"
    assert near(color_at(full, 100, 100), RED) and near(color_at(full, 1100, 800), YELLOW)
    corner = get_image(client, f"{base}/600,0,600,450/max/0/default.png")
    assert corner.size == (600, 450) and corner.format == "PNG"
    assert near(color_at(corner, 300, 200), GREEN)
    pct = get_image(client, f"{base}/pct:0,50,50,50/150,/0/default.jpg")
    assert pct.size == (150, 112) and near(color_at(pct, 75, 56), BLUE)
    assert get_image(client, f"{base}/full/,300/0/default.jpg").size == (400, 300)
    assert get_image(client, f"{base}/full/pct:10/0/default.jpg").size == (120, 90)
    assert get_image(client, f"{base}/full/200,200/0/default.jpg").size == (200, 200)
    assert get_image(client, f"{base}/full/!200,200/0/default.jpg").size == (200, 150)
    assert get_image(client, f"{base}/square/100,/0/default.jpg").size == (100, 100)
    assert get_image(client, f"{base}/0,0,100,100/^300,/0/default.jpg").size == (300, 300)


def test_rotation_and_mirroring(client, picture):
    base = f"/iiif/3/{picture}/full/400,/"
    turned = get_image(client, base + "90/default.png")
    assert turned.size == (300, 400)
    # clockwise: the top left (red) goes to the top right, the bottom left (blue) to the top left
    assert near(color_at(turned, 250, 50), RED) and near(color_at(turned, 50, 50), BLUE)
    mirrored = get_image(client, base + "!0/default.png")
    assert near(color_at(mirrored, 50, 50), GREEN) and near(color_at(mirrored, 350, 50), RED)
    both = get_image(client, base + "!180/default.png")
    # mirrored then turned half way: flipped top to bottom
    assert near(color_at(both, 50, 50), BLUE) and near(color_at(both, 350, 250), GREEN)


def test_qualities_and_formats(client, picture):
    base = f"/iiif/3/{picture}/full/300,/0/"
    assert get_image(client, base + "gray.jpg").mode == "L"
    bitonal = get_image(client, base + "bitonal.png")
    assert bitonal.mode == "1"
    assert {value for _, value in bitonal.convert("L").getcolors()} <= {0, 255}
    assert get_image(client, base + "color.jpg").mode == "RGB"
    webp = client.get(base + "default.webp")
    assert webp.headers["Content-Type"] == "image/webp"
    assert Image.open(io.BytesIO(webp.data)).format == "WEBP"
    png_answer = client.get(base + "default.png")
    assert png_answer.headers["Content-Type"] == "image/png"
    canonical = f'<http://localhost/iiif/3/{picture}/full/300,225/0/default.png>;rel="canonical"'
    assert canonical in png_answer.headers["Link"]


@pytest.mark.parametrize(
    "path, status, code",
    [
        ("/full/max/0/default.xyz", 400, "iiif_bad_request"),
        ("/10,10/max/0/default.jpg", 400, "iiif_bad_request"),
        ("/full/2000,/0/default.jpg", 400, "iiif_bad_request"),
        ("/full/max/45/default.jpg", 501, "iiif_not_implemented"),
        ("/full/max/0/default.tif", 501, "iiif_not_implemented"),
        ("/5000,5000,10,10/max/0/default.jpg", 400, "iiif_bad_request"),
    ],
)
def test_refusals_are_json_errors(client, picture, path, status, code):
    response = client.get(f"/iiif/3/{picture}{path}")
    assert response.status_code == status
    assert response.json["code"] == code and response.json["status"] == status
    assert response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("identifier", ["999999", "a-b", "[frob]", "12-p1"])
def test_unknown_images_are_404_json(client, picture, identifier):
    for path in (f"/iiif/3/{identifier}/info.json", f"/iiif/3/{identifier}/full/max/0/default.jpg"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json["code"] == "not_found"
    assert client.get("/iiif/3/a/b/full/max/0/default.jpg").json["code"] == "not_found"


def test_drafts_are_hidden_except_from_archivists(client, archivist, archivist_headers):
    record = create_record(archivist)  # a draft
    media_id = add_image(client, record, archivist_headers, png(quadrants((400, 300))))
    path = f"/iiif/3/{media_id}/full/max/0/default.jpg"
    assert client.get(path).status_code == 404
    assert client.get(f"/iiif/3/{media_id}/info.json").status_code == 404
    staff = client.get(path, headers=archivist_headers)
    assert staff.status_code == 200
    assert staff.headers["Cache-Control"] == "private"
    info = client.get(f"/iiif/3/{media_id}/info.json", headers=archivist_headers)
    assert info.status_code == 200 and "private" in info.headers["Cache-Control"]


def test_a_resident_token_does_not_reach_drafts(client, archivist, archivist_headers, resident):
    record = create_record(archivist)
    media_id = add_image(client, record, archivist_headers, png(quadrants((400, 300))))
    response = client.get(f"/iiif/3/{media_id}/info.json", headers=auth_headers(resident))
    assert response.status_code == 404


def test_withdrawing_stops_the_images_at_once(client, archivist, archivist_headers):
    record = create_record(archivist, visibility="published")
    media_id = add_image(client, record, archivist_headers, png(quadrants((400, 300))))
    path = f"/iiif/3/{media_id}/full/200,/0/default.jpg"
    first = client.get(path)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "public, no-cache"
    assert client.get(path).status_code == 200  # from the cache now
    response = client.post(f"/api/archive/records/{record.id}/withdraw", headers=archivist_headers)
    assert response.status_code == 200
    assert client.get(path).status_code == 404
    assert client.get(f"/iiif/3/{media_id}/info.json").status_code == 404


def test_pages_of_a_multipage_tiff_are_images_of_their_own(client, archivist, archivist_headers):
    record = create_record(archivist, visibility="published")
    first, second = quadrants((600, 400)), Image.new("RGB", (300, 500), BLUE)
    data = multipage_tiff([first, second])
    media_id = add_image(client, record, archivist_headers, data, "pages.tif")
    info = client.get(f"/iiif/3/{media_id}-p2/info.json").json
    assert (info["width"], info["height"]) == (300, 500)
    assert info["id"].endswith(f"/iiif/3/{media_id}-p2")
    page_two = get_image(client, f"/iiif/3/{media_id}-p2/full/max/0/default.png")
    assert page_two.size == (300, 500) and near(color_at(page_two, 150, 250), BLUE)
    page_one = get_image(client, f"/iiif/3/{media_id}/full/max/0/default.png")
    assert page_one.size == (600, 400) and near(color_at(page_one, 10, 10), RED)
    assert client.get(f"/iiif/3/{media_id}-p3/info.json").status_code == 404


def test_a_big_scan_is_served_from_its_pyramid_not_its_original(
    app, client, archivist, archivist_headers
):
    record = create_record(archivist, visibility="published")
    media_id = add_image(client, record, archivist_headers, png(quadrants((3000, 2000))))
    info = client.get(f"/iiif/3/{media_id}/info.json").json
    assert info["tiles"][0]["scaleFactors"] == [1, 2, 4, 8]
    # a tile at scale 4: 2048 pixels square of the full image, answered 512 wide
    tile = get_image(client, f"/iiif/3/{media_id}/0,0,2048,2048/512,/0/default.jpg")
    assert tile.size == (512, 500)  # cut at the bottom edge: 2048×2000 → 512×500
    assert near(color_at(tile, 100, 100), RED) and near(color_at(tile, 500, 100), GREEN)
    media = db.session.get(Media, media_id)
    root = iiif_images.pyramid_root(app.config["MEDIA_DIR"], media.sha256, 1)
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["l0", "l1", "l2", "l3"]
    assert len(list((root / "l2").iterdir())) == 2  # 750×500: two 512 tiles across
    # With the original gone, new answers still come from the pyramid's tiles.
    Path(app.config["MEDIA_DIR"], media.original_path).unlink()
    again = get_image(client, f"/iiif/3/{media_id}/1024,1024,1024,976/256,/0/gray.png")
    assert again.size == (256, 244) and again.mode == "L"
    assert color_at(again, 200, 200) == color_at(again, 250, 240)  # yellow, in gray


def test_the_answer_cache_keeps_under_its_cap(app, client, monkeypatch, picture):
    cap = 8_000
    use_archive_settings(monkeypatch, iiif_cache_max_bytes=cap)
    cache = iiif_images.cache_dir(app.config["MEDIA_DIR"])
    shutil.rmtree(cache, ignore_errors=True)
    sent = 0
    for width in range(200, 400, 10):
        response = client.get(f"/iiif/3/{picture}/full/{width},/0/default.png")
        assert response.status_code == 200
        sent += len(response.data)
    assert sent > 2 * cap  # without eviction the cache would hold all of it
    files = list(cache.rglob("*.png"))
    assert sum(p.stat().st_size for p in files) <= cap
    assert 0 < len(files) < 20  # the oldest went
    newest = iiif_images.cache_path(
        app.config["MEDIA_DIR"],
        f"v1/{db.session.get(Media, picture).sha256}/{picture}/full/390,292/0/default.png",
        "png",
    )
    assert newest.exists()
    first = iiif_images.cache_path(
        app.config["MEDIA_DIR"],
        f"v1/{db.session.get(Media, picture).sha256}/{picture}/full/200,150/0/default.png",
        "png",
    )
    assert not first.exists()


def test_deleting_media_removes_its_pyramids(app, client, archivist, archivist_headers):
    record = create_record(archivist, visibility="published")
    media_id = add_image(client, record, archivist_headers, png(quadrants((400, 300))))
    assert client.get(f"/iiif/3/{media_id}/full/max/0/default.jpg").status_code == 200
    sha = db.session.get(Media, media_id).sha256
    folder = iiif_images.pyramid_folder(app.config["MEDIA_DIR"], sha)
    assert folder.is_dir()
    response = client.delete(
        f"/api/archive/records/{record.id}/media/{media_id}", headers=archivist_headers
    )
    assert response.status_code == 204
    assert not folder.exists()
    assert client.get(f"/iiif/3/{media_id}/info.json").status_code == 404


def test_a_pyramid_made_twice_keeps_the_first_in_place(tmp_path):
    """Two servers whose shared storage does not carry the build lock across machines may both
    make a page's pyramid: the second finds the first in place and leaves it to its readers."""
    original = tmp_path / "scan.png"
    original.write_bytes(png(quadrants((1100, 700))))
    root = iiif_images.pyramid_root(str(tmp_path / "media"), "ab" * 32, 1)
    first = iiif_images.build_pyramid(original, 1, root)
    tile = first.tile_path(0, 1, 1)
    inode = tile.stat().st_ino
    second = iiif_images.build_pyramid(original, 1, root)
    assert second == first
    assert tile.stat().st_ino == inode  # the file its readers opened, never removed
    assert [p.name for p in root.parent.iterdir() if p.name.startswith(".build-")] == []


# --- the IIIF validator, at level 2, through gunicorn ---------------------------------------


@pytest.mark.slow
def test_every_level_2_test_of_the_iiif_validator_passes(client, archivist, live_server):
    from iiif_validator.validator import ImageAPI, TestSuite, ValidationInfo  # test tool only

    record = create_record(archivist, visibility="published")
    media_id = add_image(
        client, record, auth_headers(archivist), VALIDATOR_IMAGE.read_bytes(), "validator.png"
    )
    db.session.rollback()  # hold no SQLite lock while the server works
    server = live_server.url.removeprefix("http://")
    names = {
        name: info
        for name, info in TestSuite(ValidationInfo()).list_tests("3.0").items()
        if info["level"] <= 2
    }
    assert len(names) >= 30
    failures = {}
    for name in sorted(names):
        result = ImageAPI(str(media_id), server, "iiif/3", "http", "", "3.0", debug=False)
        TestSuite(ValidationInfo()).run_test(name, result)
        if result.exception is not None:
            error = result.exception
            failures[name] = f"{error.type}: got {error.got}, expected {error.expected}"
    assert failures == {}
