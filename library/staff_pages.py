"""The librarians' pages of the staff console (``/staff/library``): the kiosk fleet and each
kiosk's slots (load, unload, its device key), the 예약대출 work list, restock plans, the
conflict queue, overdue loans, patrons (suspension, PIN) and the catalogue (titles, copies).

A door like ``library.staff_api``: each page reads its form with the API's schema, checks the
librarian's role, makes the use case's call the JSON view makes, and renders. The use cases
audit themselves, so an action taken here is recorded exactly as the same call to the API.
"""

from __future__ import annotations

import math

import marshmallow as ma
from flask import flash, redirect, render_template, request, url_for
from marshmallow import validate

from core import lookup
from core.clock import now
from core.errors import DomainError
from core.extensions import db
from core.settings import settings_of
from core.web import (
    Form,
    PageBlueprint,
    PageQuerySchema,
    attempt,
    korean_message,
    read_form,
    read_query,
    refusal_form,
    refusal_status,
    signed_in_user,
    staff_page,
)
from library.models import FAULT_EFFECTS, Conflict, Copy, Kiosk, Patron, Title
from library.pages import day_text, last_day_text, moment_text
from library.schemas import (
    ConflictResolveSchema,
    CopyCreateSchema,
    CopyUpdateSchema,
    KioskFunctionsSchema,
    LibraryConflictQuerySchema,
    PatronLiftSuspensionSchema,
    PatronPinResetSchema,
    PatronQuerySchema,
    RestockQuerySchema,
    SlotLoadSchema,
    TitleCreateSchema,
    TitleQuerySchema,
)
from library.services import catalogue, conflicts, loans, patrons, restock, summaries
from library.services import kiosks as kiosk_rules
from library.settings import LibrarySettings

blp = PageBlueprint(
    "library_staff_pages",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
    url_prefix="/staff/library",
)
STAFF = ("librarian",)
PAGE_SIZE = 20
# The dashboard reloads its table this often (library/static/staff.js), in seconds.
REFRESH_SECONDS = 30

# The library section's own menu, in the order of a librarian's day.
TABS = (
    ("library_staff_pages.fleet", "키오스크 현황"),
    ("library_staff_pages.deliveries", "예약대출 작업"),
    ("library_staff_pages.restock_plan", "채움 계획"),
    ("library_staff_pages.conflict_queue", "충돌 처리"),
    ("library_staff_pages.overdue", "연체"),
    ("library_staff_pages.patron_search", "이용자"),
    ("library_staff_pages.catalogue_page", "자료"),
)
STATES = {
    "online": ("정상", "ok"),
    "fault": ("고장", "warn"),
    "offline": ("연결 끊김", "error"),
    "revoked": ("사용 중지", "error"),
}
FUNCTIONS = {"checkout": "대출", "return": "반납", "pickup": "예약 수령"}
FAULTS = {
    "return_slot_jammed": "반납구 걸림",
    "dispenser_jammed": "배출구 걸림",
    "rfid_reader_error": "RFID 리더 오류",
    "card_reader_error": "회원증 리더 오류",
    "door_open": "문 열림",
    "power_on_battery": "배터리 전원",
    "printer_error": "프린터 오류",
    "touchscreen_error": "화면 오류",
}
COPY_STATUS = {
    "available": "도서관 서가",
    "in_kiosk": "키오스크 (대출 가능)",
    "on_loan": "대출 중",
    "reserved_for_pickup": "예약 보관 중",
    "in_transit": "키오스크로 옮기는 중",
    "lost": "분실",
    "withdrawn": "제적",
}
HOLD_STATUS = {"waiting": "책 배정 전", "in_transit": "책 배정됨", "ready": "찾아갈 수 있음"}
CONFLICT_KIND = {"replay": "키오스크 거래", "inventory": "재고 불일치"}
TRANSACTION_KIND = {"checkout": "대출", "return": "반납"}
# The library schemas' and rules' own messages, in Korean.
FIELD_MESSAGES = (
    (r"4 to 8 digits\.?", "숫자 4~8자리로 입력해 주세요."),
    (r"3 to 40 letters, digits or '-'\.", "영문, 숫자, '-'로 3~40자를 입력해 주세요."),
    (r"4 to 30 letters, digits or '-'\.", "영문, 숫자, '-'로 4~30자를 입력해 주세요."),
    (r"A KDC class like 813\.7\.", "813.7처럼 한국십진분류 번호를 입력해 주세요."),
    (r"Must be between (\d+) and (\d+)\.", r"\1에서 \2 사이로 입력해 주세요."),
    (r"ISBN-10 check digit does not match", "ISBN-10의 확인 숫자가 맞지 않습니다."),
    (r"ISBN-13 check digit does not match", "ISBN-13의 확인 숫자가 맞지 않습니다."),
    (r"An ISBN-13 has only digits", "ISBN-13은 숫자로만 되어 있습니다."),
    (r"An ISBN-13 starts with 978 or 979", "ISBN-13은 978 또는 979로 시작합니다."),
    (r"An ISBN has 10 or 13 digits", "ISBN은 10자리 또는 13자리입니다."),
    (r"Not a replayed checkout or return\.", "키오스크의 대출·반납 거래만 적용할 수 있습니다."),
    (r"Unknown barcode\.", "등록되지 않은 바코드입니다."),
)


