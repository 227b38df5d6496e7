"""Catalogue (everyone logged in reads; librarians write) and residents' own loans and holds."""

from __future__ import annotations

from flask import g, request

from core import lookup
from core.clock import now
from core.http import Blueprint, paginated
from core.settings import settings_of
from library.models import Copy, Title
from library.schemas import (
    CatalogueImportResultSchema,
    CopyCreateSchema,
    CopyQuerySchema,
    CopySchema,
    CopyUpdateSchema,
    HoldExistsErrorSchema,
    HoldRefusedErrorSchema,
    IsbnTakenErrorSchema,
    LibraryHoldCreateSchema,
    LibraryHoldSchema,
    LibraryLoanSchema,
    MyLibrarySchema,
    TitleCreateSchema,
    TitleQuerySchema,
    TitleSchema,
    TitleUpdateSchema,
)
from library.services import catalogue, holds, loans, summaries
from library.settings import LibrarySettings

blp = Blueprint(
    "library", __name__, url_prefix="/api/library", description="Smart library: catalogue, loans"
)
STAFF = ("librarian",)


# The catalogue is public, as a library's is (and as the catalogue pages are): titles and how
# many copies each kiosk has free, nothing about who borrowed them.
@blp.get("/titles")
@blp.arguments(TitleQuerySchema, location="query")
@blp.response(200, TitleSchema(many=True))
@blp.paginate()
def list_titles(query, pagination_parameters):
    """Search the catalogue (title, author or ISBN), with copies free in each kiosk."""
    total, titles = catalogue.search_catalogue(
        query.get("q"),
        offset=pagination_parameters.first_item,
        limit=pagination_parameters.page_size,
    )
    pagination_parameters.item_count = total
    return titles


@blp.get("/titles/<int:title_id>")
@blp.response(200, TitleSchema)
@blp.errors(404)
def get_title_view(title_id):
    """One title with its availability."""
    return catalogue.describe_title(title_id)


@blp.post("/titles")
@blp.auth(*STAFF)
@blp.arguments(TitleCreateSchema)
@blp.response(201, TitleSchema)
@blp.errors(409, detailed={409: IsbnTakenErrorSchema})
def create_title(data):
    """Catalogue a title (ISBN-13 checked; an ISBN-10 is converted)."""
    title = catalogue.create_title(g.user, data, now=now())
    return catalogue.describe_titles([title])[0]


@blp.patch("/titles/<int:title_id>")
@blp.auth(*STAFF)
@blp.arguments(TitleUpdateSchema)
@blp.response(200, TitleSchema)
@blp.errors(404, 409)
def update_title(data, title_id):
    """Correct a title's record."""
    title = catalogue.update_title(g.user, lookup.get(Title, title_id), data, now=now())
    return catalogue.describe_titles([title])[0]


@blp.delete("/titles/<int:title_id>")
@blp.auth(*STAFF)
@blp.response(204)
@blp.errors(404, 409)
def delete_title(title_id):
    """Delete a title that has no copies."""
    catalogue.delete_title(g.user, lookup.get(Title, title_id), now=now())


@blp.post("/titles/import")
@blp.auth(*STAFF)
@blp.response(200, CatalogueImportResultSchema)
@blp.errors(422)
def import_titles():
    """CSV upload (multipart field ``file``, UTF-8): isbn,title,author,publisher,year,kdc and an
    optional barcode adding a copy. All or nothing: bad rows are listed by line."""
    return catalogue.import_csv_file(g.user, request.files.get("file"), now=now())


@blp.get("/copies")
@blp.auth(*STAFF)
@blp.arguments(CopyQuerySchema, location="query")
@blp.response(200, CopySchema(many=True))
@blp.paginate()
def list_copies(query, pagination_parameters):
    """Copies, by title, kiosk, status or barcode."""
    return paginated(catalogue.copies_query(query), pagination_parameters)


@blp.post("/copies")
@blp.auth(*STAFF)
@blp.arguments(CopyCreateSchema)
@blp.response(201, CopySchema)
@blp.errors(404, 409)
def create_copy(data):
    """Add a copy of a title (it starts on the library shelf)."""
    title = lookup.get(Title, data["title_id"], field="title_id")
    return catalogue.create_copy(g.user, title, data["barcode"], now=now())


@blp.get("/copies/<int:copy_id>")
@blp.auth(*STAFF)
@blp.response(200, CopySchema)
@blp.errors(404)
def get_copy_view(copy_id):
    """One copy and where it is."""
    return lookup.get(Copy, copy_id)


@blp.patch("/copies/<int:copy_id>")
@blp.auth(*STAFF)
@blp.arguments(CopyUpdateSchema)
@blp.response(200, CopySchema)
@blp.errors(404, 409)
def update_copy(data, copy_id):
    """Mark a copy lost or withdrawn, or back available."""
    return catalogue.set_copy_status(g.user, lookup.get(Copy, copy_id), data["status"], now=now())


@blp.get("/me")
@blp.auth()
@blp.response(200, MyLibrarySchema)
@blp.errors(404)
def my_library():
    """The caller's loans, holds and any suspension (needs a linked library card)."""
    return summaries.resident_summary_for_user(g.user, now(), settings_of(LibrarySettings))


@blp.post("/holds")
@blp.auth()
@blp.arguments(LibraryHoldCreateSchema)
@blp.response(201, LibraryHoldSchema)
@blp.errors(404, 409, 422, detailed={409: HoldExistsErrorSchema, 422: HoldRefusedErrorSchema})
def place_hold(data):
    """Reserve a title for pickup at a kiosk (예약대출); notified when it is ready there."""
    hold = holds.place_hold_for_user(
        g.user,
        data["title_id"],
        data["kiosk_id"],
        now=now(),
        settings=settings_of(LibrarySettings),
    )
    return summaries.hold_view(hold)


@blp.delete("/holds/<int:hold_id>")
@blp.auth()
@blp.response(200, LibraryHoldSchema)
@blp.errors(403, 404, 409)
def cancel_hold(hold_id):
    """Cancel one's own hold; a copy set aside for it goes to the next hold or stock."""
    hold = holds.cancel_hold_for_user(
        g.user, hold_id, now=now(), settings=settings_of(LibrarySettings)
    )
    return summaries.hold_view(hold)


@blp.post("/loans/<int:loan_id>/renew")
@blp.auth()
@blp.response(200, LibraryLoanSchema)
@blp.errors(403, 404, 409, 422)
def renew_loan(loan_id):
    """Renew a loan once by 7 days; refused when overdue or another patron is waiting."""
    moment = now()
    loan = loans.renew_for_user(g.user, loan_id, now=moment, settings=settings_of(LibrarySettings))
    return summaries.loan_view(loan, moment)
