"""Korean analysis for the archive index, the same on the index and the query side.

Two views of every text, both after Hanja → Hangul (``hanja_readings.to_hangul``) and NFKC:

- **morphemes** (kiwipiepy): nouns, verb/adjective stems, roots, foreign words, numbers;
  particles (J*) and endings (E*) dropped, so ``의정부에서`` and ``의정부는`` both give ``의정부``.
  Long nouns the model keeps whole (``의정부시``, ``부대찌개``) also give their parts when both
  halves are nouns on their own (``의정부`` + ``시``), so a search for a part finds the compound.
- **character bigrams** over Hangul with the spaces between words removed: ``스마트 도서관``
  and ``스마트도서관`` give the same bigrams, and ``박물관`` is inside ``시립박물관``. This is the
  recall fallback for words the morpheme model splits differently in different contexts.

The Kiwi model is big (about 500 MB once initialised), so there is exactly one per process;
``warm_up()`` in a preloading server's master shares it with every forked worker.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import re
import threading
import unicodedata
import warnings
from dataclasses import dataclass, field

from whoosh.analysis import Token, Tokenizer

from archive.search import lexicon, romanize
from archive.search.hanja_readings import to_hangul

NOUN_TAGS = frozenset({"NNG", "NNP", "XR", "SL", "SH", "SN"})
STEM_TAGS = frozenset({"VV", "VA"})
CONTENT_TAGS = NOUN_TAGS | STEM_TAGS

_HANGUL = re.compile(r"[가-힣]")
# One-syllable nouns that end names (도봉산, 회룡사, 중랑천, 호원동, 의정부역): a search for
# them finds the names. Other one-syllable endings, and those of common nouns, stay on.
GENERIC_TAILS = frozenset(
    "산사암천강곡골섬봉령동리촌읍면시군구도가로길역교관원당전문탑비정각루궁성단묘터장점실소청"
)

_kiwi = None
_kiwi_pid: int | None = None
_kiwi_threaded = False
_kiwi_lock = threading.Lock()
_primed: dict = {}


def kiwi(*, threads: bool = True):
    """The process's one Kiwi, initialised on first use (the model ships with kiwipiepy_model).

    ``threads=False`` builds it without Kiwi's worker threads, for a server that forks workers
    after loading it: a forked child has no copies of those threads, and a model that has
    them waits for them forever when the child exits."""
    global _kiwi, _kiwi_pid, _kiwi_threaded
    if _kiwi is None:
        with _kiwi_lock:
            if _kiwi is None:
                from kiwipiepy import Kiwi  # heavy (the model): loaded when first used

                workers = min(2, os.cpu_count() or 1) if threads else 0
                with warnings.catch_warnings():
                    # 0 means "no worker threads" since kiwipiepy 0.21; it warns about that.
                    warnings.simplefilter("ignore", DeprecationWarning)
                    model = Kiwi(num_workers=workers)
                for word in lexicon.user_words():
                    model.add_user_word(word, "NNP", 0.0)
                model.tokenize("초기화")  # the model finishes loading on the first call
                _kiwi, _kiwi_pid, _kiwi_threaded = model, os.getpid(), workers > 0
    return _kiwi


def warm_up(*, for_fork: bool = False) -> None:
    """Load the model and the Hanja table now; ``for_fork`` in a preloading server's master,
    before the workers fork, so they share them."""
    kiwi(threads=not for_fork)
    to_hangul("議政府")
    release_free_memory()


def release_free_memory() -> bool:
    """Give the free pages of the C heap back to the system (glibc's ``malloc_trim``).

    Loading the model leaves about 45 MB of buffers it no longer uses in the heap: in a
    preloading server's master they would stay resident, and be counted again in every
    forked worker's resident memory. False where the C library has no such call."""
    try:
        trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return False
    trim(0)
    return True


@functools.lru_cache(maxsize=4096)
def _normalized(text: str) -> str:
    return to_hangul(unicodedata.normalize("NFKC", text)).lower()


def normalize(text: str) -> str:
    """NFKC, Hanja read as Hangul, lower case: what both analyses see. Kept for the last few
    thousand texts: indexing a document asks again for each field that holds the text."""
    return _normalized(text or "")


def _tag(token) -> str:
    return token.tag.split("-", 1)[0]  # VA-I / VV-R (irregular stems) are still VA / VV


@functools.lru_cache(maxsize=65536)
def _single_noun(text: str) -> bool:
    tokens = kiwi().tokenize(text)
    return len(tokens) == 1 and tokens[0].len == len(text) and tokens[0].tag[:2] in ("NN", "NR")


@functools.lru_cache(maxsize=65536)
def compound_parts(noun: str, proper: bool = True) -> tuple[str, ...]:
    """``부대찌개`` → (``부대``, ``찌개``), ``도봉산`` → (``도봉``, ``산``): a noun the model keeps
    whole, cut where both halves are nouns (the cut the language model likes best), else ()."""
    listed = lexicon.parts_of(noun)
    if listed is not None:
        return listed
    if len(noun) < 3 or not all("가" <= ch <= "힣" for ch in noun):
        return ()
    # Of the cuts into two nouns, the one the language model finds most likely when the
    # halves are written apart (의정부 시 rather than 의정 부시).
    best, best_score = (), float("-inf")
    for cut in range(2, len(noun)):
        head, tail = noun[:cut], noun[cut:]
        if len(tail) == 1 and (not proper or tail not in GENERIC_TAILS):
            continue  # 사계절 is not 사계 + 절, 부동산 not 부동 + 산
        if _single_noun(head) and _single_noun(tail):
            score = kiwi().analyze(f"{head} {tail}", top_n=1)[0][1]
            if score > best_score:
                best, best_score = (head, tail), score
    return best


@dataclass
class Morpheme:
    form: str
    tag: str
    start: int
    end: int
    parts: tuple[str, ...] = field(default=())

    @property
    def is_noun(self) -> bool:
        return self.tag in NOUN_TAGS


_LONE_JAMO = re.compile(r"[\u1100-\u11ff\u3131-\u318e]+")


def _from_kiwi(tokens, tags: list[str] | None = None) -> list[Morpheme]:
    kept = []
    for token, tag in zip(tokens, tags or [_tag(t) for t in tokens], strict=True):
        if tag not in CONTENT_TAGS or _LONE_JAMO.fullmatch(token.form):
            continue  # a jamo typed on its own (회룡사ㅏ) is a slip, not a word
        form = token.form.lower()
        parts = compound_parts(form, tag == "NNP") if tag in ("NNG", "NNP") else ()
        kept.append(Morpheme(form, tag, token.start, token.start + token.len, parts))
    return kept


def morphemes(normalized: str) -> list[Morpheme]:
    """Content morphemes of already normalised text."""
    if not normalized.strip():
        return []
    return _from_kiwi(kiwi().tokenize(normalized))


def _terms(found: list[Morpheme]) -> list[str]:
    return [morpheme.form for morpheme in found]


def _parts(found: list[Morpheme]) -> list[str]:
    return [part for morpheme in found for part in morpheme.parts]


# A stretch holds a word when it has one of these: nouns, and the bound nouns and numerals
# the model cuts two-syllable words into (한개 → 한/MM 개/NNB, 두번 → 두/MM 번/NNB).
STRETCH_NOUN_TAGS = NOUN_TAGS | {"NNB", "NR"}

# Tags that end a noun stretch: particles, endings, copula, suffixes, symbols (and stems).
_BREAK_PREFIXES = ("J", "E", "VC", "XSV", "XSA", "S")


def noun_stretches(normalized: str, tokens, *, join_spaces: bool = True) -> list[str]:
    """The Hangul of each stretch of a text that holds nouns, particles and endings cut off
    (``의정부에서`` → ``의정부``). Words written apart with nothing between them join
    (``스마트 도서관`` → ``스마트도서관``, as in the solid spelling), and syllables the model
    mis-tags inside a name (장/암/동) stay in their stretch."""
    return _stretches(normalized, _spans(tokens), join_spaces)


def _spans(tokens) -> list[tuple[str, int, int]]:
    """(tag, start, end) of each token, read once from Kiwi's objects for every view."""
    return [(_tag(token), token.start, token.start + token.len) for token in tokens]


def _stretches(normalized: str, spans, join_spaces: bool) -> list[str]:
    stretches, start, end, has_noun = [], None, 0, False

    def close():
        if start is not None and has_noun:
            hangul = "".join(_HANGUL.findall(normalized[start:end]))
            if hangul:
                stretches.append(hangul)

    for tag, token_start, token_end in spans:
        if tag.startswith(_BREAK_PREFIXES) or tag in STEM_TAGS:
            close()
            start, has_noun = None, False
            continue
        between = normalized[end:token_start]
        if start is not None and (between.strip() or (between and not join_spaces)):
            close()  # something other than spaces (a symbol kiwi did not tag) in between
            start, has_noun = None, False
        if start is None:
            start = token_start
        end = token_end
        has_noun = has_noun or tag in STRETCH_NOUN_TAGS
    close()
    return stretches


def plain_bigrams(hangul: str) -> list[str]:
    return [hangul[i : i + 2] for i in range(len(hangul) - 1)]


_HANGUL_RUN = re.compile(r"[가-힣]+")


# Particles and endings: a bigram inside one of them (에서, 으로) is no word to search for.
_FUNCTION_PREFIXES = ("J", "E")


def word_bigrams(normalized: str, tokens, known: set[str]) -> list[str]:
    """Bigrams inside the written words that the other fields do not already give (상대
    inside 예상대로, where the morphology sees 예상 + 대로): what a two-syllable search finds
    last. Left out: the bigrams of the noun stretches (``known``, in ``title_ng`` and
    ``body_ng``), bigrams inside a particle or an ending, and each bigram a second time."""
    return _word_bigrams(normalized, _spans(tokens), known)


def _word_bigrams(normalized: str, spans, known: set[str]) -> list[str]:
    inside_function = set()
    for tag, start, end in spans:
        if tag.startswith(_FUNCTION_PREFIXES) and end - start >= 2:
            inside_function.update(range(start, end - 1))
    out: dict[str, None] = {}
    for run in _HANGUL_RUN.finditer(normalized):
        for i in range(run.start(), run.end() - 1):
            gram = normalized[i : i + 2]
            if gram not in known and i not in inside_function:
                out[gram] = None
    return list(out)


@dataclass
class Analysed:
    terms: list[str]  # content morphemes
    parts: list[str]  # parts of the compounds among them (indexed apart, they rank lower)
    grams: list[str]  # bigrams of the noun stretches
    word_grams: list[str] = field(default_factory=list)  # bigrams inside words, not in grams
    # The nouns of each written word, particles and endings cut off (세미콜론으로 → 세미콜론):
    # a search word equal to one of them is the word on its own, not part of a compound.
    nouns: list[str] = field(default_factory=list)


def _analysed(normalized: str, tokens) -> Analysed:
    spans = _spans(tokens)  # every view below reads the tokens' tags and offsets from here
    grams = [g for stretch in _stretches(normalized, spans, True) for g in plain_bigrams(stretch)]
    found = _from_kiwi(tokens, [tag for tag, _, _ in spans])
    nouns = _stretches(normalized, spans, False)
    inside = _word_bigrams(normalized, spans, set(grams))
    return Analysed(_terms(found), _parts(found), grams, inside, nouns)


_EMPTY = Analysed([], [], [], [], [])


def analyse(text: str) -> Analysed:
    """Both views of a text (from the batch results when ``prime`` has seen it)."""
    normalized = normalize(text)
    if not normalized.strip():
        return _EMPTY
    cached = _primed.get(normalized)
    if cached is not None:
        return cached
    return _analysed(normalized, kiwi().tokenize(normalized))


def tokenize_batch(texts: list[str]) -> tuple[list[str], list]:
    """Kiwi's tokens for many texts at once (its worker threads; safe to call from another
    thread while the caller indexes the previous batch). Returns (normalised texts, tokens).

    Only in the process that created the model: a forked child has lost the model's threads,
    so there it analyses one text at a time.
    """
    wanted = [t for t in {normalize(t) for t in texts if t} if t.strip()]
    if not wanted:
        return [], []
    model = kiwi()
    if _kiwi_threaded and _kiwi_pid == os.getpid() and len(wanted) > 1:
        return wanted, list(model.tokenize(wanted))
    return wanted, [model.tokenize(t) for t in wanted]


def prime_with(batch: tuple[list[str], list]) -> None:
    """Keep the analyses of a ``tokenize_batch`` result for the tokenizers to use."""
    for text, tokens in zip(*batch, strict=True):
        _primed[text] = _analysed(text, tokens)


def prime(texts: list[str]) -> None:
    """Analyse many texts at once before they are indexed."""
    prime_with(tokenize_batch(texts))


def clear_primed() -> None:
    _primed.clear()


# Separates the texts joined into one bigram field (each is analysed on its own).
PART_SEPARATOR = "\x1e"


class _TermTokenizer(Tokenizer):
    """Feeds ready terms to Whoosh (positions counted, no character offsets)."""

    def terms(self, value: str) -> list[str]:
        raise NotImplementedError

    def __call__(
        self,
        value,
        positions=False,
        chars=False,
        keeporiginal=False,
        removestops=True,
        start_pos=0,
        start_char=0,
        tokenize=True,
        mode="",
        **kwargs,
    ):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for pos, term in enumerate(self.terms(value) if tokenize else [value]):
            token.text = term
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = term
            if positions:
                token.pos = start_pos + pos
            if chars:
                token.startchar = token.endchar = start_char
            yield token

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self))


