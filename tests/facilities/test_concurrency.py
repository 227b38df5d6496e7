"""A booking rush through real gunicorn workers: capacity holds, losers get 409, no 5xx."""

import functools
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select

from core.extensions import db
from core.models import ApiToken, Notification
from core.security import new_token, token_hash
from facilities.models import Booking, Slot
from tests.fixtures.facilities import create_facility, create_resource, create_slot
from tests.fixtures.races import fire_together
from tests.fixtures.users import create_user

pytestmark = pytest.mark.slow


def bearer(user) -> dict:
    # Straight to the database: the login endpoint is rate limited per address.
    raw, at = new_token(), datetime.now(UTC)
    db.session.add(
        ApiToken(
            user_id=user.id,
            token_hash=token_hash(raw),
            created_at=at,
            expires_at=at + timedelta(hours=1),
        )
    )
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def rush(url, requests_to_send):
    """Fire all requests at once (a barrier releases them together); return the responses."""

    def send(headers, body):
        response = requests.post(url, json=body, headers=headers, timeout=30)
        return response.status_code, response.json()

    return fire_together([functools.partial(send, *args) for args in requests_to_send])


def test_rush_for_the_last_places(live_server):
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    rink = create_resource(create_facility("ice_rink"), capacity=150)
    slot = create_slot(rink, start, booked=140)  # the last 10 places
    curling = create_facility("curling_centre")
    sheet_slot = create_slot(create_resource(curling, name="A시트"), start, minutes=120)
    skaters = [bearer(create_user()) for _ in range(32)]
    teams = [bearer(create_user()) for _ in range(8)]
    retrier = bearer(create_user())
    other_slot = create_slot(rink, start + timedelta(days=1), capacity=150)

    calls = [(h, {"slot_id": slot.id, "party": {"adult": 1}}) for h in skaters]
    calls += [(h, {"slot_id": sheet_slot.id, "party": {"adult": 4}}) for h in teams]
    # One person's retries of the same request, racing each other.
    same_key = {**retrier, "Idempotency-Key": "retry-1"}
    calls += [(same_key, {"slot_id": other_slot.id, "party": {"adult": 2}})] * 6
    # End this process's transaction: on SQLite it would hold the write lock during the rush.
    db.session.commit()
    results = rush(live_server("/api/bookings"), calls)

    assert not [r for r in results if r[0] >= 500], results
    skater_codes = [code for code, _ in results[:32]]
    assert skater_codes.count(201) == 10
    assert skater_codes.count(409) == 22
    team_codes = [code for code, _ in results[32:40]]
    assert team_codes.count(201) == 1 and team_codes.count(409) == 7
    retries = results[40:]
    assert {code for code, _ in retries} == {201}
    assert len({body["id"] for _, body in retries}) == 1

    db.session.expire_all()
    db.session.refresh(slot)
    db.session.refresh(sheet_slot)
    assert slot.booked == 150
    assert sheet_slot.booked == 1
    active = select(func.count(Booking.id)).where(Booking.status == "held")
    assert db.session.scalar(active.where(Booking.slot_id == slot.id)) == 10
    assert db.session.scalar(active.where(Booking.slot_id == sheet_slot.id)) == 1
    assert db.session.scalar(active.where(Booking.slot_id == other_slot.id)) == 1


def test_a_rush_is_notified_through_the_queue_with_few_delivery_runs(live_server_with_queue):
    """As served in production: each booking's notification is delivered by the consumer, and
    commits in the same second share a delivery run instead of queuing one each."""
    server, queue = live_server_with_queue
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    slot = create_slot(create_resource(create_facility("ice_rink"), capacity=150), start)
    calls = [
        (bearer(create_user()), {"slot_id": slot.id, "party": {"adult": 1}}) for _ in range(40)
    ]
    # End this process's transaction: on SQLite it would hold the write lock during the rush.
    db.session.commit()
    began = time.monotonic()
    results = rush(server("/api/bookings"), calls)
    rush_seconds = time.monotonic() - began
    assert [code for code, _ in results] == [201] * 40
    # Each of the 4 workers queued at most two runs per one-second window it saw commits in.
    assert 1 <= queue.waiting() <= 4 * 2 * (int(rush_seconds) + 1)

    queue.start_consumer()
    deadline = time.monotonic() + 30
    while True:
        db.session.rollback()
        statuses = db.session.scalars(select(Notification.status)).all()
        if len(statuses) == 40 and set(statuses) == {"sent"}:
            break
        assert time.monotonic() < deadline, statuses
        time.sleep(0.2)


def test_parties_racing_for_places_never_overbook_nor_leave_a_refused_party_room(live_server):
    """The places are taken by a conditional UPDATE: parties of one to four racing through
    four worker processes fill the slot without going over, the counter matches the bookings,
    and no party was refused while the places it asked for were still free at the end."""
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    rink = create_resource(create_facility("ice_rink"), capacity=150)
    slot_id = create_slot(rink, start, capacity=20).id
    sizes = [1 + (i * 7) % 4 for i in range(36)]  # 90 people for 20 places
    calls = [
        (bearer(create_user()), {"slot_id": slot_id, "party": {"adult": size}}) for size in sizes
    ]
    db.session.commit()
    results = rush(live_server("/api/bookings"), calls)

    assert not [r for r in results if r[0] >= 500], results
    assert {code for code, _ in results} <= {201, 409}
    won = [size for size, (code, _) in zip(sizes, results, strict=True) if code == 201]
    refused = [size for size, (code, _) in zip(sizes, results, strict=True) if code == 409]
    db.session.expire_all()
    booked = db.session.get(Slot, slot_id).booked
    active = select(func.coalesce(func.sum(Booking.units), 0)).where(
        Booking.slot_id == slot_id, Booking.status == "held"
    )
    assert booked == db.session.scalar(active) == sum(won) <= 20
    assert refused and all(size > 20 - booked for size in refused)
