"""Controlled values: record types, rights statements, identifiers, list fields."""

from __future__ import annotations

import re
import unicodedata

from archive.models import RECORD_TYPES

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
