"""Revised Romanization of Korean (국어의 로마자 표기법, 2000) for search.

``romanize`` spells a Hangul word as the rules do, with the sound changes that the spelling
follows: a final consonant carried over to a following vowel (녹양 → nogyang), nasalisation
(백마 → baengma, 독립 → dongnip, 종로 → jongno), ㄹ after ㄴ or ㄹ (신라 → silla, 설날 →
seollal), palatalisation (해돋이 → haedoji), ㅎ with ㄱ/ㄷ/ㅈ (좋고 → joko) and silent before
a vowel (좋아 → joa).

``loose`` folds a romanized spelling to a key that the common variants share: the older
McCune–Reischauer spellings without their marks (Uijongbu, Kangnam, Pusan), ``eu``/``u``
and ``eo``/``o`` written either way, voiced or voiceless consonants (k/g, t/d, p/b, ch/j),
l/r, doubled letters, hyphens and spaces (Nogyang-dong = Nogyangdong). The index keeps the
loose keys of the names' romanizations; a Latin query is folded the same way.
"""

from __future__ import annotations

import re

INITIALS = ["g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k",
            "t", "p", "h"]  # fmt: skip
MEDIALS = ["a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u",
           "wo", "we", "wi", "yu", "eu", "ui", "i"]  # fmt: skip
# The sound of each final at the end of a syllable before a consonant (or the word's end).
FINAL_SOUNDS = ["", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l",
                "m", "p", "p", "t", "t", "ng", "t", "t", "k", "t", "p", "t"]  # fmt: skip
# Before a vowel (initial ㅇ): what stays in the syllable and what opens the next one.
CARRIED = [("", ""), ("", "g"), ("", "kk"), ("k", "s"), ("", "n"), ("n", "j"), ("", "n"),
           ("", "d"), ("", "r"), ("l", "g"), ("l", "m"), ("l", "b"), ("l", "s"), ("l", "t"),
           ("l", "p"), ("", "r"), ("", "m"), ("", "b"), ("p", "s"), ("", "s"), ("", "ss"),
           ("ng", ""), ("", "j"), ("", "ch"), ("", "k"), ("", "t"), ("", "p"),
           ("", "")]  # fmt: skip
NASAL = {"k": "ng", "t": "n", "p": "m"}
I_N, I_R, I_M, I_G, I_D, I_J, I_VOWEL = 2, 5, 6, 0, 3, 12, 11
F_H = 27  # ㅎ
F_LH, F_NH = 15, 6  # ㅀ, ㄶ
F_D, F_T, M_I = 7, 25, 20  # ㄷ, ㅌ, ㅣ


def _syllables(word: str) -> list[tuple[int, int, int]]:
    out = []
    for ch in word:
        code = ord(ch) - 0xAC00
        out.append((code // 588, (code % 588) // 28, code % 28))
    return out


def romanize_syllables(word: str) -> list[str]:
    """The romanization of a Hangul word, one piece per syllable (sound changes applied)."""
    syllables = _syllables(word)
    pieces = []
    initial = INITIALS[syllables[0][0]] if syllables else ""
    for i, (_, medial, final) in enumerate(syllables):
        nxt = syllables[i + 1][0] if i + 1 < len(syllables) else None
        coda, next_initial = FINAL_SOUNDS[final], INITIALS[nxt] if nxt is not None else ""
        if nxt is None:
            pass
        elif nxt == I_VOWEL and final:
            coda, next_initial = CARRIED[final]
            if final in (F_D, F_T) and syllables[i + 1][1] == M_I:  # 굳이 guji, 같이 gachi
                next_initial = "j" if final == F_D else "ch"
        elif final in (F_H, F_LH, F_NH) and nxt in (I_G, I_D, I_J):
            coda = {F_H: "", F_LH: "l", F_NH: "n"}[final]
            next_initial = {I_G: "k", I_D: "t", I_J: "ch"}[nxt]
        elif coda in NASAL and nxt in (I_N, I_M):
            coda = NASAL[coda]
        elif coda in NASAL and nxt == I_R:
            coda, next_initial = NASAL[coda], "n"
        elif coda in ("m", "ng") and nxt == I_R:
            next_initial = "n"
        elif coda == "n" and nxt == I_R:
            coda, next_initial = "l", "l"
        elif coda == "l" and nxt in (I_N, I_R):
            next_initial = "l"
        pieces.append(initial + MEDIALS[medial] + coda)
        initial = next_initial
    return pieces


def romanize(word: str) -> str:
    return "".join(romanize_syllables(word))


_FOLDS = [
    ("eo", "o"), ("eu", "u"), ("oe", "we"), ("ae", "e"), ("wo", "o"), ("ee", "i"), ("oo", "u"),
    ("ch", "j"), ("sh", "s"), ("k", "g"), ("t", "d"), ("p", "b"), ("l", "r"),
]  # fmt: skip
_DOUBLES = re.compile(r"([a-z])\1+")
_LATIN_WORD = re.compile(r"[a-z][a-z'’-]*[a-z]")


def loose(spelling: str) -> str:
    """The key a romanized spelling shares with its common variants."""
    key = re.sub(r"[^a-z]", "", spelling.lower())
    for old, new in _FOLDS:
        key = key.replace(old, new)
    return _DOUBLES.sub(r"\1", key)


def is_latin_word(word: str) -> bool:
    return _LATIN_WORD.fullmatch(word.lower()) is not None


_HANGUL_RUN = re.compile(r"[가-힣]+")
MAX_SYLLABLES = 8


def name_terms(text: str) -> list[str]:
    """Loose keys of every written word's beginnings of two syllables or more (의정부역 →
    uijongbu, uijongbuyog, and uijong): a romanized name finds the word it starts."""
    terms = []
    for run in _HANGUL_RUN.findall(text):
        run = run[:MAX_SYLLABLES]
        for end in range(2, len(run) + 1):
            terms.append(loose(romanize(run[:end])))
    return terms