class MorphemeTokenizer(_TermTokenizer):
    def terms(self, value: str) -> list[str]:
        return [t for text in value.split(PART_SEPARATOR) for t in analyse(text).terms]


class PartTokenizer(_TermTokenizer):
    def terms(self, value: str) -> list[str]:
        return [p for text in value.split(PART_SEPARATOR) for p in analyse(text).parts]


class BigramTokenizer(_TermTokenizer):
    def terms(self, value: str) -> list[str]:
        return [g for text in value.split(PART_SEPARATOR) for g in analyse(text).grams]


class WholeNounTokenizer(_TermTokenizer):
    def terms(self, value: str) -> list[str]:
        return [n for text in value.split(PART_SEPARATOR) for n in analyse(text).nouns]


def WholeNounAnalyzer():
    return WholeNounTokenizer()


class WordGramTokenizer(_TermTokenizer):
    def terms(self, value: str) -> list[str]:
        return [g for text in value.split(PART_SEPARATOR) for g in analyse(text).word_grams]


# 초성 (initial consonants): ㅇㅈㅂ finds 의정부. Compatibility jamo of the 19 initials.
CHOSEONG = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_CHOSEONG_QUERY = re.compile(f"[{CHOSEONG}]{{2,}}")
MAX_CHOSEONG = 12  # longer initials strings are not indexed


