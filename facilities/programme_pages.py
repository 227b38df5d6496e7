"""Residents' programme pages (강습): the programmes with the API's filters, a programme's
details and its application form (for oneself with a birth year, or for a dependent), the
application's result, withdrawing while the window is open, and the dependents one applies
for.

The same use cases as the JSON API's (``facilities.programme_api``), the same schemas and
refusals; a refusal comes back next to its field, in Korean (``facilities.pages.MESSAGES``)."""

from __future__ import annotations

from flask import redirect, render_template, url_for

from core.clock import now
from core.web import (
    Form,
    PageBlueprint,
    attempt,
    login_required,
    read_form,
    read_query,
    refusal_form,
    refusal_status,
    signed_in_user,
    submitted_key,
)
from facilities.pages import Formats
from facilities.programme_schemas import (
    ApplicationCreateSchema,
    DependentCreateSchema,
    ProgrammeQuerySchema,
)
from facilities.services import enrolments, programmes

blp = PageBlueprint("facilities_programme_pages", __name__, template_folder="templates")

_query_schema = ProgrammeQuerySchema()
_apply_schema = ApplicationCreateSchema()
_dependent_schema = DependentCreateSchema()


class ProgrammeFormats(Formats):
    level_labels = {"beginner": "초급", "intermediate": "중급", "advanced": "고급"}
    enrolment_labels = {"first_come": "선착순", "lottery": "추첨"}
    window_labels = {"not_open": "신청 전", "open": "신청 중", "closed": "신청 마감"}
    application_labels = {
        "applied": "추첨 대기",
        "held": "결제 대기",
        "enrolled": "등록 완료",
        "waiting": "대기",
        "withdrawn": "신청 취소",
        "closed": "마감",
        "refused": "거절",
        "expired": "기한 만료",
        "cancelled": "강습 취소",
    }

    @staticmethod
    def weekdays(days: list[int]) -> str:
        return "·".join("월화수목금토일"[day] for day in sorted(days))


@blp.context_processor
def _formats() -> dict:
    return {"fmt": ProgrammeFormats}


# --- the programmes ---------------------------------------------------------------------


@blp.get("/programmes")
def programme_list():
    """The programmes, filtered as ``GET /api/programmes`` is (a wrong filter is shown next
    to its field, and nothing is filtered)."""
    data, form = read_query(_query_schema)
    status = 200 if data is not None else 422
    page = programmes.browse(now(), **(data or {}))
    return render_template("facilities/programmes.html", form=form, **page), status


def _programme_page(programme_id: int, form: Form):
    return render_template(
        "facilities/programme.html",
        form=form,
        now=now(),
        signed_in=signed_in_user() is not None,
        **programmes.application_form(signed_in_user(), programme_id, now()),
    )


@blp.get("/programmes/<int:programme_id>")
def programme(programme_id):
    return _programme_page(programme_id, Form.empty())


@blp.post("/programmes/<int:programme_id>/apply")
@login_required()
def apply(programme_id):
    """Apply as ``POST /api/programmes/{id}/applications`` does, with the form's
    ``idempotency_key``: sent twice (a double click), both lead to the one application made."""
    data, form = read_form(_apply_schema)
    status = 422
    if data is not None:
        answer, error = attempt(
            enrolments.apply_once,
            signed_in_user(),
            programme_id,
            data,
            idempotency_key=submitted_key(),
            now=now(),
            render=lambda described: {"number": described["number"]},
        )
        if answer is not None:
            body, _ = answer
            return redirect(url_for(".application", application_id=body["number"]), 303)
        form, status = refusal_form(form, error), refusal_status(error)
    return _programme_page(programme_id, form), status


# --- one's applications -----------------------------------------------------------------


@blp.get("/programmes/applications/<int:application_id>")
@login_required()
def application(application_id):
    """The application number and what happens next."""
    details = enrolments.my_application(signed_in_user(), application_id, now())
    return render_template("facilities/application.html", **details)


def _withdraw_page(application_id: int, form: Form):
    details = enrolments.my_application(signed_in_user(), application_id, now())
    return render_template("facilities/withdraw.html", form=form, **details)


@blp.get("/programmes/applications/<int:application_id>/withdraw")
@login_required()
def withdraw_form(application_id):
    """What withdrawing means, before the person confirms."""
    return _withdraw_page(application_id, Form.empty())


@blp.post("/programmes/applications/<int:application_id>/withdraw")
@login_required()
def withdraw(application_id):
    withdrawn, error = attempt(enrolments.withdraw, signed_in_user(), application_id, now())
    if withdrawn is not None:
        return redirect(url_for("facilities_pages.my_bookings", _anchor="programmes"), 303)
    return _withdraw_page(application_id, refusal_form(Form.empty(), error)), refusal_status(error)


# --- dependents -------------------------------------------------------------------------


def _dependents_page(form: Form):
    dependents = programmes.list_dependents(signed_in_user())
    return render_template("facilities/dependents.html", form=form, dependents=dependents)


@blp.get("/profile/dependents")
@login_required()
def dependents():
    return _dependents_page(Form.empty())


@blp.post("/profile/dependents")
@login_required()
def add_dependent():
    """Add a dependent as ``POST /api/me/dependents`` does."""
    data, form = read_form(_dependent_schema)
    status = 422
    if data is not None:
        added, error = attempt(
            programmes.add_dependent, signed_in_user(), data["name"], data["birth_year"], now()
        )
        if added is not None:
            return redirect(url_for(".dependents"), 303)
        form, status = refusal_form(form, error), refusal_status(error)
    return _dependents_page(form), status
