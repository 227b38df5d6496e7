"""The public archive as pages: search and browse with facets, collections, and a record with
its images, rights, text and related records. The same use cases as the JSON doors
(``archive.services.searching``, ``browsing``); the public only ever sees published records."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from flask import render_template, url_for

from archive.schemas import SearchQuerySchema
from archive.search.searcher import SearchResult
from archive.services import browsing, searching
from archive.services.rights import rights_of
from archive.settings import ArchiveSettings
from core.settings import settings_of
from core.web import Form, PageBlueprint, read_query

blp = PageBlueprint(
    "archive_pages",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/archive/static",
)

# The search door's own parameters, less ``visibility``: pages show published records only.
_search_schema = SearchQuerySchema(exclude=("visibility",))
DEFAULTS = {"q": "", "sort": "relevance", "page": 1, "per_page": 20}

TYPE_NAMES = {
    "photo": "사진",
    "document": "문서",
    "map": "지도",
    "book": "도서",
    "object": "유물",
    "audio": "음성",
    "video": "영상",
}
FACET_LABELS = {"type": "유형", "subject": "주제", "place": "장소", "decade": "연대"}
FILTER_LABELS = {"type": "유형", "subject": "주제", "place": "장소", "collection": "모음"}
SORT_LABELS = {
    "relevance": "관련도순",
    "newest": "최신 등록순",
    "date": "연대순 (오래된 것부터)",
    "title": "제목순",
}


@blp.app_template_filter("archive_type")
def type_name(value: str | None) -> str:
    return TYPE_NAMES.get(value or "", value or "")


def decade_name(value: str | int) -> str:
    decade = int(value)
    return f"기원전 {-decade}년대" if decade < 0 else f"{decade}년대"


# --- search and browse ------------------------------------------------------------------


@dataclass(frozen=True)
class FacetValue:
    label: str
    count: int
    url: str
    selected: bool


@dataclass(frozen=True)
class Facet:
    name: str
    label: str
    values: list[FacetValue]


@dataclass(frozen=True)
class ActiveFilter:
    label: str
    value: str
    remove_url: str


@dataclass(frozen=True)
class PageLink:
    number: int | None  # None: a gap (…)
    url: str | None
    current: bool = False


class Listing:
    """A search's answer as a page shows it: links that change one thing of the query (a
    facet, the page) and keep the rest."""

    def __init__(self, result: SearchResult, params: dict, endpoint: str, **route):
        self.result, self.params, self.endpoint, self.route = result, params, endpoint, route

    def url(self, **changes) -> str:
        params = {**self.params, **changes}
        if "page" not in changes:
            params["page"] = 1  # a new question starts on its first page
        query = {
            key: value
            for key, value in params.items()
            if value is not None and value != "" and DEFAULTS.get(key) != value
        }
        return url_for(self.endpoint, **self.route, **query)

    @property
    def searching(self) -> bool:
        return bool(self.params.get("q", "").strip())

    @property
    def sort(self) -> str:
        """The order shown: without words there is no relevance, and the newest come first."""
        sort = self.params.get("sort", "relevance")
        return "newest" if sort == "relevance" and not self.searching else sort

    @property
    def sorts(self) -> dict[str, str]:
        if self.searching:
            return SORT_LABELS
        return {key: label for key, label in SORT_LABELS.items() if key != "relevance"}

    def _decade(self) -> int | None:
        low, high = self.params.get("year_from"), self.params.get("year_to")
        if low is not None and high == low + 9 and low % 10 == 0:
            return low
        return None

    @property
    def facets(self) -> list[Facet]:
        out = []
        for name, values in self.result.facets.items():
            links = []
            for item in values:
                value, count = item["value"], item["count"]
                if name == "decade":
                    start = int(value)
                    selected = self._decade() == start
                    url = self.url(year_from=start, year_to=start + 9)
                    label = decade_name(value)
                else:
                    selected = self.params.get(name) == value
                    url = self.url(**{name: value})
                    label = type_name(value) if name == "type" else value
                links.append(FacetValue(label, count, url, selected))
            if links:
                out.append(Facet(name, FACET_LABELS[name], links))
        return out

    @property
    def active_filters(self) -> list[ActiveFilter]:
        found = []
        for name, label in FILTER_LABELS.items():
            if name in self.route:
                continue  # the page's own collection is not a filter one takes off
            value = self.params.get(name)
            if value:
                shown = type_name(value) if name == "type" else value
                found.append(ActiveFilter(label, shown, self.url(**{name: None})))
        low, high = self.params.get("year_from"), self.params.get("year_to")
        if low is not None or high is not None:
            if self._decade() is not None:
                shown = decade_name(low)
            elif high is None:
                shown = f"{low}년부터"
            elif low is None:
                shown = f"{high}년까지"
            else:
                shown = f"{low}년 ~ {high}년"
            found.append(ActiveFilter("연도", shown, self.url(year_from=None, year_to=None)))
        return found

    @property
    def hidden_filters(self) -> dict:
        """The facet filters a new search keeps (the form's own fields are not among them)."""
        return {
            name: self.params[name]
            for name in FILTER_LABELS
            if self.params.get(name) and name not in self.route
        }

    @property
    def page_count(self) -> int:
        return max(1, math.ceil(self.result.total / self.result.per_page))

    @property
    def first_shown(self) -> int:
        return (self.result.page - 1) * self.result.per_page + 1

    def pages(self) -> list[PageLink]:
        """First, last and the two either side of the current page; gaps between them."""
        current, last = self.result.page, self.page_count
        wanted = {1, last, *range(current - 2, current + 3)}
        numbers = sorted(n for n in wanted if 1 <= n <= last)
        links, previous = [], 0
        for number in numbers:
            if number > previous + 1:
                links.append(PageLink(None, None))
            links.append(PageLink(number, self.url(page=number), number == current))
            previous = number
        return links

    def previous_url(self) -> str | None:
        page = self.result.page
        return self.url(page=min(page, self.page_count + 1) - 1) if page > 1 else None

    def next_url(self) -> str | None:
        page = self.result.page
        return self.url(page=page + 1) if page < self.page_count else None


# The search schema's own messages, in Korean.
FIELD_MESSAGES = [
    (r"year_to must not be before year_from", "끝 연도는 시작 연도보다 앞설 수 없습니다."),
]

# Fields the search form shows with their own messages; anything else wrong came in the
# address (a facet, the page, the order) and is said at the top of the form.
FORM_FIELDS = {"q", "year_from", "year_to"}


def _refused(form: Form) -> Form:
    if set(form.errors) - FORM_FIELDS:
        errors = dict(form.errors)
        errors["_form"] = [
            "주소에 든 검색 조건 중 올바르지 않은 값이 있습니다. 조건을 다시 골라 주세요."
        ]
        return Form(form.values, errors)
    return form


@blp.get("/archive")
def search():
    """Search with words, or browse (newest first) without them; the same filters either way."""
    data, form = read_query(_search_schema)
    if data is None:
        return render_template("archive/search.html", form=_refused(form), listing=None), 422
    result = searching.search_records(
        data, may_see_unpublished=False, settings=settings_of(ArchiveSettings)
    )
    listing = Listing(result, data, "archive_pages.search")
    return render_template("archive/search.html", form=form, listing=listing)


# --- collections ------------------------------------------------------------------------


@blp.get("/archive/collections")
def collections():
    return render_template("archive/collections.html", collections=browsing.collections())


@blp.get("/archive/collections/<path:name>")
def collection(name: str):
    """One collection's published records, searchable and filtered as the whole archive is."""
    data, form = read_query(_search_schema)
    if data is None:
        page = render_template(
            "archive/collection.html", name=name, form=_refused(form), listing=None
        )
        return page, 422
    data.pop("collection", None)  # the page's own collection, from its address
    result = searching.search_collection(name, data, settings=settings_of(ArchiveSettings))
    listing = Listing(result, data, "archive_pages.collection", name=name)
    return render_template("archive/collection.html", name=name, form=form, listing=listing)


# --- one record -------------------------------------------------------------------------


ALT_LENGTH = 120


def image_alt(record, position: int, count: int) -> str:
    """An image's text alternative: the record's title, what its description says (short),
    and which image of how many."""
    text = record.title
    description = re.sub(r"\s+", " ", record.description or "").strip()
    if description:
        if len(description) > ALT_LENGTH:
            description = description[:ALT_LENGTH].rsplit(" ", 1)[0] + "…"
        text = f"{text}: {description}"
    if count > 1:
        text += f" (이미지 {position}/{count})"
    return text


@blp.get("/archive/records/<identifier>")
def record(identifier: str):
    found = browsing.published_record(identifier)
    published = found.record.published_at
    return render_template(
        "archive/record.html",
        record=found.record,
        related=found.related,
        rights=rights_of(found.record.rights),
        image_alt=image_alt,
        manifest_url=url_for("iiif.manifest", identifier=identifier)
        if any(item.status == "ready" for item in found.record.media)
        else None,
        published_on=published.astimezone(settings_of(ArchiveSettings).tz).date()
        if published
        else None,
    )


def home_panel() -> dict:
    """The home page's archive panel: a search box and the records published last."""
    return {"recent": browsing.recently_published()}