class SlotLoadFormSchema(SlotLoadSchema):
    """The API's load body, and the slot the API takes from its path."""

    slot = ma.fields.Integer(required=True, validate=validate.Range(min=1))


class KioskFunctionsFormSchema(KioskFunctionsSchema):
    """The API's ``functions`` of a kiosk update, as check boxes: a box left unticked is sent
    by no browser, so it means off."""

    checkout = ma.fields.Boolean(load_default=False)
    pickup = ma.fields.Boolean(load_default=False)
    return_ = ma.fields.Boolean(data_key="return", attribute="return", load_default=False)


class TitleSearchSchema(TitleQuerySchema, PageQuerySchema):
    pass


class ConflictSearchSchema(LibraryConflictQuerySchema, PageQuerySchema):
    pass


_slot_load_schema = SlotLoadFormSchema()
_functions_schema = KioskFunctionsFormSchema()
_restock_schema = RestockQuerySchema()
_conflict_query_schema = ConflictSearchSchema()
_resolve_schema = ConflictResolveSchema()
_paged_schema = PageQuerySchema()
_patron_query_schema = PatronQuerySchema()
_lift_schema = PatronLiftSuspensionSchema()
_pin_schema = PatronPinResetSchema()
_title_search_schema = TitleSearchSchema()
_title_create_schema = TitleCreateSchema()
_isbn_schema = TitleCreateSchema(only=("isbn",))
# The copy form names only the barcode: the title is the page's own.
_copy_create_schema = CopyCreateSchema(only=("barcode",))
_copy_status_schema = CopyUpdateSchema()


def _settings() -> LibrarySettings:
    return settings_of(LibrarySettings)


@blp.context_processor
def _helpers() -> dict:
    return {
        "day_text": day_text,
        "last_day_text": last_day_text,
        "moment_text": moment_text,
        "tabs": TABS,
        "states": STATES,
        "function_names": FUNCTIONS,
        "fault_names": FAULTS,
        "copy_status": COPY_STATUS,
        "hold_status": HOLD_STATUS,
        "conflict_kind": CONFLICT_KIND,
        "transaction_kind": TRANSACTION_KIND,
        "refresh_seconds": REFRESH_SECONDS,
        "reason_text": reason_text,
    }


def reason_text(code: str, fallback: str) -> str:
    """A conflict's reason (a refusal code the kiosk met) in Korean, or its own message."""
    return korean_message(DomainError(fallback, code=code))


def _refused(form: Form, error, shown: tuple[str, ...] = ()) -> Form:
    """The form again with a refusal: next to a field the form has, else above it."""
    refused = refusal_form(form, error)
    errors = {name: messages for name, messages in refused.errors.items() if name in shown}
    if not errors:
        errors["_form"] = [korean_message(error)]
    return Form(form.values, errors)


def _pages(total: int, page: int) -> dict:
    return {"total": total, "page": page, "pages": max(1, math.ceil(total / PAGE_SIZE))}


def _page_of(stmt, page: int):
    """One page of a service's query, as the API's ``paginated`` gives it."""
    found = db.paginate(stmt, page=page, per_page=PAGE_SIZE, error_out=False, count=True)
    return list(found.items), _pages(found.total or 0, page)


# --- the fleet ----------------------------------------------------------------------------


