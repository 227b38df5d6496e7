"""Request and response schemas of records, media, imports and search."""

from __future__ import annotations

import marshmallow as ma
from flask import has_request_context, request
from flask_smorest.fields import Upload
from marshmallow import validate

from archive.models import (
    IDENTIFIER_RE,
    IMPORT_STATUSES,
    MEDIA_STATUSES,
    OCR_STATUSES,
    RECORD_TYPES,
    RIGHTS_HELP,
    VISIBILITIES,
    normalize_rights,
)
from archive.search.searcher import SORTS
from core.openapi import error_with


class Rights(ma.fields.String):
    """A rights statement, normalised ('공공누리 제1유형' → 'KOGL-1')."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return normalize_rights(text)
        except ValueError as error:
            raise ma.ValidationError(str(error)) from error


def _text(length, example=None, description=None):
    metadata = {"example": example} if example is not None else {}
    if description:
        metadata["description"] = description
    return ma.fields.String(
        validate=validate.Length(max=length), allow_none=True, metadata=metadata
    )


def _tags(example):
    return ma.fields.List(
        ma.fields.String(validate=validate.Length(min=1, max=100)),
        validate=validate.Length(max=50),
        metadata={"example": example},
    )


class RecordFieldsSchema(ma.Schema):
    alt_title = _text(500, "議政府 官衙 寫眞")
    description = _text(20000, "1911년 의정부 관아 앞에서 촬영한 유리건판 사진.")
    creator = _text(200, "미상")
    contributor = _text(200, "의정부시립박물관")
    date_text = _text(
        100,
        "1911-05-23",
        description="As written: 1911, 1950년대, 19세기 후반, 광무 3년 ...",
    )
    subjects = _tags(["관아", "근대건축"])
    place = _text(200, "의정부동")
    collections = _tags(["유리건판 사진"])
    language = _text(20, "ko")
    rights = Rights(allow_none=True, metadata={"example": "KOGL-1", "description": RIGHTS_HELP})
    source = _text(500, "국립중앙박물관 유리건판")
    transcription = _text(200_000, None)


def _identifier(**kwargs):
    return ma.fields.String(
        validate=validate.Regexp(
            IDENTIFIER_RE, error="1–64 letters, digits, '.', '_' or '-' (e.g. UJB-2026-000123)."
        ),
        metadata={"example": "UJB-2026-000123"},
        **kwargs,
    )


def _title(**kwargs):
    return ma.fields.String(
        validate=validate.Length(min=1, max=500), metadata={"example": "의정부 관아"}, **kwargs
    )


def _type(**kwargs):
    return ma.fields.String(
        validate=validate.OneOf(RECORD_TYPES), metadata={"example": "photo"}, **kwargs
    )


class RecordCreateSchema(RecordFieldsSchema):
    identifier = _identifier(required=True)
    title = _title(required=True)
    type = _type(required=True)


class RecordUpdateSchema(RecordFieldsSchema):
    identifier = _identifier()
    title = _title()
    type = _type()
    version = ma.fields.Integer(
        load_default=None,
        metadata={
            "example": 3,
            "description": "The version the change is based on; 409 if the record moved on.",
        },
    )


class MediaSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 12})
    record_id = ma.fields.Integer(metadata={"example": 3})
    status = ma.fields.String(metadata={"example": "ready"})
    failure_reason = ma.fields.String(allow_none=True)
    mime = ma.fields.String(metadata={"example": "image/jpeg"})
    byte_size = ma.fields.Integer(metadata={"example": 2480311})
    width = ma.fields.Integer(allow_none=True, metadata={"example": 4000})
    height = ma.fields.Integer(allow_none=True, metadata={"example": 3000})
    page_count = ma.fields.Integer(metadata={"example": 1})
    sha256 = ma.fields.String()
    original_filename = ma.fields.String(allow_none=True, metadata={"example": "scan-001.tif"})
    ocr_status = ma.fields.String(metadata={"example": "done"})
    ocr_message = ma.fields.String(allow_none=True)
    ocr_text = ma.fields.String(allow_none=True, metadata={"example": "의정부 관아"})
    ocr_confidence = ma.fields.Float(allow_none=True, metadata={"example": 91.3})
    ocr_pages = ma.fields.List(ma.fields.Dict(), allow_none=True)
    corrected_text = ma.fields.String(allow_none=True)
    text = ma.fields.String(allow_none=True, metadata={"description": "Corrected, else OCR"})
    thumbnail_url = ma.fields.Method("_thumbnail_url", allow_none=True)
    display_url = ma.fields.Method("_display_url", allow_none=True)
    original_url = ma.fields.Method("_original_url")
    created_at = ma.fields.AwareDateTime()
    updated_at = ma.fields.AwareDateTime()
    processed_at = ma.fields.AwareDateTime(allow_none=True)

    @staticmethod
    def _base(media):
        return f"/api/archive/records/{media.record_id}/media/{media.id}"

    def _thumbnail_url(self, media):
        return self._base(media) + "/thumbnail" if media.thumbnail_path else None

    def _display_url(self, media):
        return self._base(media) + "/display" if media.display_path else None

    def _original_url(self, media):
        return self._base(media) + "/original"


class MediaUpdateSchema(ma.Schema):
    corrected_text = ma.fields.String(
        required=True,
        allow_none=True,
        validate=validate.Length(max=200_000),
        metadata={"example": "의정부 관아 앞 거리", "description": "null clears the correction"},
    )


class UploadSchema(ma.Schema):
    file = Upload(required=True, metadata={"description": "JPEG, PNG, TIFF or WebP"})


class RecordSchema(RecordFieldsSchema):
    id = ma.fields.Integer(metadata={"example": 3})
    identifier = ma.fields.String(metadata={"example": "UJB-2026-000123"})
    title = ma.fields.String(metadata={"example": "의정부 관아"})
    type = ma.fields.String(metadata={"example": "photo"})
    year_from = ma.fields.Integer(allow_none=True, metadata={"example": 1911})
    year_to = ma.fields.Integer(allow_none=True, metadata={"example": 1911})
    date_parsed = ma.fields.Boolean(
        metadata={"description": "False: date_text could not be read and needs review"}
    )
    rights = ma.fields.String(allow_none=True, metadata={"example": "KOGL-1"})
    visibility = ma.fields.String(metadata={"example": "published"})
    version = ma.fields.Integer(metadata={"example": 2})
    published_at = ma.fields.AwareDateTime(allow_none=True)
    created_by_id = ma.fields.Integer(allow_none=True)
    updated_by_id = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    updated_at = ma.fields.AwareDateTime()
    thumbnail_url = ma.fields.String(allow_none=True)
    iiif_manifest = ma.fields.Method(
        "_iiif_manifest",
        allow_none=True,
        metadata={
            "type": "string",
            "format": "uri",
            "example": "https://archive.example.kr/iiif/3/records/UJB-2026-000123/manifest.json",
            "description": "The record's IIIF Presentation 3.0 manifest, once it has an image "
            "ready (null before)",
        },
    )
    media = ma.fields.List(ma.fields.Nested(MediaSchema))

    def _iiif_manifest(self, record):
        if not any(item.status == "ready" for item in record.media):
            return None
        path = f"/iiif/3/records/{record.identifier}/manifest.json"
        return request.host_url.rstrip("/") + path if has_request_context() else path


def _years_in_order(data: dict, message: str, field: str) -> None:
    """A year range whose end comes before its start is refused, naming ``field``."""
    low, high = data.get("year_from"), data.get("year_to")
    if low is not None and high is not None and low > high:
        raise ma.ValidationError(message, field)


class RecordQuerySchema(ma.Schema):
    visibility = ma.fields.String(validate=validate.OneOf(VISIBILITIES))
    type = ma.fields.String(validate=validate.OneOf(RECORD_TYPES))
    subject = ma.fields.String(validate=validate.Length(max=100))
    place = ma.fields.String(validate=validate.Length(max=200))
    identifier = ma.fields.String(validate=validate.Length(max=64))
    year_from = ma.fields.Integer(metadata={"example": 1900})
    year_to = ma.fields.Integer(metadata={"example": 1950})
    date_unparsed = ma.fields.Boolean(metadata={"description": "Only dates needing review"})
    media_status = ma.fields.String(validate=validate.OneOf(MEDIA_STATUSES))
    ocr_status = ma.fields.String(
        validate=validate.OneOf(OCR_STATUSES),
        metadata={
            "example": "failed",
            "description": "Records with a media item in this OCR state",
        },
    )
    rights_missing = ma.fields.Boolean(metadata={"description": "Only records without rights"})
    collection = ma.fields.String(
        validate=validate.Length(max=100), metadata={"example": "유리건판 사진"}
    )
    q = ma.fields.String(
        validate=validate.Length(max=200),
        metadata={"example": "관아", "description": "Part of the identifier or a title"},
    )

    @ma.validates_schema
    def _years(self, data, **kwargs):
        _years_in_order(data, "year_from is after year_to", "year_from")


class ImportUploadSchema(ma.Schema):
    file = Upload(required=True, metadata={"description": "CSV (UTF-8 or CP949)"})
    files = ma.fields.List(
        Upload(), load_default=list, metadata={"description": "Image files the CSV names"}
    )


class ImportQuerySchema(ma.Schema):
    publish = ma.fields.Boolean(load_default=False, metadata={"example": False})


class ImportErrorSchema(ma.Schema):
    line = ma.fields.Integer(metadata={"example": 7})
    identifier = ma.fields.String(allow_none=True, metadata={"example": "UJB-2026-000007"})
    message = ma.fields.String(metadata={"example": "title: Missing data for required field."})
    errors = ma.fields.Dict(allow_none=True)


class ImportSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 4})
    status = ma.fields.String(
        validate=validate.OneOf(IMPORT_STATUSES), metadata={"example": "done"}
    )
    filename = ma.fields.String(allow_none=True, metadata={"example": "records.csv"})
    publish = ma.fields.Boolean()
    created = ma.fields.Integer(metadata={"example": 120})
    updated = ma.fields.Integer(metadata={"example": 3})
    unchanged = ma.fields.Integer(metadata={"example": 0})
    failed = ma.fields.Integer(metadata={"example": 1})
    errors = ma.fields.List(ma.fields.Nested(ImportErrorSchema), allow_none=True)
    message = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    finished_at = ma.fields.AwareDateTime(allow_none=True)


class SearchQuerySchema(ma.Schema):
    q = ma.fields.String(
        load_default="",
        validate=validate.Length(max=500),
        metadata={"example": "의정부 회룡사", "description": "Words in Korean, Hanja or English"},
    )
    type = ma.fields.String(validate=validate.OneOf(RECORD_TYPES), metadata={"example": "photo"})
    subject = ma.fields.String(validate=validate.Length(max=100), metadata={"example": "사찰"})
    place = ma.fields.String(validate=validate.Length(max=200), metadata={"example": "호원동"})
    collection = ma.fields.String(
        validate=validate.Length(max=100), metadata={"example": "유리건판 사진"}
    )
    year_from = ma.fields.Integer(validate=validate.Range(-3000, 3000), metadata={"example": 1900})
    year_to = ma.fields.Integer(validate=validate.Range(-3000, 3000), metadata={"example": 1959})
    sort = ma.fields.String(
        load_default="relevance",
        validate=validate.OneOf(SORTS),
        metadata={"example": "relevance"},
    )
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=10000))
    per_page = ma.fields.Integer(
        load_default=20,
        validate=validate.Range(min=1),
        metadata={"description": "Capped at the configured maximum (100)"},
    )
    visibility = ma.fields.String(
        validate=validate.OneOf([*VISIBILITIES, "all"]),
        metadata={"description": "Archivists only; the public always sees published records"},
    )

    @ma.validates_schema
    def _years(self, data, **kwargs):
        _years_in_order(data, "year_to must not be before year_from", "year_to")


class SuggestQuerySchema(ma.Schema):
    q = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={
            "example": "ㅇㅈㅂ",
            "description": "The start of a title, place, subject or name: as written, in "
            "초성 (ㅇㅈㅂ) or romanized (uijeongbu)",
        },
    )
    limit = ma.fields.Integer(load_default=10, validate=validate.Range(min=1, max=20))


class SuggestionSchema(ma.Schema):
    text = ma.fields.String(metadata={"example": "의정부동"})
    kind = ma.fields.String(
        validate=validate.OneOf(["title", "place", "subject", "name"]),
        metadata={"example": "place"},
    )
    count = ma.fields.Integer(metadata={"description": "Published records holding it"})


class SuggestResultSchema(ma.Schema):
    q = ma.fields.String(metadata={"example": "ㅇㅈㅂ"})
    suggestions = ma.fields.List(ma.fields.Nested(SuggestionSchema))


class FacetValueSchema(ma.Schema):
    value = ma.fields.String(metadata={"example": "photo"})
    count = ma.fields.Integer(metadata={"example": 12})


class FacetsSchema(ma.Schema):
    type = ma.fields.List(ma.fields.Nested(FacetValueSchema))
    subject = ma.fields.List(ma.fields.Nested(FacetValueSchema))
    place = ma.fields.List(ma.fields.Nested(FacetValueSchema))
    decade = ma.fields.List(ma.fields.Nested(FacetValueSchema))


class SearchHitSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 12})
    identifier = ma.fields.String(metadata={"example": "UJB-2026-000123"})
    title = ma.fields.String(metadata={"example": "회룡사 대웅전"})
    date_text = ma.fields.String(allow_none=True, metadata={"example": "1950년대"})
    type = ma.fields.String(metadata={"example": "photo"})
    snippet = ma.fields.String(
        metadata={"example": "<mark>회룡사</mark>는 도봉산 자락에 있는 절이다."}
    )
    thumbnail_url = ma.fields.String(allow_none=True)
    score = ma.fields.Float(allow_none=True, metadata={"example": 12.5})


class SearchResultSchema(ma.Schema):
    total = ma.fields.Integer(metadata={"example": 1})
    page = ma.fields.Integer(metadata={"example": 1})
    per_page = ma.fields.Integer(metadata={"example": 20})
    hits = ma.fields.List(ma.fields.Nested(SearchHitSchema))
    facets = ma.fields.Nested(FacetsSchema)
    did_you_mean = ma.fields.String(
        allow_none=True,
        metadata={
            "example": "의정부",
            "description": "The query with words the archive does not know replaced by the "
            "known word one jamo edit away (의정푸 → 의정부); null when there is none",
        },
    )


class RecordChangeSchema(ma.Schema):
    field = ma.fields.String(metadata={"example": "title"})
    seen = ma.fields.Raw(allow_none=True, metadata={"description": "At the version sent"})
    stored = ma.fields.Raw(allow_none=True, metadata={"description": "Stored now"})


StaleRecordErrorSchema = error_with(
    "StaleRecord",
    current_version=ma.fields.Integer(
        metadata={"description": "The record's version now: reload it, then apply the change"}
    ),
    changes=ma.fields.List(
        ma.fields.Nested(RecordChangeSchema),
        metadata={"description": "The fields changed since the version sent"},
    ),
)
UploadTooLargeErrorSchema = error_with(
    "UploadTooLarge",
    limit=ma.fields.Integer(metadata={"description": "The largest file accepted, in bytes"}),
)
UnsupportedUploadErrorSchema = error_with(
    "UnsupportedUpload",
    reason=ma.fields.String(
        metadata={"example": "unsupported", "description": "Why the file was not taken"}
    ),
)


class RecordBulkSchema(ma.Schema):
    """Records chosen in the archivists' list, and what to do with each."""

    ids = ma.fields.List(
        ma.fields.Integer(), required=True, validate=validate.Length(min=1, max=200)
    )
    action = ma.fields.String(required=True, validate=validate.OneOf(("publish", "withdraw")))


class DatePreviewSchema(ma.Schema):
    """A date as an archivist writes it, to read into years before saving."""

    text = ma.fields.String(load_default="", validate=validate.Length(max=100))
