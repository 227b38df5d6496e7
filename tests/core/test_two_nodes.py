"""Two app servers behind one address, as a deployment runs them: two gunicorn servers, each
with its own port and instance directory (so nothing on a node's own disk is shared), one
job consumer, one PostgreSQL database, one Redis (limits and the job queue) and one shared
media directory. Every claim is checked with real HTTP, a request to one server and the
next to the other."""

from __future__ import annotations

import contextlib
import re
import secrets
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
import requests
from sqlalchemy import func, select

from archive.models import Media
from core import config as config_module
from core.extensions import db
from core.models import Notification, RateWindow
from facilities.models import Booking
from library.models import KioskTransaction, Loan
from tests.conftest import PROJECT_ROOT, LiveServer, _live_env, _serve
from tests.facilities.test_concurrency import bearer
from tests.fixtures.archive import create_record, image_bytes
from tests.fixtures.facilities import create_facility, create_resource, create_slot
from tests.fixtures.library import PIN, create_copy, create_kiosk, create_patron, create_title
from tests.fixtures.races import fire_together
from tests.fixtures.users import PASSWORD, auth_headers, create_user

pytestmark = [pytest.mark.slow, pytest.mark.postgresql]

NODE_WORKERS = 2  # per server: enough to show workers and servers sharing, light on 2 cores


@dataclass
class Cluster:
    a: LiveServer
    b: LiveServer
    media_dir: Path
    redis: redis.Redis

    @property
    def servers(self) -> tuple[LiveServer, LiveServer]:
        return self.a, self.b


