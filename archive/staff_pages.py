"""The archivists' pages of the staff console (``/staff/archive``): the records list with its
filters and bulk publish/withdraw, the record form (fuzzy dates read as typed, a stale save
shown field by field), scans uploaded several at once, OCR correction beside the scan, the
publishing checklist, and CSV import and export.

Each page is a door like the JSON API's (``archive.api``, ``archive.imports_api``): it parses
with the API's schemas, checks the role, makes one call to the use case the API calls, and
renders. The use cases audit every change, whichever door asked.
"""

from __future__ import annotations

import math

import marshmallow as ma
from flask import (
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from archive.models import OCR_STATUSES, RECORD_TYPES, VISIBILITIES
from archive.pages import TYPE_NAMES
from archive.schemas import (
    DatePreviewSchema,
    ImportQuerySchema,
    ImportUploadSchema,
    MediaUpdateSchema,
    RecordBulkSchema,
    RecordCreateSchema,
    RecordQuerySchema,
    RecordUpdateSchema,
)
from archive.services import dates, exports, imports
from archive.services import media as media_service
from archive.services import records as record_service
from archive.settings import ArchiveSettings
from core.clock import now
from core.errors import DomainError
from core.extensions import db
from core.settings import settings_of
from core.web import (
    Form,
    PageBlueprint,
    PageQuerySchema,
    attempt,
    korean_errors,
    korean_message,
    read_form,
    read_query,
    refusal_form,
    refusal_status,
    safe_next,
    signed_in_user,
    staff_page,
)

ROLES = ("archivist",)

blp = PageBlueprint("archive_staff_pages", __name__, url_prefix="/staff/archive")

PER_PAGE = 50

VISIBILITY_NAMES = {"draft": "초안", "published": "공개", "withdrawn": "공개 중단"}
MEDIA_STATUS_NAMES = {"processing": "처리 중", "ready": "준비됨", "failed": "실패"}
OCR_STATUS_NAMES = {
    "pending": "글자 읽기 전",
    "done": "글자 읽음",
    "unavailable": "글자 읽기를 쓸 수 없음",
    "failed": "글자 읽기 실패",
}
IMPORT_STATUS_NAMES = {"queued": "대기 중", "running": "진행 중", "done": "끝남", "failed": "실패"}
FIELD_LABELS = {
    "identifier": "식별자",
    "title": "제목",
    "alt_title": "다른 제목",
    "description": "설명",
    "creator": "만든 이",
    "contributor": "기여자",
    "date_text": "날짜",
    "type": "유형",
    "subjects": "주제",
    "place": "장소",
    "collections": "모음",
    "language": "언어",
    "rights": "이용 조건",
    "source": "출처",
    "transcription": "옮겨 적은 글",
    "visibility": "공개 상태",
}
CHECKLIST_LABELS = {
    "title": "제목",
    "date": "읽을 수 있는 날짜",
    "rights": "이용 조건 (공공누리·CC)",
    "content": "이미지 한 장 이상 또는 옮겨 적은 글",
}
RIGHTS_SUGGESTIONS = ("KOGL-1", "KOGL-2", "KOGL-3", "KOGL-4", "CC0", "CC-BY-4.0", "CC-BY-SA-4.0")
LIST_FIELDS = ("subjects", "collections")

# The Korean text of the archive's refusals, and of its schemas' and use cases' messages.
MESSAGES = {
    "not_ready_to_publish": "공개하려면 확인 목록을 모두 채워야 합니다.",
    "image_too_large": "화소 수가 너무 많은 이미지입니다. 크기를 줄여서 올려 주세요.",
    "corrupt_image": "손상되었거나 읽을 수 없는 이미지입니다.",
    "unsupported_media_type": "이미지 파일이 아닙니다. JPEG, PNG, TIFF, WebP만 올릴 수 있습니다.",
    "payload_too_large": "파일이 너무 큽니다.",
}
FIELD_MESSAGES = [
    (r"Required to publish\.", "공개하려면 꼭 있어야 합니다."),
    (r"Already used by another record\.", "다른 자료가 이미 쓰는 식별자입니다."),
    (
        r"1–64 letters, digits.*",
        "영문·숫자·'.'·'_'·'-'로 64자까지 적어 주세요 (예: UJB-2026-000123).",
    ),
    (
        r"Unknown rights statement.*",
        "공공누리 제1~4유형(KOGL-1~4), CC0, CC-BY-4.0 같은 값을 적어 주세요.",
    ),
    (r"Must not be blank\.", "꼭 입력해 주세요."),
    (r"year_from is after year_to", "시작 연도가 끝 연도보다 뒤입니다."),
    (r"Current version is \d+\.", "그사이 다른 사람이 이 자료를 바꿨습니다."),
]


@blp.app_template_filter("archive_visibility")
def visibility_name(value: str | None) -> str:
    return VISIBILITY_NAMES.get(value or "", value or "")


def date_label(parsed: dates.DateRange) -> str:
    """The interval a date was read as, in words."""
    if not parsed.parsed:
        return "읽을 수 없는 날짜입니다. 적은 그대로 두고 검토 목록에 올립니다."
    if parsed.year_from is None:
        return ""

    def year(value: int) -> str:
        return f"기원전 {-value}년" if value < 0 else f"{value}년"

    if parsed.year_from == parsed.year_to:
        return year(parsed.year_from)
    return f"{year(parsed.year_from)} ~ {year(parsed.year_to)}"


def _shown(value) -> str:
    if value is None or value == [] or value == "":
        return "(비어 있음)"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if value in VISIBILITY_NAMES:
        return VISIBILITY_NAMES[value]
    return str(value)


def _common() -> dict:
    return {
        "type_names": TYPE_NAMES,
        "record_types": RECORD_TYPES,
        "visibilities": VISIBILITIES,
        "visibility_names": VISIBILITY_NAMES,
        "media_status_names": MEDIA_STATUS_NAMES,
        "ocr_status_names": OCR_STATUS_NAMES,
        "ocr_statuses": OCR_STATUSES,
        "import_status_names": IMPORT_STATUS_NAMES,
        "field_labels": FIELD_LABELS,
        "shown": _shown,
    }


# --- the records list ---------------------------------------------------------------------


class _ListQuerySchema(RecordQuerySchema, PageQuerySchema):
    pass


_list_schema = _ListQuerySchema()


@blp.get("/")
@staff_page(*ROLES)
def records():
    """Every record, newest first, narrowed by the list's filters and words."""
    data, form = read_query(_list_schema)
    if data is None:
        page = render_template("archive/staff/records.html", form=form, found=None, **_common())
        return page, 422
    page_number = data.pop("page")
    stmt = record_service.list_records(data, may_see_unpublished=True)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    found = list(db.session.scalars(stmt.offset((page_number - 1) * PER_PAGE).limit(PER_PAGE)))
    pages = max(1, math.ceil(total / PER_PAGE))
    args = {k: v for k, v in request.args.items() if k != "page" and v.strip()}
    return render_template(
        "archive/staff/records.html",
        form=form,
        found=found,
        total=total,
        page=page_number,
        previous_url=url_for(".records", **args, page=page_number - 1) if page_number > 1 else None,
        next_url=url_for(".records", **args, page=page_number + 1) if page_number < pages else None,
        vocabulary=record_service.vocabulary(),
        here=request.full_path.rstrip("?"),
        **_common(),
    )


@blp.post("/bulk")
@staff_page(*ROLES)
def bulk():
    """Publish or withdraw the records chosen in the list: each as its own action would, one
    refused not stopping the others."""
    back = safe_next(request.form.get("next"), url_for(".records"))
    data, form = read_form(RecordBulkSchema())
    if data is None:
        for name, messages in form.errors.items():
            text = "고른 자료가 없습니다." if name == "ids" else messages[0]
            flash(text, "error")
        return redirect(back, 303)
    outcomes = record_service.change_many(signed_in_user(), data["ids"], data["action"], now=now())
    done = [o for o in outcomes if o.refusal is None]
    verb = "공개했습니다" if data["action"] == "publish" else "공개를 중단했습니다"
    if done:
        flash(f"{len(done)}건을 {verb}: {', '.join(o.identifier for o in done)}", "ok")
    for outcome in outcomes:
        if outcome.refusal is not None:
            flash(
                _refusal_line(outcome.identifier or f"#{outcome.record_id}", outcome.refusal),
                "error",
            )
    return redirect(back, 303)


def _refusal_line(name: str, refusal: DomainError) -> str:
    text = f"{name}: {korean_message(refusal)}"
    if refusal.code == "not_ready_to_publish":
        missing = [
            CHECKLIST_LABELS[item]
            for item, field in record_service.CHECKLIST_FIELDS.items()
            if field in (refusal.errors or {})
        ]
        text += f" (빠진 것: {', '.join(missing)})"
    elif refusal.code == "conflict":
        text += " (이미 그 상태입니다)"
    return text


# --- the record form ----------------------------------------------------------------------


class _RecordFormSchema(RecordCreateSchema):
    """The record form: every field (as a new record's), and the version it was read at."""

    version = RecordUpdateSchema._declared_fields["version"]


_record_schema = _RecordFormSchema()


def _record_values(record) -> dict:
    values = {name: getattr(record, name) for name in record_service.EDITABLE}
    values["subjects"] = list(record.subjects)
    values["collections"] = list(record.collections or [])
    values["version"] = record.version
    return {k: v for k, v in values.items() if v is not None}


def _record_page(record, form: Form, *, stale=None, refusal: DomainError | None = None):
    return render_template(
        "archive/staff/record.html",
        record=record,
        form=form,
        stale=stale,
        refusal=refusal,
        vocabulary=record_service.vocabulary(),
        rights_suggestions=RIGHTS_SUGGESTIONS,
        checklist=[
            (CHECKLIST_LABELS[item], done)
            for item, done in record_service.publish_checklist(record).items()
        ]
        if record is not None
        else None,
        date_label=date_label(dates.parse_date(form.values.get("date_text"))),
        **_common(),
    )


@blp.get("/new")
@staff_page(*ROLES)
def new_record():
    return _record_page(None, Form.empty(type="photo", language="ko"))


@blp.post("/new")
@staff_page(*ROLES)
def create_record():
    data, form = read_form(_record_schema)
    if data is None:
        return _record_page(None, form), 422
    data.pop("version", None)
    record, error = attempt(record_service.create_record, signed_in_user(), data, now=now())
    if error is not None:
        return _record_page(None, refusal_form(form, error)), refusal_status(error)
    flash(
        f"자료 {record.identifier}을(를) 초안으로 만들었습니다. 이제 스캔 이미지를 올려 주세요.",
        "ok",
    )
    return redirect(url_for(".record", record_id=record.id), 303)


@blp.get("/records/<int:record_id>")
@staff_page(*ROLES)
def record(record_id):
    found = record_service.get_record(record_id)
    return _record_page(found, Form(_record_values(found), {}))


@blp.post("/records/<int:record_id>")
@staff_page(*ROLES)
def update_record(record_id):
    """Save the whole form: a field left blank is cleared. Based on an older version than the
    stored one, the save is refused and shows what changed since."""
    found = record_service.get_record(record_id)
    data, form = read_form(_record_schema)
    if data is None:
        return _record_page(found, form), 422
    expected = data.pop("version", None)
    full = {
        name: data.get(name, [] if name in LIST_FIELDS else None)
        for name in record_service.EDITABLE
    }
    changed, error = attempt(
        record_service.update_record,
        signed_in_user(),
        found,
        full,
        now=now(),
        expected_version=expected,
    )
    if error is not None:
        if "changes" in error.details:
            current = record_service.get_record(record_id)
            stale = [
                {
                    "label": FIELD_LABELS.get(change["field"], change["field"]),
                    "seen": _shown(change["seen"]),
                    "stored": _shown(change["stored"]),
                    "yours": _shown(full.get(change["field"], change["stored"])),
                }
                for change in error.details["changes"]
            ]
            # The form keeps what the archivist typed; sent again, it is based on the
            # version now stored, and saves over it knowingly.
            again = Form({**form.values, "version": current.version}, {})
            return _record_page(current, again, stale=stale), 409
        return _record_page(found, refusal_form(form, error)), refusal_status(error)
    if changed:
        flash(f"저장했습니다. (판 {found.version})", "ok")
    else:
        flash("바뀐 내용이 없어 그대로 두었습니다.", "ok")
    return redirect(url_for(".record", record_id=record_id), 303)


@blp.post("/records/<int:record_id>/publish")
@staff_page(*ROLES)
def publish(record_id):
    found = record_service.get_record(record_id)
    _, error = attempt(record_service.publish, signed_in_user(), found, now=now())
    if error is not None:
        found = record_service.get_record(record_id)
        return _record_page(found, Form(_record_values(found), {}), refusal=error), refusal_status(
            error
        )
    flash(f"자료 {found.identifier}을(를) 공개했습니다.", "ok")
    return redirect(url_for(".record", record_id=record_id), 303)


@blp.post("/records/<int:record_id>/withdraw")
@staff_page(*ROLES)
def withdraw(record_id):
    found = record_service.get_record(record_id)
    _, error = attempt(record_service.withdraw, signed_in_user(), found, now=now())
    if error is not None:
        found = record_service.get_record(record_id)
        return _record_page(found, Form(_record_values(found), {}), refusal=error), refusal_status(
            error
        )
    flash(f"자료 {found.identifier}의 공개를 중단했습니다.", "ok")
    return redirect(url_for(".record", record_id=record_id), 303)


@blp.get("/dates")
@staff_page(*ROLES)
def date_preview():
    """The server's own reading of a date as typed (the form's script asks as one types)."""
    data, form = read_query(DatePreviewSchema())
    if data is None:
        return jsonify(errors=form.errors), 422
    parsed = dates.parse_date(data["text"])
    return jsonify(
        parsed=parsed.parsed,
        year_from=parsed.year_from,
        year_to=parsed.year_to,
        label=date_label(parsed),
    )


# --- media: upload, state, files, OCR correction ------------------------------------------


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _upload_message(outcome: media_service.Uploaded) -> str:
    refusal = outcome.refusal
    if refusal is None:
        return "올렸습니다. 작은 그림과 글자 읽기를 준비합니다."
    text = korean_message(refusal)
    if refusal.code == "payload_too_large" and "limit" in refusal.details:
        text += f" ({refusal.details['limit'] // (1024 * 1024)}MB까지 올릴 수 있습니다.)"
    return text


def _media_state(item) -> dict:
    return {
        "id": item.id,
        "filename": item.original_filename,
        "status": item.status,
        "status_label": MEDIA_STATUS_NAMES.get(item.status, item.status),
        "ocr_status": item.ocr_status,
        "ocr_label": OCR_STATUS_NAMES.get(item.ocr_status, item.ocr_status),
        "failure_reason": item.failure_reason,
        "thumbnail_url": url_for(
            ".media_file", record_id=item.record_id, media_id=item.id, kind="thumbnail"
        )
        if item.thumbnail_path
        else None,
        "text_url": url_for(".media_text", record_id=item.record_id, media_id=item.id),
    }


def _chosen_files(name: str) -> list[FileStorage]:
    """The files sent in a form field (a browser sends an empty part when none is chosen)."""
    return [f for f in request.files.getlist(name) if f.filename]


@blp.post("/records/<int:record_id>/media")
@staff_page(*ROLES)
def upload(record_id):
    """Scans, one or several (field ``file``); each refused file is said in words, the others
    are kept. The script sends one file per request, to show each one's progress."""
    found = record_service.get_record(record_id)
    files = _chosen_files("file")
    if not files:
        if _wants_json():
            return jsonify(files=[], message="올릴 파일을 골라 주세요."), 422
        flash("올릴 파일을 골라 주세요.", "error")
        return redirect(url_for(".record", record_id=record_id, _anchor="media"), 303)
    outcomes = media_service.upload_each(
        signed_in_user(),
        found,
        [(f.stream, f.filename) for f in files],
        now=now(),
        settings=settings_of(ArchiveSettings),
    )
    refused = any(o.refusal is not None for o in outcomes)
    if _wants_json():
        answer = [
            {
                "filename": o.filename,
                "ok": o.refusal is None,
                "message": _upload_message(o),
                "media": _media_state(o.media) if o.media is not None else None,
            }
            for o in outcomes
        ]
        return jsonify(files=answer), 422 if refused and len(outcomes) == 1 else 200
    for outcome in outcomes:
        category = "error" if outcome.refusal is not None else "ok"
        flash(f"{outcome.filename}: {_upload_message(outcome)}", category)
    return redirect(url_for(".record", record_id=record_id, _anchor="media"), 303)


@blp.get("/records/<int:record_id>/media.json")
@staff_page(*ROLES)
def media_states(record_id):
    """The record's media and their processing state (the page's script asks until every
    thumbnail is ready)."""
    found = record_service.get_record(record_id)
    return jsonify(media=[_media_state(item) for item in found.media])


@blp.get("/records/<int:record_id>/media/<int:media_id>/<any(thumbnail, display):kind>")
@staff_page(*ROLES)
def media_file(record_id, media_id, kind):
    """A scan's derived image, for archivists whatever the record's state."""
    media = media_service.get_media(record_id, media_id)
    path = media_service.media_file(media, kind, settings_of(ArchiveSettings).media_dir)
    response = send_file(path, mimetype="image/jpeg", conditional=True, etag=True)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _text_page(media, form: Form, status: int = 200):
    page = render_template(
        "archive/staff/text.html", media=media, record=media.record, form=form, **_common()
    )
    return page, status


@blp.get("/records/<int:record_id>/media/<int:media_id>/text")
@staff_page(*ROLES)
def media_text(record_id, media_id):
    """The scan and its text side by side, to correct what OCR read."""
    media = media_service.get_media(record_id, media_id)
    return _text_page(media, Form.empty(corrected_text=media.text or ""))


@blp.post("/records/<int:record_id>/media/<int:media_id>/text")
@staff_page(*ROLES)
def correct_text(record_id, media_id):
    """Save the corrected text (what search reads); saved blank, the correction is cleared
    and the OCR text counts again."""
    media = media_service.get_media(record_id, media_id)
    if not request.form.get("corrected_text", "").strip():
        data, form = {"corrected_text": None}, Form.empty()
    else:
        data, form = read_form(MediaUpdateSchema())
        if data is None:
            return _text_page(media, form, 422)
    media_service.correct_text(signed_in_user(), media, data["corrected_text"], now=now())
    saved = "고친 글을 저장했습니다. 검색에 곧 반영됩니다."
    flash(saved if data["corrected_text"] else "고친 글을 지우고 OCR 글로 되돌렸습니다.", "ok")
    return redirect(url_for(".media_text", record_id=record_id, media_id=media_id), 303)


@blp.post("/records/<int:record_id>/media/<int:media_id>/rerun")
@staff_page(*ROLES)
def rerun_ocr(record_id, media_id):
    media = media_service.get_media(record_id, media_id)
    _, error = attempt(media_service.rerun_ocr, signed_in_user(), media, now=now())
    if error is not None:
        media = media_service.get_media(record_id, media_id)
        form = Form(
            {"corrected_text": media.text or ""},
            {"_form": ["처리 중인 이미지는 끝난 뒤에 다시 읽을 수 있습니다."]},
        )
        return _text_page(media, form, refusal_status(error))
    flash("글자를 다시 읽습니다. 잠시 뒤 새로 고쳐 보세요.", "ok")
    return redirect(url_for(".media_text", record_id=record_id, media_id=media_id), 303)


# --- CSV import and export ----------------------------------------------------------------

RECENT_IMPORTS = 20


def _imports_page(form: Form, status: int = 200):
    recent = db.session.scalars(imports.imports_query().limit(RECENT_IMPORTS))
    page = render_template(
        "archive/staff/imports.html", form=form, imports=list(recent), **_common()
    )
    return page, status


@blp.get("/imports")
@staff_page(*ROLES)
def import_list():
    return _imports_page(Form.empty())


@blp.post("/imports")
@staff_page(*ROLES)
def start_import():
    """Upload a CSV and the images it names; the import runs as a job."""
    query, form = read_form(ImportQuerySchema())
    uploads = {"file": (_chosen_files("file") or [None])[0], "files": _chosen_files("files")}
    uploads = {k: v for k, v in uploads.items() if v}
    try:
        files = ImportUploadSchema().load(uploads)
    except ma.ValidationError as error:
        return _imports_page(Form(form.values, korean_errors(error.messages)), 422)
    if query is None:
        return _imports_page(form, 422)
    run, error = attempt(
        imports.start_import,
        signed_in_user(),
        files["file"],
        files["files"],
        publish=query["publish"],
        now=now(),
        settings=settings_of(ArchiveSettings),
    )
    if error is not None:
        return _imports_page(refusal_form(form, error), refusal_status(error))
    flash(f"가져오기 #{run.id}를 시작했습니다.", "ok")
    return redirect(url_for(".import_report", import_id=run.id), 303)


@blp.get("/imports/<int:import_id>")
@staff_page(*ROLES)
def import_report(import_id):
    """An import's progress while its job runs, then its per-line report."""
    run = imports.get_import(import_id)
    if _wants_json():
        return jsonify(
            status=run.status,
            status_label=IMPORT_STATUS_NAMES.get(run.status, run.status),
            lines_done=run.resume_after_line,
            created=run.created,
            updated=run.updated,
            unchanged=run.unchanged,
            failed=run.failed,
        )
    return render_template("archive/staff/import.html", run=run, **_common())


@blp.get("/export")
@staff_page(*ROLES)
def export_csv():
    """Every record as the import CSV (as the API's export)."""
    return Response(
        stream_with_context(exports.csv_chunks()),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="archive-records.csv"'},
    )
