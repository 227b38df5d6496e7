"""Catalogue (everyone logged in reads; librarians write) and residents' own loans and holds."""

from __future__ import annotations

from flask import g, request
from sqlalchemy import select

from core.clock import now
from core.errors import RuleViolation
from core.extensions import db
from core.http import Blueprint
from library import presenters
from library.context import settings
from library.models import Copy
from library.schemas import (
    CatalogueImportResultSchema,
    CopyCreateSchema,
    CopyQuerySchema,
    CopySchema,
    CopyUpdateSchema,
    LibraryHoldCreateSchema,
    LibraryHoldSchema,
    LibraryLoanSchema,
    MyLibrarySchema,
    TitleCreateSchema,
    TitleQuerySchema,
    TitleSchema,
    TitleUpdateSchema,
)
from library.services import catalogue, holds, journal, loans, patrons, summaries
from library.services.common import get_copy, get_hold, get_loan, get_title

blp = Blueprint(
    "library", __name__, url_prefix="/api/library", description="Smart library: catalogue, loans"
)
STAFF = ("librarian",)
MAX_CSV_BYTES = 5 * 1024 * 1024


def _page(stmt, pagination_parameters):
    pagination_parameters.item_count = journal.count(stmt)
    p = pagination_parameters
    return db.session.scalars(stmt.offset(p.first_item).limit(p.page_size))


@blp.get("/titles")
@blp.auth()
@blp.arguments(TitleQuerySchema, location="query")
@blp.response(200, TitleSchema(many=True))
@blp.paginate()
def list_titles(query, pagination_parameters):
    """Search the catalogue (title, author or ISBN), with copies free in each kiosk."""
    return presenters.titles_view(
        _page(catalogue.search_titles(query.get("q")), pagination_parameters)
    )


@blp.get("/titles/<int:title_id>")
@blp.auth()
@blp.response(200, TitleSchema)
@blp.errors(404)
def get_title_view(title_id):
    """One title with its availability."""
    return presenters.titles_view([get_title(title_id)])[0]


@blp.post("/titles")
@blp.auth(*STAFF)
@blp.arguments(TitleCreateSchema)
@blp.response(201, TitleSchema)
@blp.errors(409)
def create_title(data):
    """Catalogue a title (ISBN-13 checked; an ISBN-10 is converted)."""
    title = catalogue.create_title(g.user, data, now=now())
    db.session.commit()
    return presenters.titles_view([title])[0]


@blp.patch("/titles/<int:title_id>")
@blp.auth(*STAFF)
@blp.arguments(TitleUpdateSchema)
@blp.response(200, TitleSchema)
@blp.errors(404, 409)
def update_title(data, title_id):
    """Correct a title's record."""
    title = catalogue.update_title(g.user, get_title(title_id), data, now=now())
    db.session.commit()
    return presenters.titles_view([title])[0]


@blp.delete("/titles/<int:title_id>")
@blp.auth(*STAFF)
@blp.response(204)
@blp.errors(404, 409)
def delete_title(title_id):
    """Delete a title that has no copies."""
    catalogue.delete_title(g.user, get_title(title_id), now=now())
    db.session.commit()


@blp.post("/titles/import")
@blp.auth(*STAFF)
@blp.response(200, CatalogueImportResultSchema)
@blp.errors(422)
def import_titles():
    """CSV upload (multipart field ``file``, UTF-8): isbn,title,author,publisher,year,kdc and an
    optional barcode adding a copy. All or nothing: bad rows are listed by line."""
    upload = request.files.get("file")
    if upload is None:
        raise RuleViolation(
            "Upload the CSV as the multipart field 'file'", errors={"file": ["Missing."]}
        )
    raw = upload.read(MAX_CSV_BYTES + 1)
    if len(raw) > MAX_CSV_BYTES:
        raise RuleViolation("The CSV is too large", errors={"file": ["At most 5 MB."]})
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RuleViolation("The CSV must be UTF-8", errors={"file": ["Not UTF-8."]}) from error
    result = catalogue.import_csv(g.user, text, now=now())
    db.session.commit()
    return result


@blp.get("/copies")
@blp.auth(*STAFF)
@blp.arguments(CopyQuerySchema, location="query")
@blp.response(200, CopySchema(many=True))
@blp.paginate()
def list_copies(query, pagination_parameters):
    """Copies, by title, kiosk, status or barcode."""
    stmt = select(Copy).filter_by(**query).order_by(Copy.id)
    return _page(stmt, pagination_parameters)


@blp.post("/copies")
@blp.auth(*STAFF)
@blp.arguments(CopyCreateSchema)
@blp.response(201, CopySchema)
@blp.errors(404, 409)
def create_copy(data):
    """Add a copy of a title (it starts on the library shelf)."""
    title = get_title(data["title_id"], field="title_id")
    copy = catalogue.create_copy(g.user, title, data["barcode"], now=now())
    db.session.commit()
    return copy


@blp.get("/copies/<int:copy_id>")
@blp.auth(*STAFF)
@blp.response(200, CopySchema)
@blp.errors(404)
def get_copy_view(copy_id):
    """One copy and where it is."""
    return get_copy(copy_id)


@blp.patch("/copies/<int:copy_id>")
@blp.auth(*STAFF)
@blp.arguments(CopyUpdateSchema)
@blp.response(200, CopySchema)
@blp.errors(404, 409)
def update_copy(data, copy_id):
    """Mark a copy lost or withdrawn, or back available."""
    copy = catalogue.set_copy_status(g.user, get_copy(copy_id), data["status"], now=now())
    db.session.commit()
    return copy


@blp.get("/me")
@blp.auth()
@blp.response(200, MyLibrarySchema)
@blp.errors(404)
def my_library():
    """The caller's loans, holds and any suspension (needs a linked library card)."""
    patron = patrons.patron_for_user(g.user)
    return summaries.resident_summary(patron, now(), settings())


@blp.post("/holds")
@blp.auth()
@blp.arguments(LibraryHoldCreateSchema)
@blp.response(201, LibraryHoldSchema)
@blp.errors(404, 409, 422)
def place_hold(data):
    """Reserve a title for pickup at a kiosk (예약대출); notified when it is ready there."""
    patron = patrons.patron_for_user(g.user)
    hold = holds.place_hold(
        patron,
        get_title(data["title_id"], field="title_id"),
        data["kiosk_id"],
        now=now(),
        settings=settings(),
    )
    db.session.commit()
    return summaries.hold_view(hold)


@blp.delete("/holds/<int:hold_id>")
@blp.auth()
@blp.response(200, LibraryHoldSchema)
@blp.errors(403, 404, 409)
def cancel_hold(hold_id):
    """Cancel one's own hold; a copy set aside for it goes to the next hold or stock."""
    patron = patrons.patron_for_user(g.user)
    hold = holds.cancel_hold(patron, get_hold(hold_id), now=now(), settings=settings())
    db.session.commit()
    return summaries.hold_view(hold)


@blp.post("/loans/<int:loan_id>/renew")
@blp.auth()
@blp.response(200, LibraryLoanSchema)
@blp.errors(403, 404, 409, 422)
def renew_loan(loan_id):
    """Renew a loan once by 7 days; refused when overdue or another patron is waiting."""
    patron = patrons.patron_for_user(g.user)
    moment = now()
    loan = loans.renew(patron, get_loan(loan_id), now=moment, settings=settings())
    db.session.commit()
    return summaries.loan_view(loan, moment)
