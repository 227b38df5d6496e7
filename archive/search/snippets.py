"""Result snippets: a short window of the record's text with the matched words in ``<mark>``.

Matching is done on the text as the index reads it (Hanja as Hangul, lower case), which has
the same length as the original, so the marks land on the original characters: a query for
``의정부`` marks ``議政府`` in a record written in Hanja. Everything else is HTML-escaped.
"""

from __future__ import annotations

import re
from html import escape

from archive.search.hanja_readings import to_hangul

WIDTH = 160
LEAD = 40  # characters shown before the first mark of the window
_WHITESPACE = re.compile(r"\s+")


def _comparable(text: str) -> str:
    read = to_hangul(text)
    lowered = read.lower()
    return lowered if len(lowered) == len(read) else read


def _is_hangul(ch: str) -> bool:
    return "가" <= ch <= "힣"


def find_spans(text: str, marks: list[str]) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) of the marks in ``text``, longest marks first."""
    haystack = _comparable(text)
    taken = [False] * len(text)
    spans = []
    for mark in sorted({m for m in marks if m}, key=len, reverse=True):
        start = haystack.find(mark)
        while start != -1:
            end = start + len(mark)
            # A one-syllable word only where a word starts (산 in 산에, not in 생산).
            whole_word = len(mark) > 1 or start == 0 or not _is_hangul(haystack[start - 1])
            if whole_word and not any(taken[start:end]):
                spans.append((start, end))
                taken[start:end] = [True] * (end - start)
            start = haystack.find(mark, end)
    return sorted(spans)


def _render(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> str:
    out, cursor = [], start
    for s, e in spans:
        if s < start or e > end:
            continue
        out.append(escape(text[cursor:s]))
        out.append(f"<mark>{escape(text[s:e])}</mark>")
        cursor = e
    out.append(escape(text[cursor:end]))
    body = _WHITESPACE.sub(" ", "".join(out)).strip()
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    return prefix + body + suffix


def snippet(text: str, marks: list[str], width: int = WIDTH) -> str:
    """The window of ``text`` holding the most marks (or its beginning when none match)."""
    text = text or ""
    spans = find_spans(text, marks)
    if not spans:
        return _render(text, 0, min(len(text), width), [])
    best_start, best_count = spans[0][0], 0
    for i, (s, _) in enumerate(spans):
        count = sum(1 for s2, e2 in spans[i:] if e2 <= s + width - LEAD)
        if count > best_count:
            best_start, best_count = s, count
    start = max(0, best_start - LEAD)
    end = min(len(text), start + width)
    # Do not cut a mark in half at the end of the window.
    for s, e in spans:
        if s < end < e:
            end = e
    return _render(text, start, end, spans)
