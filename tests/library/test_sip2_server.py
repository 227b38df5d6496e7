"""The SIP2 server as self-check machines meet it: ``flask --app wsgi library sip2-serve`` in
its own process on the test database, spoken to over TCP with the third-party ``pysip2``
codec, which also checks that every answer is well-formed SIP2."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from pysip2 import (
    EndPatronSessionRequest,
    HoldRequest,
    ItemInformationRequest,
    PatronStatusRequest,
    RenewAllRequest,
    RenewRequest,
    calculate_checksum,
)
from sqlalchemy import func, select

from core.extensions import db
from library.models import Hold, Kiosk, KioskTransaction, Loan, Patron
from library.services import holds, kiosks
from library.sip2.server import Usage
from tests.conftest import PROJECT_ROOT, _free_port, _live_env
from tests.fixtures.library import (
    PIN,
    create_copy,
    create_kiosk,
    create_patron,
    create_title,
    lib_settings,
)
from tests.fixtures.users import auth_headers
from tests.library.sip2_client import INSTITUTION, Sip2Client, sip_now

pytestmark = pytest.mark.slow

IDLE_TIMEOUT = 4


@pytest.fixture(scope="module")
def sip2_port(app, test_settings, tmp_path_factory):
    """The SIP2 server for this module's tests: two processes accepting connections, so
    machines racing may well be served by different ones."""
    workdir = tmp_path_factory.mktemp("sip2")
    port = _free_port()
    env = _live_env(test_settings, workdir, SIP2_IDLE_TIMEOUT=str(IDLE_TIMEOUT))
    log = open(workdir / "sip2.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "library", "sip2-serve"]
        + ["--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError((workdir / "sip2.log").read_text()) from None
            time.sleep(0.2)
    yield port
    process.terminate()
    assert process.wait(timeout=30) == 0  # a graceful stop
    log.close()


@pytest.fixture
def machine(sip2_port):
    """Connect a logged-in self-check machine (``machine(kiosk)``); closed after the test."""
    opened = []

    def connect(kiosk=None, *, login=True, encoding="utf-8"):
        db.session.rollback()  # the server's process needs the database, not a stale snapshot
        client = Sip2Client(sip2_port, encoding=encoding)
        client.before_send = _release_the_database
        opened.append(client)
        if login:
            assert client.login(kiosk.kiosk.code, kiosk.key).ok == "1"
        return client

    yield connect
    for client in opened:
        client.close()


def _release_the_database():
    """End this process's transaction before the server's process needs the database (on
    SQLite it may hold the write lock)."""
    if threading.current_thread() is threading.main_thread():
        db.session.rollback()


def fresh():
    db.session.rollback()


def open_loans(copy_id: int) -> int:
    fresh()
    return db.session.scalar(
        select(func.count())
        .select_from(Loan)
        .where(Loan.copy_id == copy_id, Loan.returned_at.is_(None))
    )


def setup_shelf(slots=10, **kiosk_fields):
    kiosk = create_kiosk(slots=slots, **kiosk_fields)
    title = create_title("작별하지 않는다", "한강")
    copy = create_copy(title, kiosk=kiosk)
    patron = create_patron(name="김독자")
    return kiosk, title, copy, patron


# --- login and status ----------------------------------------------------------------------


def test_login_maps_to_the_kiosk_and_a_wrong_key_is_refused(machine):
    kiosk = create_kiosk("SIP-01")
    client = machine(login=False)
    assert client.login("SIP-01", "not-the-key").ok == "0"
    assert client.login("OTHER", kiosk.key).ok == "0"
    assert client.login("sip-01", kiosk.key).ok == "1"


def test_messages_before_login_are_refused_except_status(machine):
    _, _, copy, patron = setup_shelf()
    client = machine(login=False)
    status = client.status()
    assert status.institution_id == INSTITUTION
    assert status.checkout_ok == "N"
    refused = client.checkout(patron.card_number, copy.barcode, PIN)
    assert refused.ok == "0"
    assert "로그인" in refused.screen_message[0]
    assert open_loans(copy.id) == 0


def test_status_reports_supported_messages_and_the_kiosks_functions(machine):
    kiosk = create_kiosk()
    client = machine(kiosk)
    status = client.status()
    assert status.supported_messages == "YYYNYYYYYNYNNYYY"
    assert (status.online_status, status.checkin_ok, status.checkout_ok) == ("Y", "Y", "Y")
    assert status.timeout_period == "050" and status.retries_allowed == "003"
    assert status.protocol_version == "2.00"
    sent = datetime.strptime(status.date_time_sync.replace(" ", ""), "%Y%m%d%H%M%S")
    local_now = datetime.now(lib_settings().tz).replace(tzinfo=None)
    assert abs((sent - local_now).total_seconds()) < 60  # local time, blank zone
    # a fault reported through the kiosk API takes checkout out of service here too
    fresh()
    kiosks.heartbeat(
        db.session.get(Kiosk, kiosk.id),
        ["dispenser_jammed"],
        now=datetime.now(UTC),
        settings=lib_settings(),
    )
    db.session.commit()
    status = client.status()
    assert (status.checkin_ok, status.checkout_ok) == ("Y", "N")
    assert "대출" in status.screen_message[0]
    # a printer out of paper (status 1) is recorded as the printer's fault, the others kept
    client.status("1")
    fresh()
    assert db.session.get(Kiosk, kiosk.id).faults == ["dispenser_jammed", "printer_error"]


# --- patrons -------------------------------------------------------------------------------


def test_patron_information_with_a_hangul_name_loans_and_holds(machine):
    kiosk, title, copy, patron = setup_shelf()
    client = machine(kiosk)
    assert client.checkout(patron.card_number, copy.barcode, PIN).ok == "1"
    other_title = create_title("채식주의자", "한강")
    create_copy(other_title)  # in the library, not in a kiosk: the hold waits
    fresh()
    holds.place_hold(
        db.session.get(Patron, patron.id),
        other_title,
        kiosk.id,
        now=datetime.now(UTC),
        settings=lib_settings(),
    )
    db.session.commit()
    info = client.patron_information(patron.card_number, PIN)
    assert info.personal_name == "김독자"
    assert (info.valid_patron, info.valid_patron_password) == ("Y", "Y")
    assert info.charged_items == (copy.barcode,)
    assert info.charged_items_count == "0001"
    assert info.unavailable_hold_items == ("채식주의자",)
    assert info.charged_items_limit == "0005"
    assert info.patron_status == " " * 14


def test_a_wrong_pin_is_answered_counted_and_reveals_nothing(machine):
    kiosk, _, _, patron = setup_shelf()
    client = machine(kiosk)
    info = client.patron_information(patron.card_number, "0000")
    assert (info.valid_patron, info.valid_patron_password) == ("Y", "N")
    assert info.personal_name == "" and info.charged_items == ()
    fresh()
    assert db.session.get(Patron, patron.id).failed_pin_attempts == 1
    unknown = client.patron_information("NO-SUCH-CARD", PIN)
    assert unknown.valid_patron == "N"
    assert unknown.patron_status.startswith("Y")
    assert unknown.screen_message == ("등록되지 않은 회원증입니다.",)


def test_five_wrong_pins_lock_the_card_and_the_status_says_so(machine):
    kiosk, _, copy, patron = setup_shelf()
    client = machine(kiosk)
    assert client.patron_information(patron.card_number, "0000").valid_patron_password == "N"
    right = client.patron_information(patron.card_number, PIN)  # clears the count
    assert right.valid_patron_password == "Y"
    fresh()
    assert db.session.get(Patron, patron.id).failed_pin_attempts == 0
    for _ in range(5):
        wrong = client.patron_information(patron.card_number, "0000")
    assert wrong.screen_message[0].startswith("비밀번호를 여러 번 틀려")
    locked = client.patron_information(patron.card_number, PIN)
    assert locked.valid_patron_password == "N"
    assert locked.patron_status[:2] == "YY"  # charge and renewal privileges denied
    refused = client.checkout(patron.card_number, copy.barcode, PIN)
    assert refused.ok == "0" and refused.screen_message[0].startswith("비밀번호를 여러 번 틀려")
    assert open_loans(copy.id) == 0


def _failures(patron) -> int:
    fresh()
    return db.session.get(Patron, patron.id).failed_pin_attempts


def test_a_pin_reset_by_a_librarian_between_messages_is_seen_at_once(machine, client, librarian):
    # The session remembers the PIN it verified; the reset must end that at the next message.
    kiosk, title, copy, patron = setup_shelf()
    second = create_copy(title, kiosk=kiosk)
    sip = machine(kiosk)
    assert sip.patron_information(patron.card_number, PIN).valid_patron_password == "Y"
    assert sip.checkout(patron.card_number, copy.barcode, PIN).ok == "1"
    fresh()
    reset = client.post(
        f"/api/library/patrons/{patron.id}/pin",
        json={"pin": "9999"},
        headers=auth_headers(librarian),
    )
    assert reset.status_code == 200
    refused = sip.checkout(patron.card_number, second.barcode, PIN)
    assert refused.ok == "0" and "비밀번호" in refused.screen_message[0]
    assert open_loans(second.id) == 0
    assert _failures(patron) == 1  # the old PIN is a wrong PIN now, and counted
    assert sip.checkout(patron.card_number, second.barcode, "9999").ok == "1"
    assert _failures(patron) == 0


def test_a_card_locked_by_another_machine_is_refused_at_once(machine):
    kiosk, title, copy, patron = setup_shelf()
    second = create_copy(title, kiosk=kiosk)
    here, elsewhere = machine(kiosk), machine(create_kiosk())
    assert here.patron_information(patron.card_number, PIN).valid_patron_password == "Y"
    assert here.checkout(patron.card_number, copy.barcode, PIN).ok == "1"
    for _ in range(5):
        assert elsewhere.patron_information(patron.card_number, "0000").valid_patron_password == "N"
    refused = here.checkout(patron.card_number, second.barcode, PIN)
    assert refused.ok == "0" and refused.screen_message[0].startswith("비밀번호를 여러 번 틀려")
    assert open_loans(second.id) == 0
    status = here.patron_information(patron.card_number, PIN)
    assert status.valid_patron_password == "N" and status.patron_status[:2] == "YY"


def test_a_wrong_pin_after_a_right_one_is_counted_and_locks_as_before(machine):
    kiosk, title, copy, patron = setup_shelf()
    sip = machine(kiosk)
    assert sip.patron_information(patron.card_number, PIN).valid_patron_password == "Y"
    for attempt in range(1, 5):
        refused = sip.checkout(patron.card_number, copy.barcode, "0000")
        assert refused.ok == "0" and "비밀번호" in refused.screen_message[0]
        assert _failures(patron) == attempt
    locked = sip.checkout(patron.card_number, copy.barcode, "0000")
    assert locked.screen_message[0].startswith("비밀번호를 여러 번 틀려")
    refused = sip.checkout(patron.card_number, copy.barcode, PIN)  # the right one, too late
    assert refused.ok == "0" and refused.screen_message[0].startswith("비밀번호를 여러 번 틀려")
    assert open_loans(copy.id) == 0


def test_a_suspended_patron_is_refused_and_shown_as_denied(machine):
    kiosk, _, copy, patron = setup_shelf()
    fresh()
    db.session.get(Patron, patron.id).suspended_until = datetime.now(UTC) + timedelta(days=3)
    db.session.commit()
    client = machine(kiosk)
    status = client.request(
        PatronStatusRequest(
            language="000",
            transaction_date=sip_now(),
            institution_id=INSTITUTION,
            patron_identifier=patron.card_number,
            terminal_password="",
            patron_password=PIN,
        )
    )
    assert status.patron_status[0] == "Y"  # charge privileges denied
    assert status.personal_name == "김독자"
    assert "대출이 정지" in status.screen_message[0]
    refused = client.checkout(patron.card_number, copy.barcode, PIN)
    assert refused.ok == "0"
    assert refused.screen_message[0] == "대출정지 기간에는 대출과 예약을 할 수 없습니다."
    assert open_loans(copy.id) == 0


def test_over_the_loan_limit_the_status_says_so(machine):
    kiosk = create_kiosk()
    title = create_title()
    copy = create_copy(title, kiosk=kiosk)
    patron = create_patron(loan_limit=1)
    client = machine(kiosk)
    assert client.checkout(patron.card_number, copy.barcode, PIN).ok == "1"
    info = client.patron_information(patron.card_number, PIN)
    assert info.patron_status[0] == "Y" and info.patron_status[5] == "Y"


# --- lending -------------------------------------------------------------------------------


def test_checkout_checkin_and_renew(machine):
    kiosk, _, copy, patron = setup_shelf()
    client = machine(kiosk)
    out = client.checkout(patron.card_number, copy.barcode, PIN)
    assert out.ok == "1" and out.title_identifier == "작별하지 않는다"
    assert "반납 예정일" in out.screen_message[0]
    due = datetime.strptime(out.due_date.replace(" ", ""), "%Y%m%d%H%M%S")
    assert open_loans(copy.id) == 1
    renewed = client.request(
        RenewRequest(
            third_party_allowed="N",
            no_block="N",
            transaction_date=sip_now(),
            nb_due_date=sip_now(),
            institution_id=INSTITUTION,
            patron_identifier=patron.card_number,
            patron_password=PIN,
            item_identifier=copy.barcode,
        )
    )
    assert renewed.ok == "1"
    assert datetime.strptime(renewed.due_date.replace(" ", ""), "%Y%m%d%H%M%S") == due + timedelta(
        days=7
    )
    back = client.checkin(copy.barcode)
    assert (back.ok, back.alert) == ("1", "N")
    assert back.permanent_location == kiosk.kiosk.code
    assert back.sort_bin == "1"
    assert open_loans(copy.id) == 0
    again = client.checkin(copy.barcode)
    assert again.ok == "0"
    assert again.screen_message[0] == "대출 중인 책이 아닙니다."


def test_checkout_without_a_pin_uses_the_one_given_in_this_patron_session(machine):
    kiosk, _, copy, patron = setup_shelf()
    client = machine(kiosk)
    refused = client.checkout(patron.card_number, copy.barcode)
    assert refused.ok == "0" and "비밀번호" in refused.screen_message[0]
    assert client.patron_information(patron.card_number, PIN).valid_patron_password == "Y"
    assert client.checkout(patron.card_number, copy.barcode).ok == "1"
    ended = client.request(
        EndPatronSessionRequest(
            transaction_date=sip_now(),
            institution_id=INSTITUTION,
            patron_identifier=patron.card_number,
        )
    )
    assert ended.end_session == "Y"
    other = create_copy(create_title(), kiosk=kiosk)
    db.session.rollback()
    assert client.checkout(patron.card_number, other.barcode).ok == "0"


def test_picking_up_a_hold_is_a_checkout_of_the_held_copy(machine):
    kiosk, title, copy, patron = setup_shelf()
    client = machine(kiosk)
    placed = client.request(
        HoldRequest(
            hold_mode="+",
            transaction_date=sip_now(),
            institution_id=INSTITUTION,
            patron_identifier=patron.card_number,
            patron_password=PIN,
            item_identifier=copy.barcode,
        )
    )
    assert (placed.ok, placed.available) == ("1", "Y")  # the copy in this kiosk is set aside
    assert placed.pickup_location == kiosk.kiosk.code
    assert placed.expiration_date is not None
    stranger = create_patron()
    db.session.rollback()
    taken = client.checkout(stranger.card_number, copy.barcode, PIN)
    assert taken.ok == "0" and taken.screen_message[0] == "다른 분이 예약한 책입니다."
    info = client.patron_information(patron.card_number, PIN)
    assert info.hold_items == (copy.barcode,)
    assert "찾아갈 수 있습니다" in info.screen_message[-1]
    picked = client.checkout(patron.card_number, copy.barcode, PIN)
    assert picked.ok == "1" and "예약하신 책" in picked.screen_message[0]
    fresh()
    assert db.session.scalar(select(Hold.status).filter_by(patron_id=patron.id)) == "collected"


def test_a_hold_can_be_cancelled_and_a_change_is_refused(machine):
    kiosk, title, copy, patron = setup_shelf()
    client = machine(kiosk)

    def hold(mode):
        return client.request(
            HoldRequest(
                hold_mode=mode,
                transaction_date=sip_now(),
                institution_id=INSTITUTION,
                patron_identifier=patron.card_number,
                patron_password=PIN,
                title_identifier=title.isbn,
            )
        )

    assert hold("+").ok == "1"
    assert hold("+").screen_message[0].startswith("이미 예약하신 도서입니다")
    assert hold("*").ok == "0"
    cancelled = hold("-")
    assert cancelled.ok == "1"
    fresh()
    assert db.session.scalar(select(Hold.status).filter_by(patron_id=patron.id)) == "cancelled"


def test_item_information_and_renew_all(machine):
    kiosk, title, copy, patron = setup_shelf()
    client = machine(kiosk)

    def item():
        return client.request(
            ItemInformationRequest(
                transaction_date=sip_now(), institution_id=INSTITUTION, item_identifier=copy.barcode
            )
        )

    before = item()
    assert before.circulation_status == "03"
    assert before.title_identifier == "작별하지 않는다"
    assert before.current_location == f"{kiosk.kiosk.code}-1"
    client.checkout(patron.card_number, copy.barcode, PIN)
    after = item()
    assert after.circulation_status == "04" and after.due_date
    renewed = client.request(
        RenewAllRequest(
            transaction_date=sip_now(),
            institution_id=INSTITUTION,
            patron_identifier=patron.card_number,
            patron_password=PIN,
        )
    )
    assert (renewed.ok, renewed.renewed_count, renewed.renewed_items) == (
        "1",
        "0001",
        (copy.barcode,),
    )
    again = client.request(
        RenewAllRequest(
            transaction_date=sip_now(),
            institution_id=INSTITUTION,
            patron_identifier=patron.card_number,
            patron_password=PIN,
        )
    )
    assert (again.renewed_count, again.unrenewed_items) == ("0000", (copy.barcode,))
    missing = client.request(
        ItemInformationRequest(
            transaction_date=sip_now(), institution_id=INSTITUTION, item_identifier="NOPE"
        )
    )
    assert missing.screen_message[0] == "등록되지 않은 바코드입니다."


def test_a_checkin_at_a_full_kiosk_names_the_nearby_ones_with_room(machine):
    full = create_kiosk(slots=1, latitude=37.49, longitude=127.02)
    near = create_kiosk(slots=5, latitude=37.50, longitude=127.03)
    blocker = create_copy(create_title(), kiosk=full)
    lent = create_copy(create_title(), kiosk=near)
    patron = create_patron()
    client = machine(near)
    assert client.checkout(patron.card_number, lent.barcode, PIN).ok == "1"
    at_full = machine(full)
    refused = at_full.checkin(lent.barcode)
    assert refused.ok == "0"
    assert refused.screen_message[0].startswith("키오스크에 빈 칸이 없습니다")
    assert near.kiosk.code in refused.screen_message[1]
    assert "빈 칸 5" in refused.screen_message[1]
    assert open_loans(lent.id) == 1 and blocker.id


# --- the protocol's own safeguards ---------------------------------------------------------


def test_a_retried_checkout_acts_once_on_the_same_and_a_new_connection(machine):
    kiosk, _, copy, patron = setup_shelf()
    client = machine(kiosk)
    message = client.checkout_message(patron.card_number, copy.barcode, PIN)
    frame = client.frame(message, sequence=4)
    first = client.send_raw(frame)
    assert client.decode(first).ok == "1"
    assert client.send_raw(frame) == first  # the same sequence number and message: replayed
    resend = b"97AZ" + calculate_checksum(b"97AZ").encode() + b"\r"
    assert client.send_raw(resend) == first  # 97: the last answer again
    later = machine(kiosk)  # the machine reconnected and sent it again
    assert later.send_raw(frame) == first
    assert open_loans(copy.id) == 1
    assert db.session.scalar(select(func.count()).select_from(KioskTransaction)) == 1


def test_a_bad_checksum_is_answered_96_and_nothing_happens(machine):
    kiosk, _, copy, patron = setup_shelf()
    client = machine(kiosk)
    frame = client.frame(client.checkout_message(patron.card_number, copy.barcode, PIN))
    broken = frame[:-5] + (b"0000" if frame[-5:-1] != b"0000" else b"0001") + b"\r"
    assert client.send_raw(broken) == b"96\r"
    assert open_loans(copy.id) == 0
    assert client.decode(client.send_raw(frame)).ok == "1"


def test_malformed_and_oversized_messages_get_an_answer(machine):
    kiosk, _, copy, patron = setup_shelf()
    client = machine(kiosk)
    too_long = client.checkout_message(patron.card_number, "B" * 41, PIN)
    answer = client.decode(client.send_raw(client.frame(too_long)))
    assert answer.ok == "0" and answer.screen_message == ("AB 필드가 너무 깁니다 (최대 40자).",)
    truncated = client.send_raw(b"11NN2026\r")
    assert client.decode(truncated).ok == "0"
    no_item = b"11NN" + sip_now().encode() + b" " * 18 + b"AOHAPPYHUB|AA" + b"X|AC|"
    body = no_item + b"AY1AZ"
    answer = client.decode(client.send_raw(body + calculate_checksum(body).encode() + b"\r"))
    assert answer.screen_message == ("AB 필드가 없습니다.",)
    bad_date = client.decode(client.send_raw(b"172026-12-01T09:30:00AOHAPPYHUB|ABX|\r"))
    assert bad_date.screen_message == (
        "transaction_date 날짜가 SIP2 형식(YYYYMMDDZZZZHHMMSS)이 아닙니다.",
    )
    assert client.send_raw(b"42whatever\r") == b"96\r"  # not a message the server serves
    huge = client.send_raw(b"17" + b"X" * 10_000 + b"\r")
    assert client.decode(huge).circulation_status == "01"
    assert client.status().online_status == "Y"  # the connection goes on
    assert open_loans(copy.id) == 0


def test_an_idle_connection_is_closed(machine):
    kiosk = create_kiosk()
    client = machine(kiosk)
    client.sock.settimeout(IDLE_TIMEOUT + 10)
    began = time.monotonic()
    assert client.sock.recv(10) == b""
    assert IDLE_TIMEOUT - 1 < time.monotonic() - began < IDLE_TIMEOUT + 5


def test_a_cp949_kiosk_speaks_cp949(machine, client, librarian):
    kiosk, _, copy, patron = setup_shelf()
    headers = auth_headers(librarian)
    db.session.rollback()
    url = f"/api/library/kiosks/{kiosk.id}"
    answer = client.patch(url, json={"sip2_encoding": "euc-kr"}, headers=headers)
    assert answer.status_code == 422
    assert "sip2_encoding" in str(answer.json["errors"])
    answer = client.patch(url, json={"sip2_encoding": "cp949"}, headers=headers)
    assert answer.status_code == 200 and answer.json["sip2_encoding"] == "cp949"
    sip = machine(kiosk, encoding="cp949")
    info = sip.patron_information(patron.card_number, PIN)
    assert info.personal_name == "김독자"
    raw = sip.send_raw(sip.last_frame)
    assert "김독자".encode("cp949") in raw


# --- two machines, one copy ----------------------------------------------------------------


def test_two_machines_racing_for_one_copy_lend_it_once(machine):
    east, west = create_kiosk(), create_kiosk()
    title = create_title()
    copies = [create_copy(title, kiosk=east) for _ in range(5)]
    alice, bob = create_patron(loan_limit=20), create_patron(loan_limit=20)
    clients = [machine(east), machine(west)]
    cards = [alice.card_number, bob.card_number]
    for copy in copies:
        frames = [
            c.frame(c.checkout_message(cards[i], copy.barcode, PIN)) for i, c in enumerate(clients)
        ]
        fresh()
        barrier, answers = threading.Barrier(2), [None, None]

        def run(index, frames=frames, barrier=barrier, answers=answers):
            barrier.wait()
            answers[index] = clients[index].decode(clients[index].send_raw(frames[index]))

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(a.ok for a in answers) == ["0", "1"]
        loser = next(a for a in answers if a.ok == "0")
        assert loser.screen_message[0] == "이미 대출 중인 책입니다."
        assert open_loans(copy.id) == 1


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_server_stops_gracefully_on_sigterm(app, test_settings, tmp_path, workers):
    port = _free_port()
    env = _live_env(test_settings, tmp_path, SIP2_WORKERS=workers)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "wsgi",
            "library",
            "sip2-serve",
            "--port",
            str(port),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout.readline().startswith(f"SIP2 server on 127.0.0.1:{port}")
        kiosk = create_kiosk()
        db.session.rollback()
        with Sip2Client(port) as client:
            client.before_send = _release_the_database
            assert client.login(kiosk.kiosk.code, kiosk.key).ok == "1"
            for _ in range(3):
                client.status()
            process.send_signal(15)
            assert process.wait(timeout=30) == 0
            assert client.sock.recv(10) == b""
    finally:  # a failure above must not leave a server (and its workers) behind
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
    # Each process says, as it stops, what its messages cost by command.
    reports = [
        json.loads(line[line.index("{") :])
        for line in process.stdout.read().splitlines()
        if Usage.LOG_PREFIX in line
    ]
    assert len(reports) == int(workers)
    answered = {}
    for report in reports:
        for command, usage in report.items():
            answered[command] = answered.get(command, 0) + usage["messages"]
            assert 0 < usage["cpu_s"] <= usage["in_server_s"] + 0.001
    assert answered == {"93": 1, "99": 3}


def test_if_enabled_does_nothing_when_sip2_is_off(app, test_settings, tmp_path):
    env = _live_env(test_settings, tmp_path, SIP2_ENABLED="0")
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "library", "sip2-serve", "--if-enabled"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "SIP2 server" not in done.stdout
