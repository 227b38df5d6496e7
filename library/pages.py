"""The smart library as pages for residents: the catalogue with the copies free in each kiosk,
a title and its hold for pickup (예약대출), and one's own loans, holds and 대출정지.

A door like ``library.api``: the same use cases, read with the same schemas; only the
rendering is its own. The catalogue is open to everyone (a library's catalogue is public);
holds, renewals and the patron's own page need a signed-in resident whose account a librarian
has linked to a library card, as the API's do.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from flask import flash, redirect, render_template, url_for

from core.clock import now
from core.settings import settings_of
from core.web import (
    Form,
    PageBlueprint,
    PageQuerySchema,
    attempt,
    korean_message,
    login_required,
    read_form,
    read_query,
    refusal_form,
    refusal_status,
    signed_in_user,
)
from library.messages import MESSAGES
from library.schemas import LibraryHoldCreateSchema, TitleQuerySchema
from library.services import catalogue, holds, loans, summaries
from library.settings import LibrarySettings

blp = PageBlueprint("library_pages", __name__, template_folder="templates", url_prefix="/library")

PAGE_SIZE = 10
WEEKDAYS = "월화수목금토일"
HOLD_STATUS = {
    "waiting": "대기 중",
    "in_transit": "키오스크로 옮기는 중",
    "ready": "찾아갈 수 있음",
}


class TitleSearchSchema(TitleQuerySchema, PageQuerySchema):
    """The API's catalogue query, and the page of results."""


_search_schema = TitleSearchSchema()
# The hold form names only the kiosk: the title is the page's own.
_hold_schema = LibraryHoldCreateSchema(only=("kiosk_id",))


# --- how moments read in Korean -----------------------------------------------------------


def _local(moment: datetime) -> datetime:
    return moment.astimezone(settings_of(LibrarySettings).tz)


def day_text(moment: datetime) -> str:
    local = _local(moment)
    return f"{local:%Y-%m-%d}({WEEKDAYS[local.weekday()]})"


def last_day_text(end: datetime) -> str:
    """The last local day of a period that ends at ``end``: due dates and pickup deadlines end
    at 23:59:59 of their day, a suspension at 00:00 of the day borrowing resumes."""
    return day_text(end - timedelta(seconds=1))


def moment_text(moment: datetime) -> str:
    local = _local(moment)
    return f"{local:%Y-%m-%d}({WEEKDAYS[local.weekday()]}) {local:%H:%M}"


@blp.context_processor
def _helpers() -> dict:
    return {
        "day_text": day_text,
        "last_day_text": last_day_text,
        "moment_text": moment_text,
        "hold_status": HOLD_STATUS,
        "no_card_text": MESSAGES["no_library_card"],
    }


def refusal_text(error) -> str:
    """A refusal in Korean, with what the person needs to know from its details: until when,
    or how many."""
    text = korean_message(error)
    details = error.details
    if details.get("suspended_until"):
        until = datetime.fromisoformat(details["suspended_until"])
        text += f" 대출정지 기간: {last_day_text(until)}까지."
    if details.get("holds_barred_until"):
        until = datetime.fromisoformat(details["holds_barred_until"])
        text += f" 예약 제한: {moment_text(until)}까지."
    if error.code in ("hold_limit_reached", "loan_limit_reached") and "limit" in details:
        text += f" (최대 {details['limit']}권)"
    return text


def _refused(form: Form, error, shown: tuple[str, ...] = ()) -> Form:
    """The form again with a refusal: next to a field the page shows, else above the form."""
    refused = refusal_form(form, error)
    errors = {name: messages for name, messages in refused.errors.items() if name in shown}
    if not errors:
        errors["_form"] = [refusal_text(error)]
    return Form(form.values, errors)


# --- the catalogue ------------------------------------------------------------------------


