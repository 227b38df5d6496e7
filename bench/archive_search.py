"""Archive search benchmark: bulk indexing speed, search latency over HTTP, worker memory.

Generates N records (default 50,000) with 1–2 KB of Korean text each (deterministic seed),
stores them in a temporary SQLite database and indexes them as an import does: the
``index_records`` job once per import batch (``ARCHIVE_IMPORT_BATCH`` records, one index
writer and one commit each; ``--index-path reindex`` measures ``archive reindex`` instead).
Then it starts gunicorn (``--preload``, 2 workers) on a free loopback port and runs a fixed
query mix (words, particles, compounds, Hanja, 초성, romanized names, typos, filters) against
``/api/archive/search`` and what visitors type into the search box against
``/api/archive/suggest``. Prints one JSON object, with the load average beside the figures
(the machine is shared) and CPU times, which the load disturbs less than wall times.

``--backend postgres`` searches the PostgreSQL tables instead (``SEARCH_BACKEND=postgres``):
the records go into the database ``--database-url``, which the bench empties first. There an
import writes the terms of each batch's records in the batch's own transaction, as it commits
(INSERT, no VACUUM): that is the ``import`` path; ``reindex`` is ``archive reindex`` (COPY by
record batch, then VACUUM ANALYZE). The tables start marked current, as ``archive reindex``
leaves an empty archive. ``--postings-cache N`` sets ``SEARCH_POSTINGS_CACHE``.

Searching again what an earlier run built (no seeding, no indexing): for Whoosh, ``--keep DIR``
keeps the database and index in a new folder and ``--reuse DIR`` searches it; for PostgreSQL,
``--reuse`` (no folder) searches the database ``--database-url`` as the last run left it.

    .venv/bin/python bench/archive_search.py [--records N] [--rounds R] [--quick]
        [--index-path import|reindex] [--keep DIR | --reuse DIR]
        [--backend postgres --database-url postgresql://postgres@127.0.0.1:5432/pgsearch_bench
         [--reuse] [--postings-cache N]]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from support import (
    children,
    cpu_probe_ms,
    cpu_seconds,
    empty_postgres,
    percentile,
    start_gunicorn,
    stop_gunicorn,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SEED = 20261125

PLACES = [
    "의정부동", "호원동", "장암동", "신곡동", "용현동", "민락동", "낙양동", "자일동",
    "금오동", "가능동", "녹양동", "고산동", "산곡동", "송산동",
]  # fmt: skip
NAMES = [
    "회룡사", "망월사", "도봉산", "수락산", "사패산", "중랑천", "백석천", "부용천",
    "의정부역", "시립도서관", "스마트도서관", "시립박물관", "제일시장", "행복로",
    "부대찌개", "노강서원", "전좌마을", "캠프스탠리", "경전철", "의정부시청",
]  # fmt: skip
NOUNS = [
    "사진", "기록", "문서", "지도", "마을", "주민", "축제", "행사", "학교", "교회", "시장",
    "거리", "다리", "도로", "철도", "역사", "문화", "전통", "풍경", "건물", "공장", "농사",
    "논밭", "하천", "홍수", "개발", "재개발", "아파트", "상가", "식당", "음식", "군부대", "미군",
    "전쟁", "피란민", "정착", "공동체", "제사", "의례", "노래", "농악", "놀이", "어린이",
    "졸업식", "입학식", "운동회", "공원", "산책로", "등산로", "사찰", "절", "산", "강", "나무",
    "소나무", "은행나무", "비석", "묘역", "서원", "향교", "관아", "장터", "우물", "골목", "한옥",
    "초가집", "기와집", "연탄", "버스", "정류장", "전차", "기차", "시청", "청사", "도서관",
    "박물관", "전시", "유물", "토기", "그릇", "옷", "한복", "가족", "결혼식", "잔치", "장례",
    "모내기", "추수", "겨울", "여름", "봄", "가을", "눈", "비", "태풍", "가뭄", "조선", "고려",
    "대한제국", "일제강점기", "광복", "산업화",
]  # fmt: skip
VERBS = [
    "촬영했다", "기록했다", "전한다", "남아 있다", "열렸다", "모였다", "세워졌다",
    "사라졌다", "이어진다", "보여 준다", "기증했다", "정리했다", "복원했다", "옮겨졌다",
]  # fmt: skip
PARTICLES = ["은", "는", "이", "가", "을", "를", "의", "에서", "에", "와", "과", "으로", "도"]
MORE_NOUNS = [
    "주택", "농가", "논길", "둑길", "고개", "언덕", "들판", "냇가", "저수지", "약수터", "정자",
    "누각", "성곽", "봉수대", "역참", "주막", "대장간", "방앗간", "양조장", "이발소", "사진관",
    "극장", "다방", "여관", "약방", "병원", "우체국", "경찰서", "면사무소", "동사무소", "보건소",
    "소방서", "교회당", "성당", "예배당", "종각", "범종", "불상", "석등", "탑비", "부도", "당집",
    "서낭당", "장승", "솟대", "굿판", "상여", "제기", "족보", "호적", "토지대장", "지적도",
    "측량", "등기", "계약서", "영수증", "편지", "엽서", "일기", "신문", "잡지", "교과서",
    "졸업장", "상장", "훈장", "사령장", "임명장", "증명서", "통지서", "포스터", "전단", "달력",
    "우표", "화폐", "지폐", "동전", "라디오", "텔레비전", "전화기", "재봉틀", "자전거", "리어카",
    "우마차", "트럭", "택시", "전철", "기관차", "객차", "화물차", "철교", "육교", "터널",
    "고가도로", "국도", "지방도", "골목길", "시장통", "노점", "좌판", "상인", "장꾼", "농부",
    "어부", "광부", "교사", "학생", "순경", "군인", "의사", "간호사", "목사", "스님", "신부",
    "무당", "장인", "도공", "목수", "석공", "대장장이", "이장", "반장", "통장", "시장님", "군수",
    "면장", "주지", "청년회", "부녀회", "노인회", "향우회", "계모임", "두레", "품앗이", "김장",
    "장담그기", "떡메", "절구", "맷돌", "가마솥", "항아리", "장독대", "초가지붕", "툇마루",
    "대청", "안방", "사랑채", "부엌", "아궁이", "굴뚝", "담장", "대문", "우물가",
]  # fmt: skip
TYPES = ["photo", "document", "map", "book", "object", "audio", "video"]

# A fixed mix: common and rare words, particles, compounds and spacing, Hanja, filters.
QUERIES = [
    {"q": "의정부"},
    {"q": "의정부에서"},
    {"q": "회룡사"},
    {"q": "回龍寺"},
    {"q": "스마트 도서관"},
    {"q": "스마트도서관"},
    {"q": "박물관"},
    {"q": "부대찌개 거리"},
    {"q": "도봉산 등산로"},
    {"q": "산"},
    {"q": "절"},
    {"q": "중랑천 홍수"},
    {"q": "미군 부대"},
    {"q": "1950년대 사진"},
    {"q": "졸업식", "type": "photo"},
    {"q": "축제", "year_from": 1950, "year_to": 1979},
    {"q": "마을", "place": "호원동"},
    {"q": "시장", "sort": "date"},
    {"q": "議政府 官衙"},
    {"q": "없는낱말검색"},
    # 초성, romanized names, typos (did_you_mean is computed for each)
    {"q": "ㅇㅈㅂ"},
    {"q": "ㅎㄹㅅ"},
    {"q": "Uijeongbu"},
    {"q": "Hoeryongsa"},
    {"q": "nogyang-dong"},
    {"q": "의정푸"},
    {"q": "도봉사 등산로"},
    {"q": "회룡사ㅏ"},
]


def words_asked_once(count: int) -> list[dict]:
    """Words of the records that the fixed mix does not ask for, each asked once: no posting
    list the workers keep from an earlier query helps them."""
    asked = {word for params in QUERIES for word in params["q"].split()}
    words = sorted({*NOUNS, *MORE_NOUNS, *NAMES, *PLACES} - asked)
    return [{"q": word} for word in random.Random(SEED + 1).sample(words, min(count, len(words)))]


# What visitors type into the search box: beginnings as written, 초성, romanized.
SUGGESTS = ["의정부", "의", "회룡", "ㅇㅈㅂ", "ㅎㄹㅅ", "ㄷ", "uijeongbu", "Hoeryong",
            "nogyang-dong", "시립", "부대찌", "ㅅㄹㄷ", "mangwol", "호원", "제일시장",
            "없는말"]  # fmt: skip


def _compound(rng: random.Random) -> str:
    # Compound nouns as archivists write them: 시장골목, 마을회관 ... (varied vocabulary)
    words = NOUNS + MORE_NOUNS
    return rng.choice(words) + rng.choice(words)


def _sentence(rng: random.Random, vocabulary: list[str], topics: list[str]) -> str:
    words = []
    for _ in range(rng.randint(2, 4)):
        noun = rng.choice(topics) if rng.random() < 0.15 else rng.choice(vocabulary)
        words.append(noun + rng.choice(PARTICLES))
    return " ".join(words) + " " + rng.choice(VERBS) + "."


def generate(count: int):
    """Deterministic records: dicts for the ``Record`` table plus their subjects.

    Like real archive records, each one is about a few things: two of the named places and
    a share of the general vocabulary, so a name occurs in some records, not in all."""
    rng = random.Random(SEED)
    compounds = [_compound(rng) for _ in range(6000)]
    start = datetime(2020, 1, 1, tzinfo=UTC)
    for n in range(1, count + 1):
        topics = rng.sample(NAMES, 2)
        place = rng.choice(PLACES)
        vocabulary = rng.sample(NOUNS, 30) + rng.sample(MORE_NOUNS, 30) + rng.sample(compounds, 30)
        target = rng.randint(1024, 2048)
        sentences, size = [], 0
        while size < target:
            sentence = _sentence(rng, vocabulary, [*topics, place])
            sentences.append(sentence)
            size += len(sentence.encode()) + 1
        half = len(sentences) // 3
        year = rng.randint(1890, 2020)
        span = rng.choice([0, 0, 9, 19])
        when = start + timedelta(minutes=n)
        yield (
            {
                "identifier": f"UJB-BENCH-{n:06d}",
                "title": f"{topics[0]} {rng.choice(vocabulary[:30])} {rng.choice(vocabulary[:30])}",
                "alt_title": "議政府 官衙" if n % 50 == 0 else None,
                "description": " ".join(sentences[:half]),
                "transcription": " ".join(sentences[half:]),
                "creator": "의정부시",
                "date_text": f"{year}" if span == 0 else f"{year}~{year + span}",
                "year_from": year,
                "year_to": year + span,
                "type": rng.choice(TYPES),
                "place": place,
                "collections": [rng.choice(["유리건판", "향토사료", "시민기증"])],
                "visibility": "published" if rng.random() < 0.9 else "draft",
                "version": 1,
                "date_parsed": True,
                "created_at": when,
                "updated_at": when,
            },
            rng.sample(vocabulary[:30], 3),
        )


def _seed(count: int) -> float:
    from sqlalchemy import insert, select

    from archive.models import Record, RecordSubject
    from core.extensions import db

    started = time.monotonic()
    batch, subjects = [], []
    for row, tags in generate(count):
        batch.append(row)
        subjects.append(tags)
        if len(batch) >= 2000:
            _insert(db, insert, select, Record, RecordSubject, batch, subjects)
            batch, subjects = [], []
    if batch:
        _insert(db, insert, select, Record, RecordSubject, batch, subjects)
    return time.monotonic() - started


def _insert(db, insert, select, record, subject, rows, subjects) -> None:
    db.session.execute(insert(record), rows)
    identifiers = [row["identifier"] for row in rows]
    ids = dict(
        db.session.execute(
            select(record.identifier, record.id).where(record.identifier.in_(identifiers))
        ).all()
    )
    subject_rows = [
        {"record_id": ids[row["identifier"]], "name": name, "position": i}
        for row, tags in zip(rows, subjects, strict=True)
        for i, name in enumerate(tags)
    ]
    db.session.execute(insert(subject), subject_rows)
    db.session.commit()


def _index_as_imports_do(backend: str, batch: int) -> dict:
    """Index every record as an import's batches do. Whoosh: the job queued after each
    batch's commit (``index_records`` with the batch's ids: one writer, one commit of the
    index). PostgreSQL: the batch's transaction writes its records' terms as it commits."""
    from sqlalchemy import select

    from archive.jobs import index_records
    from archive.models import Record
    from archive.services.documents import queue_index
    from core.extensions import db

    ids = list(db.session.scalars(select(Record.id).order_by(Record.id)))
    db.session.remove()  # each job (or batch transaction) on its own, as in an import
    for start in range(0, len(ids), batch):
        if backend == "postgres":  # ``write_changed_records`` runs as the batch commits
            for record_id in ids[start : start + batch]:
                queue_index(record_id)
            db.session.commit()
        else:
            index_records.call_local(ids[start : start + batch])
    return {"records": len(ids), "jobs": -(-len(ids) // batch)}


def _load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def _memory(pid: int) -> dict:
    status = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            status[key] = int(value.split()[0]) // 1024
    pss = 0
    rollup = Path(f"/proc/{pid}/smaps_rollup")
    if rollup.exists():
        for line in rollup.read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1]) // 1024
    return {
        "rss_mb": status.get("VmRSS"),
        "rss_anon_mb": status.get("RssAnon"),
        "rss_file_mb": status.get("RssFile"),
        "pss_mb": pss,
    }


def _build(args, app) -> dict:
    """Seed the records and index them; the indexing figures."""
    from flask_migrate import upgrade

    from archive.search import analysis
    from archive.services.indexing import reindex
    from archive.settings import ArchiveSettings

    settings = app.extensions["settings"][ArchiveSettings]
    with app.app_context():
        upgrade()
        if args.backend == "postgres":
            reindex(settings)  # the empty tables marked current, as on a new archive
        seed_seconds = _seed(args.records)
        analysis.warm_up()  # model load is start-up, not indexing
        load_before = _load()
        probe = cpu_probe_ms()
        started, cpu_started = time.monotonic(), time.process_time()
        if args.index_path == "import":
            summary = _index_as_imports_do(args.backend, app.config["ARCHIVE_IMPORT_BATCH"])
        else:
            summary = reindex(settings)
        seconds = time.monotonic() - started
        # Kiwi's worker threads count too: the process's CPU time, every thread.
        cpu = time.process_time() - cpu_started
    return {
        "seed_seconds": round(seed_seconds, 1),
        "index_path": args.index_path,
        **({"index_jobs": summary["jobs"]} if "jobs" in summary else {}),
        "index_seconds": round(seconds, 1),
        "index_records_per_s": round(summary["records"] / seconds, 1),
        "index_cpu_ms_per_record": round(cpu * 1000 / summary["records"], 2),
        # 1, 5 and 15 minute load averages (2 cores, shared) before and after indexing, and
        # a fixed pure-Python loop's time (ms): how slow the machine was at the start.
        "load_average_before_indexing": load_before,
        "load_average_after_indexing": _load(),
        "cpu_probe_ms": probe,
    }


def _index_figures(backend: str, app, base: str) -> dict:
    """What the index holds and its size on disk (PostgreSQL: the tables and their indexes)."""
    from whoosh import index as whoosh_index

    from archive.search import index, pg_index
    from core.extensions import db

    with app.app_context():
        if backend == "postgres":
            indexed, size = len(pg_index.indexed_ids(db.session)), pg_index.size_bytes(db.session)
            return {"indexed_records": indexed, "index_size_mb": round(size / 1024 / 1024, 1)}
        generation = whoosh_index.open_dir(index.current_path(base))
        indexed = generation.doc_count()
        generation.close()
    return {
        "indexed_records": indexed,
        "index_size_mb": round(index.size_bytes(base) / 1024 / 1024, 1),
        "index_segments": len(list(index.current_path(base).glob("*.seg"))),
    }


def _timed(session, url: str, requests_params: list[dict], rounds: int) -> list[float]:
    latencies = []
    for _ in range(rounds):
        for params in requests_params:
            began = time.perf_counter()
            response = session.get(url, params=params, timeout=30)
            latencies.append((time.perf_counter() - began) * 1000)
            response.raise_for_status()
    return latencies


def _measure_search(args, env: dict, workdir: Path) -> dict:
    """Serve the index with gunicorn and time the query mix and the suggestions."""
    import requests

    server = start_gunicorn(env, workdir, workers=2)
    try:
        session = requests.Session()
        search, suggest = server.url + "/api/archive/search", server.url + "/api/archive/suggest"
        totals = {}
        for _ in range(2):  # both workers open their searcher
            for params in QUERIES:
                response = session.get(search, params=params, timeout=30)
                response.raise_for_status()
                totals[json.dumps(params)] = response.json()["total"]
        workers = children(server.process.pid)
        load_search = _load()
        cpu_before = cpu_seconds(workers)
        latencies = _timed(session, search, QUERIES, args.rounds)
        search_cpu = cpu_seconds(workers) - cpu_before
        once = _timed(session, search, words_asked_once(args.rounds * 12), 1)
        typed = [{"q": text} for text in SUGGESTS]
        _timed(session, suggest, typed, 2)  # both workers build their suggestions
        cpu_before = cpu_seconds(workers)
        suggest_latencies = _timed(session, suggest, typed, args.rounds)
        suggest_cpu = cpu_seconds(workers) - cpu_before
        memory = [_memory(pid) for pid in workers]
        master = _memory(server.process.pid)
    finally:
        stop_gunicorn(server)
    return {
        "queries": len(latencies),
        "search_p50_ms": percentile(latencies, 50),
        "search_p95_ms": percentile(latencies, 95),
        "search_max_ms": round(max(latencies), 1),
        "search_mean_ms": round(statistics.mean(latencies), 1),
        "search_worker_cpu_ms_per_query": round(search_cpu * 1000 / len(latencies), 1),
        # Words asked once each (nothing kept from earlier queries helps).
        "search_once_queries": len(once),
        "search_once_p50_ms": percentile(once, 50),
        "search_once_p95_ms": percentile(once, 95),
        "median_hits": statistics.median(totals.values()),
        "suggest_p50_ms": percentile(suggest_latencies, 50),
        "suggest_p95_ms": percentile(suggest_latencies, 95),
        "suggest_worker_cpu_ms_per_query": round(suggest_cpu * 1000 / len(suggest_latencies), 1),
        "master_memory": master,
        "worker_memory": memory,
        "worker_rss_max_mb": max(w["rss_mb"] for w in memory),
        "worker_pss_max_mb": max(w["pss_mb"] for w in memory),
        "load_average_before_search": load_search,
        "load_average_end": _load(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, help="how many to generate (default 50,000)")
    parser.add_argument("--rounds", type=int, default=10, help="passes over the query mix")
    parser.add_argument("--quick", action="store_true", help="3 rounds, 2,000 records by default")
    parser.add_argument(
        "--index-path",
        choices=("import", "reindex"),
        default="import",
        help="index as an import does (per batch) or with `archive reindex`",
    )
    parser.add_argument("--backend", choices=("whoosh", "postgres"), default="whoosh")
    parser.add_argument("--database-url", help="postgres: the database to use (emptied)")
    parser.add_argument("--postings-cache", type=int, help="postgres: SEARCH_POSTINGS_CACHE")
    parser.add_argument("--keep", help="whoosh: keep the database and index in this new folder")
    parser.add_argument(
        "--reuse",
        nargs="?",
        const="",
        metavar="DIR",
        help="search again, no seeding, no indexing: whoosh, a folder kept by --keep; "
        "postgres (no folder), the database --database-url as an earlier run left it",
    )
    args = parser.parse_args()
    postgres, reuse = args.backend == "postgres", args.reuse is not None
    if postgres and not args.database_url:
        parser.error("--backend postgres needs --database-url (a database the bench may empty)")
    if postgres and (args.keep or args.reuse):
        parser.error("--backend postgres keeps its database: no --keep, --reuse takes no folder")
    if not postgres and (args.database_url or args.postings_cache is not None):
        parser.error("--database-url and --postings-cache are for --backend postgres")
    if not postgres and args.reuse == "":
        parser.error("--reuse needs the folder kept by --keep")
    if args.quick:
        args.records, args.rounds = args.records or 2000, 3
    args.records = args.records or 50_000

    if args.reuse:
        workdir = Path(args.reuse)
    elif args.keep:
        workdir = Path(args.keep)
        workdir.mkdir(parents=True)
    else:
        workdir = Path(tempfile.mkdtemp(prefix="bench-archive-search-"))
    env = {
        "APP_ENV": "testing",
        "SECRET_KEY": "bench-secret",
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
        "MEDIA_DIR": str(workdir / "media"),
        "INDEX_DIR": str(workdir / "index"),
        "JOBS_DB_PATH": str(workdir / "jobs.db"),
        "JOBS_IMMEDIATE": "1",
        "INSTANCE_DIR": str(workdir),
        # Measure the search itself: no result lists kept between requests.
        "SEARCH_RESULT_CACHE": "0",
        "SEARCH_BACKEND": args.backend,
    }
    if postgres:
        env["DATABASE_URL"] = args.database_url if reuse else empty_postgres(args.database_url)
    if args.postings_cache is not None:
        env["SEARCH_POSTINGS_CACHE"] = str(args.postings_cache)
    os.environ.update(env)
    sys.path.insert(0, str(PROJECT_ROOT))
    try:
        from sqlalchemy.engine import make_url

        from core.app import create_app

        result = {"backend": args.backend}
        if not reuse:
            result["records"] = args.records
        elif postgres:  # its URL without a password
            result["reused"] = make_url(env["DATABASE_URL"]).render_as_string(hide_password=True)
        else:
            result["reused"] = str(workdir)
        app = create_app()
        if not reuse:
            result.update(_build(args, app))
        result.update(_index_figures(args.backend, app, env["INDEX_DIR"]))
        result.update(_measure_search(args, env, workdir))
        result["targets"] = {
            "search_p95_ms": 60,
            "suggest_p95_ms": 20,
            "index_records_per_s": 120,
            "worker_rss_mb": 700,
        }
        print(json.dumps(result, ensure_ascii=False))
    finally:
        if not (args.keep or args.reuse):
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
