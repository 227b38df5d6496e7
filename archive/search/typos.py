"""Typos: "did you mean" for search words the index does not know, compared in jamo.

A syllable is three slots (initial, medial, final): one wrong stroke is one edit, so 의정푸 is
one edit from 의정부 (ㅍ for ㅂ), 도봉사 one from 도봉산 (a final left off), and a stray
jamo typed after a word (회룡사ㅏ) one more. Candidates are every word one edit away; the
one the index holds in most records wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from archive.search.analysis import CHOSEONG

_INITIALS = 19
_MEDIALS = 21
_FINALS = 28
_HANGUL = re.compile(r"[가-힣]+")
# Compatibility jamo (ㄱ…ㅣ) and conjoining jamo (after NFKC): typed on their own by mistake.
_JAMO = re.compile(r"[\u3131-\u318e\u1100-\u11ff]")
MAX_SYLLABLES = 8


def _split(ch: str) -> tuple[int, int, int]:
    code = ord(ch) - 0xAC00
    return code // 588, (code % 588) // 28, code % 28


def _join(initial: int, medial: int, final: int) -> str:
    return chr(0xAC00 + initial * 588 + medial * 28 + final)


def jamo(word: str) -> str:
    """A word as its jamo (initial, medial, final letters), for an edit distance in strokes."""
    out = []
    for ch in word:
        if "가" <= ch <= "힣":
            i, m, f = _split(ch)
            out.append(chr(0x1100 + i) + chr(0x1161 + m) + (chr(0x11A7 + f) if f else ""))
        else:
            out.append(ch)
    return "".join(out)


def distance(a: str, b: str) -> int:
    """Levenshtein distance between the jamo of two words."""
    a, b = jamo(a), jamo(b)
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def one_edit(word: str) -> set[str]:
    """Every Hangul word one jamo edit from ``word`` (a slot of a syllable changed, a final
    added or dropped)."""
    out = set()
    for pos, ch in enumerate(word[:MAX_SYLLABLES]):
        i, m, f = _split(ch)
        head, tail = word[:pos], word[pos + 1 :]
        for other in range(_INITIALS):
            if other != i:
                out.add(head + _join(other, m, f) + tail)
        for other in range(_MEDIALS):
            if other != m:
                out.add(head + _join(i, other, f) + tail)
        for other in range(_FINALS):
            if other != f:
                out.add(head + _join(i, m, other) + tail)
    return out


def has_jamo(word: str) -> bool:
    return _JAMO.search(word) is not None


def _without_stray_jamo(word: str) -> str:
    return _JAMO.sub("", word)


def correct(word: str, known: Callable[[str], int]) -> str | None:
    """The word a mistyped ``word`` most likely meant, or None. ``known(w)`` is how many
    records hold ``w`` as a word (0: unknown)."""
    if _JAMO.search(word):
        # A stray jamo (회룡사ㅏ) or a syllable left in pieces: the word without it.
        cleaned = _without_stray_jamo(word)
        if cleaned and cleaned != word and not set(cleaned) & set(CHOSEONG):
            if known(cleaned):
                return cleaned
            fixed = correct(cleaned, known)
            return fixed or None
        return None
    if not _HANGUL.fullmatch(word) or len(word) < 2 or known(word):
        return None
    best, best_count = None, 0
    for candidate in sorted(one_edit(word)):
        count = known(candidate)
        if count > best_count:
            best, best_count = candidate, count
    return best