@blp.get("/")
@staff_page(*STAFF)
def fleet():
    """Every kiosk: state, functions out of service, fill, last heartbeat (the API's
    ``GET /api/library/kiosks``). The table reloads itself every 30 s with the script; it is a
    plain page without it."""
    kiosks = kiosk_rules.describe_fleet(now(), _settings())
    return render_template("library/staff/fleet.html", kiosks=kiosks, checked_at=now())


def _kiosk_page(kiosk_id: int, form: Form | None = None, status: int = 200, new_key=None):
    kiosk = kiosk_rules.describe(lookup.get(Kiosk, kiosk_id), now(), _settings(), detail=True)
    if form is None:
        free = [s["slot"] for s in kiosk["slots"] if s["barcode"] is None]
        form = Form.empty(slot=free[0] if free else "", barcode=request.args.get("barcode", ""))
    return render_template(
        "library/staff/kiosk.html",
        kiosk=kiosk,
        form=form,
        new_key=new_key,
        fault_effects=FAULT_EFFECTS,
    ), status


@blp.get("/kiosks/<int:kiosk_id>")
@staff_page(*STAFF)
def kiosk(kiosk_id: int):
    return _kiosk_page(kiosk_id)


@blp.post("/kiosks/<int:kiosk_id>/load")
@staff_page(*STAFF)
def load(kiosk_id: int):
    """The API's ``POST /api/library/kiosks/<id>/slots/<slot>/load``."""
    data, form = read_form(_slot_load_schema)
    if data is None:
        return _kiosk_page(kiosk_id, form, 422)
    copy, error = attempt(
        kiosk_rules.load,
        signed_in_user(),
        lookup.get(Kiosk, kiosk_id),
        data["slot"],
        data["barcode"],
        now=now(),
        settings=_settings(),
    )
    if error is not None:
        if error.status == 404 and not error.errors:
            raise error
        return _kiosk_page(
            kiosk_id, _refused(form, error, ("slot", "barcode")), refusal_status(error)
        )
    message = f"{copy.barcode} 『{copy.title_ref.title}』을(를) {copy.slot}번 칸에 넣었습니다."
    if copy.status == "reserved_for_pickup":
        message += " 예약한 분이 찾아갈 수 있게 되어 알림을 보냈습니다."
    flash(message, "ok")
    return redirect(url_for("library_staff_pages.kiosk", kiosk_id=kiosk_id))


@blp.post("/kiosks/<int:kiosk_id>/slots/<int:slot>/unload")
@staff_page(*STAFF)
def unload(kiosk_id: int, slot: int):
    """The API's ``POST /api/library/kiosks/<id>/slots/<slot>/unload``."""
    copy, error = attempt(
        kiosk_rules.unload,
        signed_in_user(),
        lookup.get(Kiosk, kiosk_id),
        slot,
        now=now(),
        settings=_settings(),
    )
    if error is not None:
        flash(korean_message(error), "error")
    else:
        message = f"{slot}번 칸의 {copy.barcode} 『{copy.title_ref.title}』을(를) 꺼냈습니다."
        if copy.status == "in_transit":
            message += " 예약된 책이라 다시 키오스크에 넣어야 합니다."
        flash(message, "ok")
    return redirect(url_for("library_staff_pages.kiosk", kiosk_id=kiosk_id))


@blp.post("/kiosks/<int:kiosk_id>/functions")
@staff_page(*STAFF)
def switch_functions(kiosk_id: int):
    """The API's ``PATCH /api/library/kiosks/<id>`` with ``functions``: switch lending,
    returns and pickup on or off (a fault still takes a function out of service)."""
    data, _ = read_form(_functions_schema)
    if data is None:
        flash("기능 설정을 읽을 수 없습니다. 다시 골라 주세요.", "error")
        return redirect(url_for("library_staff_pages.kiosk", kiosk_id=kiosk_id))
    kiosk_rules.update_kiosk(
        signed_in_user(), lookup.get(Kiosk, kiosk_id), {"functions": data}, now=now()
    )
    on = [FUNCTIONS[name] for name in FUNCTIONS if data[name]]
    flash("켜 둔 기능: " + (", ".join(on) if on else "없음"), "ok")
    return redirect(url_for("library_staff_pages.kiosk", kiosk_id=kiosk_id))


