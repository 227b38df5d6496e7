"""Real gunicorn workers (preloaded app): each keeps its searcher open, picks up index changes
written by another process, and shares the morphology model with the others."""

from pathlib import Path

import pytest
import requests

from tests.fixtures.archive_search import WHOOSH_ONLY, create_search_record, use_index_dir

WORD = "라이브검색시험"


def _search(live_server) -> set[int]:
    response = requests.get(live_server("/api/archive/search"), params={"q": WORD}, timeout=30)
    assert response.status_code == 200
    return {hit["id"] for hit in response.json()["hits"]}


def _memory(pid: int) -> dict:
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, value = line.partition(":")
        fields[key] = int(value.split()[0])
    return fields


@pytest.mark.slow
@WHOOSH_ONLY  # the servers of the PostgreSQL backend: test_postgres_search.py
def test_workers_see_new_records_and_share_the_model(app, test_settings, live_server):
    # The server indexes into the suite's index directory: write there too.
    use_index_dir(test_settings["INDEX_DIR"])
    first = create_search_record(title=f"{WORD} 첫 사진")
    for _ in range(8):  # every worker opens its searcher
        assert first.id in _search(live_server)

    second = create_search_record(title=f"{WORD} 둘째 사진")
    for _ in range(8):  # written by this process; every worker refreshes
        assert {first.id, second.id} <= _search(live_server)

    workers = live_server.workers()
    assert len(workers) == 4
    for pid in workers:
        memory = _memory(pid)
        private = memory["Private_Clean"] + memory["Private_Dirty"]
        # The model (hundreds of MB) was loaded before the fork: most of each worker's
        # resident memory is shared with the master, not a copy of its own.
        assert memory["Rss"] > 300 * 1024
        assert private < memory["Rss"] / 2, memory
