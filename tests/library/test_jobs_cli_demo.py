"""Overdue reminders, the kiosk-create command and the demo seeder."""

import json

from sqlalchemy import func, select

from core.extensions import db
from core.models import User
from library import jobs as library_jobs
from library.models import Hold, Kiosk, Patron
from library.services import loans
from tests.fixtures.library import checkout_body
from tests.fixtures.users import create_user


def run_job(job):
    db.session.commit()
    result = job.call_local()
    db.session.expire_all()
    return result


def test_reminders_two_days_before_and_on_the_due_date_once_each(
    client, clock, dummy_kiosk, dummy_copy, linked_patron, outbox
):
    client.post(
        "/api/kiosk/checkouts",
        json=checkout_body(linked_patron, dummy_copy),
        headers=dummy_kiosk.headers,
    )
    # Due Monday 16 March (Seoul). Nothing to say until Saturday the 14th.
    clock.advance(days=11)
    assert run_job(library_jobs.send_due_reminders) == 0
    clock.advance(days=1)  # Saturday 14 March 10:00
    assert run_job(library_jobs.send_due_reminders) == 1
    assert run_job(library_jobs.send_due_reminders) == 0  # hourly runs do not repeat it
    clock.advance(days=1)
    assert run_job(library_jobs.send_due_reminders) == 0
    clock.advance(days=1)  # the due date
    assert run_job(library_jobs.send_due_reminders) == 1
    assert run_job(library_jobs.send_due_reminders) == 0
    assert [n["kind"] for n in outbox] == ["library_due_soon", "library_due_today"]
    assert "2026-03-16" in outbox[0]["body"]
    assert all(n["user_id"] == linked_patron.user_id for n in outbox)


def test_renewal_moves_the_reminders(
    client, clock, dummy_kiosk, dummy_copy, linked_patron, outbox, settings
):
    loan_id = client.post(
        "/api/kiosk/checkouts",
        json=checkout_body(linked_patron, dummy_copy),
        headers=dummy_kiosk.headers,
    ).json["loan_id"]
    clock.advance(days=12)
    assert run_job(library_jobs.send_due_reminders) == 1
    from library.models import Loan

    loans.renew(
        db.session.get(Patron, linked_patron.id),
        db.session.get(Loan, loan_id),
        now=clock.now(),
        settings=settings,
    )
    db.session.commit()
    clock.advance(days=7)  # two days before the new due date (23 March)
    assert run_job(library_jobs.send_due_reminders) == 1
    assert [n["body"].count("2026-03-23") for n in outbox] == [0, 1]


def test_returned_loans_get_no_reminder(
    client, clock, dummy_kiosk, dummy_copy, linked_patron, outbox
):
    client.post(
        "/api/kiosk/checkouts",
        json=checkout_body(linked_patron, dummy_copy),
        headers=dummy_kiosk.headers,
    )
    from tests.fixtures.library import tx

    client.post(
        "/api/kiosk/returns", json=tx(barcode=dummy_copy.barcode), headers=dummy_kiosk.headers
    )
    clock.advance(days=12)
    assert run_job(library_jobs.send_due_reminders) == 0
    assert outbox == []


def test_periodic_jobs_are_registered(app):
    from core import jobs

    names = jobs.status()["periodic_tasks"]
    assert any("send_due_reminders" in n for n in names)
    assert any("expire_holds" in n for n in names)


def test_kiosk_create_command_prints_one_json_object(app, clock):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["library", "kiosk-create", "ys-03", "--name", "양재역", "--slots", "120"]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert set(body) == {"id", "code", "key"} and body["code"] == "YS-03"
    kiosk = db.session.get(Kiosk, body["id"])
    assert kiosk.slot_count == 120 and kiosk.key_hash != body["key"]
    again = runner.invoke(args=["library", "kiosk-create", "YS-03", "--name", "x", "--slots", "5"])
    assert again.exit_code != 0 and "exists" in again.output
    bad = runner.invoke(args=["library", "kiosk-create", "ZZ-1", "--name", "x", "--slots", "0"])
    assert bad.exit_code != 0
    revoke = runner.invoke(args=["library", "kiosk-revoke", "YS-03"])
    assert revoke.exit_code == 0 and json.loads(revoke.output)["revoked"] is True


def test_demo_seeder_is_idempotent_and_links_the_demo_resident(app, clock):
    create_user(("resident",), email="resident@demo.happyhub.kr")
    from library.demo import seed_demo

    lines = seed_demo(clock.now())
    db.session.commit()
    text = "\n".join(lines)
    assert text.count("key: ") == 3 and text.count("PIN: ") == 3
    ready = db.session.scalar(select(func.count()).select_from(Hold).filter_by(status="ready"))
    assert ready >= 3
    resident = db.session.scalar(select(User).filter_by(email="resident@demo.happyhub.kr"))
    assert db.session.scalar(select(Patron).filter_by(user_id=resident.id)) is not None
    again = "\n".join(seed_demo(clock.now()))
    db.session.commit()
    assert "key: " not in again and "PIN: " not in again
    assert db.session.scalar(select(func.count()).select_from(Kiosk)) == 3
    assert db.session.scalar(select(func.count()).select_from(Hold)) == ready