def _consumer(env: dict[str, str], log_path: Path):
    log = open(log_path, "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def cluster(app, test_settings, tmp_path_factory):
    """Servers A and B and one consumer. Each has its own INSTANCE_DIR (a settings file with
    secrets of its own, its SQLite job file, its search index), so whatever they agree on comes
    from the shared configuration (the environment), the database, Redis or MEDIA_DIR. Only
    this test's Redis database is emptied, before and after."""
    store = redis.Redis.from_url(str(config_module.env("TEST_REDIS_URL")))
    store.flushdb()
    root = tmp_path_factory.mktemp("two-nodes")
    media_dir = root / "shared-media"
    shared = {
        "REDIS_URL": str(config_module.env("TEST_REDIS_URL")),
        "JOBS_IMMEDIATE": "0",
        "MEDIA_DIR": str(media_dir),
        # Search shared by every server: the index in the PostgreSQL database.
        "SEARCH_BACKEND": "postgres",
    }

    def node_env(name: str) -> tuple[dict[str, str], Path]:
        instance = root / name
        instance.mkdir()
        # A settings file of its own, as `make run` writes one with each machine's own
        # secrets: the cluster's environment, the same for every node, must win over it.
        (instance / "settings.env").write_text(
            f"SECRET_KEY={secrets.token_urlsafe(32)}\n"
            f"PAYMENT_CALLBACK_SECRET={secrets.token_urlsafe(32)}\n"
        )
        env = _live_env(
            test_settings,
            instance,
            INSTANCE_DIR=str(instance),
            INDEX_DIR=str(instance / "index"),
            **shared,
        )
        return env, instance

    with contextlib.ExitStack() as stack:
        servers = []
        for name in ("node-a", "node-b"):
            env, instance = node_env(name)
            serve = contextlib.contextmanager(_serve)(env, instance, workers=NODE_WORKERS)
            servers.append(stack.enter_context(serve))
        env, instance = node_env("consumer")
        stack.enter_context(contextlib.contextmanager(_consumer)(env, instance / "consumer.log"))
        yield Cluster(servers[0], servers[1], media_dir, store)
    store.flushdb()


def _post(url, body, headers):
    def call():
        response = requests.post(url, json=body, headers=headers, timeout=60)
        return response.status_code, response.json()

    return call


def _wait_for(condition, seconds=45, what="the cluster"):
    deadline = time.monotonic() + seconds
    while True:
        db.session.rollback()
        if found := condition():
            return found
        assert time.monotonic() < deadline, f"{what} did not get there in {seconds} s"
        time.sleep(0.2)


# --- bookings -------------------------------------------------------------------------


def test_a_booking_rush_split_across_both_servers_books_exactly_the_capacity(cluster):
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    rink = create_resource(create_facility("ice_rink"), capacity=150)
    slot = create_slot(rink, start, booked=140)  # the last 10 places
    other_slot = create_slot(rink, start + timedelta(days=1), capacity=150)
    skaters = [bearer(create_user()) for _ in range(30)]
    retrier = {**bearer(create_user()), "Idempotency-Key": "rush-retry-1"}
    slot_id, other_id = slot.id, other_slot.id
    db.session.commit()

    calls = [
        _post(
            cluster.servers[i % 2]("/api/bookings"), {"slot_id": slot_id, "party": {"adult": 1}}, h
        )
        for i, h in enumerate(skaters)
    ]
    # One person's retries of one request, racing each other on both servers.
    body = {"slot_id": other_id, "party": {"adult": 2}}
    calls += [_post(cluster.servers[i % 2]("/api/bookings"), body, retrier) for i in range(6)]
    results = fire_together(calls)

    assert not [r for r in results if r[0] >= 500], results
    skater_codes = [code for code, _ in results[:30]]
    assert (skater_codes.count(201), skater_codes.count(409)) == (10, 20)
    # Both servers decided some of the race (a place taken, or the slot found full): the rush
    # really was split. Which server's requests win depends on which gets the CPU first, so
    # winners on both is usual but not certain: the count above is what must hold.
    deciding = {i % 2 for i, code in enumerate(skater_codes) if code in (201, 409)}
    assert deciding == {0, 1}
    retries = results[30:]
    assert {code for code, _ in retries} == {201}
    assert len({answer["id"] for _, answer in retries}) == 1

    db.session.expire_all()
    held = select(func.count(Booking.id)).where(Booking.status == "held")
    assert db.session.scalar(held.where(Booking.slot_id == slot_id)) == 10
    assert db.session.scalar(held.where(Booking.slot_id == other_id)) == 1
    db.session.refresh(slot)
    assert slot.booked == 150
    # Every booking's notification went through Redis to the one consumer and was sent.
    _wait_for(
        lambda: (
            (statuses := db.session.scalars(select(Notification.status)).all())
            and len(statuses) == 11
            and set(statuses) == {"sent"}
        ),
        what="the consumer's deliveries",
    )


def test_a_retry_sent_to_the_other_server_replays_the_first_answer(cluster):
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    slot = create_slot(create_resource(create_facility("ice_rink"), capacity=150), start)
    headers = {**bearer(create_user()), "Idempotency-Key": "the-other-server-1"}
    body = {"slot_id": slot.id, "party": {"adult": 2}}
    db.session.commit()

    first = requests.post(cluster.a("/api/bookings"), json=body, headers=headers, timeout=30)
    assert first.status_code == 201, first.text
    retried = requests.post(cluster.b("/api/bookings"), json=body, headers=headers, timeout=30)
    assert (retried.status_code, retried.json()) == (201, first.json())
    reused = requests.post(
        cluster.b("/api/bookings"),
        json={**body, "party": {"adult": 3}},
        headers=headers,
        timeout=30,
    )
    assert (reused.status_code, reused.json()["code"]) == (409, "idempotency_key_reused")
    assert db.session.scalar(select(func.count(Booking.id))) == 1


# --- login limits ---------------------------------------------------------------------


def test_login_limits_count_the_attempts_made_on_both_servers(cluster):
    email = create_user().email
    db.session.commit()

    def login(server, password):
        return requests.post(
            server("/api/auth/token"),
            json={"email": email, "password": password},
            headers={"Connection": "close"},
            timeout=30,
        )

    # Five failures, alternating: neither server alone saw five.
    statuses = [login(cluster.servers[i % 2], "wrong password!").status_code for i in range(5)]
    assert statuses == [401] * 5
    for server in cluster.servers:
        refused = login(server, PASSWORD)
        assert refused.status_code == 429, refused.text
        assert 0 < int(refused.headers["Retry-After"]) <= 900
    # They are counted in Redis, where REDIS_URL points, not in the database.
    assert cluster.redis.keys("happyhub:rl:*")
    assert db.session.scalar(select(func.count()).select_from(RateWindow)) == 0


def test_a_page_session_and_its_form_tokens_work_on_either_server(cluster):
    """The session cookie and the forms' CSRF tokens are signed with SECRET_KEY: shared
    configuration, so a person signed in through one server is signed in on the other."""
    user = create_user(name="두서버 사용자")
    db.session.commit()
    browser = requests.Session()
    login_page = browser.get(cluster.a("/login"), timeout=30).text
    signed_in = browser.post(
        cluster.a("/login"),
        data={"email": user.email, "password": PASSWORD, "csrf_token": _csrf(login_page)},
        allow_redirects=False,
        timeout=30,
    )
    assert signed_in.status_code == 302, signed_in.text
    profile = browser.get(cluster.b("/profile"), allow_redirects=False, timeout=30)
    assert profile.status_code == 200 and "두서버 사용자" in profile.text
    # A form rendered by B is accepted by A; logging out there revokes the session's token,
    # so the same cookie sent to B again is no longer signed in.
    cookie = browser.cookies.get_dict()
    logout = browser.post(
        cluster.a("/logout"),
        data={"csrf_token": _csrf(profile.text)},
        allow_redirects=False,
        timeout=30,
    )
    assert logout.status_code == 302, logout.text
    again = requests.get(cluster.b("/profile"), cookies=cookie, allow_redirects=False, timeout=30)
    assert again.status_code == 302 and "/login" in again.headers["Location"]


def test_both_servers_are_ready_and_agree_on_their_keys(cluster, admin):
    headers = auth_headers(admin)
    for server in cluster.servers:
        ready = requests.get(server("/api/ready"), headers=headers, timeout=30)
        assert ready.status_code == 200, ready.text
        checks = ready.json()["checks"]
        assert checks["job_queue"] == checks["rate_limits"] == "ok"
        assert checks["shared_secrets"] == "ok"


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]


