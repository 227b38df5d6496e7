"""``GET /api/archive/search``: Korean full-text search over archive records."""

from __future__ import annotations

import marshmallow as ma

from archive.schemas import (
    SearchQuerySchema,
    SearchResultSchema,
    SuggestQuerySchema,
    SuggestResultSchema,
)
from archive.services import searching
from archive.settings import ArchiveSettings
from core.auth import current_user
from core.http import Blueprint
from core.settings import settings_of

blp = Blueprint(
    "archive_search",
    __name__,
    url_prefix="/api/archive",
    description="Korean full-text search over the local-culture archive",
)
STAFF = ("archivist",)


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
    user = current_user()
    return searching.search_records(
        args,
        may_see_unpublished=user is not None and user.has_any_role(STAFF),
        settings=settings_of(ArchiveSettings),
    )


@blp.get("/suggest")
@blp.arguments(SuggestQuerySchema, location="query", unknown=ma.RAISE)
@blp.response(200, SuggestResultSchema)
def suggest(args):
    """Suggestions for the search box: titles, places, subjects and names of published records
    that start with ``q`` as written, by their 초성 (ㅇㅈㅂ → 의정부동) or romanized
    (uijeongbu, Nogyang-dong), the most common first."""
    return {
        "q": args["q"],
        "suggestions": searching.suggest(
            args["q"], args["limit"], settings=settings_of(ArchiveSettings)
        ),
    }
