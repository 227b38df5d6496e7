"""The PostgreSQL search backend's promises (collected only when the suite runs on
PostgreSQL): a record's terms commit or roll back with the record, and every app server sees a
publication or a withdrawal the moment it is committed, wherever it was made."""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from archive.models import Record, SearchDocument, SearchState
from archive.search import index, pg_index, searcher
from archive.services import records as record_service
from archive.services.documents import record_document
from core.extensions import db
from core.transactions import unit_of_work
from tests.conftest import _live_env, _serve
from tests.fixtures.archive_search import (
    POSTGRES_ONLY,
    build_index,
    create_search_record,
    document,
    hit_ids,
    search,
)
from tests.fixtures.users import auth_headers, create_user

pytestmark = POSTGRES_ONLY
URL = "/api/archive/search"

WORD = "쌍암사"  # in no other test's records
INSTRUMENTS = ["가야금", "거문고", "해금", "대금", "피리", "장구", "꽹과리", "태평소"]


def _document_visibility(record_id: int) -> str | None:
    return db.session.scalar(
        select(SearchDocument.visibility).where(SearchDocument.record_id == record_id)
    )


def test_a_publication_rolled_back_leaves_the_search_as_it_was(archivist, clock):
    record = create_search_record(
        title=f"{WORD} 석불", visibility="draft", rights="KOGL-1", transcription="석불 좌상"
    )
    record_id = record.id
    db.session.commit()
    assert _document_visibility(record_id) == "draft"
    postings = pg_index.posting_count(db.session, [record_id])
    assert postings > 0

    with pytest.raises(RuntimeError), unit_of_work():
        record_service.publish(archivist, db.session.get(Record, record_id), now=clock.now())
        raise RuntimeError("the request failed after the publication")

    assert search(WORD).total == 0
    assert _document_visibility(record_id) == "draft"
    assert pg_index.posting_count(db.session, [record_id]) == postings


def test_terms_that_cannot_be_written_fail_the_records_own_commit(clock):
    # The database refuses one term (as it would refuse any write): the record goes with it.
    db.session.execute(
        text(
            "ALTER TABLE archive_search_posting ADD CONSTRAINT test_refused_term"
            " CHECK (term <> '석불')"
        )
    )
    db.session.commit()
    try:
        with pytest.raises(IntegrityError):
            create_search_record(title=f"{WORD} 석불", identifier="UJB-REFUSED-1")
        db.session.rollback()
        assert db.session.scalar(select(Record).where(Record.identifier == "UJB-REFUSED-1")) is None
        assert pg_index.indexed_ids(db.session) == set()
        assert pg_index.posting_count(db.session) == 0
    finally:
        db.session.rollback()
        db.session.execute(
            text("ALTER TABLE archive_search_posting DROP CONSTRAINT test_refused_term")
        )
        db.session.commit()
    assert search(WORD).total == 0


def test_a_withdrawal_is_invisible_in_the_same_moment(archivist, clock):
    record = create_search_record(title=f"{WORD} 석불", rights="KOGL-1")
    assert [hit["id"] for hit in search(WORD).hits] == [record.id]
    record_service.withdraw(archivist, record, now=clock.now())
    db.session.commit()
    assert search(WORD).total == 0  # no job, no delay: the same commit
    assert search(WORD, visibility="withdrawn").total == 1


# --- writing and rebuilding ---


def test_postgres_writes_replace_and_delete_a_records_terms():
    pg_index.write(db.session, [document(id=1, title="회룡사 대웅전")])
    db.session.commit()
    assert hit_ids(search("회룡사")) == [1]
    assert pg_index.posting_count(db.session, [1]) > 0
    pg_index.write(db.session, [document(id=1, title="망월사 전경")])
    db.session.commit()
    assert hit_ids(search("회룡사")) == []
    assert hit_ids(search("망월사")) == [1]  # a new generation: read again at once
    pg_index.write(db.session, [], delete_ids=[1])
    db.session.commit()
    assert hit_ids(search("망월사")) == []
    assert pg_index.indexed_ids(db.session) == set()
    assert pg_index.posting_count(db.session) == 0


def test_postgres_rebuild_replaces_everything_and_marks_the_tables_current():
    assert pg_index.problem(db.session).startswith("empty")
    build_index([document(id=1, title="노강서원")])
    assert pg_index.problem(db.session) is None
    assert hit_ids(search("노강서원")) == [1]
    build_index([document(id=2, title="노강서원"), document(id=3, title="노강서원")])
    assert sorted(hit_ids(search("노강서원"))) == [2, 3]
    assert pg_index.indexed_ids(db.session) == {2, 3}
    assert pg_index.posting_count(db.session, [1]) == 0


def test_postgres_with_nothing_written_answers_with_no_results():
    result = search("의정부")
    assert result.total == 0 and result.hits == []
    assert result.facets == {"type": [], "subject": [], "place": [], "decade": []}