# --- kiosks ---------------------------------------------------------------------------


def _checkout_body(card, barcode) -> dict:
    """One kiosk transaction: a retry sends these same bytes again."""
    return {
        "transaction_id": str(uuid.uuid4()),
        "occurred_at": datetime.now(UTC).isoformat(),
        "card_number": card,
        "pin": PIN,
        "barcode": barcode,
    }


def _checkout(server, key, body):
    return lambda: requests.post(
        server("/api/kiosk/checkouts"),
        json=body,
        headers={"Authorization": f"Kiosk {key}"},
        timeout=60,
    )


def test_a_kiosk_transaction_retried_on_the_other_server_acts_once(cluster):
    kiosk = create_kiosk()
    title = create_title()
    first_copy, raced_copy = create_copy(title, kiosk=kiosk), create_copy(title, kiosk=kiosk)
    patron = create_patron(loan_limit=10)
    key, card = kiosk.key, patron.card_number
    barcodes = first_copy.barcode, raced_copy.barcode
    db.session.commit()

    # A kiosk that lost the answer sends the same transaction again, to the other server.
    body = _checkout_body(card, barcodes[0])
    first = _checkout(cluster.a, key, body)()
    assert first.status_code == 201, first.text
    retried = _checkout(cluster.b, key, body)()
    assert (retried.status_code, retried.json()) == (201, first.json())

    # Retries racing each other, two on each server.
    body = _checkout_body(card, barcodes[1])
    calls = [_checkout(cluster.servers[i % 2], key, body) for i in range(4)]
    answers = fire_together(calls)
    assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
    assert len({a.text for a in answers}) == 1

    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Loan)) == 2
    assert db.session.scalar(select(func.count()).select_from(KioskTransaction)) == 2


# --- archive media --------------------------------------------------------------------


