"""Archive records, their subjects and their media files."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
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

    def __repr__(self) -> str:
        return f"<Record {self.id} {self.identifier}>"


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
