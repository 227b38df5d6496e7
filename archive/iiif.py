"""IIIF doors: the Image API 3.0 (level 2) for every page of a media item, and the Presentation
API 3.0 for records (Manifests) and collections (Collections).

Image identifiers: ``{media_id}`` is a media item's first (or only) page, ``{media_id}-p{n}``
its page n (n >= 2) of a multi-page TIFF. Everything is public for published records; an
archivist's bearer token also reaches drafts (answered ``private``). Errors are the one JSON
error shape of ``core.errors``; every answer is open to other origins (CORS) for GET.
"""

from __future__ import annotations

import flask
from flask import jsonify, redirect, request, send_file

from archive.services import iiif_images, iiif_manifests
from archive.settings import ArchiveSettings
from core.auth import current_user
from core.settings import settings_of
from core.transactions import in_unit_of_work

STAFF = ("archivist",)
IMAGE_JSONLD = f'application/ld+json;profile="{iiif_images.IMAGE_CONTEXT}"'
PRESENTATION_JSONLD = f'application/ld+json;profile="{iiif_manifests.PRESENTATION_CONTEXT}"'


class IIIFBlueprint(flask.Blueprint):
    """Every view one unit of work, as API and page views are."""

    def add_url_rule(self, rule, endpoint=None, view_func=None, *args, **kwargs):
        if view_func is not None:
            view_func = in_unit_of_work(view_func)
        return super().add_url_rule(rule, endpoint, view_func, *args, **kwargs)


blp = IIIFBlueprint("iiif", __name__, url_prefix="/iiif/3")


def _staff() -> bool:
    user = current_user()
    return user is not None and user.has_any_role(STAFF)


def _base_url() -> str:
    return request.host_url.rstrip("/")


def _json(body: dict, public: bool, profile: str):
    """JSON, or JSON-LD with the API's profile when the client asks for it (Accept)."""
    response = jsonify(body)
    wants_ld = "application/ld+json" in request.headers.get("Accept", "")
    response.headers["Content-Type"] = profile if wants_ld else "application/json"
    response.headers["Vary"] = "Accept, Authorization"
    # Revalidated before each use, so a withdrawn record is gone at once everywhere.
    response.headers["Cache-Control"] = "public, no-cache" if public else "private, no-store"
    return response


@blp.get("/<identifier>")
def image_base(identifier):
    """The image's base URI sends the client to its information (303)."""
    return redirect(f"{_base_url()}/iiif/3/{identifier}/info.json", code=303)


@blp.get("/<identifier>/info.json")
def image_info(identifier):
    """Image information: size, tiles, sizes, limits and what the service can do."""
    body, public = iiif_images.info(
        identifier,
        may_see_unpublished=_staff(),
        base_url=_base_url(),
        settings=settings_of(ArchiveSettings),
    )
    response = _json(body, public, IMAGE_JSONLD)
    response.headers["Link"] = f'<{iiif_images.PROFILE_URI}>;rel="profile"'
    return response


@blp.get("/<identifier>/<region>/<size>/<rotation>/<quality_format>")
def image(identifier, region, size, rotation, quality_format):
    """An image: region, size, rotation (mirrored with !), quality and format."""
    answer = iiif_images.image(
        identifier,
        region,
        size,
        rotation,
        quality_format,
        may_see_unpublished=_staff(),
        settings=settings_of(ArchiveSettings),
    )
    response = send_file(answer.path, mimetype=answer.mime, conditional=True, etag=True)
    response.headers["Cache-Control"] = "public, no-cache" if answer.published else "private"
    response.headers["Vary"] = "Authorization"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Link"] = (
        f'<{_base_url()}/iiif/3/{answer.canonical}>;rel="canonical", '
        f'<{iiif_images.PROFILE_URI}>;rel="profile"'
    )
    return response


@blp.get("/records/<identifier>/manifest.json")
def manifest(identifier):
    """A record as a Presentation 3.0 Manifest: one Canvas per image or TIFF page."""
    body, public = iiif_manifests.manifest(
        identifier,
        may_see_unpublished=_staff(),
        base_url=_base_url(),
        settings=settings_of(ArchiveSettings),
    )
    return _json(body, public, PRESENTATION_JSONLD)


@blp.get("/collections.json")
def collections():
    """Every collection, as the archive's top Collection."""
    return _json(iiif_manifests.collections(base_url=_base_url()), True, PRESENTATION_JSONLD)


@blp.get("/collections/<path:name>.json")
def collection(name):
    """A collection's published records with images, as a Collection of Manifests."""
    body = iiif_manifests.collection(
        name, base_url=_base_url(), settings=settings_of(ArchiveSettings)
    )
    return _json(body, True, PRESENTATION_JSONLD)


@blp.after_app_request
def open_to_other_origins(response):
    """Viewers on other sites read IIIF answers (errors included): CORS for GET."""
    if request.path.startswith("/iiif/"):
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Accept"
        response.headers["Access-Control-Expose-Headers"] = "Link"
    return response
