"""Reading the dates archivists write into a year interval.

``parse_date("19세기 후반")`` → ``DateRange(1851, 1900, parsed=True)``. Text that cannot be
read gives ``parsed=False`` and no years: the text is kept as written and flagged, never
rejected. Centuries run from year 1 to year 100 (19세기 = 1801–1900). Years before the
common era are negative (no year 0 is used in practice by the sources).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import and_, true

from archive.services.calendars import ERA_HANJA, ERAS, KINGS, PART_WORDS, PERIOD_PARTS, PERIODS


@dataclass(frozen=True)
class DateRange:
    year_from: int | None
    year_to: int | None
    parsed: bool

    @classmethod
    def unparsed(cls) -> DateRange:
        return cls(None, None, False)


EMPTY = DateRange(None, None, True)

# Words that only say the date is approximate; a single year then widens by APPROX_YEARS.
APPROX_RE = re.compile(
    r"(?:^|\s)(?:약|대략|ca\.?|c\.|circa)\s*|경$|무렵$|즈음$|쯤$|전후$|\(?추정\)?$|\?$"
)
APPROX_YEARS = 5

_RANGE_SPLIT = re.compile(r"\s*(?:~|〜|～|–|—|부터|에서)\s*")
_NUM = r"(\d{1,4})"


HANJA_DIGITS = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
HANJA_UNITS = {"十": 10, "百": 100, "千": 1000}
_HANJA_NUMBER = re.compile(r"[〇零一二三四五六七八九十百千]+(?=\s*(?:年|月|日|世紀))")


def _hanja_value(numerals: str) -> int:
    """'三' → 3, '二十三' → 23, '十五' → 15, '一九一一' → 1911 (digit by digit)."""
    if not any(ch in HANJA_UNITS for ch in numerals):
        return int("".join(str(HANJA_DIGITS[ch]) for ch in numerals))
    total = current = 0
    for ch in numerals:
        if ch in HANJA_UNITS:
            total += (current or 1) * HANJA_UNITS[ch]
            current = 0
        else:
            current = current * 10 + HANJA_DIGITS[ch]
    return total + current


def _normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip()
    text = _HANJA_NUMBER.sub(lambda m: str(_hanja_value(m.group(0))), text)
    text = text.replace("元年", "원년").replace("卽位年", "즉위년").replace("即位年", "즉위년")
    text = text.replace("年代", "년대").replace("年", "년").replace("世紀", "세기")
    text = text.replace("月", "월").replace("日", "일")
    for hanja, hangul in ERA_HANJA.items():
        text = text.replace(hanja, hangul)
    text = re.sub(r"[\[\]]", "", text)
    text = re.sub(r"\s+", " ", text)
    return text.strip(" .,")


def _split_part(text: str) -> tuple[str, str | None]:
    """'19세기 후반' → ('19세기', '후반'); '조선 후기' → ('조선', '후기')."""
    for word in sorted(PART_WORDS, key=len, reverse=True):
        if text.endswith(word) and len(text) > len(word):
            return text[: -len(word)].strip(), PART_WORDS[word]
    return text, None


def _apply_part(first: int, last: int, part: str | None) -> tuple[int, int]:
    if part is None:
        return first, last
    span = last - first + 1
    third = span // 3
    half = span // 2
    return {
        "초기": (first, first + third - 1),
        "중기": (first + third, last - third),
        "말기": (last - third + 1, last),
        "전반": (first, first + half - 1),
        "전기": (first, first + half - 1),
        "후반": (first + half, last),
        "후기": (first + half, last),
    }[part]


def _century(text: str) -> tuple[int, int] | None:
    match = re.fullmatch(r"(기원전\s*|BC\s*)?(\d{1,2})\s*세기", text)
    if not match:
        return None
    number = int(match.group(2))
    if number == 0:
        return None
    if match.group(1):
        return -number * 100, -(number - 1) * 100 - 1
    return (number - 1) * 100 + 1, number * 100


def _decade(text: str) -> tuple[int, int] | None:
    match = re.fullmatch(r"(\d{2,4})\s*(?:년대|s|'s)", text)
    if not match:
        return None
    digits = match.group(1)
    year = int(digits)
    if len(digits) == 2:  # "50년대": the archive's material is twentieth-century
        year += 1900
    if year % 10:
        return None
    return year, year + 9


def _exact(text: str) -> tuple[int, int] | None:
    patterns = (
        rf"{_NUM}",
        rf"{_NUM}\s*년",
        rf"{_NUM}\s*[-./]\s*\d{{1,2}}(?:\s*[-./]\s*\d{{1,2}})?\.?",
        rf"{_NUM}\s*년\s*\d{{1,2}}\s*월(?:\s*\d{{1,2}}\s*일)?",
    )
    for pattern in patterns:
        match = re.fullmatch(pattern, text)
        if match:
            year = int(match.group(1))
            # "50" alone could be anything; years are written with at least three digits
            if not 1 <= year <= 2999 or len(match.group(1)) < 3:
                return None
            month = re.search(r"[-./년]\s*(\d{1,2})", text[len(match.group(1)) :])
            if month and not 1 <= int(month.group(1)) <= 12:
                return None
            return year, year
    return None


def _era(text: str) -> tuple[int, int] | None:
    match = re.fullmatch(r"([가-힣]+)\s*(원|\d{1,4}|즉위)\s*년?(?:\s*\d{1,2}\s*월.*)?", text)
    if not match:
        return None
    name, raw = match.groups()
    if name in ERAS:
        first, longest = ERAS[name]
        if raw == "즉위":
            return None
        number = 1 if raw == "원" else int(raw)
        if not 1 <= number <= longest:
            return None
        return first + number - 1, first + number - 1
    if name in KINGS:
        number = 0 if raw == "즉위" else 1 if raw == "원" else int(raw)
        if not 0 <= number <= 60:
            return None
        year = KINGS[name] + number - 1
        return year, year
    return None


def _period(text: str) -> tuple[int, int] | None:
    compact = text.replace(" ", "")
    if compact in PERIODS:
        return PERIODS[compact]
    head, part = _split_part(compact)
    if head not in PERIODS or part is None:
        return None
    key = head.removesuffix("시대")
    if (key, part) in PERIOD_PARTS:
        return PERIOD_PARTS[(key, part)]
    return _apply_part(*PERIODS[head], part)


def _single(text: str) -> tuple[int, int] | None:
    """One expression without a range."""
    text = text.strip()
    if not text:
        return None
    for reader in (_exact, _decade, _century, _era):
        found = reader(text)
        if found:
            return found
    head, part = _split_part(text)
    if part:
        for reader in (_decade, _century):
            found = reader(head)
            if found:
                return _apply_part(*found, part)
    return _period(text)


def _complete_right(left: str, right: str) -> str:
    """Fill in what a range's right side leaves out: '1890~95', '18~19세기', '1950~60년대'."""
    if re.fullmatch(r"\d{1,2}", right):
        digits = re.match(r"\d{3,4}", left)
        if digits:
            return digits.group(0)[: -len(right)] + right
    return right


