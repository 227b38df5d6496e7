"""Builds ``corpus.json``: the Korean search-quality set's records and queries.

The text is what installed packages ship: the Korean message catalogues of Debian packages
(``/usr/share/locale/ko/LC_MESSAGES``: sentences), ISO 3166 country names (iso-codes: places)
and the names of people in Kiwi's multi-word dictionary (kiwipiepy_model: creators). Nothing is
downloaded. The morphology model only helps to *choose* the queries of each kind; which
records a query should find is decided by the text (``quality.relevant``), at test time.

    .venv/bin/python -m tests.archive.search.quality.build_corpus
"""

from __future__ import annotations

import gettext
import hashlib
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

from archive.search import analysis
from archive.search.hanja_readings import to_hangul

HERE = Path(__file__).parent
LOCALE = Path("/usr/share/locale/ko/LC_MESSAGES")
CATALOGUES = [
    "coreutils", "tar", "grep", "make", "dpkg", "apt", "bash", "gawk", "findutils", "glib20",
    "gtk30", "git", "wget", "libc", "procps-ng", "gettext-tools", "shared-mime-info", "sed",
    "diffutils", "adduser", "man-db", "gnupg2", "util-linux", "e2fsprogs", "shadow",
]  # fmt: skip
RECORDS = 360
TYPES = ["photo", "document", "map", "book", "object", "audio", "video"]
# (after a final consonant, after a vowel)
PARTICLES = [("에서", "에서"), ("으로", "로"), ("은", "는"), ("을", "를"), ("의", "의"),
             ("에", "에"), ("이다", "다"), ("까지", "까지"), ("부터", "부터"), ("과", "와"),
             ("이", "가"), ("도", "도"), ("만", "만"), ("에게", "에게")]  # fmt: skip
PER_KIND = 50
_PARTICLE_SYLLABLES = set("은는이가을를의에와과도로만")


def _key(item) -> str:
    text = " ".join(item) if isinstance(item, tuple) else item
    return hashlib.sha1(text.encode()).hexdigest()


def _catalogue(name: str) -> list[str]:
    path = LOCALE / f"{name}.mo"
    if not path.exists():
        return []
    with path.open("rb") as stream:
        catalogue = gettext.GNUTranslations(stream)._catalog
    return [v for v in catalogue.values() if isinstance(v, str)]


_FORMAT = re.compile(r"%[-+ #0-9.*]*[a-zA-Z]|\$\{?\w+\}?|<[^>]*>|--?[\w=\[\]-]+|[`'\"‘’“”«»]")


def sentences() -> list[str]:
    seen, out = set(), []
    for name in CATALOGUES:
        for message in _catalogue(name):
            for line in message.splitlines():
                line = re.sub(r"\s+", " ", _FORMAT.sub(" ", line)).strip(" :.,;()[]")
                hangul = len(re.findall(r"[가-힣]", line))
                if not 8 <= len(line) <= 90 or hangul < 6:
                    continue
                if hangul / max(1, len(line.replace(" ", ""))) < 0.7 or line in seen:
                    continue
                seen.add(line)
                out.append(line)
    return sorted(out, key=_key)


def places() -> list[str]:
    names = {v for v in _catalogue("iso_3166-1") if re.fullmatch(r"[가-힣]{2,6}", v)}
    return sorted(names, key=_key)


def people() -> list[str]:
    import kiwipiepy_model

    path = Path(kiwipiepy_model.__file__).parent / "multi.dict"
    names = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if (
            len(parts) >= 4
            and parts[1] == "NNP"
            and parts[3].strip() == "# Q5"
            and re.fullmatch(r"[가-힣]{1,4} [가-힣]{2,5}", parts[0])
        ):
            names.append(parts[0])
    return sorted(set(names), key=_key)[:200]