@blp.post("/kiosks/<int:kiosk_id>/key")
@staff_page(*STAFF)
def issue_key(kiosk_id: int):
    """The API's ``POST /api/library/kiosks/<id>/key``: the new key is shown on this answer
    only (never stored, never put in the session)."""
    key = kiosk_rules.issue_key(signed_in_user(), lookup.get(Kiosk, kiosk_id), now=now())
    return _kiosk_page(kiosk_id, new_key=key)


@blp.post("/kiosks/<int:kiosk_id>/revoke")
@staff_page(*STAFF)
def revoke(kiosk_id: int):
    """The API's ``POST /api/library/kiosks/<id>/revoke``."""
    _, error = attempt(
        kiosk_rules.revoke_key, signed_in_user(), lookup.get(Kiosk, kiosk_id), now=now()
    )
    if error is not None:
        flash(korean_message(error), "error")
    else:
        flash(
            "키오스크 키의 사용을 멈췄습니다. 새 키를 발급하기 전까지 이 키오스크는 "
            "서버에 연결할 수 없습니다.",
            "ok",
        )
    return redirect(url_for("library_staff_pages.kiosk", kiosk_id=kiosk_id))


# --- holds to deliver, restocking ---------------------------------------------------------


@blp.get("/holds")
@staff_page(*STAFF)
def deliveries():
    """예약대출 work list: every hold whose copy must still be taken to its pickup kiosk."""
    return render_template("library/staff/deliveries.html", holds=restock.holds_awaiting_delivery())


@blp.get("/restock")
@staff_page(*STAFF)
def restock_plan():
    """The API's ``GET /api/library/restock-plan`` for the kiosk chosen."""
    kiosks = kiosk_rules.describe_fleet(now(), _settings())
    if not request.args:
        return render_template(
            "library/staff/restock.html", kiosks=kiosks, form=Form.empty(), plan=None
        )
    data, form = read_query(_restock_schema)
    if data is None:
        return render_template(
            "library/staff/restock.html", kiosks=kiosks, form=form, plan=None
        ), 422
    kiosk = lookup.get(Kiosk, data["kiosk_id"], field="kiosk_id")
    plan = restock.restock_plan(kiosk, now=now())
    return render_template(
        "library/staff/restock.html", kiosks=kiosks, form=form, plan=plan, kiosk=kiosk
    )


# --- the conflict queue -------------------------------------------------------------------


@blp.get("/conflicts")
@staff_page(*STAFF)
def conflict_queue():
    """The API's ``GET /api/library/conflicts``: open ones by default."""
    data, form = read_query(_conflict_query_schema)
    if data is None:
        return render_template("library/staff/conflicts.html", form=form, items=None), 422
    stmt = conflicts.conflicts_query(
        open_only=data["status"] == "open", kind=data.get("kind"), kiosk_id=data.get("kiosk_id")
    )
    items, paging = _page_of(stmt, data["page"])
    return render_template(
        "library/staff/conflicts.html", form=form, items=items, paging=paging, query=data
    )


def _conflict_page(conflict_id: int, form: Form, status: int = 200):
    item = lookup.get(Conflict, conflict_id)
    return render_template("library/staff/conflict.html", item=item, form=form), status


@blp.get("/conflicts/<int:conflict_id>")
@staff_page(*STAFF)
def conflict(conflict_id: int):
    return _conflict_page(conflict_id, Form.empty())


@blp.post("/conflicts/<int:conflict_id>")
@staff_page(*STAFF)
def resolve(conflict_id: int):
    """The API's ``POST /api/library/conflicts/<id>/resolve``, ``apply`` included."""
    data, form = read_form(_resolve_schema)
    if data is None:
        return _conflict_page(conflict_id, form, 422)
    item, error = attempt(
        conflicts.resolve_conflict,
        signed_in_user(),
        lookup.get(Conflict, conflict_id),
        data["resolution"],
        now=now(),
        settings=_settings(),
        apply=data["apply"],
    )
    if error is not None:
        return _conflict_page(
            conflict_id, _refused(form, error, ("resolution", "apply")), refusal_status(error)
        )
    flash(
        f"{item.id}번 충돌을 처리했습니다." + (" 거래를 적용했습니다." if data["apply"] else ""),
        "ok",
    )
    return redirect(url_for("library_staff_pages.conflict_queue"))


# --- overdue loans ------------------------------------------------------------------------


