"""The facility managers' pages of the staff console (``/staff/facilities``): each facility's
sessions today and this week with their occupancy; a session's bookings with check-in (the
code typed, or scanned by a reader that types it) and no-shows; slot templates; closures with
what they will cancel and refund shown before confirming, and lifting them; check-in gates
with their keys (shown once); the occupancy report as a chart drawn here (SVG with its data
table) and as a CSV file for Excel; lesson programmes (the list with places given and
waiting, the form to create and edit one, cancelling, the report of applications against
places per programme and group, and a session's participants with check-in by code).

Doors like the JSON views of ``facilities.manager_api`` and ``facilities.programme_api``:
the same schemas, the same use cases,
audited by those use cases as the API's calls are."""

from __future__ import annotations

from datetime import timedelta

from flask import Response, flash, redirect, render_template, request, url_for

from core.clock import now
from core.errors import DomainError
from core.settings import settings_of
from core.web import (
    Form,
    PageBlueprint,
    attempt,
    korean_message,
    read_form,
    read_query,
    refusal_form,
    refusal_status,
    signed_in_user,
    staff_page,
)
from facilities.models import CATEGORIES, ENROLMENT_MODES, PROGRAMME_LEVELS
from facilities.pages import Formats
from facilities.programme_schemas import (
    ProgrammeCancelSchema,
    ProgrammeEditFormSchema,
    ProgrammeFormSchema,
)
from facilities.schemas import (
    CheckInSchema,
    ClosureFormSchema,
    GateCreateSchema,
    GenerateSlotsSchema,
    ReportQuerySchema,
    ScheduleQuerySchema,
    SlotTemplateCreateSchema,
    SlotTemplateUpdateSchema,
)
from facilities.services import (
    attendance,
    catalog,
    checkin,
    closures,
    enrolments,
    gates,
    lotteries,
    programmes,
    reports,
    sessions,
    slots,
)
from facilities.services.local_time import local_date
from facilities.settings import FacilitySettings

blp = PageBlueprint(
    "facilities_staff_pages", __name__, template_folder="templates", url_prefix="/staff/facilities"
)
MANAGER = "facility_manager"

WEEKDAY_NAMES = ("월", "화", "수", "목", "금", "토", "일")
# Empty inputs for a template's start times: a form sends only those filled in.
START_TIME_INPUTS = 8
# The Korean text of the schemas' and services' own messages on these forms.
FIELD_MESSAGES = (
    (r"Use HH:MM \(24-hour\)\.", "시:분(24시간) 형식으로 입력해 주세요. 예: 18:00"),
    (r"Must be after starts_at\.", "시작보다 뒤여야 합니다."),
    (r"Too early\.", "시작보다 뒤여야 합니다."),
    (r"Before 'from'\.", "시작일보다 뒤여야 합니다."),
    (r"Range over (\d+) days\.", r"한 번에 \1일까지 볼 수 있습니다."),
    (r"1 to (\d+) characters\.", r"1자에서 \1자 사이로 입력해 주세요."),
)

_schedule_schema = ScheduleQuerySchema()
_checkin_schema = CheckInSchema()
_template_schema = SlotTemplateCreateSchema()
_template_update_schema = SlotTemplateUpdateSchema(only=("active",))
_generate_schema = GenerateSlotsSchema()
_closure_schema = ClosureFormSchema()
_gate_schema = GateCreateSchema()
_report_schema = ReportQuerySchema()
_programme_schema = ProgrammeFormSchema(exclude=("facility_id",))  # the facility: the path's
_programme_edit_schema = ProgrammeEditFormSchema()
_programme_cancel_schema = ProgrammeCancelSchema()


@blp.context_processor
def _formats() -> dict:
    return {"fmt": Formats, "weekday_names": WEEKDAY_NAMES}


def _collapsed(form: Form) -> Form:
    """Messages about one item of a list (``start_times.1``) shown next to the list."""
    errors: dict[str, list[str]] = {}
    for name, messages in form.errors.items():
        errors.setdefault(name.split(".")[0], []).extend(messages)
    return Form(form.values, errors)


