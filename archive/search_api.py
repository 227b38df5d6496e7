"""``GET /api/archive/search``: Korean full-text search over archive records."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app
from marshmallow import validate

from archive.models import RECORD_TYPES, VISIBILITIES
from archive.search import searcher
from core.auth import current_user
from core.errors import Forbidden
from core.http import Blueprint

blp = Blueprint(
    "archive_search",
    __name__,
    url_prefix="/api/archive",
    description="Korean full-text search over the local-culture archive",
)
STAFF = ("archivist",)
ALL = "all"


class SearchQuerySchema(ma.Schema):
    q = ma.fields.String(
        load_default="",
        validate=validate.Length(max=500),
        metadata={"example": "의정부 회룡사", "description": "Words in Korean, Hanja or English"},
    )
    type = ma.fields.String(validate=validate.OneOf(RECORD_TYPES), metadata={"example": "photo"})
    subject = ma.fields.String(validate=validate.Length(max=100), metadata={"example": "사찰"})
    place = ma.fields.String(validate=validate.Length(max=200), metadata={"example": "호원동"})
    collection = ma.fields.String(
        validate=validate.Length(max=100), metadata={"example": "유리건판 사진"}
    )
    year_from = ma.fields.Integer(validate=validate.Range(-3000, 3000), metadata={"example": 1900})
    year_to = ma.fields.Integer(validate=validate.Range(-3000, 3000), metadata={"example": 1959})
    sort = ma.fields.String(
        load_default="relevance",
        validate=validate.OneOf(searcher.SORTS),
        metadata={"example": "relevance"},
    )
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=10000))
    per_page = ma.fields.Integer(
        load_default=20,
        validate=validate.Range(min=1),
        metadata={"description": "Capped at the configured maximum (100)"},
    )
    visibility = ma.fields.String(
        validate=validate.OneOf([*VISIBILITIES, ALL]),
        metadata={"description": "Archivists only; the public always sees published records"},
    )

    @ma.validates_schema
    def _years_in_order(self, data, **kwargs):
        low, high = data.get("year_from"), data.get("year_to")
        if low is not None and high is not None and low > high:
            raise ma.ValidationError("year_to must not be before year_from", "year_to")


class FacetValueSchema(ma.Schema):
    value = ma.fields.String(metadata={"example": "photo"})
    count = ma.fields.Integer(metadata={"example": 12})


class FacetsSchema(ma.Schema):
    type = ma.fields.List(ma.fields.Nested(FacetValueSchema))
    subject = ma.fields.List(ma.fields.Nested(FacetValueSchema))
    place = ma.fields.List(ma.fields.Nested(FacetValueSchema))
    decade = ma.fields.List(ma.fields.Nested(FacetValueSchema))


class SearchHitSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 12})
    identifier = ma.fields.String(metadata={"example": "UJB-2026-000123"})
    title = ma.fields.String(metadata={"example": "회룡사 대웅전"})
    date_text = ma.fields.String(allow_none=True, metadata={"example": "1950년대"})
    type = ma.fields.String(metadata={"example": "photo"})
    snippet = ma.fields.String(
        metadata={"example": "<mark>회룡사</mark>는 도봉산 자락에 있는 절이다."}
    )
    thumbnail_url = ma.fields.String(allow_none=True)
    score = ma.fields.Float(allow_none=True, metadata={"example": 12.5})


class SearchResultSchema(ma.Schema):
    total = ma.fields.Integer(metadata={"example": 1})
    page = ma.fields.Integer(metadata={"example": 1})
    per_page = ma.fields.Integer(metadata={"example": 20})
    hits = ma.fields.List(ma.fields.Nested(SearchHitSchema))
    facets = ma.fields.Nested(FacetsSchema)


@blp.get("/search")
@blp.arguments(SearchQuerySchema, location="query", unknown=ma.RAISE)
@blp.response(200, SearchResultSchema)
@blp.errors(403)
def search(args):
    """Search published records (archivists may pass ``visibility``: a state or ``all``).

    Korean words match whatever their particles or endings (의정부에서 finds 의정부는),
    inside compounds and across spacing (스마트 도서관 = 스마트도서관), and in Hanja either
    way (議政府 = 의정부). Facets count the whole result set. Snippets are HTML with the
    matched words in ``<mark>``.
    """
    visibility = args.pop("visibility", None)
    user = current_user()
    staff = user is not None and user.has_any_role(STAFF)
    if visibility not in (None, "published") and not staff:
        raise Forbidden(
            "Only archivists may search unpublished records",
            errors={"visibility": ["Only archivists may use this filter"]},
        )
    if visibility is None:
        visibility = "published"
    args["per_page"] = min(args["per_page"], current_app.config["SEARCH_MAX_PER_PAGE"])
    params = searcher.SearchParams(**args, visibility=None if visibility == ALL else visibility)
    result = searcher.search(
        current_app.config["INDEX_DIR"],
        params,
        cache_size=current_app.config["SEARCH_RESULT_CACHE"],
    )
    return {
        "total": result.total,
        "page": result.page,
        "per_page": result.per_page,
        "hits": result.hits,
        "facets": result.facets,
    }
