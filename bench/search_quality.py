"""Korean search quality: the evaluation set of ``tests/archive/search/quality`` (records from
the Korean text that installed packages ship, queries of each kind, relevance decided by the
text) indexed through the bulk path and searched through the searcher. Prints one JSON object:
recall, precision and ordering per kind of query, and overall.

With ``--database-url`` (a PostgreSQL database the bench empties) the same set is also
indexed in the PostgreSQL search tables (``SEARCH_BACKEND=postgres``) and the figures of both
backends are printed side by side, with the largest difference between them.

    .venv/bin/python bench/search_quality.py
        [--database-url postgresql://postgres@127.0.0.1:5432/pgsearch_quality]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"recall": 0.98, "precision": 0.95, "every_kind": 0.95, "backends_differ_by": 0.005}


def _documents(corpus: dict) -> list[dict]:
    return [
        {
            "id": n,
            "identifier": record["identifier"],
            "title": record["title"],
            "alt_title": None,
            "description": record["description"],
            "creator": record["creator"] or None,
            "subjects": record["subjects"],
            "place": record["place"] or None,
            "collections": [],
            "type": record["type"],
            "year_from": int(record["date"]),
            "year_to": int(record["date"]),
            "date_text": record["date"],
            "visibility": "published",
            "text": record["transcription"],
            "thumbnail_url": None,
            "updated_at": None,
        }
        for n, record in enumerate(corpus["records"], start=1)
    ]


def _figures(source, corpus: dict, count: int) -> dict:
    from archive.search import searcher
    from tests.fixtures import search_quality

    def search(q: str) -> list[str]:
        params = searcher.SearchParams(q=q, per_page=count)
        return [hit["identifier"] for hit in searcher.search(source, params).hits]

    result = search_quality.evaluate(search, corpus)
    figures = result["figures"]
    figures["imperfect_queries"] = len(result["failures"])
    return figures


def _whoosh(documents: list[dict], corpus: dict, workdir: Path) -> dict:
    from archive.search import index, searcher

    index.rebuild(workdir / "index", documents)
    try:
        return _figures(str(workdir / "index"), corpus, len(documents))
    finally:
        searcher.close_all()


def _postgres(documents: list[dict], corpus: dict, workdir: Path, url: str) -> dict:
    from flask_migrate import upgrade
    from support import empty_postgres

    from archive.search import pg_index
    from core.app import create_app
    from core.extensions import db

    app = create_app(
        {
            "APP_ENV": "testing",
            "SECRET_KEY": "bench-secret",
            "DATABASE_URL": empty_postgres(url),
            "SEARCH_BACKEND": "postgres",
            "INDEX_DIR": str(workdir / "unused-index"),
            "MEDIA_DIR": str(workdir / "media"),
            "JOBS_IMMEDIATE": True,
        }
    )
    with app.app_context():
        upgrade()
        pg_index.rebuild(db.session, documents)
        db.session.commit()
        return _figures(pg_index.Source(db.session), corpus, len(documents))


def _largest_difference(first: dict, second: dict) -> float:
    return round(
        max(
            abs(first[kind][measure] - second[kind][measure])
            for kind in first
            if isinstance(first[kind], dict)
            for measure in ("recall", "precision")
        ),
        4,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL database for the postgres backend")
    args = parser.parse_args()
    sys.path.insert(0, str(PROJECT_ROOT))
    from tests.fixtures import search_quality

    corpus = search_quality.load()
    documents = _documents(corpus)
    workdir = Path(tempfile.mkdtemp(prefix="bench-search-quality-"))
    try:
        whoosh = _whoosh(documents, corpus, workdir)
        if not args.database_url:
            print(json.dumps({**whoosh, "targets": TARGETS}, ensure_ascii=False))
            return
        postgres = _postgres(documents, corpus, workdir, args.database_url)
        side_by_side = {
            kind: {"whoosh": whoosh[kind], "postgres": postgres[kind]}
            for kind in whoosh
            if isinstance(whoosh[kind], dict)
        }
        result = {
            **side_by_side,
            "imperfect_queries": {
                "whoosh": whoosh["imperfect_queries"],
                "postgres": postgres["imperfect_queries"],
            },
            "largest_difference": _largest_difference(whoosh, postgres),
            "targets": TARGETS,
        }
        print(json.dumps(result, ensure_ascii=False))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
