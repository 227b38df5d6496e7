"""Archive records, their subjects and their media files; the controlled values their
columns hold (record types, rights statements, identifiers, list fields)."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from sqlalchemy import (
    JSON,
    REAL,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime
from core.extensions import db

RECORD_TYPES = ("photo", "document", "map", "book", "object", "audio", "video")
VISIBILITIES = ("draft", "published", "withdrawn")
MEDIA_STATUSES = ("processing", "ready", "failed")
# done: text stored; unavailable: Tesseract is not installed (the image is still served).
OCR_STATUSES = ("pending", "done", "unavailable", "failed")
IMPORT_STATUSES = ("queued", "running", "done", "failed")

# What archivists type in Korean spreadsheets, mapped to the stored type.
TYPE_WORDS = {
    "사진": "photo",
    "문서": "document",
    "고문서": "document",
    "지도": "map",
    "도서": "book",
    "책": "book",
    "고서": "book",
    "유물": "object",
    "물품": "object",
    "음성": "audio",
    "녹음": "audio",
    "오디오": "audio",
    "영상": "video",
    "동영상": "video",
    "비디오": "video",
}

IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

CC_RE = re.compile(r"^CC-BY(?:-NC)?(?:-SA|-ND)?(?:-(?:1\.0|2\.0|2\.5|3\.0|4\.0))?$")
CC0_RE = re.compile(r"^CC0(?:-1\.0)?$")
KOGL_RE = re.compile(
    r"^(?:KOGL|공공누리)\s*[-_ ]?\s*(?:제\s*)?([1-4])\s*(?:유형|형)?$", re.IGNORECASE
)

RIGHTS_HELP = "KOGL-1 … KOGL-4 (공공누리 제1–4유형), CC0, or a CC licence such as CC-BY-4.0"


def normalize_type(value: str) -> str:
    text = (value or "").strip()
    lowered = text.lower()
    if lowered in RECORD_TYPES:
        return lowered
    if text in TYPE_WORDS:
        return TYPE_WORDS[text]
    raise ValueError(f"Unknown type {text!r}: use one of {', '.join(RECORD_TYPES)}")


def normalize_rights(value: str | None) -> str | None:
    """'공공누리 제1유형' → 'KOGL-1'; 'cc-by-sa-4.0' → 'CC-BY-SA-4.0'."""
    if value is None or not value.strip():
        return None
    text = unicodedata.normalize("NFKC", value).strip()
    kogl = KOGL_RE.match(text)
    if kogl:
        return f"KOGL-{kogl.group(1)}"
    upper = re.sub(r"\s+", "-", text.upper())
    if CC0_RE.match(upper) or CC_RE.match(upper):
        return upper
    raise ValueError(f"Unknown rights statement {text!r}: use {RIGHTS_HELP}")


def check_identifier(value: str) -> str:
    text = (value or "").strip()
    if not IDENTIFIER_RE.match(text):
        raise ValueError(
            "Identifiers are 1–64 letters, digits, '.', '_' or '-' (e.g. UJB-2026-000123)"
        )
    return text


def clean_list(values) -> list[str]:
    """Trimmed, without blanks or repeats, in the order given."""
    seen: dict[str, None] = {}
    for value in values or []:
        text = unicodedata.normalize("NFC", str(value)).strip()
        if text:
            seen.setdefault(text, None)
    return list(seen)


def split_list(text: str | None) -> list[str]:
    return clean_list((text or "").split(";"))


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Record(db.Model):
    __tablename__ = "archive_record"
    __table_args__ = (
        CheckConstraint(f"type IN ({_in(RECORD_TYPES)})", name="type_known"),
        CheckConstraint(f"visibility IN ({_in(VISIBILITIES)})", name="visibility_known"),
        CheckConstraint(
            "year_from IS NULL OR year_to IS NULL OR year_from <= year_to", name="year_order"
        ),
        CheckConstraint("version >= 1", name="version_positive"),
        Index("ix_archive_record_years", "year_from", "year_to"),
        # OAI-PMH lists records in (datestamp, id) order, page after page (archive.services.oai).
        Index("ix_archive_record_oai", "updated_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    alt_title: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    creator: Mapped[str | None] = mapped_column(String(200))
    contributor: Mapped[str | None] = mapped_column(String(200))
    # The date exactly as the archivist wrote it, and the year interval read from it.
    date_text: Mapped[str | None] = mapped_column(String(100))
    year_from: Mapped[int | None]
    year_to: Mapped[int | None]
    # False when date_text could not be read: it is kept as written and listed for review.
    date_parsed: Mapped[bool] = mapped_column(default=True)
    type: Mapped[str] = mapped_column(String(10), index=True)
    place: Mapped[str | None] = mapped_column(String(200))
    collections: Mapped[list] = mapped_column(JSON, default=list)
    language: Mapped[str | None] = mapped_column(String(20))
    rights: Mapped[str | None] = mapped_column(String(30))
    source: Mapped[str | None] = mapped_column(String(500))
    transcription: Mapped[str | None] = mapped_column(Text)
    visibility: Mapped[str] = mapped_column(String(10), default="draft", index=True)
    version: Mapped[int] = mapped_column(default=1)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    subject_rows: Mapped[list[RecordSubject]] = relationship(
        back_populates="record",
        cascade="all, delete-orphan",
        order_by="RecordSubject.position",
        lazy="selectin",
    )
    media: Mapped[list[Media]] = relationship(
        back_populates="record",
        cascade="all, delete-orphan",
        order_by="Media.id",
        lazy="selectin",
    )

    # Optimistic locking: every UPDATE of the row says "WHERE version = <the version read>",
    # so of two concurrent changes the second fails instead of silently overwriting the first.
    # The services set the new version themselves (one per real change).
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    @property
    def subjects(self) -> list[str]:
        return [row.name for row in self.subject_rows]

    @property
    def is_published(self) -> bool:
        return self.visibility == "published"

    @property
    def thumbnail_url(self) -> str | None:
        """The picture that stands for the record: its first ready media item's thumbnail
        (read from the media loaded with the record)."""
        for item in self.media:
            if item.status == "ready" and item.thumbnail_path:
                return f"/api/archive/records/{self.id}/media/{item.id}/thumbnail"
        return None

    def __repr__(self) -> str:
        return f"<Record {self.id} {self.identifier}>"


class RecordTombstone(db.Model):
    """What harvesters are told of a record that was published once and is now deleted: its
    identifier, when it went (the OAI datestamp) and the collections it was in (its sets).
    Written by the records service in the transaction that deletes the record; removed when a
    record with the same identifier is public again."""

    __tablename__ = "archive_record_tombstone"
    __table_args__ = (Index("ix_archive_record_tombstone_oai", "datestamp", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(64), unique=True)
    datestamp: Mapped[datetime] = mapped_column(UTCDateTime())
    collections: Mapped[list] = mapped_column(JSON, default=list)


class RecordSubject(db.Model):
    """One subject tag of a record, in the order the archivist gave them."""

    __tablename__ = "archive_record_subject"
    __table_args__ = (UniqueConstraint("record_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("archive_record.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100), index=True)
    position: Mapped[int] = mapped_column(default=0)

    record: Mapped[Record] = relationship(back_populates="subject_rows")


class Media(db.Model):
    """A file of a record. The original is kept byte for byte under its SHA-256; the public
    thumbnail and display images are derived from it without any metadata."""

    __tablename__ = "archive_media"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(MEDIA_STATUSES)})", name="status_known"),
        CheckConstraint(f"ocr_status IN ({_in(OCR_STATUSES)})", name="ocr_status_known"),
        CheckConstraint("page_count >= 1", name="page_count_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("archive_record.id", ondelete="CASCADE"), index=True
    )
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # Paths are relative to MEDIA_DIR.
    original_path: Mapped[str] = mapped_column(String(300))
    original_filename: Mapped[str | None] = mapped_column(String(255))
    mime: Mapped[str] = mapped_column(String(50))
    byte_size: Mapped[int]
    width: Mapped[int | None]
    height: Mapped[int | None]
    page_count: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(12), default="processing")
    failure_reason: Mapped[str | None] = mapped_column(Text)
    thumbnail_path: Mapped[str | None] = mapped_column(String(300))
    display_path: Mapped[str | None] = mapped_column(String(300))
    ocr_status: Mapped[str] = mapped_column(String(12), default="pending")
    # Why there is no OCR text (Tesseract missing, a page that failed ...).
    ocr_message: Mapped[str | None] = mapped_column(Text)
    ocr_text: Mapped[str | None] = mapped_column(Text)
    ocr_confidence: Mapped[float | None]
    # [{"page": 1, "text": "...", "confidence": 87.5}, ...]
    ocr_pages: Mapped[list | None] = mapped_column(JSON)
    corrected_text: Mapped[str | None] = mapped_column(Text)
    corrected_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Progress of processing, kept with each finished step in the step's own transaction, so
    # a job consumer that dies loses only the step it was in: the derivatives are made, and
    # the OCR pages read so far are in ocr_pages. Until when the job running it holds it
    # (renewed while it works), and how many jobs took it up since its last finished step:
    # an item that kills its consumer every time is given up instead of taken up forever.
    derivatives_done: Mapped[bool] = mapped_column(default=False)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)

    record: Mapped[Record] = relationship(back_populates="media")

    @property
    def text(self) -> str | None:
        """What is indexed: the archivist's correction when there is one, else the OCR."""
        return self.corrected_text if self.corrected_text is not None else self.ocr_text


