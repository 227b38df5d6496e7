"""Korean search quality: the evaluation set of ``tests/archive/search/quality`` (records from
the Korean text that installed packages ship, queries of each kind, relevance decided by the
text) indexed through the bulk path and searched through the searcher. Prints one JSON object:
recall, precision and ordering per kind of query, and overall.

    .venv/bin/python bench/search_quality.py
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    sys.path.insert(0, str(PROJECT_ROOT))
    from archive.search import index, searcher
    from tests.fixtures import search_quality

    corpus = search_quality.load()
    workdir = Path(tempfile.mkdtemp(prefix="bench-search-quality-"))
    try:
        documents = [
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
        index.rebuild(workdir, documents)

        def search(q: str) -> list[str]:
            params = searcher.SearchParams(q=q, per_page=len(documents))
            return [hit["identifier"] for hit in searcher.search(str(workdir), params).hits]

        result = search_quality.evaluate(search, corpus)
        figures = result["figures"]
        figures["imperfect_queries"] = len(result["failures"])
        figures["targets"] = {"recall": 0.98, "precision": 0.95, "every_kind": 0.95}
        print(json.dumps(figures, ensure_ascii=False))
    finally:
        searcher.close_all()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
