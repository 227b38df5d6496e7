"""Suggestions for the search box: titles, places, subjects and names that start with what has
been typed, as written, by their 초성 (ㅇㅈㅂ → 의정부동) or romanized (uijeongbu → 의정부역).

The labels come from the index's columns (published records only); their keys are built once
per searcher generation and kept in sorted lists, so a suggestion is a few binary searches.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass

import numpy as np

from archive.search import analysis, index, romanize

# The order kinds come in when they are as common: a place or a subject before a title.
KINDS = {"place": 0, "subject": 1, "name": 2, "title": 3}
SCAN = 4000  # keys looked at for one prefix (the most common of them are kept)
_SPACES = re.compile(r"\s+")
_HANGUL = re.compile(r"[가-힣]+")


@dataclass
class Suggestions:
    labels: list[tuple[str, str]]  # (text, kind)
    counts: np.ndarray  # records holding each label
    keys: dict[str, tuple[list[str], np.ndarray]]  # form → (sorted keys, label numbers)


def _word_starts(text: str) -> list[str]:
    """The label from each word on, spaces removed (의정부 관아 터 → 의정부관아터, 관아터, 터)."""
    words = text.split()
    return ["".join(words[i:]) for i in range(len(words))]


FORMS = ("plain", "initials", "roman")


# Labels outlive index generations: their keys are built once (at 50,000 records building them
# all takes seconds, at every change of the index). Kept compact: a dict of lists per label
# took about twice the memory, tens of MB in each worker.
@functools.lru_cache(maxsize=120_000)
def _forms(label: str, kind: str) -> tuple[tuple[str, ...], str, str]:
    """The label's keys as written (one per word start), its 초성 and its loose romanization
    ("" when it has no Hangul)."""
    normalized = _SPACES.sub(" ", analysis.normalize(label)).strip()
    starts = _word_starts(normalized) if kind != "title" else ["".join(normalized.split())]
    hangul = "".join(_HANGUL.findall(normalized))
    if not hangul:
        return tuple(starts), "", ""
    roman = "".join(romanize.romanize(run) for run in _HANGUL.findall(normalized))
    return tuple(starts), analysis.choseong(hangul), romanize.loose(roman)


def build(gen, visible: np.ndarray) -> Suggestions:
    counts: dict[tuple[str, str], int] = {}
    sources = [
        ("title", "title_label", None),
        ("place", "place", None),
        ("subject", "subjects_facet", index.FACET_SEPARATOR),
        ("name", "creator_label", None),
    ]
    for kind, column, separator in sources:
        labels, docs, codes = gen.codes(column, separator)
        if not len(docs):
            continue
        per_label = np.bincount(codes[visible[docs]], minlength=len(labels))
        for code in np.nonzero(per_label)[0]:
            key = (labels[code].strip(), kind)
            if key[0]:
                counts[key] = counts.get(key, 0) + int(per_label[code])
    labels = sorted(counts)
    pairs: dict[str, list[tuple[str, int]]] = {form: [] for form in FORMS}
    plain, initials, roman = pairs["plain"], pairs["initials"], pairs["roman"]
    for number, (text, kind) in enumerate(labels):
        starts, initial, romanized = _forms(text, kind)
        plain.extend((key, number) for key in starts if key)
        if initial:
            initials.append((initial, number))
        if romanized:
            roman.append((romanized, number))
    keys = {}
    for form, items in pairs.items():
        items.sort()
        keys[form] = ([k for k, _ in items], np.asarray([n for _, n in items], dtype=np.int32))
    return Suggestions(labels, np.asarray([counts[label] for label in labels]), keys)


def _range(keys: list[str], prefix: str) -> tuple[int, int]:
    start = bisect.bisect_left(keys, prefix)
    end = bisect.bisect_left(keys, prefix + "\U0010ffff", lo=start)
    return start, min(end, start + SCAN)


def suggest(suggestions: Suggestions, typed: str, limit: int) -> list[dict]:
    """Labels starting with ``typed`` (its 초성 or romanization too), most records first."""
    text = "".join(analysis.normalize(typed).split())
    if not text:
        return []
    initials = analysis.as_choseong(text)
    if initials:
        lookups = [("initials", initials)]
    elif romanize.is_latin_word(text) or re.fullmatch(r"[a-z]+", text):
        key = romanize.loose(text)
        # A prefix may end inside a spelling the key folds (uije of uijeong): one letter less.
        lookups = [("plain", text), ("roman", key), ("roman", key[:-1] if len(key) > 3 else key)]
    else:
        lookups = [("plain", text)]
    found: set[int] = set()
    for form, prefix in lookups:
        keys, numbers = suggestions.keys[form]
        start, end = _range(keys, prefix)
        found.update(int(n) for n in numbers[start:end])
        if len(found) >= limit and form != "plain":
            break
    ranked = sorted(
        found,
        key=lambda n: (
            -int(suggestions.counts[n]),
            KINDS[suggestions.labels[n][1]],
            suggestions.labels[n][0],
        ),
    )
    return [
        {
            "text": suggestions.labels[n][0],
            "kind": suggestions.labels[n][1],
            "count": int(suggestions.counts[n]),
        }
        for n in ranked[:limit]
    ]
