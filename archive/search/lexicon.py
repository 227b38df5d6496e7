"""Local names the general morphology model does not know.

Kiwi's dictionary comes from general text; it cuts many of the city's own names into
meaningless syllables (장암동 → 장 / 암 / 동, 민락동 → 민 / 락 / 동), and a search for one of
them would then match any record containing those syllables. Names listed here are analysed
as one proper noun. ``PARTS`` says how a name splits into searchable parts (도봉산 → 도봉 +
산); a name listed with no parts is never split (의정부 is not 의정 + 부).
"""

from __future__ import annotations

# Administrative 동 and villages of the city
NEIGHBOURHOODS = [
    "의정부동",
    "호원동",
    "장암동",
    "신곡동",
    "용현동",
    "민락동",
    "낙양동",
    "자일동",
    "금오동",
    "가능동",
    "녹양동",
    "고산동",
    "산곡동",
    "송산동",
    "전좌마을",
    "직동",
    "추동",
    "회룡골",
    "빼벌",
]

# Mountains, streams, temples, landmarks
LANDMARKS = [
    "도봉산",
    "수락산",
    "사패산",
    "천보산",
    "부용산",
    "홍복산",
    "회룡천",
    "백석천",
    "부용천",
    "호원천",
    "중랑천",
    "회룡사",
    "망월사",
    "석림사",
    "쌍암사",
    "원효사",
    "노강서원",
    "행복로",
    "제일시장",
    "의정부역",
    "회룡역",
    "망월사역",
    "의정부경전철",
    "캠프스탠리",
    "캠프레드클라우드",
    "부대찌개",
    "의정부부대찌개거리",
]

# Explicit parts (searchable on their own) of names; () keeps a name whole.
PARTS: dict[str, tuple[str, ...]] = {
    "의정부": (),
    "의정부동": ("의정부", "동"),
    "전좌마을": ("전좌", "마을"),
    "회룡골": ("회룡", "골"),
    "노강서원": ("노강", "서원"),
    "제일시장": ("제일", "시장"),
    "의정부역": ("의정부", "역"),
    "회룡역": ("회룡", "역"),
    "망월사역": ("망월사", "역"),
    "의정부경전철": ("의정부", "경전철"),
    "캠프스탠리": ("캠프", "스탠리"),
    "캠프레드클라우드": ("캠프", "레드클라우드"),
    "부대찌개": ("부대", "찌개"),
    "의정부부대찌개거리": ("의정부", "부대찌개", "거리"),
}

_GENERIC_TAILS = ("동", "산", "천", "사", "역", "마을")


def user_words() -> list[str]:
    return sorted(set(NEIGHBOURHOODS) | set(LANDMARKS) | set(PARTS))


def parts_of(name: str) -> tuple[str, ...] | None:
    """The listed parts of a local name, or None when the name is not listed."""
    if name in PARTS:
        return PARTS[name]
    if name in NEIGHBOURHOODS or name in LANDMARKS:
        for tail in _GENERIC_TAILS:
            if name.endswith(tail) and len(name) - len(tail) >= 2:
                return name[: -len(tail)], tail
        return ()
    return None


# Words that mean the same thing in archive descriptions: a search for one also finds the
# other, ranked below the word itself (절 is what people say, 사찰 what catalogues write).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "절": ("사찰",),
    "사찰": ("절",),
    "피란민": ("피난민",),
    "피난민": ("피란민",),
    "혼례": ("결혼식",),
    "결혼식": ("혼례",),
}