@blp.get("/overdue")
@staff_page(*STAFF)
def overdue():
    """The API's ``GET /api/library/overdue``: longest overdue first."""
    data, form = read_query(_paged_schema)
    if data is None:
        return render_template("library/staff/overdue.html", loans=None, form=form), 422
    moment = now()
    page, paging = _page_of(loans.overdue_loans(moment), data["page"])
    return render_template(
        "library/staff/overdue.html",
        loans=summaries.overdue_view(page, moment, _settings()),
        paging=paging,
        form=form,
    )


# --- patrons ------------------------------------------------------------------------------


@blp.get("/patrons")
@staff_page(*STAFF)
def patron_search():
    """The API's ``GET /api/library/patrons``: by card number or a part of the name."""
    data, form = read_query(_patron_query_schema)
    if data is None:
        return render_template("library/staff/patrons.html", form=form, found=None), 422
    if not data:
        return render_template("library/staff/patrons.html", form=form, found=None)
    stmt = patrons.patrons_query(card_number=data.get("card_number"), name=data.get("name"))
    found, paging = _page_of(stmt, 1)
    if len(found) == 1 and data.get("card_number"):
        return redirect(url_for("library_staff_pages.patron", patron_id=found[0].id))
    return render_template("library/staff/patrons.html", form=form, found=found, paging=paging)


def _patron_page(patron_id: int, forms: dict | None = None, status: int = 200):
    patron = lookup.get(Patron, patron_id)
    summary = summaries.resident_summary(patron, now(), _settings())
    forms = {"lift": Form.empty(), "pin": Form.empty()} | (forms or {})
    return render_template(
        "library/staff/patron.html",
        patron=patron,
        summary=summary,
        pin_locked=patron.pin_locked_until is not None and patron.pin_locked_until > now(),
        forms=forms,
    ), status


@blp.get("/patrons/<int:patron_id>")
@staff_page(*STAFF)
def patron(patron_id: int):
    """The API's ``GET /api/library/patrons/<id>/summary``: loans, holds, suspension."""
    return _patron_page(patron_id)


@blp.post("/patrons/<int:patron_id>/lift-suspension")
@staff_page(*STAFF)
def lift_suspension(patron_id: int):
    """The API's ``POST /api/library/patrons/<id>/lift-suspension``."""
    data, form = read_form(_lift_schema)
    if data is None:
        return _patron_page(patron_id, {"lift": form}, 422)
    _, error = attempt(
        patrons.lift_suspension,
        signed_in_user(),
        lookup.get(Patron, patron_id),
        reason=data["reason"],
        now=now(),
    )
    if error is not None:
        return _patron_page(
            patron_id, {"lift": _refused(form, error, ("reason",))}, refusal_status(error)
        )
    flash("대출정지와 예약 제한을 풀었습니다.", "ok")
    return redirect(url_for("library_staff_pages.patron", patron_id=patron_id))


@blp.post("/patrons/<int:patron_id>/pin")
@staff_page(*STAFF)
def reset_pin(patron_id: int):
    """The API's ``POST /api/library/patrons/<id>/pin``: a new PIN, the card unlocked."""
    data, form = read_form(_pin_schema)
    if data is None:
        return _patron_page(patron_id, {"pin": form}, 422)
    _, error = attempt(
        patrons.reset_pin,
        signed_in_user(),
        lookup.get(Patron, patron_id),
        data["pin"],
        now=now(),
        settings=_settings(),
    )
    if error is not None:
        return _patron_page(
            patron_id, {"pin": _refused(form, error, ("pin",))}, refusal_status(error)
        )
    flash("비밀번호를 새로 정하고 회원증 잠금을 풀었습니다.", "ok")
    return redirect(url_for("library_staff_pages.patron", patron_id=patron_id))


# --- the catalogue ------------------------------------------------------------------------


def _catalogue_page(search: Form, new: Form, status: int = 200, results=None, isbn=None):
    return render_template(
        "library/staff/catalogue.html",
        search=search,
        new=new,
        results=results,
        isbn_form=isbn or Form.empty(),
    ), status