def test_postgres_terms_and_weights_are_those_whoosh_indexes(fresh_index):
    """The same analysis: every field's (term, weight) pairs equal the postings of a Whoosh
    index of the same document."""
    from whoosh import index as whoosh_index

    doc = document(
        id=7,
        title="議政府 관아 터에서 본 의정부역",
        alt_title="Uijeongbu",
        description="회룡사는 도봉산 자락에 있다. 회룡사 대웅전, 회룡사 석탑.",
        subjects=["사찰", "관아"],
        place="호원동",
        creator="의정부시",
    )
    index.rebuild(fresh_index, [doc])
    fields = index.fields(doc)
    ix = whoosh_index.open_dir(index.current_path(fresh_index))
    with ix.searcher() as whoosh_searcher:
        reader = whoosh_searcher.reader()
        for name in pg_index.TERM_FIELDS:
            expected = {
                term.decode() if isinstance(term, bytes) else term: reader.postings(
                    name, term
                ).weight()
                for term in reader.lexicon(name)
            }
            assert dict(pg_index.terms(name, fields[name])) == expected, name
    ix.close()


def test_postgres_reindex_command_rebuilds_from_the_database(app, client):
    first = create_search_record(title="노강서원 강당")
    second = create_search_record(title="노강서원 현판")
    kept = {first.id, second.id}
    # Terms lost (a restore of the records alone), and terms of a record that is gone.
    pg_index.write(db.session, [], delete_ids=list(kept))
    pg_index.write(db.session, [{**record_document(first), "id": 99999}])
    db.session.commit()
    assert client.get(URL, query_string={"q": "노강서원"}).get_json()["total"] == 1

    result = app.test_cli_runner().invoke(args=["archive", "reindex"])
    assert result.exit_code == 0, result.output
    assert "indexed 2 records" in result.output and "removed 1" in result.output
    body = client.get(URL, query_string={"q": "노강서원"}).get_json()
    assert {hit["id"] for hit in body["hits"]} == kept
    assert pg_index.indexed_ids(db.session) == kept


def test_postgres_tables_never_built_or_built_by_an_older_version_are_reported_and_rebuilt(
    app, client
):
    record_id = create_search_record(title="노강서원 강당").id  # written, never fully rebuilt
    admin = auth_headers(create_user(("admin",)))
    ready = client.get("/api/ready", headers=admin).get_json()
    assert ready["checks"]["search_index"].startswith("empty")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["archive", "reindex", "--if-stale"])
    assert result.exit_code == 0 and "indexed 1 records" in result.output, result.output
    assert client.get("/api/ready", headers=admin).get_json()["checks"]["search_index"] == "ok"
    assert runner.invoke(args=["archive", "reindex", "--if-stale"]).output.startswith(
        "the search index is current"
    )

    # Tables written by an earlier version, with another layout of fields.
    db.session.execute(update(SearchState).values(layout="terms:title;values:type"))
    db.session.commit()
    ready = client.get("/api/ready", headers=admin).get_json()
    assert "older version" in ready["checks"]["search_index"]
    result = runner.invoke(args=["archive", "reindex", "--if-stale"])
    assert result.exit_code == 0 and "indexed 1 records" in result.output, result.output
    assert pg_index.problem(db.session) is None
    body = client.get(URL, query_string={"q": "노강서원"}).get_json()
    assert [hit["id"] for hit in body["hits"]] == [record_id]


def test_kept_postings_answer_as_the_database_does():
    """Postings kept between queries (any cache size, evictions included) give the answers
    of postings read from the database every time."""
    build_index(
        [
            document(id=n, title=f"{place} 사진 {n}", description=f"{place} 거리와 시장 풍경")
            for n, place in enumerate(["의정부", "호원동", "회룡사", "도봉산"] * 5, start=1)
        ]
    )
    queries = ["의정부", "호원동 시장", "회룡사", "거리 풍경", "도봉산 사진", "의정부 시장"]

    def answers(cache_postings: int) -> list:
        source = pg_index.Source(db.session, cache_postings=cache_postings)
        out = []
        for _ in range(2):
            for q in queries:
                result = searcher.search(source, searcher.SearchParams(q=q), cache_size=0)
                out.append([(hit["id"], hit["score"]) for hit in result.hits])
        pg_index.forget_all()
        return out

    uncached = answers(0)
    assert all(uncached)
    assert answers(7) == uncached  # a few postings kept: terms come and go
    assert answers(2_000_000) == uncached


# --- two app servers sharing the database ---