def choseong(hangul: str) -> str:
    return "".join(CHOSEONG[(ord(ch) - 0xAC00) // 588] for ch in hangul)


def as_choseong(word: str) -> str | None:
    """A word typed as initials (ㅇㅈㅂ) in compatibility jamo, or None. NFKC turns them into
    conjoining initials (U+1100…), which count too."""
    word = "".join(CHOSEONG[ord(ch) - 0x1100] if "\u1100" <= ch <= "\u1112" else ch for ch in word)
    return word if _CHOSEONG_QUERY.fullmatch(word) else None


def choseong_terms(text: str) -> list[str]:
    """The initials of every written word and of its beginnings (의정부역 → ㅇㅈ, ㅇㅈㅂ,
    ㅇㅈㅂㅇ), so initials typed for a name find it at the start of a longer word too."""
    terms = []
    for run in _HANGUL_RUN.findall(normalize(text)):
        initials = choseong(run[:MAX_CHOSEONG])
        terms.extend(initials[:end] for end in range(2, len(initials) + 1))
    return terms


class ChoseongTokenizer(_TermTokenizer):
    def terms(self, value: str) -> list[str]:
        return [t for text in value.split(PART_SEPARATOR) for t in choseong_terms(text)]


def ChoseongAnalyzer():
    return ChoseongTokenizer()


class RomanTokenizer(_TermTokenizer):
    def terms(self, value: str) -> list[str]:
        return [
            t for text in value.split(PART_SEPARATOR) for t in romanize.name_terms(normalize(text))
        ]


def RomanAnalyzer():
    return RomanTokenizer()


def MorphemeAnalyzer():
    return MorphemeTokenizer()


def PartAnalyzer():
    return PartTokenizer()


def BigramAnalyzer():
    return BigramTokenizer()


def WordGramAnalyzer():
    return WordGramTokenizer()


# Particles and conjunctions typed as words of their own (의정부 의 역사, 회룡사 및 망월사):
# alone, the model reads some of them as rare nouns (의 "righteousness").
QUERY_STOPWORDS = frozenset(
    ["의", "에", "에서", "을", "를", "이", "가", "은", "는", "와", "과", "도", "로", "으로"]
    + ["및", "등", "또는", "그리고", "와의", "과의"]
)


@dataclass
class QueryWord:
    """One whitespace-separated word of a query, analysed like the index."""

    surface: str
    morphemes: list[Morpheme]
    runs: list[str]  # noun stretches (Hangul only)
    marks: list[str]
    initials: bool = False  # 초성 only (ㅇㅈㅂ)

    @property
    def has_noun(self) -> bool:
        return self.initials or bool(self.runs) or any(m.is_noun for m in self.morphemes)

    @property
    def split(self) -> bool:
        """The model cut a word of two or more syllables into one-syllable pieces (평문 →
        평 + 문, 한개 → 한 + 개): its morphemes would match any record with those syllables."""
        return self.longest_run >= 2 and all(len(m.form) < 2 for m in self.morphemes)

    @property
    def longest_run(self) -> int:
        return max((len(r) for r in self.runs), default=0)


# Tags of a reading that is a noun phrase: nouns, their particles, suffixes and determiners.
_NOUNISH = ("NN", "XR", "SL", "SN", "SH", "XSN", "J", "MM", "XPN")
# How much less likely (log probability) a noun reading of a search word may be than the best.
NOUN_READING_MARGIN = 3.0


def _nounish(tokens) -> bool:
    return all(token.tag.startswith(_NOUNISH) for token in tokens)


def query_tokens(surface: str):
    """The model's reading of one search word, preferring a noun reading when it is nearly as
    likely as the best: a word typed alone is most often a noun (보고 the report rather than
    보 + 고 "seeing", 태크 rather than 태 + 크), which in running text the context decides."""
    readings = kiwi().analyze(surface, top_n=8)
    best_tokens, best_score = readings[0]
    if _nounish(best_tokens):
        return best_tokens
    # An interjection or adverb alone (인자 read as an interjection) is not what people search.
    margin = float("inf") if all(t.tag in ("IC", "MAG") for t in best_tokens) else None
    for tokens, score in readings[1:]:
        if best_score - score > (margin or NOUN_READING_MARGIN):
            break
        if _nounish(tokens) and any(token.tag.startswith("NN") for token in tokens):
            return tokens
    return best_tokens


def analyse_query(text: str) -> list[QueryWord]:
    """Words of a query with their morphemes, their noun stretches, and the strings a snippet
    should mark. Words with no content (a lone particle) are dropped."""
    words = []
    for surface in normalize(text).split():
        if surface in QUERY_STOPWORDS:
            continue
        initials = as_choseong(surface)
        if initials:
            words.append(QueryWord(initials, [], [], [], initials=True))
            continue
        tokens = query_tokens(surface)
        found = _from_kiwi(tokens)
        runs = noun_stretches(surface, tokens)
        if not found and not runs:
            continue
        marks = {m.form for m in found if len(m.form) > 1 or m.is_noun} | set(runs)
        words.append(QueryWord(surface, found, runs, sorted(marks, key=len, reverse=True)))
    return words
