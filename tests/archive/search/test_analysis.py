"""Korean analysis: morphemes, compound parts, noun-stretch bigrams, query words."""

import pytest

from archive.search import analysis


def terms(text):
    return analysis.analyse(text).terms


def grams(text):
    return analysis.analyse(text).grams


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("의정부에서", ["의정부"]),
        ("의정부는", ["의정부"]),
        ("의정부의", ["의정부"]),
        ("회룡사를 찾았다", ["회룡사", "찾"]),
        ("중랑천이 넘쳤다", ["중랑천", "넘치"]),
    ],
)
def test_particles_and_endings_are_dropped(text, expected):
    assert terms(text) == expected


@pytest.mark.parametrize("word", ["절", "산", "논", "책"])
def test_one_syllable_nouns_are_kept(word):
    assert word in terms(f"{word}에 갔다")


def test_compounds_are_split_and_keep_their_parts():
    analysed = analysis.analyse("시립박물관에서 부대찌개를")
    assert {"시립", "박물관", "부대찌개"} <= set(analysed.terms)
    assert {"부대", "찌개"} <= set(analysed.parts)


@pytest.mark.parametrize(
    ("noun", "proper", "parts"),
    [
        ("도봉산", True, ("도봉", "산")),
        ("의정부역", True, ("의정부", "역")),
        ("의정부시", True, ("의정부", "시")),
        ("장암동", True, ("장암", "동")),
        ("부대찌개", False, ("부대", "찌개")),
        ("시외버스", False, ("시외", "버스")),
        ("의정부", True, ()),  # not 의정 + 부
        ("사계절", False, ()),  # 절 is not split off
        ("부동산", False, ()),  # nor 산 off a common noun
    ],
)
def test_compound_parts(noun, proper, parts):
    assert analysis.compound_parts(noun, proper) == parts


def test_local_names_are_one_noun():
    # Without the local lexicon the general model cuts these into single syllables.
    for name in ("장암동", "민락동", "용현동", "망월사"):
        assert terms(f"{name}에서") == [name]


def test_spacing_does_not_change_the_bigrams():
    assert (
        grams("스마트 도서관") == grams("스마트도서관") == ["스마", "마트", "트도", "도서", "서관"]
    )


def test_bigrams_stop_at_particles_and_endings():
    # 의정부는 / 사진을 / 찍었다: no bigram crosses 는 or 을, verbs give none.
    assert grams("의정부는 사진을 찍었다") == ["의정", "정부", "사진"]


def test_hanja_is_read_before_analysis():
    assert terms("議政府에서") == ["의정부"]
    assert grams("回龍寺") == grams("회룡사")


def test_query_words():
    words = analysis.analyse_query("의정부에서 열린 스마트도서관의")
    assert [w.surface for w in words] == ["의정부에서", "열린", "스마트도서관의"]
    assert words[0].runs == ["의정부"] and words[0].has_noun
    assert not words[1].has_noun  # a verb only: ranks, is not required
    assert words[2].runs == ["스마트도서관"]
    assert "의정부" in words[0].marks


def test_a_lone_particle_is_no_query_word():
    assert analysis.analyse_query("의 에서") == []


def test_one_model_per_process():
    assert analysis.kiwi() is analysis.kiwi()


def test_primed_batch_gives_the_same_analysis():
    text = "망월사는 도봉산 중턱에 있는 절이다"
    alone = analysis.analyse(text)
    analysis.prime([text, "회룡사"])
    try:
        assert analysis.analyse(text) == alone
    finally:
        analysis.clear_primed()
