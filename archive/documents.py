"""The searchable document of a record: what the search index sees."""

from __future__ import annotations


def record_document(record) -> dict:
    """Keys: id, identifier, title, alt_title, description, creator, subjects (list[str]),
    place (str | None), collections (list[str]), type, year_from, year_to, date_text,
    visibility, text (transcription plus corrected-or-OCR text of every media item),
    thumbnail_url (str | None), updated_at."""
    raise NotImplementedError