def _hanja_table() -> dict[str, list[str]]:
    from hanja.table import hanja_table

    # The 4,888 Hanja of KS X 1001 (the ones Korean text uses), in its order.
    by_reading: dict[str, list[str]] = defaultdict(list)
    for char, reading in sorted(hanja_table.items(), key=lambda item: _ksx(item[0])):
        if len(char) == 1 and len(reading) == 1 and _ksx(char) != b"~":
            by_reading[reading].append(char)
    return by_reading


def _ksx(char: str) -> bytes:
    try:
        return char.encode("euc-kr")
    except UnicodeEncodeError:
        return b"~"


def hanja_spelling(word: str, table) -> str | None:
    """A Hanja spelling of a Sino-Korean word that the index reads back as the word."""
    chars = []
    for syllable in word:
        for char in table.get(syllable, [])[:6]:
            if to_hangul(char) == syllable:
                chars.append(char)
                break
        else:
            return None
    spelled = "".join(chars)
    return spelled if to_hangul(spelled) == word else None


def build() -> dict:
    lines, names, countries = sentences(), people(), places()
    short = [s for s in lines if len(s) <= 36]
    long_ = [s for s in lines if len(s) > 36]
    table = _hanja_table()
    records = []
    for n in range(RECORDS):
        title = short[n % len(short)]
        body = [long_[(n * 3 + i) % len(long_)] for i in range(3)]
        records.append(
            {
                "identifier": f"KQ-{n + 1:04d}",
                "title": title,
                "description": " ".join(body[:2]),
                "transcription": body[2],
                "creator": names[n % len(names)] if n % 3 == 0 else "",
                "place": countries[n % len(countries)] if n % 2 == 0 else "",
                "subjects": [],
                "type": TYPES[n % len(TYPES)],
                "date": str(1900 + n % 120),
            }
        )
    kiwi = analysis.kiwi()
    standalone: dict[str, set[int]] = defaultdict(set)  # noun → records where it is a word
    embedded: dict[str, set[int]] = defaultdict(set)  # noun → records with it inside a noun
    splits: dict[str, set[int]] = defaultdict(set)  # 2 syllables the model cuts in two
    spaced: Counter = Counter()  # "A B": two nouns written apart
    for n, record in enumerate(records):
        text = analysis.normalize(" ".join([record["title"], record["description"]]))
        tokens = kiwi.tokenize(text)
        nouns = []
        for i, token in enumerate(tokens):
            tag = token.tag.split("-")[0]
            if tag in ("NNG", "NNP") and re.fullmatch(r"[가-힣]+", token.form):
                nouns.append(token.form)
                if 2 <= len(token.form) <= 4:
                    standalone[token.form].add(n)
                for size in (2, 3):
                    for cut in range(1, len(token.form) - size + 1 + 1):
                        part = token.form[cut - 1 : cut - 1 + size]
                        if part != token.form and len(token.form) > size:
                            embedded[part].add(n)
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if (
                nxt is not None
                and tag in ("MM", "XPN", "NNG", "NNB", "NR", "MAG", "XR")
                and len(token.form) == 1
                and nxt.tag.split("-")[0] in ("NNG", "NNB", "NNP")
                and len(nxt.form) == 1
                and nxt.start == token.start + token.len
                and re.fullmatch(r"[가-힣]{2}", token.form + nxt.form)
            ):
                splits[token.form + nxt.form].add(n)
            if (
                nxt is not None
                and tag == "NNG"
                and nxt.tag == "NNG"
                and len(token.form) >= 2
                and len(nxt.form) >= 2
                and text[token.start + token.len : nxt.start] == " "
            ):
                spaced[(token.form, nxt.form)] += 1
        record["subjects"] = sorted(set(nouns), key=_key)[:2]
    # Hanja in records: one noun of every tenth title written in Hanja.
    hanja_words = []
    for n, record in enumerate(records):
        if n % 10 == 5:
            for word in sorted(standalone, key=_key):
                if n in standalone[word] and len(word) >= 2 and word in record["title"]:
                    spelled = hanja_spelling(word, table)
                    if spelled:
                        record["title"] = record["title"].replace(word, spelled, 1)
                        hanja_words.append(word)
                        break
    corpus_text = [analysis.normalize(_all_text(r)) for r in records]

    def df(word: str) -> int:
        return sum(1 for text in corpus_text if word in text)

    def pick(candidates, count=PER_KIND):
        return sorted(candidates, key=_key)[:count]

    # Nouns as a person would type them: not a noun the model glued to its particle
    # (브랜치가 where 브랜치 is in the text more often).
    nouns = [
        w
        for w in standalone
        if 2 <= df(w) <= 30 and not (w[-1] in _PARTICLE_SYLLABLES and df(w[:-1]) > df(w))
    ]
    plain = pick(w for w in nouns if not embedded.get(w))
    compound = pick(w for w in nouns if len(w) == 2 and embedded.get(w, set()) - standalone[w])
    split = pick(
        w
        for w in splits
        if 1 <= df(w) <= 40 and w not in standalone and _split_noun(kiwi.tokenize(w))
    )
    particles = [
        _with_particle(w, PARTICLES[i % len(PARTICLES)]) for i, w in enumerate(pick(nouns, 60))
    ]
    pairs = [
        (a, b)
        for a in pick(nouns, 80)
        for b in pick(nouns, 80)
        if a < b and a not in b and b not in a and df(a) + df(b) <= 40
    ]
    both = [p for p in pairs if any(p[0] in t and p[1] in t for t in corpus_text)]
    two_words = [f"{a} {b}" for a, b in pick(both, PER_KIND // 2) + pick(pairs, PER_KIND // 2)]
    # Two nouns written apart in the text, queried as one word (the spaced form is a
    # two-word query).
    spacing = [f"{a}{b}" for a, b in pick(spaced, PER_KIND)]
    two_words += [f"{a} {b}" for a, b in pick(spaced, 100)[PER_KIND : PER_KIND + 10]]
    # Hangul queries for the words some titles spell in Hanja
    in_hanja = [w for w in hanja_words if df(w) <= 40]
    hanja = []
    for word in pick((w for w in nouns if len(w) >= 2), 400):
        spelled = hanja_spelling(word, table)
        if spelled:
            hanja.append({"q": spelled, "words": [word]})
        if len(hanja) >= PER_KIND:
            break
    queries = {
        "plain": [{"q": w, "words": [w]} for w in plain],
        "compound": [{"q": w, "words": [w]} for w in compound],
        # 두개 is 두 개 too
        "split": [{"q": w, "words": [w], "spacing": True} for w in split],
        "particles": particles[:PER_KIND],
        "two_words": [{"q": q, "words": q.split()} for q in two_words],
        "spacing": [{"q": q, "words": [q.replace(" ", "")], "spacing": True} for q in spacing],
        "hanja": hanja + [{"q": w, "words": [w]} for w in in_hanja],
    }
    return {
        "source": "Korean message catalogues of Debian packages, ISO 3166 names (iso-codes), "
        "names in kiwipiepy_model's multi.dict; built by build_corpus.py",
        "records": records,
        "queries": queries,
    }


def _split_noun(tokens) -> bool:
    """Two one-syllable pieces, the second a noun: a word the model cuts in two."""
    return len(tokens) == 2 and tokens[1].tag.startswith("NN")


def _with_particle(word: str, particle: tuple[str, str]) -> dict:
    final = (ord(word[-1]) - 0xAC00) % 28 != 0
    return {"q": word + particle[0 if final else 1], "words": [word]}


def _all_text(record: dict) -> str:
    return "\n".join(
        [
            record["title"],
            record["description"],
            record["transcription"],
            record["creator"],
            record["place"],
            *record["subjects"],
        ]
    )


def main() -> None:
    corpus = build()
    (HERE / "corpus.json").write_text(
        json.dumps(corpus, ensure_ascii=False, indent=0) + "\n", encoding="utf-8"
    )
    print({kind: len(q) for kind, q in corpus["queries"].items()}, len(corpus["records"]))


if __name__ == "__main__":
    main()
