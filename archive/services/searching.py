"""Searching the archive: who may search what, and the query handed to the search engine
(``archive.search``)."""

from __future__ import annotations

from archive.search import pg_index, searcher
from archive.settings import ArchiveSettings
from core.errors import Forbidden, NotFound
from core.extensions import db

# ``visibility`` value for every record whatever its state (archivists only; the search
# door's schema offers it next to the states).
ALL = "all"


def index_of(settings: ArchiveSettings):
    """What the searcher searches: the Whoosh index directory, or the PostgreSQL tables
    through this request's session (``SEARCH_BACKEND=postgres``)."""
    if settings.search_backend == "postgres":
        return pg_index.Source(db.session, cache_postings=settings.search_postings_cache)
    return settings.index_dir


def search_records(
    query: dict, *, may_see_unpublished: bool, settings: ArchiveSettings
) -> searcher.SearchResult:
    """Search with the query's words and filters. The public searches published records;
    archivists may ask for another ``visibility`` (a state, or ``all``). ``per_page`` is
    capped at the configured maximum."""
    query = dict(query)
    visibility = query.pop("visibility", None)
    if visibility not in (None, "published") and not may_see_unpublished:
        raise Forbidden(
            "Only archivists may search unpublished records",
            errors={"visibility": ["Only archivists may use this filter"]},
        )
    if visibility is None:
        visibility = "published"
    query["per_page"] = min(query["per_page"], settings.search_max_per_page)
    params = searcher.SearchParams(**query, visibility=None if visibility == ALL else visibility)
    return searcher.search(index_of(settings), params, cache_size=settings.search_result_cache)


def search_collection(
    name: str, query: dict, *, settings: ArchiveSettings
) -> searcher.SearchResult:
    """The public's search within one collection (its published records); 404 when the
    collection holds no published record at all."""
    result = search_records(
        {**query, "collection": name}, may_see_unpublished=False, settings=settings
    )
    if result.total == 0:
        # Nothing found: a collection narrowed to nothing, or no such collection.
        everything = {"collection": name, "sort": "relevance", "page": 1, "per_page": 1}
        if search_records(everything, may_see_unpublished=False, settings=settings).total == 0:
            raise NotFound(f"Collection {name} not found")
    return result


def suggest(typed: str, limit: int, *, settings: ArchiveSettings) -> list[dict]:
    """What the public search box suggests for ``typed``: titles, places, subjects and names
    of published records (by 초성 and romanization too)."""
    return searcher.suggest(index_of(settings), typed, limit=limit)
