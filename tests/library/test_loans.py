"""Lending rules, called directly with an injected time: limits, suspension, renewal."""

from datetime import UTC, datetime, timedelta

import pytest

from core.errors import Conflict, Forbidden, RuleViolation
from core.extensions import db
from core.services import AccountSettings
from core.settings import settings_of
from library.services import holds, loans
from library.settings import LibrarySettings
from tests.fixtures.library import create_copy, create_patron

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 10:00 in Seoul


def lend(kiosk, patron, copy, at, settings):
    loan = loans.checkout(kiosk.kiosk, patron, copy.barcode, at=at, now=at, settings=settings)
    db.session.commit()
    return loan


def give_back(kiosk, copy, at, settings):
    result = loans.return_copy(kiosk.kiosk, copy.barcode, None, at=at, now=at, settings=settings)
    db.session.commit()
    return result


def with_rules(settings, **changes) -> LibrarySettings:
    from dataclasses import replace

    return replace(settings, **changes)


def test_loan_limit(dummy_kiosk, dummy_title, settings, clock):
    patron = create_patron(loan_limit=2)
    copies = [create_copy(dummy_title, kiosk=dummy_kiosk) for _ in range(3)]
    lend(dummy_kiosk, patron, copies[0], T0, settings)
    lend(dummy_kiosk, patron, copies[1], T0, settings)
    with pytest.raises(RuleViolation) as refused:
        lend(dummy_kiosk, patron, copies[2], T0, settings)
    assert refused.value.code == "loan_limit_reached"


def test_default_loan_limit_is_five(dummy_kiosk, dummy_title, dummy_patron, settings):
    copies = [create_copy(dummy_title, kiosk=dummy_kiosk) for _ in range(6)]
    for copy in copies[:5]:
        lend(dummy_kiosk, dummy_patron, copy, T0, settings)
    with pytest.raises(RuleViolation):
        lend(dummy_kiosk, dummy_patron, copies[5], T0, settings)


@pytest.mark.parametrize(
    "returned_local, overdue_days",
    [
        ("2026-03-16T23:59", 0),  # on the due date
        ("2026-03-17T00:01", 1),
        ("2026-03-19T09:00", 3),
    ],
)
def test_overdue_days_are_local_days_past_the_due_date(
    dummy_kiosk, dummy_copy, dummy_patron, settings, returned_local, overdue_days
):
    lend(dummy_kiosk, dummy_patron, dummy_copy, T0, settings)
    at = datetime.fromisoformat(returned_local).replace(tzinfo=settings.tz).astimezone(UTC)
    result = give_back(dummy_kiosk, dummy_copy, at, settings)
    assert result["overdue_days"] == overdue_days
    patron = db.session.get(type(dummy_patron), dummy_patron.id)
    if overdue_days:
        # Suspended for as many days as overdue, counting the return day.
        expected = datetime(
            2026, 3, at.astimezone(settings.tz).day + overdue_days, tzinfo=settings.tz
        )
        assert patron.suspended_until == expected
    else:
        assert patron.suspended_until is None


def test_suspended_patron_cannot_borrow_or_hold(dummy_kiosk, dummy_title, dummy_patron, settings):
    first, second = (create_copy(dummy_title, kiosk=dummy_kiosk) for _ in range(2))
    lend(dummy_kiosk, dummy_patron, first, T0, settings)
    late = T0 + timedelta(days=17)  # returned on the 19th: 3 days overdue, until the 22nd
    give_back(dummy_kiosk, first, late, settings)
    with pytest.raises(RuleViolation) as refused:
        lend(dummy_kiosk, dummy_patron, second, late, settings)
    assert refused.value.code == "patron_suspended"
    assert refused.value.details["suspended_until"] == "2026-03-21T15:00:00+00:00"
    with pytest.raises(RuleViolation) as no_hold:
        holds.place_hold(dummy_patron, dummy_title, dummy_kiosk.id, now=late, settings=settings)
    assert no_hold.value.code == "patron_suspended"
    # The day the suspension ends, borrowing works again.
    lend(dummy_kiosk, dummy_patron, second, datetime(2026, 3, 21, 15, 0, tzinfo=UTC), settings)


def _two_late_returns(kiosk, title, patron, settings):
    a, b = (create_copy(title, kiosk=kiosk) for _ in range(2))
    lend(kiosk, patron, a, T0, settings)
    lend(kiosk, patron, b, T0, settings)
    # Both due 2026-03-16; returned the 20th (4 days late) and the 22nd (6 days late).
    give_back(kiosk, a, datetime(2026, 3, 20, 1, 0, tzinfo=UTC), settings)
    give_back(kiosk, b, datetime(2026, 3, 22, 1, 0, tzinfo=UTC), settings)
    return db.session.get(type(patron), patron.id).suspended_until


def test_per_loan_suspension_takes_the_longest(dummy_kiosk, dummy_title, dummy_patron, settings):
    until = _two_late_returns(dummy_kiosk, dummy_title, dummy_patron, settings)
    assert until == datetime(2026, 3, 28, tzinfo=settings.tz)  # 22nd + 6 days


def test_cumulative_suspension_adds_up(dummy_kiosk, dummy_title, dummy_patron, settings):
    cumulative = with_rules(settings, suspension_mode="cumulative")
    until = _two_late_returns(dummy_kiosk, dummy_title, dummy_patron, cumulative)
    assert until == datetime(2026, 3, 30, tzinfo=settings.tz)  # 20th + 4 = 24th, + 6 days


