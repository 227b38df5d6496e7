"""Concurrency through real gunicorn workers: two kiosks racing for one copy, and a kiosk's
identical retries racing each other."""

import uuid
from datetime import UTC, datetime

import pytest
import requests
from sqlalchemy import func, select

from core.extensions import db
from library.models import KioskTransaction, Loan
from tests.fixtures.library import PIN, create_copy, create_kiosk, create_patron, create_title
from tests.fixtures.races import fire_together

pytestmark = pytest.mark.slow


def checkout_call(url, key, card, barcode, txid=None):
    body = {
        "transaction_id": txid or str(uuid.uuid4()),
        "occurred_at": datetime.now(UTC).isoformat(),
        "card_number": card,
        "pin": PIN,
        "barcode": barcode,
    }
    return lambda: requests.post(
        url, json=body, headers={"Authorization": f"Kiosk {key}"}, timeout=60
    )


def test_two_kiosks_racing_for_one_copy_lend_it_once(live_server):
    east, west = create_kiosk("EAST"), create_kiosk("WEST")
    title = create_title()
    copies = [create_copy(title, kiosk=east) for _ in range(6)]
    alice, bob = create_patron(loan_limit=20), create_patron(loan_limit=20)
    plan = [(c.id, c.barcode) for c in copies]
    keys, cards = (east.key, west.key), (alice.card_number, bob.card_number)
    db.session.rollback()  # release the database before the server's workers need it
    url = live_server("/api/kiosk/checkouts")
    for _, barcode in plan:
        answers = fire_together([checkout_call(url, keys[i], cards[i], barcode) for i in range(2)])
        codes = sorted(a.status_code for a in answers)
        assert codes == [201, 409], [a.text for a in answers]
        loser = next(a for a in answers if a.status_code == 409)
        assert loser.json()["code"] == "copy_on_loan"
    for copy_id, _ in plan:
        assert (
            db.session.scalar(select(func.count()).select_from(Loan).filter_by(copy_id=copy_id))
            == 1
        )
    db.session.rollback()


def test_identical_retries_racing_make_one_loan(live_server):
    kiosk = create_kiosk()
    copy = create_copy(create_title(), kiosk=kiosk)
    patron = create_patron()
    key, card, barcode = kiosk.key, patron.card_number, copy.barcode
    db.session.rollback()
    txid = str(uuid.uuid4())
    call = checkout_call(live_server("/api/kiosk/checkouts"), key, card, barcode, txid=txid)
    answers = fire_together([call] * 4)
    assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
    assert len({a.text for a in answers}) == 1
    assert db.session.scalar(select(func.count()).select_from(Loan)) == 1
    assert db.session.scalar(select(func.count()).select_from(KioskTransaction)) == 1
    db.session.rollback()