def _refused_at(form: Form, error: DomainError, name: str) -> Form:
    """A refusal next to the field it is about, when it names no field itself."""
    refused = refusal_form(form, error)
    if "_form" in refused.errors and name not in refused.errors:
        refused.errors[name] = refused.errors["_form"]
    return refused


# --- the facilities and their sessions ----------------------------------------------------


@blp.get("/")
@staff_page(MANAGER)
def index():
    return render_template("facilities/staff/index.html", facilities=catalog.list_facilities())


@blp.get("/<int:facility_id>/sessions")
@staff_page(MANAGER)
def sessions_page(facility_id):
    query, form = read_query(_schedule_schema)
    if query is None:
        facility = catalog.facility_details(facility_id)
        return render_template(
            "facilities/staff/sessions.html", facility=facility, form=form, days=[], view="day"
        ), 422
    view = query["view"]
    length = 7 if view == "week" else 1
    found, error = attempt(
        sessions.schedule, facility_id, now(), first=query.get("date"), days=length
    )
    if error is not None:
        facility = catalog.facility_details(facility_id)
        return render_template(
            "facilities/staff/sessions.html",
            facility=facility,
            form=refusal_form(form, error),
            days=[],
            view=view,
        ), refusal_status(error)
    step = timedelta(days=length)
    return render_template(
        "facilities/staff/sessions.html",
        form=form,
        view=view,
        earlier=found["first"] - step,
        later=found["first"] + step,
        **found,
    )


def _session_page(slot_id: int, form: Form, status: int = 200):
    at = now()
    found = sessions.roster(slot_id, at)
    secret = settings_of(FacilitySettings).checkin_secret
    codes = {
        row["booking"].id: checkin.code_for(row["booking"], secret)
        for row in found["bookings"]
        if row["booking"].status == "confirmed"
    }
    return render_template(
        "facilities/staff/session.html", form=form, now=at, codes=codes, **found
    ), status


@blp.get("/sessions/<int:slot_id>")
@staff_page(MANAGER)
def session(slot_id):
    return _session_page(slot_id, Form.empty())


@blp.post("/sessions/<int:slot_id>/check-in")
@staff_page(MANAGER)
def check_in(slot_id):
    """The check-in API's use case: the code as the resident's QR code holds it."""
    data, form = read_form(_checkin_schema)
    if data is None:
        return _session_page(slot_id, form, 422)
    secret = settings_of(FacilitySettings).checkin_secret
    booking, error = attempt(checkin.check_in, signed_in_user(), data["code"], now(), secret)
    if error is not None:
        return _session_page(slot_id, _refused_at(form, error, "code"), refusal_status(error))
    flash(
        f"입장 확인: 예약 {booking.id}번, {Formats.party(booking.party)} "
        f"({Formats.when(booking.starts_at)})",
        "ok",
    )
    return redirect(url_for(".session", slot_id=slot_id), 303)


# --- slot templates -----------------------------------------------------------------------


def _templates_page(facility_id: int, form: Form, status: int = 200):
    facility = catalog.get_facility(facility_id)
    return render_template(
        "facilities/staff/templates.html",
        facility=catalog.describe(facility),
        templates=catalog.list_templates(facility),
        form=_collapsed(form),
        start_inputs=START_TIME_INPUTS,
    ), status


@blp.get("/<int:facility_id>/templates")
@staff_page(MANAGER)
def templates(facility_id):
    return _templates_page(facility_id, Form.empty(buffer_after_minutes="0"))


@blp.post("/<int:facility_id>/templates")
@staff_page(MANAGER)
def create_template(facility_id):
    data, form = read_form(_template_schema)
    if data is None:
        return _templates_page(facility_id, form, 422)
    facility = catalog.get_facility(facility_id)
    template, error = attempt(_create_template, facility, data)
    if error is not None:
        return _templates_page(facility_id, refusal_form(form, error), refusal_status(error))
    flash(f"회차 틀 「{template.name}」을 만들었습니다.", "ok")
    return redirect(url_for(".templates", facility_id=facility_id), 303)