@blp.get("/catalogue")
@staff_page(*STAFF)
def catalogue_page():
    """Titles by title, author or ISBN (the API's ``GET /api/library/titles``), and the form
    cataloguing a new one."""
    data, form = read_query(_title_search_schema)
    if data is None:
        return _catalogue_page(form, Form.empty(), 422)
    results = None
    if data.get("q"):
        page = data["page"]
        total, titles = catalogue.search_catalogue(
            data["q"], offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
        results = {"titles": titles, "q": data["q"]} | _pages(total, page)
    return _catalogue_page(form, Form.empty(), results=results)


@blp.get("/catalogue/isbn")
@staff_page(*STAFF)
def isbn_lookup():
    """Is this ISBN catalogued? Its title's page if so, else the new title's form with the
    ISBN-13 filled in (an ISBN-10 converted)."""
    data, form = read_query(_isbn_schema)
    if data is None:
        return _catalogue_page(Form.empty(), Form.empty(), 422, isbn=form)
    found, error = attempt(catalogue.isbn_lookup, data["isbn"])
    if error is not None:
        return _catalogue_page(
            Form.empty(), Form.empty(), refusal_status(error), isbn=_refused(form, error, ("isbn",))
        )
    isbn, title = found
    if title is not None:
        flash(f"ISBN {isbn}은(는) 이미 등록된 도서입니다.", "ok")
        return redirect(url_for("library_staff_pages.title", title_id=title.id))
    flash(f"ISBN {isbn}은(는) 아직 등록되지 않았습니다. 아래에서 새 도서로 등록해 주세요.", "warn")
    return _catalogue_page(Form.empty(), Form.empty(isbn=isbn), isbn=form)


@blp.post("/catalogue")
@staff_page(*STAFF)
def create_title():
    """The API's ``POST /api/library/titles``."""
    data, form = read_form(_title_create_schema)
    if data is None:
        return _catalogue_page(Form.empty(), form, 422)
    title, error = attempt(catalogue.create_title, signed_in_user(), data, now=now())
    if error is not None:
        fields = ("isbn", "title", "author", "publisher", "year", "kdc")
        return _catalogue_page(Form.empty(), _refused(form, error, fields), refusal_status(error))
    flash(f"『{title.title}』을(를) 등록했습니다. 이제 책의 바코드를 입력해 주세요.", "ok")
    return redirect(url_for("library_staff_pages.title", title_id=title.id))


def _title_page(title_id: int, form: Form, status: int = 200):
    described = catalogue.describe_title(title_id)
    copies = list(db.session.scalars(catalogue.copies_query({"title_id": title_id})))
    return render_template(
        "library/staff/title.html",
        title=described,
        copies=copies,
        form=form,
        manual_statuses=("available", "lost", "withdrawn"),
    ), status


@blp.get("/titles/<int:title_id>")
@staff_page(*STAFF)
def title(title_id: int):
    """A title with its copies and where each is (``GET /api/library/copies?title_id=``)."""
    return _title_page(title_id, Form.empty())


@blp.post("/titles/<int:title_id>/copies")
@staff_page(*STAFF)
def create_copy(title_id: int):
    """Barcode entry: the API's ``POST /api/library/copies`` for this title."""
    data, form = read_form(_copy_create_schema)
    if data is None:
        return _title_page(title_id, form, 422)
    copy, error = attempt(
        catalogue.create_copy,
        signed_in_user(),
        lookup.get(Title, title_id),
        data["barcode"],
        now=now(),
    )
    if error is not None:
        return _title_page(title_id, _refused(form, error, ("barcode",)), refusal_status(error))
    flash(f"바코드 {copy.barcode} 책을 등록했습니다. 도서관 서가에 있습니다.", "ok")
    return redirect(url_for("library_staff_pages.title", title_id=title_id))


@blp.post("/copies/<int:copy_id>/status")
@staff_page(*STAFF)
def copy_status(copy_id: int):
    """The API's ``PATCH /api/library/copies/<id>``: lost, withdrawn, or back available."""
    copy = lookup.get(Copy, copy_id)
    data, form = read_form(_copy_status_schema)
    if data is None:
        flash("바꿀 상태를 골라 주세요.", "error")
        return redirect(url_for("library_staff_pages.title", title_id=copy.title_id))
    _, error = attempt(catalogue.set_copy_status, signed_in_user(), copy, data["status"], now=now())
    if error is not None:
        flash(f"{copy.barcode}: {korean_message(error)}", "error")
    else:
        flash(f"{copy.barcode} 책을 ‘{COPY_STATUS[data['status']]}’(으)로 바꿨습니다.", "ok")
    return redirect(url_for("library_staff_pages.title", title_id=copy.title_id))
