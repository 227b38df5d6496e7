"""Result snippets: a short window of the record's text with the matched words marked.

A snippet is a list of parts, ``(text, marked)``, with the record's text as it is: a page
renders each part itself (its template escapes the text and wraps marked parts in ``<mark>``),
so no record text ever reaches a page as markup. ``to_html`` renders the same parts as HTML
for the JSON API, escaping everything but its own ``<mark>`` tags.

Matching is done on the text as the index reads it (Hanja as Hangul, lower case), which has
the same length as the original, so the marks land on the original characters: a query for
``의정부`` marks ``議政府`` in a record written in Hanja.
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


Part = tuple[str, bool]  # (text, marked)


def _parts(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> list[Part]:
    out: list[Part] = [("…", False)] if start > 0 else []
    cursor = start
    for s, e in spans:
        if s < start or e > end:
            continue
        out.append((_WHITESPACE.sub(" ", text[cursor:s]), False))
        out.append((_WHITESPACE.sub(" ", text[s:e]), True))
        cursor = e
    out.append((_WHITESPACE.sub(" ", text[cursor:end]), False))
    # Trim the window's own edges (not a mark's), as the text would read on its own.
    first = 1 if start > 0 else 0
    if not out[first][1]:
        out[first] = (out[first][0].lstrip(), False)
    if not out[-1][1]:
        out[-1] = (out[-1][0].rstrip(), False)
    if end < len(text):
        out.append(("…", False))
    return _merged([part for part in out if part[0]])


def _merged(parts: list[Part]) -> list[Part]:
    """Neighbouring plain parts as one (the ellipses and the text beside them); marks stay
    apart, one per matched word."""
    out: list[Part] = []
    for text, marked in parts:
        if out and not marked and not out[-1][1]:
            out[-1] = (out[-1][0] + text, marked)
        else:
            out.append((text, marked))
    return out


def to_html(parts: list[Part]) -> str:
    """The parts as HTML: the text escaped, marked parts in ``<mark>``."""
    return "".join(
        f"<mark>{escape(text)}</mark>" if marked else escape(text) for text, marked in parts
    )


def snippet(text: str, marks: list[str], width: int = WIDTH) -> list[Part]:
    """The window of ``text`` holding the most marks (or its beginning when none match), as
    parts ``(text, marked)``."""
    text = text or ""
    spans = find_spans(text, marks)
    if not spans:
        return _parts(text, 0, min(len(text), width), [])
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
    return _parts(text, start, end, spans)
