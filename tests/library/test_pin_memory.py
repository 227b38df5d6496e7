"""A PIN verified once in a patron session (``patrons.PinMemory``, kept by a SIP2 connection)
is not hashed again for the same card and PIN, and stops counting the moment the patron's
row shows a reset or a lock; a wrong PIN is hashed, counted and locks as before."""

from __future__ import annotations

import pytest

from core.errors import Unauthorized
from core.extensions import db
from library.models import Patron
from library.services import patrons
from tests.fixtures.library import PIN


@pytest.fixture
def hashings(settings, monkeypatch):
    """How many times the PIN profile's Argon2 verify runs (the real one, counted)."""
    calls = []
    verify = settings.passwords.verify

    def counted(stored_hash, pin):
        calls.append(pin)
        return verify(stored_hash, pin)

    monkeypatch.setattr(settings.passwords, "verify", counted)
    return calls


def _log_in(card, pin, memory, clock, settings) -> patrons.PinCheck:
    """As a SIP2 message does: the check on a snapshot, then the row-locked authentication."""
    checked = patrons.check_pin(card, pin, settings=settings, memory=memory)
    db.session.rollback()
    try:
        patrons.authenticate(
            card, pin, now=clock.now(), settings=settings, checked=checked, memory=memory
        )
    finally:
        db.session.commit()  # a wrong PIN's count stands, as the use cases keep it
    return checked


def _failures(patron) -> int:
    db.session.rollback()
    return db.session.get(Patron, patron.id).failed_pin_attempts


def test_a_pin_verified_once_is_not_hashed_again(clock, dummy_patron, settings, hashings):
    memory, card = patrons.PinMemory(), dummy_patron.card_number
    first = _log_in(card, PIN, memory, clock, settings)
    assert first.matches and not first.remembered and hashings == [PIN]
    again = _log_in(card, PIN, memory, clock, settings)
    assert again.matches and again.remembered and hashings == [PIN]
    # Another connection's memory knows nothing of it.
    assert not patrons.check_pin(
        card, PIN, settings=settings, memory=patrons.PinMemory()
    ).remembered
    assert hashings == [PIN, PIN]


def test_another_pin_is_hashed_counted_and_makes_the_right_one_forgotten(
    clock, dummy_patron, settings, hashings
):
    memory, card = patrons.PinMemory(), dummy_patron.card_number
    _log_in(card, PIN, memory, clock, settings)
    with pytest.raises(Unauthorized):
        _log_in(card, "0000", memory, clock, settings)
    assert hashings == [PIN, "0000"]
    assert _failures(dummy_patron) == 1
    checked = _log_in(card, PIN, memory, clock, settings)
    assert not checked.remembered and hashings == [PIN, "0000", PIN]
    assert _failures(dummy_patron) == 0


def test_a_pin_reset_between_messages_is_seen_at_once(clock, dummy_patron, settings, hashings):
    memory, card = patrons.PinMemory(), dummy_patron.card_number
    _log_in(card, PIN, memory, clock, settings)
    patrons.reset_pin("librarian", dummy_patron, "9999", now=clock.now(), settings=settings)
    db.session.commit()
    with pytest.raises(Unauthorized):
        _log_in(card, PIN, memory, clock, settings)  # the old PIN is wrong now, and counted
    assert _failures(dummy_patron) == 1
    assert _log_in(card, "9999", memory, clock, settings).matches
    assert hashings == [PIN, PIN, "9999"]


def test_a_reset_to_the_same_pin_still_ends_the_remembered_one(clock, dummy_patron, settings):
    memory, card = patrons.PinMemory(), dummy_patron.card_number
    _log_in(card, PIN, memory, clock, settings)
    patrons.reset_pin("librarian", dummy_patron, PIN, now=clock.now(), settings=settings)
    db.session.commit()
    checked = _log_in(card, PIN, memory, clock, settings)
    assert checked.matches and not checked.remembered


def test_a_lock_by_another_machine_ends_the_remembered_pin_even_once_expired(
    clock, dummy_patron, settings, hashings
):
    memory, card = patrons.PinMemory(), dummy_patron.card_number
    _log_in(card, PIN, memory, clock, settings)
    remembered = patrons.check_pin(card, PIN, settings=settings, memory=memory)
    db.session.rollback()
    assert remembered.remembered
    for _ in range(settings.pin_max_failures):  # another machine, with no memory of its own
        with pytest.raises((Unauthorized, patrons.Locked)):
            _log_in(card, "0000", None, clock, settings)
    with pytest.raises(patrons.Locked):  # refused, whatever this session remembers
        patrons.authenticate(card, PIN, now=clock.now(), settings=settings, checked=remembered)
    db.session.rollback()
    hashings.clear()
    assert not patrons.check_pin(card, PIN, settings=settings, memory=memory).remembered
    db.session.rollback()
    clock.advance(minutes=settings.pin_lock_minutes + 1)
    assert not patrons.check_pin(card, PIN, settings=settings, memory=memory).remembered
    db.session.rollback()
    assert hashings == [PIN, PIN]
    # Nor is a remembered check made before the lock believed under the row lock: one made
    # for a PIN that was never right must be hashed again, refused and counted.
    stale = patrons.PinCheck(card, remembered.pin_hash, True, remembered=True)
    with pytest.raises(Unauthorized):
        patrons.authenticate(
            card, "0000", now=clock.now(), settings=settings, checked=stale, memory=memory
        )
    db.session.commit()
    assert _failures(dummy_patron) == 1
    assert _log_in(card, PIN, memory, clock, settings).matches  # the right PIN, hashed again
    assert _failures(dummy_patron) == 0


def test_a_session_remembers_a_bounded_number_of_cards():
    memory = patrons.PinMemory()
    for n in range(patrons.PinMemory.CARDS + 5):
        memory.remember(f"CARD-{n}", PIN, "hash")
    assert not memory.vouches_for("CARD-0", PIN, "hash")
    assert memory.vouches_for(f"CARD-{patrons.PinMemory.CARDS + 4}", PIN, "hash")
    assert not memory.vouches_for(f"CARD-{patrons.PinMemory.CARDS + 4}", "0000", "hash")
    assert not memory.vouches_for(f"CARD-{patrons.PinMemory.CARDS + 4}", PIN, "other-hash")