def _create_template(facility, data: dict):
    """As the API's view: the resource (of this facility), then the template."""
    resource = catalog.get_resource(data.pop("resource_id"), facility)
    return catalog.create_template(signed_in_user(), resource, data, now())


@blp.post("/templates/<int:template_id>/active")
@staff_page(MANAGER)
def set_template_active(template_id):
    template = catalog.get_template(template_id)
    data, _ = read_form(_template_update_schema)
    if data is None or "active" not in data:
        flash("사용 여부를 골라 주세요.", "error")
    else:
        catalog.update_template(signed_in_user(), template, data, now())
        state = "다시 사용합니다" if data["active"] else "더 이상 쓰지 않습니다"
        flash(f"회차 틀 「{template.name}」을 {state}. 이미 만든 회차는 그대로입니다.", "ok")
    return redirect(url_for(".templates", facility_id=template.resource.facility_id), 303)


@blp.post("/<int:facility_id>/generate-slots")
@staff_page(MANAGER)
def generate_slots(facility_id):
    data, form = read_form(_generate_schema)
    if data is None:
        return _templates_page(facility_id, form, 422)
    created = slots.generate_for_facility(catalog.get_facility(facility_id), data["days"], now())
    flash(f"앞으로 {data['days']}일의 회차 {created}개를 만들었습니다.", "ok")
    return redirect(url_for(".templates", facility_id=facility_id), 303)


# --- closures -----------------------------------------------------------------------------


def _closures_page(facility_id: int, form: Form, status: int = 200):
    facility = catalog.get_facility(facility_id)
    return render_template(
        "facilities/staff/closures.html",
        facility=catalog.describe(facility),
        closures=closures.list_closures(facility),
        form=form,
        now=now(),
    ), status


@blp.get("/<int:facility_id>/closures")
@staff_page(MANAGER)
def closures_page(facility_id):
    return _closures_page(facility_id, Form.empty())


@blp.post("/<int:facility_id>/closures/preview")
@staff_page(MANAGER)
def preview_closure(facility_id):
    """What the closure would cancel and refund, with a form to confirm it as it is."""
    data, form = read_form(_closure_schema)
    if data is None:
        return _closures_page(facility_id, form, 422)
    facility = catalog.get_facility(facility_id)
    found, error = attempt(closures.preview, facility, **data)
    if error is not None:
        return _closures_page(facility_id, refusal_form(form, error), refusal_status(error))
    return render_template("facilities/staff/closure_preview.html", form=form, **found)


@blp.post("/<int:facility_id>/closures")
@staff_page(MANAGER)
def create_closure(facility_id):
    data, form = read_form(_closure_schema)
    if data is None:
        return _closures_page(facility_id, form, 422)
    facility = catalog.get_facility(facility_id)
    closure, error = attempt(closures.create, signed_in_user(), facility, now=now(), **data)
    if error is not None:
        return _closures_page(facility_id, refusal_form(form, error), refusal_status(error))
    return redirect(url_for(".closure", closure_id=closure.id), 303)


@blp.get("/closures/<int:closure_id>")
@staff_page(MANAGER)
def closure(closure_id):
    return render_template(
        "facilities/staff/closure.html", **closures.details(closures.get_closure(closure_id))
    )


@blp.post("/closures/<int:closure_id>/lift")
@staff_page(MANAGER)
def lift_closure(closure_id):
    found = closures.get_closure(closure_id)
    lifted, error = attempt(closures.lift, signed_in_user(), found, now())
    if error is not None:
        flash(korean_message(error), "error")
    else:
        flash(f"휴장을 해제했습니다. 회차 {lifted.slots_reopened}개가 다시 열렸습니다.", "ok")
    return redirect(url_for(".closure", closure_id=closure_id), 303)


# --- gates --------------------------------------------------------------------------------