@pytest.fixture
def two_servers(app, test_settings, tmp_path):
    """Two gunicorns (4 workers each) on the suite's database, each with its own index
    directory, both searching the PostgreSQL tables."""
    servers, stacks = [], contextlib.ExitStack()
    with stacks:
        for name in ("a", "b"):
            workdir = tmp_path / name
            workdir.mkdir()
            env = _live_env(
                test_settings,
                workdir,
                SEARCH_BACKEND="postgres",
                INDEX_DIR=str(workdir / "index"),
            )
            servers.append(stacks.enter_context(contextlib.contextmanager(_serve)(env, workdir)))
        yield servers


def _found(server, q: str, **params) -> set[int]:
    response = requests.get(server("/api/archive/search"), params={"q": q, **params}, timeout=30)
    assert response.status_code == 200, response.text
    return {hit["id"] for hit in response.json()["hits"]}


def _everywhere(servers, q: str, **params) -> list[set[int]]:
    """What each worker of each server answers (several calls reach every worker)."""
    return [_found(server, q, **params) for server in servers for _ in range(6)]


def _suggested(server, typed: str) -> set[str]:
    response = requests.get(server("/api/archive/suggest"), params={"q": typed}, timeout=30)
    assert response.status_code == 200, response.text
    return {s["text"] for s in response.json()["suggestions"]}


@pytest.mark.slow
def test_every_server_sees_what_another_published_or_withdrew_at_once(two_servers):
    first, second = two_servers
    headers = auth_headers(create_user(("archivist",)))
    created = requests.post(
        first("/api/archive/records"),
        json={
            "identifier": "UJB-TWO-1",
            "title": f"{WORD} 석불 좌상",
            "type": "photo",
            "date_text": "1960년대",
            "rights": "KOGL-1",
            "transcription": f"{WORD} 석불은 도봉산 자락에 있다.",
        },
        headers=headers,
        timeout=30,
    )
    assert created.status_code == 201, created.text
    record_id = created.json()["id"]
    assert _everywhere(two_servers, WORD) == [set()] * 12  # a draft
    staff = requests.get(
        second("/api/archive/search"), params={"q": WORD, "visibility": "all"},
        headers=headers, timeout=30,
    )  # fmt: skip
    assert {hit["id"] for hit in staff.json()["hits"]} == {record_id}

    published = requests.post(
        first(f"/api/archive/records/{record_id}/publish"), headers=headers, timeout=30
    )
    assert published.status_code == 200, published.text
    assert _everywhere(two_servers, WORD) == [{record_id}] * 12
    # The second server suggests it and corrects a typo by it, from what the first wrote.
    assert f"{WORD} 석불 좌상" in _suggested(second, "쌍암")
    typo = requests.get(second("/api/archive/search"), params={"q": "쌍암서"}, timeout=30)
    assert typo.json()["did_you_mean"] == WORD

    withdrawn = requests.post(
        second(f"/api/archive/records/{record_id}/withdraw"), headers=headers, timeout=30
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert _everywhere(two_servers, WORD) == [set()] * 12
    assert f"{WORD} 석불 좌상" not in _suggested(first, "쌍암")


@pytest.mark.slow
def test_concurrent_writes_through_both_servers_leave_every_record_searchable(two_servers):
    headers = auth_headers(create_user(("archivist",)))

    def create_and_publish(n: int) -> int:
        server = two_servers[n % 2]
        created = requests.post(
            server("/api/archive/records"),
            json={
                "identifier": f"UJB-RACE-{n}",
                "title": f"{WORD} {INSTRUMENTS[n]}",
                "type": "photo",
                "date_text": "1970년",
                "rights": "KOGL-1",
                "transcription": f"{INSTRUMENTS[n]} 연주",
            },
            headers=headers,
            timeout=60,
        )
        assert created.status_code == 201, created.text
        record_id = created.json()["id"]
        published = requests.post(
            two_servers[(n + 1) % 2](f"/api/archive/records/{record_id}/publish"),
            headers=headers,
            timeout=60,
        )
        assert published.status_code == 200, published.text
        return record_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = set(pool.map(create_and_publish, range(len(INSTRUMENTS))))
    assert len(ids) == len(INSTRUMENTS)
    assert _everywhere(two_servers, WORD) == [ids] * 12
    assert pg_index.indexed_ids(db.session) == ids

    # One record changed through both servers at once: its terms are those of the change
    # committed last, never of an older state.
    record_id = min(ids)
    renamed = ["민요", "판소리", "아리랑", "시조창", "가곡", "범패"]

    def rename(n: int) -> int:
        response = requests.patch(
            two_servers[n % 2](f"/api/archive/records/{record_id}"),
            json={"title": f"{WORD} {renamed[n]}"},
            headers=headers,
            timeout=60,
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(rename, range(len(renamed))))
    assert set(statuses) <= {200, 409} and 200 in statuses
    db.session.rollback()
    title = db.session.get(Record, record_id).title
    last = title.split()[-1]
    for word in renamed:
        expected = [{record_id}] * 12 if word == last else [set()] * 12
        assert _everywhere(two_servers, word) == expected, (word, title)