def test_suspension_is_capped(dummy_kiosk, dummy_copy, dummy_patron, settings):
    capped = with_rules(settings, suspension_cap_days=10)
    lend(dummy_kiosk, dummy_patron, dummy_copy, T0, capped)
    result = give_back(dummy_kiosk, dummy_copy, T0 + timedelta(days=60), capped)
    assert result["overdue_days"] > 10
    patron = db.session.get(type(dummy_patron), dummy_patron.id)
    returned = (T0 + timedelta(days=60)).astimezone(settings.tz).date()
    assert patron.suspended_until == datetime.combine(
        returned + timedelta(days=10), datetime.min.time(), tzinfo=settings.tz
    )


def test_open_overdue_loan_blocks_new_loans(dummy_kiosk, dummy_title, dummy_patron, settings):
    a, b = (create_copy(dummy_title, kiosk=dummy_kiosk) for _ in range(2))
    lend(dummy_kiosk, dummy_patron, a, T0, settings)
    with pytest.raises(RuleViolation) as refused:
        lend(dummy_kiosk, dummy_patron, b, T0 + timedelta(days=15), settings)
    assert refused.value.code == "overdue_loans"


def test_renewal_once_by_seven_days(dummy_kiosk, dummy_copy, dummy_patron, settings):
    loan = lend(dummy_kiosk, dummy_patron, dummy_copy, T0, settings)
    due = loan.due_at
    loans.renew(dummy_patron, loan, now=T0 + timedelta(days=10), settings=settings)
    assert loan.due_at == due + timedelta(days=7) and loan.renewals == 1
    with pytest.raises(RuleViolation) as again:
        loans.renew(dummy_patron, loan, now=T0 + timedelta(days=11), settings=settings)
    assert again.value.code == "renewal_limit"


def test_no_renewal_when_overdue(dummy_kiosk, dummy_copy, dummy_patron, settings):
    loan = lend(dummy_kiosk, dummy_patron, dummy_copy, T0, settings)
    with pytest.raises(RuleViolation) as refused:
        loans.renew(dummy_patron, loan, now=T0 + timedelta(days=15), settings=settings)
    assert refused.value.code == "loan_overdue"


def test_no_renewal_when_another_patron_waits(dummy_kiosk, dummy_copy, dummy_patron, settings):
    loan = lend(dummy_kiosk, dummy_patron, dummy_copy, T0, settings)
    other = create_patron()
    holds.place_hold(other, dummy_copy.title_ref, dummy_kiosk.id, now=T0, settings=settings)
    with pytest.raises(RuleViolation) as refused:
        loans.renew(dummy_patron, loan, now=T0 + timedelta(days=3), settings=settings)
    assert refused.value.code == "title_on_hold"


def test_renewing_someone_elses_loan_is_forbidden(dummy_kiosk, dummy_copy, dummy_patron, settings):
    loan = lend(dummy_kiosk, dummy_patron, dummy_copy, T0, settings)
    with pytest.raises(Forbidden):
        loans.renew(create_patron(), loan, now=T0, settings=settings)


def test_copy_on_loan_cannot_be_lent_again(dummy_kiosk, dummy_copy, dummy_patron, settings):
    lend(dummy_kiosk, dummy_patron, dummy_copy, T0, settings)
    with pytest.raises(Conflict) as refused:
        lend(dummy_kiosk, create_patron(), dummy_copy, T0, settings)
    assert refused.value.code == "copy_on_loan"


def test_database_refuses_a_second_open_loan_for_a_copy(
    dummy_kiosk, dummy_copy, dummy_patron, settings
):
    from sqlalchemy.exc import IntegrityError

    from library.models import Loan

    lend(dummy_kiosk, dummy_patron, dummy_copy, T0, settings)
    db.session.add(
        Loan(
            copy_id=dummy_copy.id,
            active_copy_id=dummy_copy.id,
            patron_id=dummy_patron.id,
            out_at=T0,
            due_at=T0 + timedelta(days=14),
        )
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_lost_or_withdrawn_copies_are_not_lent(dummy_kiosk, dummy_title, dummy_patron, settings):
    from library.services import catalogue, kiosks

    copy = create_copy(dummy_title, kiosk=dummy_kiosk)
    kiosks.unload("test", dummy_kiosk.kiosk, copy.slot, now=T0, settings=settings)
    catalogue.set_copy_status("test", copy, "withdrawn", now=T0)
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        lend(dummy_kiosk, dummy_patron, copy, T0 + timedelta(minutes=1), settings)
    assert refused.value.code == "copy_not_lendable"


def test_kiosk_settings_come_from_config(app):
    settings = settings_of(LibrarySettings)
    assert (settings.loan_limit, settings.loan_days, settings.renewal_days) == (5, 14, 7)
    assert settings.pin_max_failures == 5 and settings.pin_lock_minutes == 15
    assert settings.kiosk_offline_seconds == 300 and settings.hold_pickup_days == 3


def test_unknown_suspension_mode_is_refused(app):
    config = dict(app.config, LIBRARY_SUSPENSION_MODE="forever")
    with pytest.raises(RuntimeError):
        LibrarySettings.from_config(config, settings_of(AccountSettings).passwords)
