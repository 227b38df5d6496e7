"""Prices: categories, the resident discount, only the highest single discount per person."""

import pytest

from facilities.models import Rules
from facilities.services.pricing import quote
from tests.fixtures.facilities import book


@pytest.mark.parametrize(
    ("party", "resident", "total"),
    [
        ({"adult": 1}, False, 10000),
        ({"adult": 1}, True, 9000),  # resident 10%
        ({"child": 1}, True, 5000),  # child 50% beats resident 10%; they do not add up
        ({"youth": 1}, False, 8000),
        ({"youth": 1}, True, 8000),
        ({"veteran": 2, "senior": 1}, False, 7000 * 2 + 5000),
        ({"disabled": 1, "adult": 1}, True, 5000 + 9000),
    ],
)
def test_per_person_prices(party, resident, total):
    amount, lines = quote(10000, party, Rules(), per_person=True, verified_resident=resident)
    assert amount == total
    assert sum(line["amount"] for line in lines) == total


def test_highest_discount_reason_is_recorded():
    rules = Rules(resident_discount=60)
    _, lines = quote(10000, {"child": 1}, rules, per_person=True, verified_resident=True)
    assert lines[0]["discount_percent"] == 60 and lines[0]["discount_reason"] == "resident"


def test_sheet_price_is_per_sheet():
    amount, _ = quote(40000, {"adult": 4}, Rules(), per_person=False, verified_resident=True)
    assert amount == 36000


def test_price_is_frozen_at_booking(resident, rink_slot):
    from core.extensions import db

    booking = book(resident, rink_slot, {"adult": 2})
    rink_slot.base_price = 9999
    db.session.commit()
    db.session.refresh(booking)
    assert booking.price == 10000