class ImportRun(db.Model):
    """A CSV import uploaded over HTTP; the job writes the outcome here."""

    __tablename__ = "archive_import"
    __table_args__ = (CheckConstraint(f"status IN ({_in(IMPORT_STATUSES)})", name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    filename: Mapped[str | None] = mapped_column(String(255))
    publish: Mapped[bool] = mapped_column(default=False)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    # [{"line": 7, "identifier": "...", "message": "...", "errors": {...}}, ...] (capped)
    errors: Mapped[list | None] = mapped_column(JSON)
    message: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Progress kept with each batch, in the batch's own transaction: the last CSV line done,
    # and until when the job running it holds it. A job that dies leaves both behind; once
    # the lease has run out the run is taken up again after that line (nothing twice).
    resume_after_line: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


# --- search on PostgreSQL (SEARCH_BACKEND=postgres, ``archive.search.pg_index``) ---


class SearchState(db.Model):
    """One row: the generation of the search tables, a new value written by every transaction
    that changes them (each server keeps what it derived from them until it changes), and the
    layout of fields they were built with (empty until ``archive reindex`` has run)."""

    __tablename__ = "archive_search_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    generation: Mapped[str] = mapped_column(String(32))
    layout: Mapped[str | None] = mapped_column(Text)


class SearchDocument(db.Model):
    """A record as the search sees it besides its terms (``archive.search.index.fields``):
    filter, facet and sort values, and what a hit shows. No foreign key: the writer removes
    it with the record, in the same transaction."""

    __tablename__ = "archive_search_document"

    record_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    identifier: Mapped[str] = mapped_column(Text)
    title_stored: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text)
    visibility: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    subjects_facet: Mapped[str] = mapped_column(Text)
    place: Mapped[str] = mapped_column(Text)
    collection: Mapped[str] = mapped_column(Text)
    year_from: Mapped[int | None]
    year_to: Mapped[int | None]
    decades_facet: Mapped[str] = mapped_column(Text)
    date_key: Mapped[int]
    title_sort: Mapped[str] = mapped_column(Text)
    updated: Mapped[int] = mapped_column(BigInteger)
    title_label: Mapped[str] = mapped_column(Text)
    creator_label: Mapped[str] = mapped_column(Text)
    date_text: Mapped[str] = mapped_column(Text)
    thumbnail_url: Mapped[str | None] = mapped_column(Text)
    body_stored: Mapped[str] = mapped_column(Text)


class SearchPosting(db.Model):
    """One term of one field of one record, with its weight (the term's frequency there, as
    Whoosh counts it). Looked up by (field, term) with record and weight in the index itself;
    removed by record through the primary key."""

    __tablename__ = "archive_search_posting"
    __table_args__ = (
        Index(
            "ix_archive_search_posting_term",
            "field",
            "term",
            postgresql_include=["record_id", "weight"],
        ),
    )

    record_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    field: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    term: Mapped[str] = mapped_column(Text, primary_key=True)
    weight: Mapped[float] = mapped_column(REAL)