@blp.get("")
def search():
    data, form = read_query(_search_schema)
    if data is None:
        return render_template("library/search.html", form=form, results=None), 422
    page = data["page"]
    total, titles = catalogue.search_catalogue(
        data.get("q"), offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    results = {
        "titles": titles,
        "total": total,
        "page": page,
        "pages": max(1, math.ceil(total / PAGE_SIZE)),
        "q": data.get("q") or "",
    }
    return render_template("library/search.html", form=form, results=results)


def _title_page(title_id: int, form: Form, status: int = 200):
    view = summaries.title_for_resident(title_id, signed_in_user())
    return render_template("library/title.html", form=form, **view), status


@blp.get("/titles/<int:title_id>")
def title(title_id: int):
    return _title_page(title_id, Form.empty())


@blp.post("/titles/<int:title_id>")
@login_required()
def place_hold(title_id: int):
    """예약대출: the hold use case of the API's ``POST /api/library/holds``."""
    data, form = read_form(_hold_schema)
    if data is None:
        return _title_page(title_id, form, 422)
    hold, error = attempt(
        holds.place_hold_for_user,
        signed_in_user(),
        title_id,
        data["kiosk_id"],
        now=now(),
        settings=settings_of(LibrarySettings),
    )
    if error is not None:
        return _title_page(title_id, _refused(form, error, ("kiosk_id",)), refusal_status(error))
    view = summaries.hold_view(hold)
    if view["status"] == "ready":
        flash(
            f"『{view['title']}』을(를) 예약했습니다. {view['pickup_kiosk']}에 있으니 "
            f"{last_day_text(view['pickup_deadline'])}까지 찾아가 주세요."
        )
    else:
        flash(
            f"『{view['title']}』을(를) 예약했습니다. {view['pickup_kiosk']}에 도착하면 "
            "알려 드립니다."
        )
    return redirect(url_for("library_pages.me"))


# --- the patron's own page ----------------------------------------------------------------


def _me_page(*, refused: tuple[str, int, str] | None = None, status: int = 200):
    """The patron's own page; ``refused`` is a refusal to show next to the loan or hold it
    was about (``("loan" | "hold", id, message)``), or above them all when it is no longer
    listed (a hold closed meanwhile)."""
    summary, error = attempt(
        summaries.resident_summary_for_user, signed_in_user(), now(), settings_of(LibrarySettings)
    )
    if error is not None and error.code != "no_library_card":
        raise error
    listed = set()
    if summary is not None:
        listed = {("loan", loan["id"]) for loan in summary["loans"]}
        listed |= {("hold", hold["id"]) for hold in summary["holds"]}
    return render_template(
        "library/me.html",
        summary=summary,
        no_card=korean_message(error) if error is not None else None,
        refused=refused,
        refused_here=refused is not None and refused[:2] in listed,
    ), status


@blp.get("/me")
@login_required()
def me():
    return _me_page()


def _refusal_on_me(error, which: str, key: int):
    """A refused renewal or cancellation, shown on the patron's page. One that is not the
    person's (or not theirs to see) is an error page, as the API's 403 and 404 are."""
    if error.status in (403, 404):
        raise error
    return _me_page(refused=(which, key, refusal_text(error)), status=refusal_status(error))


@blp.get("/me/loans/<int:loan_id>/renew", endpoint="renew_again")
@blp.get("/me/holds/<int:hold_id>/cancel", endpoint="cancel_again")
def back_to_me(**_ids):
    """Where a renewal or cancellation sent while signed out comes back after logging in
    (the login page returns to the form's address with a GET): the page it was sent from,
    to send it again."""
    return redirect(url_for("library_pages.me"))


@blp.post("/me/loans/<int:loan_id>/renew")
@login_required()
def renew(loan_id: int):
    """The renewal use case of the API's ``POST /api/library/loans/<id>/renew``."""
    loan, error = attempt(
        loans.renew_for_user,
        signed_in_user(),
        loan_id,
        now=now(),
        settings=settings_of(LibrarySettings),
    )
    if error is not None:
        return _refusal_on_me(error, "loan", loan_id)
    view = summaries.loan_view(loan, now())
    flash(f"『{view['title']}』 대출을 연장했습니다. 반납 예정일: {last_day_text(view['due_at'])}")
    return redirect(url_for("library_pages.me"))


@blp.post("/me/holds/<int:hold_id>/cancel")
@login_required()
def cancel_hold(hold_id: int):
    """The cancellation use case of the API's ``DELETE /api/library/holds/<id>``."""
    hold, error = attempt(
        holds.cancel_hold_for_user,
        signed_in_user(),
        hold_id,
        now=now(),
        settings=settings_of(LibrarySettings),
    )
    if error is not None:
        return _refusal_on_me(error, "hold", hold_id)
    flash(f"『{summaries.hold_view(hold)['title']}』 예약을 취소했습니다.")
    return redirect(url_for("library_pages.me"))


# --- the home page's part -----------------------------------------------------------------


def home_panel() -> dict:
    return {}
