"""Hanja → Hangul readings for search, on both the index and the query side.

The ``hanja`` package reads one character at a time from a table (with the initial-sound rule
두음법칙 at the start of a word). Characters with several readings come out wrong in common
words (音樂 → 음락, 不動産 → 불동산, 金浦 → 금포), so a record written in Hanja and a query in
Hangul would never meet. ``WORDS`` fixes whole words; ``_context_rules`` fixes characters whose
reading follows from their neighbours. Every reading is one syllable per character, so the
converted text keeps the offsets of the original (snippets rely on that).
"""

from __future__ import annotations

import re
import unicodedata

import hanja

# Whole words read differently from the character table. Longest match wins.
WORDS: dict[str, str] = {
    # 樂: 악 (music), 락/낙 (pleasure), 요 (to like)
    "音樂": "음악",
    "樂器": "악기",
    "樂譜": "악보",
    "樂團": "악단",
    "樂章": "악장",
    "樂曲": "악곡",
    "樂士": "악사",
    "國樂": "국악",
    "農樂": "농악",
    "雅樂": "아악",
    "聲樂": "성악",
    "器樂": "기악",
    "風樂": "풍악",
    "鄕樂": "향악",
    "唐樂": "당악",
    "樂山樂水": "요산요수",
    # 金: 김 as a family name and in place names, 금 (gold) otherwise
    "金浦": "김포",
    "金海": "김해",
    "金泉": "김천",
    "金堤": "김제",
    "金化": "김화",
    "金氏": "김씨",
    "金家": "김가",
    "金九": "김구",
    "金剛": "금강",
    "金剛山": "금강산",
    "金銀": "금은",
    "金屬": "금속",
    "金庫": "금고",
    "金額": "금액",
    "金石文": "금석문",
    # 北: 배 (to be defeated)
    "敗北": "패배",
    # 更: 갱 (again), 경 (to change)
    "更生": "갱생",
    "更新": "갱신",
    "更紙": "갱지",
    "更少年": "갱소년",
    # 復: 부 (again), 복 (to return)
    "復活": "부활",
    "復興": "부흥",
    # 便: 변 (excrement)
    "便所": "변소",
    "小便": "소변",
    "大便": "대변",
    # 車: 거 in older words
    "自轉車": "자전거",
    "人力車": "인력거",
    "車馬": "거마",
    # 降: 항 (to surrender)
    "降伏": "항복",
    "投降": "투항",
    # 易: 이 (easy)
    "容易": "용이",
    "難易": "난이",
    "平易": "평이",
    "簡易": "간이",
    # 洞: 통 (to see through)
    "洞察": "통찰",
    "洞燭": "통촉",
    # 狀: 장 (a document)
    "賞狀": "상장",
    "令狀": "영장",
    "狀啓": "장계",
    "書狀": "서장",
    # 見: 현 (to have an audience)
    "謁見": "알현",
    # 說: 세 (to persuade)
    "遊說": "유세",
    # 惡: 오 (to hate)
    "憎惡": "증오",
    "嫌惡": "혐오",
    "惡寒": "오한",
    # 識: 지 (a mark)
    "標識": "표지",
    # 省: 생 (to omit)
    "省略": "생략",
    # 宅: 댁 (honorific house)
    "宅內": "댁내",
    # 茶: 차 in everyday words (다 in 茶房, 茶山 stays the table's reading)
    "茶禮": "차례",
    "紅茶": "홍차",
    "綠茶": "녹차",
    "葉茶": "엽차",
    # Sound changes fixed by usage (활음조)
    "六月": "유월",
    "十月": "시월",
    "初八日": "초파일",
    "菩提": "보리",
    "菩提樹": "보리수",
    "布施": "보시",
}

_MAX_WORD = max(len(word) for word in WORDS)

# 列 烈 裂 劣 → 열 and 率 律 慄 → 율 after a vowel or ㄴ, 렬/률 after other finals (比率 비율,
# 先烈 선열, 確率 확률, 行列 행렬); the table reads some of them as 솔 or always 렬.
_YEOL = set("列烈裂劣")
_YUL = set("率律慄")

# 樂 next to these characters is music (악): 樂隊 악대, 舞樂 무악 ...
_MUSIC_NEIGHBOURS = set("音器譜團章曲隊舞歌管絃鼓律")

_HANJA_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_HANGUL_BASE, _HANGUL_LAST = 0xAC00, 0xD7A3


def _final(syllable: str) -> int:
    """Index of the final consonant (0 = none) of a Hangul syllable, or -1."""
    code = ord(syllable)
    if not _HANGUL_BASE <= code <= _HANGUL_LAST:
        return -1
    return (code - _HANGUL_BASE) % 28


def _initial(syllable: str) -> int:
    code = ord(syllable)
    if not _HANGUL_BASE <= code <= _HANGUL_LAST:
        return -1
    return (code - _HANGUL_BASE) // 588


_INITIAL_D, _INITIAL_J = 3, 12  # ㄷ, ㅈ
_FINAL_N = 4  # ㄴ


def _context_rules(run: str, read: list[str], fixed: list[bool]) -> None:
    for i, char in enumerate(run):
        if fixed[i]:
            continue
        after = read[i + 1] if i + 1 < len(read) else ""
        before = read[i - 1] if i > 0 else ""
        if char == "不" and after and _initial(after) in (_INITIAL_D, _INITIAL_J):
            read[i] = "부"  # 不動産 부동산, 不足 부족, 不正 부정
        elif char in _YEOL | _YUL and i > 0:
            soft = _final(before) in (0, _FINAL_N)
            if char in _YEOL:
                read[i] = "열" if soft else "렬"
            else:
                read[i] = "율" if soft else "률"
        elif char == "樂" and (
            (i > 0 and run[i - 1] in _MUSIC_NEIGHBOURS)
            or (i + 1 < len(run) and run[i + 1] in _MUSIC_NEIGHBOURS)
        ):
            read[i] = "악"
        elif char == "金" and i == 0 and len(run) == 3:
            read[i] = "김"  # three characters starting with 金: a person's name (金正喜)


def _convert_run(run: str) -> str:
    read = list(hanja.translate(run, "substitution"))
    if len(read) != len(run):  # never shift offsets, whatever the table does
        return run
    fixed = [False] * len(run)
    i = 0
    while i < len(run):
        for size in range(min(_MAX_WORD, len(run) - i), 1, -1):
            reading = WORDS.get(run[i : i + size])
            if reading is not None:
                read[i : i + size] = list(reading)
                fixed[i : i + size] = [True] * size
                i += size
                break
        else:
            i += 1
    _context_rules(run, read, fixed)
    return "".join(read)


def _normalize_compatibility(run: str) -> str:
    # CJK compatibility ideographs (U+F900–FAFF, e.g. a second 樂) are the same characters.
    return "".join(
        unicodedata.normalize("NFKC", ch) if 0xF900 <= ord(ch) <= 0xFAFF else ch for ch in run
    )


def to_hangul(text: str) -> str:
    """The text with every Hanja replaced by its Hangul reading; same length as the input."""
    if not text or not _HANJA_RUN.search(text):
        return text
    return _HANJA_RUN.sub(lambda m: _convert_run(_normalize_compatibility(m.group())), text)
