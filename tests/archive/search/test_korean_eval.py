"""The Korean evaluation set: recall and precision over queries a person would type, with
exact-word matches ranked first. Prints a report (``pytest -s``)."""

import pytest

from tests.archive.search.korean_eval import QUERIES, RANKING, RECORDS
from tests.fixtures.archive_search import build_index, document, search

MIN_RECALL = 0.95
MIN_PRECISION = 0.9  # matches that were expected / all matches
MIN_PRECISION_AT_K = 0.9  # expected among the first k, k = how many are expected

KEYS = {n: record["key"] for n, record in enumerate(RECORDS, start=1)}


@pytest.fixture
def eval_index():
    build_index(
        [
            document(
                id=n,
                identifier=f"UJB-EVAL-{n:04d}",
                **{k: v for k, v in record.items() if k != "key"},
            )
            for n, record in enumerate(RECORDS, start=1)
        ]
    )


def found(query: str) -> list[str]:
    return [KEYS[hit["id"]] for hit in search(query, per_page=100).hits]


def test_the_set_is_big_enough_and_consistent():
    keys = {record["key"] for record in RECORDS}
    assert len(RECORDS) >= 50 and len(keys) == len(RECORDS)
    assert len(QUERIES) >= 60
    cases = {case for case, _, _ in QUERIES}
    assert {"particles", "compound", "one_syllable", "hanja", "negative"} <= cases
    for _, _, expected in QUERIES:
        assert expected <= keys


def test_recall_and_precision(eval_index):
    recalls, precisions, at_k, failures = [], [], [], []
    for case, query, expected in QUERIES:
        got = found(query)
        if not expected:
            if got:
                failures.append(f"{case} {query!r}: expected nothing, found {got}")
            continue
        if len(query.split()) == 2:
            # Two words: records with one of them follow those with both (see precision@k).
            got = got[: len(expected)]
        hit = set(got) & expected
        recalls.append(len(hit) / len(expected))
        precisions.append(len(hit) / len(got) if got else 0.0)
        at_k.append(len(set(got[: len(expected)]) & expected) / len(expected))
        if hit != expected or len(got) != len(hit):
            failures.append(
                f"{case} {query!r}: missing {sorted(expected - hit)}, "
                f"unexpected {[g for g in got if g not in expected]}"
            )
    recall = sum(recalls) / len(recalls)
    precision = sum(precisions) / len(precisions)
    precision_at_k = sum(at_k) / len(at_k)
    report = (
        f"Korean evaluation: {len(QUERIES)} queries over {len(RECORDS)} records: "
        f"mean recall {recall:.3f}, mean precision {precision:.3f}, "
        f"mean precision@k {precision_at_k:.3f}; {len(failures)} imperfect"
    )
    print("\n" + report + "".join("\n  " + f for f in failures))
    assert recall >= MIN_RECALL, report
    assert precision >= MIN_PRECISION, report
    assert precision_at_k >= MIN_PRECISION_AT_K, report
    negatives = [f for f in failures if "expected nothing" in f]
    assert not negatives, negatives


@pytest.mark.parametrize(("query", "first", "after"), RANKING)
def test_exact_words_rank_first(eval_index, query, first, after):
    got = found(query)
    assert first <= set(got)
    last_first = max(got.index(key) for key in first)
    for key in after:
        assert key in got and got.index(key) > last_first, got


@pytest.mark.parametrize(
    ("query", "other"),
    [
        ("의정부에서", "議政府"),
        ("스마트 도서관", "스마트도서관"),
        ("回龍寺", "회룡사에서"),
        ("李成桂", "이성계"),
        ("水落山", "수락산의"),
    ],
)
def test_spellings_find_the_same_records(eval_index, query, other):
    first, second = found(query), found(other)
    # Two words written apart also find, after these, the records with one of them.
    if len(query.split()) == 2:
        first = first[: len(second)]
    assert sorted(first) == sorted(second)
