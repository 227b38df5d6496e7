"""Hanja → Hangul readings: the character table plus the override dictionary."""

import pytest

from archive.search import hanja_readings
from archive.search.hanja_readings import WORDS, to_hangul


@pytest.mark.parametrize(
    ("hanja", "hangul"),
    [
        # place names of the city, read by the table
        ("議政府", "의정부"),
        ("回龍寺", "회룡사"),
        ("望月寺", "망월사"),
        ("道峰山", "도봉산"),
        ("水落山", "수락산"),
        ("中浪川", "중랑천"),
        # initial-sound rule (두음법칙) at the start of a word
        ("李成桂", "이성계"),
        ("李氏", "이씨"),
        ("樂園", "낙원"),
        ("女子", "여자"),
        # 樂: music 악, pleasure 락, liking 요
        ("音樂", "음악"),
        ("樂器", "악기"),
        ("國樂", "국악"),
        ("農樂", "농악"),
        ("樂隊", "악대"),
        ("快樂", "쾌락"),
        ("極樂", "극락"),
        ("樂山樂水", "요산요수"),
        # 金: 김 in family and place names, 금 otherwise
        ("金浦", "김포"),
        ("金氏", "김씨"),
        ("金正喜", "김정희"),
        ("黃金", "황금"),
        ("金剛山", "금강산"),
        # 北 배, 更 갱, 復 부
        ("敗北", "패배"),
        ("北漢山", "북한산"),
        ("更生", "갱생"),
        ("變更", "변경"),
        ("復活", "부활"),
        ("回復", "회복"),
        # 不 is 부 before ㄷ and ㅈ
        ("不動産", "부동산"),
        ("不足", "부족"),
        ("不正", "부정"),
        ("不安", "불안"),
        # 列/烈 and 率/律 after a vowel or ㄴ
        ("比率", "비율"),
        ("效率", "효율"),
        ("確率", "확률"),
        ("先烈", "선열"),
        ("行列", "행렬"),
        ("烈士", "열사"),
        # words read by usage
        ("六月", "유월"),
        ("十月", "시월"),
        ("菩提樹", "보리수"),
        ("自轉車", "자전거"),
        ("茶禮", "차례"),
        ("省略", "생략"),
    ],
)
def test_readings(hanja, hangul):
    assert to_hangul(hanja) == hangul


@pytest.mark.parametrize(("word", "reading"), sorted(WORDS.items()))
def test_every_override_word_is_applied_and_keeps_length(word, reading):
    assert len(word) == len(reading)
    assert to_hangul(word) == reading


def test_mixed_text_keeps_offsets():
    text = "議政府에서 열린 音樂회, 李氏 집안 (1911)"
    converted = to_hangul(text)
    assert converted == "의정부에서 열린 음악회, 이씨 집안 (1911)"
    assert len(converted) == len(text)


def test_compatibility_ideographs_read_like_unified_ones():
    compatibility_rak = "\uf914"  # a compatibility form of 樂
    assert to_hangul("快" + compatibility_rak) == "쾌락"


def test_text_without_hanja_is_returned_unchanged():
    text = "의정부 회룡사 <b>"
    assert hanja_readings.to_hangul(text) is text