def _gates_page(facility_id: int, form: Form, status: int = 200, created=None):
    facility = catalog.get_facility(facility_id)
    return render_template(
        "facilities/staff/gates.html",
        facility=catalog.describe(facility),
        gates=gates.list_gates(facility),
        form=form,
        created=created,
    ), status


@blp.get("/<int:facility_id>/gates")
@staff_page(MANAGER)
def gates_page(facility_id):
    return _gates_page(facility_id, Form.empty())


@blp.post("/<int:facility_id>/gates")
@staff_page(MANAGER)
def create_gate(facility_id):
    """A new gate: its key is on this answer only (never stored, never shown again)."""
    data, form = read_form(_gate_schema)
    if data is None:
        return _gates_page(facility_id, form, 422)
    facility = catalog.get_facility(facility_id)
    made, error = attempt(gates.create_gate, signed_in_user(), facility, data["name"], now())
    if error is not None:
        return _gates_page(facility_id, refusal_form(form, error), refusal_status(error))
    gate, key = made
    return _gates_page(facility_id, Form.empty(), 201, created={"gate": gate, "key": key})


@blp.post("/gates/<int:gate_id>/revoke")
@staff_page(MANAGER)
def revoke_gate(gate_id):
    gate = gates.get_gate(gate_id)
    revoked, error = attempt(gates.revoke, signed_in_user(), gate, now())
    if error is not None:
        flash(korean_message(error), "error")
    else:
        flash(f"게이트 「{revoked.name}」의 키를 사용 중지했습니다.", "ok")
    return redirect(url_for(".gates_page", facility_id=gate.facility_id), 303)


# --- lesson programmes --------------------------------------------------------------------

PROGRAMME_LABELS = {
    "levels": {"beginner": "초급", "intermediate": "중급", "advanced": "고급"},
    "enrolment": {"first_come": "선착순", "lottery": "추첨"},
    "categories": {
        "adult": "성인",
        "youth": "청소년",
        "child": "어린이",
        "senior": "경로",
        "disabled": "장애인",
        "veteran": "국가유공자",
    },
    "groups": {"resident": "시민", "everyone": "누구나"},
}


def _programme_form(form: Form) -> Form:
    """Messages about one price (``prices.adult.value``) next to that price's input, those
    about a list's item next to the list, and those about the draw order next to its choice."""
    errors: dict[str, list[str]] = {}
    for name, messages in form.errors.items():
        parts = name.split(".")
        key = f"price_{parts[1]}" if parts[0] == "prices" and len(parts) > 1 else parts[0]
        key = "priority_order" if key == "priority_groups" else key  # the page's one choice
        errors.setdefault(key, []).extend(messages)
    return Form(form.values, errors)


def _programme_values(programme) -> dict:
    """A programme's stored values as the edit form's inputs show them."""
    tz = programme.facility.timezone
    values = {
        name: str(getattr(programme, name))
        for name in ("title", "level", "instructor", "min_age", "max_age", "capacity")
    }
    values.update(
        min_enrolment=str(programme.min_enrolment),
        payment_hours=str(programme.payment_hours),
        window_opens_at=Formats.local(programme.window_opens_at, tz).strftime("%Y-%m-%dT%H:%M"),
        window_closes_at=Formats.local(programme.window_closes_at, tz).strftime("%Y-%m-%dT%H:%M"),
    )
    for category, price in programme.prices.items():
        values[f"price_{category}"] = str(price)
    return values


def _programmes_page(facility_id: int, form: Form, status: int = 200):
    facility = catalog.get_facility(facility_id)
    return render_template(
        "facilities/staff/programmes.html",
        facility=catalog.describe(facility),
        rows=programmes.for_managers(facility_id),
        form=_programme_form(form),
        labels=PROGRAMME_LABELS,
        levels=PROGRAMME_LEVELS,
        modes=ENROLMENT_MODES,
        categories=CATEGORIES,
    ), status


@blp.get("/<int:facility_id>/programmes")
@staff_page(MANAGER)
def programmes_page(facility_id):
    return _programmes_page(
        facility_id,
        Form.empty(
            min_enrolment="0",
            payment_hours="48",
            rink_places="1",
            enrolment="first_come",
            priority_order="residents_first",
        ),
    )