def test_media_uploaded_through_one_server_are_served_by_the_other(cluster, archivist):
    record = create_record(archivist, rights="KOGL-1")
    headers = auth_headers(archivist)
    record_id = record.id
    scan = image_bytes("PNG", size=(1400, 900))
    db.session.commit()

    uploaded = requests.post(
        cluster.a(f"/api/archive/records/{record_id}/media"),
        files={"file": ("scan.png", scan, "image/png")},
        headers=headers,
        timeout=60,
    )
    assert uploaded.status_code == 202, uploaded.text
    media_id = uploaded.json()["id"]
    media_path = f"/api/archive/records/{record_id}/media/{media_id}"

    # The consumer (a third process, its own instance directory) makes the derivatives from
    # the shared MEDIA_DIR; B sees the item ready and serves its files.
    _wait_for(
        lambda: (
            requests.get(cluster.b(media_path), headers=headers, timeout=30).json()["status"]
            == "ready"
        ),
        what="the media processing",
    )
    original = requests.get(cluster.b(media_path + "/original"), headers=headers, timeout=30)
    assert original.status_code == 200 and original.content == scan
    thumbnail = requests.get(cluster.b(media_path + "/thumbnail"), headers=headers, timeout=30)
    assert thumbnail.status_code == 200 and thumbnail.headers["Content-Type"] == "image/jpeg"
    # The same file on the same shared path: A's ETag is B's, so a cache revalidates cheaply.
    revalidated = requests.get(
        cluster.a(media_path + "/thumbnail"),
        headers={**headers, "If-None-Match": thumbnail.headers["ETag"]},
        timeout=30,
    )
    assert revalidated.status_code == 304

    # IIIF: B makes the page's pyramid and answer on shared storage; A answers from them.
    tile = f"/iiif/3/{media_id}/0,0,512,512/256,/0/default.jpg"
    from_b = requests.get(cluster.b(tile), headers=headers, timeout=60)
    assert from_b.status_code == 200, from_b.text
    from_a = requests.get(cluster.a(tile), headers=headers, timeout=60)
    assert (from_a.status_code, from_a.content) == (200, from_b.content)
    sha = db.session.scalar(select(Media.sha256).where(Media.id == media_id))
    assert len(list((cluster.media_dir / "iiif" / "pyramids").glob(f"*/{sha}/p1/meta.json"))) == 1

    # Published through A, public on B; withdrawn through B, gone on A at once.
    published = requests.post(
        cluster.a(f"/api/archive/records/{record_id}/publish"), headers=headers, timeout=30
    )
    assert published.status_code == 200, published.text
    assert requests.get(cluster.b(f"/api/archive/records/{record_id}"), timeout=30).ok
    assert requests.get(cluster.b(media_path + "/thumbnail"), timeout=30).status_code == 200
    withdrawn = requests.post(
        cluster.b(f"/api/archive/records/{record_id}/withdraw"), headers=headers, timeout=30
    )
    assert withdrawn.status_code == 200, withdrawn.text
    for server in cluster.servers:
        assert (
            requests.get(server(f"/api/archive/records/{record_id}"), timeout=30).status_code == 404
        )
        assert requests.get(server(media_path + "/thumbnail"), timeout=30).status_code == 404
        assert requests.get(server(tile), timeout=30).status_code == 404


# --- archive search (the PostgreSQL search backend) ------------------------------------


def _found(server, word) -> set[str]:
    response = requests.get(
        server("/api/archive/search"),
        params={"q": word},
        headers={"Connection": "close"},  # a new connection each time: any worker answers
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return {hit["identifier"] for hit in response.json()["hits"]}


def test_an_archivist_publishes_on_one_server_and_a_search_on_the_other_finds_it_at_once(
    cluster, archivist
):
    """The cluster searches with SEARCH_BACKEND=postgres: a record's search terms are written
    in the transaction that publishes or withdraws it, so no server waits for an index job.
    (Each server's Whoosh index would be its own, written by no one: only the shared backend
    can pass this.)"""
    word = "두서버검색시험"
    record = create_record(
        archivist, title=f"{word} 회룡사 사진", rights="KOGL-1", transcription="회룡사 앞 풍경"
    )
    headers = auth_headers(archivist)
    record_id, identifier = record.id, record.identifier
    db.session.commit()
    searches = NODE_WORKERS * 2  # per server: its workers answer, each with its own caches
    for server in cluster.servers:
        assert [_found(server, word) for _ in range(searches)] == [set()] * searches

    published = requests.post(
        cluster.a(f"/api/archive/records/{record_id}/publish"), headers=headers, timeout=30
    )
    assert published.status_code == 200, published.text
    for server in (cluster.b, cluster.a):
        assert [_found(server, word) for _ in range(searches)] == [{identifier}] * searches

    withdrawn = requests.post(
        cluster.b(f"/api/archive/records/{record_id}/withdraw"), headers=headers, timeout=30
    )
    assert withdrawn.status_code == 200, withdrawn.text
    for server in (cluster.a, cluster.b):
        assert [_found(server, word) for _ in range(searches)] == [set()] * searches