def _complete_left(left: str, right: str) -> str:
    if re.fullmatch(r"\d{1,2}", left):
        if right.endswith("세기"):
            return left + "세기"
        if right.endswith("년대"):
            return left + "년대"
    return left


def _range(text: str) -> tuple[int, int] | None:
    parts = _RANGE_SPLIT.split(text.removesuffix("까지").strip())
    if len(parts) != 2:
        # "1890-1910": a hyphen between two full years is a range ("1911-05" is a month).
        match = re.fullmatch(r"(\d{3,4})\s*-\s*(\d{4})", text)
        if not match:
            return None
        parts = [match.group(1), match.group(2)]
    left, right = (part.strip().removesuffix("까지").strip() for part in parts)
    if not left or not right:
        return None
    right = _complete_right(left, right)
    left = _complete_left(left, right)
    first, last = _single(left), _single(right)
    if not first or not last or first[0] > last[1]:
        return None
    return first[0], last[1]


def parse_date(text: str | None) -> DateRange:
    """The year interval of a date as written; ``EMPTY`` for no date at all."""
    if text is None or not text.strip():
        return EMPTY
    cleaned = _normalize(text)
    approximate = False
    while True:
        stripped = APPROX_RE.sub("", cleaned).strip()
        if stripped == cleaned:
            break
        approximate, cleaned = True, stripped
    found = _range(cleaned) or _single(cleaned)
    if not found:
        return DateRange.unparsed()
    first, last = found
    if approximate and first == last and re.fullmatch(r"\d{3,4}\s*년?", cleaned):
        first, last = first - APPROX_YEARS, last + APPROX_YEARS
    return DateRange(first, last, True)


def overlaps(year_from, year_to, query_from: int | None, query_to: int | None) -> bool:
    """Does a record's interval meet the query interval? Open query ends are unbounded;
    records without years never match a year filter."""
    if query_from is None and query_to is None:
        return True
    if year_from is None or year_to is None:
        return False
    return (query_to is None or year_from <= query_to) and (
        query_from is None or year_to >= query_from
    )


def overlap_clause(year_from_column, year_to_column, query_from, query_to):
    """The same test as a SQL condition (for database-side filters)."""
    conditions = []
    if query_to is not None:
        conditions.append(year_from_column <= query_to)
    if query_from is not None:
        conditions.append(year_to_column >= query_from)
    return and_(*conditions) if conditions else true()