@blp.post("/<int:facility_id>/programmes")
@staff_page(MANAGER)
def create_programme(facility_id):
    """``POST /api/programmes``'s schema (the facility from the path) and use case."""
    data, form = read_form(_programme_schema)
    if data is None:
        return _programmes_page(facility_id, form, 422)
    data["facility_id"] = facility_id
    programme, error = attempt(programmes.create_programme, signed_in_user(), data, now())
    if error is not None:
        return _programmes_page(facility_id, refusal_form(form, error), refusal_status(error))
    flash(f"강습 「{programme.title}」을 만들었습니다.", "ok")
    return redirect(url_for(".programme", programme_id=programme.id), 303)


def _programme_page(programme_id: int, form: Form, status: int = 200, cancel_form=None):
    programme = programmes.get_programme(programme_id)
    return render_template(
        "facilities/staff/programme.html",
        facility=catalog.describe(programme.facility),
        found=programmes.describe(programme, now()),
        lottery=programmes.programme_lottery(programme.id),
        sessions=programmes.sessions_of(programme.id),
        form=_programme_form(form),
        cancel_form=cancel_form or Form.empty(),
        labels=PROGRAMME_LABELS,
        levels=PROGRAMME_LEVELS,
        categories=CATEGORIES,
    ), status


@blp.get("/programmes/<int:programme_id>")
@staff_page(MANAGER)
def programme(programme_id):
    found = programmes.get_programme(programme_id)
    return _programme_page(programme_id, Form.empty(**_programme_values(found)))


@blp.post("/programmes/<int:programme_id>")
@staff_page(MANAGER)
def update_programme(programme_id):
    """``PATCH /api/programmes/<id>``'s schema and use case."""
    data, form = read_form(_programme_edit_schema)
    if data is None:
        return _programme_page(programme_id, form, 422)
    changed, error = attempt(
        programmes.update_programme, signed_in_user(), programme_id, data, now()
    )
    if error is not None:
        return _programme_page(programme_id, refusal_form(form, error), refusal_status(error))
    flash(f"강습 「{changed.title}」을 고쳤습니다.", "ok")
    return redirect(url_for(".programme", programme_id=programme_id), 303)


@blp.post("/programmes/<int:programme_id>/cancel")
@staff_page(MANAGER)
def cancel_programme(programme_id):
    """``POST /api/programmes/<id>/cancel``'s schema and use case."""
    data, form = read_form(_programme_cancel_schema)
    found = programmes.get_programme(programme_id)
    values = Form.empty(**_programme_values(found))
    if data is None:
        return _programme_page(programme_id, values, 422, cancel_form=form)
    cancelled, error = attempt(
        enrolments.cancel_by_manager, signed_in_user(), programme_id, data["reason"], now()
    )
    if error is not None:
        refused = _refused_at(form, error, "reason")
        return _programme_page(programme_id, values, refusal_status(error), cancel_form=refused)
    flash(f"강습 「{cancelled.title}」을 취소했습니다. 신청자 모두에게 알렸습니다.", "ok")
    return redirect(url_for(".programme", programme_id=programme_id), 303)


@blp.get("/<int:facility_id>/programme-report")
@staff_page(MANAGER)
def programme_report(facility_id):
    """``GET /api/manager/programme-report``'s use case, for this facility."""
    facility = catalog.get_facility(facility_id)
    return render_template(
        "facilities/staff/programme_report.html",
        facility=catalog.describe(facility),
        rows=lotteries.report(facility_id),
        labels=PROGRAMME_LABELS,
    )


def _attendance_page(session_id: int, form: Form, status: int = 200):
    found = attendance.roster(session_id)
    return render_template(
        "facilities/staff/programme_session.html",
        facility=catalog.describe(found["programme"].facility),
        form=form,
        **found,
    ), status


@blp.get("/programme-sessions/<int:session_id>")
@staff_page(MANAGER)
def programme_session(session_id):
    return _attendance_page(session_id, Form.empty())


@blp.post("/programme-sessions/<int:session_id>/check-in")
@staff_page(MANAGER)
def programme_check_in(session_id):
    """``POST /api/programme-check-ins``'s schema and use case: the participant's code."""
    data, form = read_form(_checkin_schema)
    if data is None:
        return _attendance_page(session_id, form, 422)
    secret = settings_of(FacilitySettings).checkin_secret
    came, error = attempt(attendance.check_in, signed_in_user(), data["code"], now(), secret)
    if error is not None:
        return _attendance_page(session_id, _refused_at(form, error, "code"), refusal_status(error))
    flash(f"출석 확인: 신청 {came.application_id}번", "ok")
    return redirect(url_for(".programme_session", session_id=came.session_id), 303)


# --- the occupancy report -----------------------------------------------------------------


def _default_range(facility) -> dict:
    today = local_date(now(), facility.timezone)
    return {"from": (today - timedelta(days=6)).isoformat(), "to": today.isoformat()}


@blp.get("/<int:facility_id>/report")
@staff_page(MANAGER)
def report(facility_id):
    facility = catalog.get_facility(facility_id)
    if not request.args:
        return redirect(url_for(".report", facility_id=facility_id, **_default_range(facility)))
    query, form = read_query(_report_schema)
    rows, error = (None, None)
    status = 422
    if query is not None:
        rows, error = attempt(reports.occupancy, facility, query["from_"], query["to"])
        if error is not None:
            form, status = refusal_form(form, error), refusal_status(error)
        else:
            status = 200
    return render_template(
        "facilities/staff/report.html",
        facility=catalog.describe(facility),
        form=form,
        query=query,
        rows=rows or [],
        chart=chart(reports.daily_totals(rows or [])),
    ), status


@blp.get("/<int:facility_id>/report.csv")
@staff_page(MANAGER)
def report_csv(facility_id):
    """The API's CSV, starting with a BOM so that Excel reads its Korean as UTF-8."""
    facility = catalog.get_facility(facility_id)
    query, form = read_query(_report_schema)
    if query is None:
        return redirect(url_for(".report", facility_id=facility_id, **form.values))
    rows = reports.occupancy(facility, query["from_"], query["to"])
    name = f"occupancy-{facility.id}-{query['from_']}-{query['to']}.csv"
    return Response(
        reports.to_csv(rows, bom=True).encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# The chart's drawing area, in SVG user units (it scales to the page's width).
CHART_WIDTH, CHART_HEIGHT = 640, 260
CHART_LEFT, CHART_BOTTOM, CHART_TOP = 44, 40, 16


def chart(days: list[dict]) -> dict:
    """Bars of each day's occupancy, 0–100%, laid out for the SVG (drawing only)."""
    inner_width = CHART_WIDTH - CHART_LEFT - 8
    inner_height = CHART_HEIGHT - CHART_BOTTOM - CHART_TOP
    slot = inner_width / max(len(days), 1)
    bars = []
    for index, day in enumerate(days):
        height = inner_height * min(day["occupancy_percent"], 100) / 100
        bars.append(
            {
                **day,
                "x": round(CHART_LEFT + index * slot + slot * 0.15, 1),
                "width": round(slot * 0.7, 1),
                "y": round(CHART_TOP + inner_height - height, 1),
                "height": round(height, 1),
                "label_x": round(CHART_LEFT + index * slot + slot / 2, 1),
                "label": f"{day['date'].month}/{day['date'].day}",
            }
        )
    ticks = [
        {"percent": p, "y": round(CHART_TOP + inner_height * (1 - p / 100), 1)}
        for p in (0, 25, 50, 75, 100)
    ]
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_LEFT,
        "right": CHART_WIDTH - 8,
        "baseline": CHART_TOP + inner_height,
        "bars": bars,
        "ticks": ticks,
        "label_every": max(1, len(days) // 10 + (1 if len(days) % 10 else 0)),
    }
