"""The librarians' pages over HTTP (``/staff/library``): who may open them, the fleet and a
kiosk's slots, the 예약대출 work list, restock plans, conflicts, overdue loans, patrons and the
catalogue; each action the same use case as the staff API, refused in Korean next to its
field, and audited as the API's call is."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from core.extensions import db
from core.models import AuditLog
from library import staff_pages
from library.models import COPY_STATUSES, FAULT_EFFECTS, Conflict, Copy, Hold, Kiosk, Patron, Title
from library.services import holds, kiosks
from tests.fixtures.library import (
    checkout_body,
    create_copy,
    create_kiosk,
    create_patron,
    create_title,
    lib_settings,
)
from tests.fixtures.pages import csrf_of, log_in
from tests.fixtures.users import create_user

PAGES = [
    "/staff/library/",
    "/staff/library/holds",
    "/staff/library/restock",
    "/staff/library/conflicts",
    "/staff/library/overdue",
    "/staff/library/patrons",
    "/staff/library/catalogue",
]


def text_of(response) -> str:
    return response.get_data(as_text=True)


def sign_in(client, user) -> str:
    """Sign the browser in; a CSRF token for the forms."""
    log_in(client, user.email)
    return csrf_of(client.get("/staff/library/patrons"))


@pytest.fixture
def token(client, clock, librarian):
    return sign_in(client, librarian)


def audit_actions(target_type: str, actor) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditLog.action)
            .filter_by(target_type=target_type, actor_id=actor.id)
            .order_by(AuditLog.id)
        )
    )


def field_error(html: str, name: str) -> str | None:
    found = re.search(rf'id="f-{name}-error">([^<]+)<', html)
    return unescape(found[1]) if found else None


# --- who may ------------------------------------------------------------------------------


@pytest.mark.parametrize("roles", [("resident",), ("archivist",), ("facility_manager",)])
def test_everyone_but_librarians_gets_the_403_page(client, clock, roles, dummy_kiosk):
    user = create_user(roles)
    log_in(client, user.email)
    token = csrf_of(client.get("/"))
    for path in [*PAGES, f"/staff/library/kiosks/{dummy_kiosk.id}"]:
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "권한이 없습니다" in text_of(answer)
    answer = client.post(f"/staff/library/kiosks/{dummy_kiosk.id}/key", data={"csrf_token": token})
    assert answer.status_code == 403
    assert db.session.scalar(select(AuditLog).filter_by(action="library.kiosk.issue_key")) is None
    # Nor is the section on their console's menu.
    assert 'href="/staff/library/"' not in text_of(client.get("/"))


def test_signed_out_people_are_sent_to_log_in(client, clock):
    answer = client.get("/staff/library/overdue")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/login?next=/staff/library/overdue"


@pytest.mark.parametrize("roles", [("librarian",), ("admin",)])
def test_librarians_and_admins_open_every_page(client, clock, roles, dummy_kiosk):
    log_in(client, create_user(roles).email)
    for path in [*PAGES, f"/staff/library/kiosks/{dummy_kiosk.id}"]:
        answer = client.get(path)
        assert answer.status_code == 200, path
        html = text_of(answer)
        assert '<html lang="ko">' in html and 'aria-label="도서관 업무"' in html
        assert "no-store" in answer.headers["Cache-Control"]
    console = text_of(client.get("/staff/"))
    assert 'href="/staff/library/"' in console and "스마트도서관" in console


def test_forms_without_their_csrf_token_are_refused(client, token, dummy_kiosk):
    answer = client.post(f"/staff/library/kiosks/{dummy_kiosk.id}/revoke")
    assert answer.status_code == 400
    assert db.session.get(Kiosk, dummy_kiosk.id).key_revoked_at is None


# --- the fleet ----------------------------------------------------------------------------


def test_the_fleet_shows_state_functions_fill_and_heartbeat(client, clock, token, settings):
    online = create_kiosk("A-01", slots=4)
    create_copy(kiosk=online)
    faulty = create_kiosk("B-01", slots=10)
    kiosks.heartbeat(faulty.kiosk, ["return_slot_jammed"], now=clock.now(), settings=settings)
    faulty.kiosk.pickup_enabled = False
    silent = create_kiosk("C-01", heartbeat=False)
    db.session.commit()

    answer = client.get("/staff/library/")
    html = text_of(answer)
    rows = dict(re.findall(r'<tr id="kiosk-(\d+)">(.*?)</tr>', html, re.S))
    first = rows[str(online.id)]
    assert "A-01" in first and "정상" in first and "1 / 4칸" in first and "(25%)" in first
    assert "2026-03-02(월) 10:00" in first  # the heartbeat, in Seoul time
    second = rows[str(faulty.id)]
    assert "고장" in second and "반납구 걸림" in second
    assert "반납 (고장)" in second and "예약 수령 (꺼 둠)" in second
    assert "연결 끊김" in rows[str(silent.id)] and "신호 없음" in rows[str(silent.id)]
    # It reloads its table itself with the app's own script; without it, a plain page.
    assert 'data-refresh="30"' in html and 'role="status"' in html
    assert '<script src="/staff/library/static/staff.js" defer>' in html
    assert "http-equiv" not in html
    script = client.get("/staff/library/static/staff.js")
    assert script.status_code == 200 and "DOMParser" in text_of(script)

    clock.advance(minutes=30)  # no heartbeat since
    assert (
        "연결 끊김"
        in dict(
            re.findall(
                r'<tr id="kiosk-(\d+)">(.*?)</tr>', text_of(client.get("/staff/library/")), re.S
            )
        )[str(online.id)]
    )


# --- a kiosk: slots, loading, keys --------------------------------------------------------


def test_loading_a_holds_copy_makes_the_hold_ready_and_is_audited(
    client, clock, token, librarian, resident, outbox
):
    kiosk = create_kiosk("GN-01", slots=5)
    title = create_title("소년이 온다", "한강")
    copy = create_copy(title)  # on the library shelf
    patron = create_patron(user=resident)
    hold = holds.place_hold(patron, title, kiosk.id, now=clock.now(), settings=lib_settings())
    db.session.commit()

    # The work list says which copy goes to which kiosk, and links to loading it there.
    work = text_of(client.get("/staff/library/holds"))
    assert f'id="hold-{hold.id}"' in work and "GN-01" in work and copy.barcode in work
    link = f"/staff/library/kiosks/{kiosk.id}?barcode={copy.barcode}#load"
    assert f'href="{link}"' in work

    page = text_of(client.get(link.split("#")[0]))
    assert f'name="barcode" type="text"\n           value="{copy.barcode}"' in page
    assert re.search(r'name="slot" type="number"\s+value="1"', page)  # the first free slot

    answer = client.post(
        f"/staff/library/kiosks/{kiosk.id}/load",
        data={"csrf_token": token, "barcode": copy.barcode, "slot": "3"},
        follow_redirects=True,
    )
    assert answer.status_code == 200
    html = text_of(answer)
    assert f"{copy.barcode} 『소년이 온다』을(를) 3번 칸에 넣었습니다." in html
    assert "알림을 보냈습니다" in html
    slot = re.search(r'<tr id="slot-3">(.*?)</tr>', html, re.S)[1]
    assert "소년이 온다" in slot and "예약 보관 중" in slot
    assert db.session.get(Hold, hold.id).status == "ready"
    entry = db.session.scalar(select(AuditLog).filter_by(action="library.kiosk.load"))
    assert entry.actor_id == librarian.id and entry.target_id == str(copy.id)
    assert entry.after == {"status": "reserved_for_pickup", "kiosk_id": kiosk.id, "slot": 3}
    assert [n["kind"] for n in outbox] == ["library_hold_ready"]
    assert f'id="hold-{hold.id}"' not in text_of(client.get("/staff/library/holds"))

    # Taking it out again: the hold goes back to waiting for delivery.
    answer = client.post(
        f"/staff/library/kiosks/{kiosk.id}/slots/3/unload",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "3번 칸의" in text_of(answer) and "다시 키오스크에 넣어야 합니다" in text_of(answer)
    assert db.session.get(Hold, hold.id).status == "in_transit"
    assert audit_actions("library_copy", librarian) == [
        "library.kiosk.load",
        "library.kiosk.unload",
    ]


@pytest.mark.parametrize(
    "form, field, message",
    [
        ({"slot": "1"}, "barcode", "꼭 입력해 주세요."),
        ({"barcode": "X1"}, "slot", "꼭 입력해 주세요."),
        ({"barcode": "X1", "slot": "0"}, "slot", "1 이상이어야 합니다."),
        ({"barcode": "X1", "slot": "a"}, "slot", "숫자로 입력해 주세요."),
        ({"barcode": "NO-SUCH", "slot": "1"}, "barcode", "등록되지 않은 바코드입니다."),
        ({"barcode": "{copy}", "slot": "9"}, "slot", "1에서 5 사이로 입력해 주세요."),
    ],
)
def test_a_refused_load_is_shown_next_to_its_field(client, token, form, field, message):
    kiosk = create_kiosk(slots=5)
    copy = create_copy()
    form = {k: v.replace("{copy}", copy.barcode) for k, v in form.items()}
    answer = client.post(
        f"/staff/library/kiosks/{kiosk.id}/load", data={"csrf_token": token, **form}
    )
    assert answer.status_code == 422
    html = text_of(answer)
    assert field_error(html, field) == message
    assert 'id="form-errors"' in html
    assert db.session.get(Copy, copy.id).kiosk_id is None


def test_a_load_into_a_full_slot_is_refused_in_words(client, token):
    kiosk = create_kiosk(slots=2)
    create_copy(kiosk=kiosk, slot=1)
    other = create_copy()
    answer = client.post(
        f"/staff/library/kiosks/{kiosk.id}/load",
        data={"csrf_token": token, "barcode": other.barcode, "slot": "1"},
    )
    assert answer.status_code == 422
    assert "이미 책이 들어 있는 칸입니다." in text_of(answer)
    unload_empty = client.post(
        f"/staff/library/kiosks/{kiosk.id}/slots/2/unload",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "빈 칸입니다." in text_of(unload_empty)
    assert client.get("/staff/library/kiosks/999").status_code == 404


def test_a_new_key_is_shown_once_and_works_and_revoking_stops_it(client, token, librarian):
    kiosk = create_kiosk("GN-01")
    answer = client.post(f"/staff/library/kiosks/{kiosk.id}/key", data={"csrf_token": token})
    assert answer.status_code == 200
    key = re.search(r'<code class="lib-key" id="new-key">([^<]+)</code>', text_of(answer))[1]
    assert key != kiosk.key
    assert "no-store" in answer.headers["Cache-Control"]
    # Only on that answer: not on the page afterwards, and not in the session cookie.
    assert key not in text_of(client.get(f"/staff/library/kiosks/{kiosk.id}"))
    beat = {"faults": []}
    assert client.post("/api/kiosk/heartbeat", json=beat, headers=kiosk.headers).status_code == 401
    fresh = {"Authorization": f"Kiosk {key}"}
    assert client.post("/api/kiosk/heartbeat", json=beat, headers=fresh).status_code == 200

    answer = client.post(
        f"/staff/library/kiosks/{kiosk.id}/revoke",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "키오스크 키의 사용을 멈췄습니다" in text_of(answer) and "사용 중지" in text_of(answer)
    assert client.post("/api/kiosk/heartbeat", json=beat, headers=fresh).status_code == 401
    again = client.post(
        f"/staff/library/kiosks/{kiosk.id}/revoke",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "이미 사용을 멈춘 키오스크 키입니다." in text_of(again)
    assert audit_actions("library_kiosk", librarian) == [
        "library.kiosk.issue_key",
        "library.kiosk.revoke",
    ]


def test_switching_functions_off_and_on(client, token, librarian):
    kiosk = create_kiosk("GN-01")
    page = text_of(client.get(f"/staff/library/kiosks/{kiosk.id}"))
    assert page.count('value="true" checked') == 3
    answer = client.post(
        f"/staff/library/kiosks/{kiosk.id}/functions",
        data={"csrf_token": token, "checkout": "true", "return": "true"},
        follow_redirects=True,
    )
    html = text_of(answer)
    assert "켜 둔 기능: 대출, 반납" in html and "예약 수령 (꺼 둠)" in html
    stored = db.session.get(Kiosk, kiosk.id)
    assert (stored.checkout_enabled, stored.return_enabled, stored.pickup_enabled) == (
        True,
        True,
        False,
    )
    entry = db.session.scalar(select(AuditLog).filter_by(action="library.kiosk.update"))
    assert entry.actor_id == librarian.id and entry.after["functions"]["pickup"] is False
    client.post(
        f"/staff/library/kiosks/{kiosk.id}/functions",
        data={"csrf_token": token, "checkout": "maybe"},
        follow_redirects=True,
    )
    assert db.session.get(Kiosk, kiosk.id).return_enabled is True  # nothing changed


# --- restocking ---------------------------------------------------------------------------


def test_the_restock_plan_for_a_chosen_kiosk(client, clock, token, resident):
    kiosk = create_kiosk("GN-01", slots=6)
    create_kiosk("SC-01")
    wanted = create_title("아몬드", "손원평")
    shelf = create_copy(wanted)
    create_copy(create_title("코스모스", "칼 세이건"))
    holds.place_hold(
        create_patron(user=resident), wanted, kiosk.id, now=clock.now(), settings=lib_settings()
    )
    db.session.commit()

    chooser = text_of(client.get("/staff/library/restock"))
    assert "GN-01" in chooser and "SC-01" in chooser and "먼저 가져갈" not in chooser

    html = text_of(client.get(f"/staff/library/restock?kiosk_id={kiosk.id}"))
    assert "빈 칸 6개" in html and "먼저 가져갈 예약 도서 1건" in html
    assert f"barcode={shelf.barcode}" in html
    assert "코스모스" in html  # in demand elsewhere: on the shelf, not in this kiosk

    bad = client.get("/staff/library/restock?kiosk_id=abc")
    assert bad.status_code == 422 and field_error(text_of(bad), "kiosk_id")
    assert client.get("/staff/library/restock?kiosk_id=999").status_code == 404


# --- conflicts ----------------------------------------------------------------------------


def replayed_checkouts(client, clock, kiosk, patron, *copies) -> list[int]:
    at = clock.now() - timedelta(minutes=10)
    batch = [
        {
            "transaction_id": str(uuid.uuid4()),
            "occurred_at": at.isoformat(),
            "type": "checkout",
            "card_number": patron.card_number,
            "barcode": copy.barcode,
        }
        for copy in copies
    ]
    results = client.post(
        "/api/kiosk/replay", json={"transactions": batch}, headers=kiosk.headers
    ).json["results"]
    return [r["conflict_id"] for r in results]


def test_a_conflict_resolved_and_applied_from_its_page(client, clock, token, librarian):
    kiosk = create_kiosk("GN-01")
    title = create_title("채식주의자", "한강")
    copy = create_copy(title, kiosk=kiosk)
    patron = create_patron()
    patron.suspended_until = clock.now() + timedelta(days=3)
    db.session.commit()
    clock.advance(minutes=30)
    [conflict_id] = replayed_checkouts(client, clock, kiosk, patron, copy)

    queue = text_of(client.get("/staff/library/conflicts"))
    card = re.search(rf'<li class="card" id="conflict-{conflict_id}">(.*?)</li>', queue, re.S)[1]
    assert "키오스크 거래" in card and "대출정지 기간에는 대출과 예약을 할 수 없습니다." in card
    page = text_of(client.get(f"/staff/library/conflicts/{conflict_id}"))
    assert copy.barcode in page and patron.card_number in page and 'name="apply"' in page

    short = client.post(
        f"/staff/library/conflicts/{conflict_id}",
        data={"csrf_token": token, "resolution": "네", "apply": "true"},
    )
    assert short.status_code == 422
    assert field_error(text_of(short), "resolution") == "3자에서 1000자 사이로 입력해 주세요."
    assert 'name="apply" value="true" checked' in text_of(short)

    done = client.post(
        f"/staff/library/conflicts/{conflict_id}",
        data={
            "csrf_token": token,
            "resolution": "책은 이용자에게 있음: 대출 기록",
            "apply": "true",
        },
        follow_redirects=True,
    )
    assert f"{conflict_id}번 충돌을 처리했습니다. 거래를 적용했습니다." in text_of(done)
    assert f'id="conflict-{conflict_id}"' not in text_of(done)  # open ones only
    assert f'id="conflict-{conflict_id}"' in text_of(
        client.get("/staff/library/conflicts?status=all")
    )
    entry = db.session.scalar(select(AuditLog).filter_by(action="library.conflict.resolve"))
    assert entry.actor_id == librarian.id and entry.after["applied"]["loan_id"]

    again = client.post(
        f"/staff/library/conflicts/{conflict_id}",
        data={"csrf_token": token, "resolution": "한 번 더"},
    )
    assert again.status_code == 422 and "이미 처리한 항목입니다." in text_of(again)
    assert client.get("/staff/library/conflicts?status=closed").status_code == 422


def test_an_inventory_conflict_cannot_be_applied(client, clock, token):
    kiosk = create_kiosk("GN-01")
    report = {"occurred_at": clock.now().isoformat(), "slots": [{"slot": 1, "barcode": "ALIEN"}]}
    client.post("/api/kiosk/inventory-report", json=report, headers=kiosk.headers)
    conflict = db.session.scalar(select(Conflict).filter_by(kind="inventory"))
    page = text_of(client.get(f"/staff/library/conflicts/{conflict.id}"))
    assert "재고 불일치" in page and 'name="apply"' not in page
    refused = client.post(
        f"/staff/library/conflicts/{conflict.id}",
        data={"csrf_token": token, "resolution": "확인함", "apply": "true"},
    )
    assert refused.status_code == 422
    assert "키오스크의 대출·반납 거래만 적용할 수 있습니다." in text_of(refused)
    db.session.rollback()
    assert db.session.get(Conflict, conflict.id).resolved_at is None


# --- overdue loans ------------------------------------------------------------------------


def test_overdue_loans_longest_first_with_their_borrower(client, clock, token, librarian):
    kiosk = create_kiosk("GN-01")
    first, second = create_patron(card="CARD-A"), create_patron(card="CARD-B")
    early = create_copy(create_title("먼저 빌린 책"), kiosk=kiosk)
    client.post("/api/kiosk/checkouts", json=checkout_body(first, early), headers=kiosk.headers)
    clock.advance(days=2)
    late = create_copy(create_title("나중 빌린 책"), kiosk=kiosk)
    client.post("/api/kiosk/checkouts", json=checkout_body(second, late), headers=kiosk.headers)
    sign_in(client, librarian)  # a session lasts a day
    assert "연체된 대출이 없습니다." in text_of(client.get("/staff/library/overdue"))

    clock.advance(days=20)
    sign_in(client, librarian)
    html = text_of(client.get("/staff/library/overdue"))
    assert html.index("먼저 빌린 책") < html.index("나중 빌린 책")
    assert re.search(r"먼저 빌린 책.*?CARD-A.*?(\d+)일", html, re.S)[1] == "8"
    assert f'href="/staff/library/patrons/{first.id}"' in html
    assert client.get("/staff/library/overdue?page=0").status_code == 422


# --- patrons ------------------------------------------------------------------------------


def test_finding_a_patron_by_card_or_name(client, token):
    patron = create_patron(card="HH-2026-000123", name="김시민")
    create_patron(name="김독자")
    by_card = client.get("/staff/library/patrons?card_number=HH-2026-000123")
    assert by_card.status_code == 302
    assert by_card.headers["Location"] == f"/staff/library/patrons/{patron.id}"
    by_name = text_of(client.get("/staff/library/patrons?name=김"))
    assert "찾은 이용자 2명" in by_name and "HH-2026-000123" in by_name
    none = text_of(client.get("/staff/library/patrons?name=박"))
    assert "찾는 이용자가 없습니다." in none
    long = client.get("/staff/library/patrons?card_number=" + "1" * 31)
    assert long.status_code == 422
    assert field_error(text_of(long), "card_number") == "30자 이하로 입력해 주세요."


def test_a_patrons_page_lifts_a_suspension_with_a_reason(client, clock, token, librarian):
    patron = create_patron(name="김시민")
    patron.suspended_until = clock.now() + timedelta(days=3)
    patron.holds_barred_until = clock.now() + timedelta(days=10)
    db.session.commit()
    page = text_of(client.get(f"/staff/library/patrons/{patron.id}"))
    assert "2026-03-05(목)까지" in page and "예약 제한" in page and "대출정지 풀기" in page

    short = client.post(
        f"/staff/library/patrons/{patron.id}/lift-suspension",
        data={"csrf_token": token, "reason": "네"},
    )
    assert short.status_code == 422
    assert field_error(text_of(short), "reason") == "3자에서 500자 사이로 입력해 주세요."

    lifted = client.post(
        f"/staff/library/patrons/{patron.id}/lift-suspension",
        data={"csrf_token": token, "reason": "반납 확인 누락, 담당자 확인"},
        follow_redirects=True,
    )
    assert "대출정지와 예약 제한을 풀었습니다." in text_of(lifted)
    assert db.session.get(Patron, patron.id).suspended_until is None
    entry = db.session.scalar(select(AuditLog).filter_by(action="library.patron.lift_suspension"))
    assert entry.actor_id == librarian.id and entry.after["reason"] == "반납 확인 누락, 담당자 확인"

    again = client.post(
        f"/staff/library/patrons/{patron.id}/lift-suspension",
        data={"csrf_token": token, "reason": "한 번 더 풀기"},
    )
    assert again.status_code == 422 and "대출정지 상태가 아닙니다." in text_of(again)


def test_a_pin_reset_unlocks_the_card(client, clock, token, librarian, settings):
    patron = create_patron()
    patron.pin_locked_until = clock.now() + timedelta(minutes=10)
    db.session.commit()
    assert "잠김" in text_of(client.get(f"/staff/library/patrons/{patron.id}"))

    bad = client.post(
        f"/staff/library/patrons/{patron.id}/pin", data={"csrf_token": token, "pin": "12"}
    )
    assert bad.status_code == 422
    assert field_error(text_of(bad), "pin") == "숫자 4~8자리로 입력해 주세요."
    assert 'value="12"' not in text_of(bad)

    done = client.post(
        f"/staff/library/patrons/{patron.id}/pin",
        data={"csrf_token": token, "pin": "9135"},
        follow_redirects=True,
    )
    assert "비밀번호를 새로 정하고 회원증 잠금을 풀었습니다." in text_of(done)
    stored = db.session.get(Patron, patron.id)
    assert stored.pin_locked_until is None and settings.passwords.verify(stored.pin_hash, "9135")
    assert audit_actions("library_patron", librarian) == ["library.patron.reset_pin"]
    assert client.get("/staff/library/patrons/999").status_code == 404


# --- the catalogue ------------------------------------------------------------------------


def test_isbn_lookup_finds_a_catalogued_title_or_offers_the_form(client, token):
    known = create_title("소년이 온다", "한강", isbn="9788936434243")
    found = client.get("/staff/library/catalogue/isbn?isbn=978-89-364-3424-3")
    assert found.status_code == 302
    assert found.headers["Location"] == f"/staff/library/titles/{known.id}"

    # An ISBN-10 not catalogued yet: the new title's form, the ISBN-13 filled in.
    missing = client.get("/staff/library/catalogue/isbn?isbn=0-306-40615-2")
    assert missing.status_code == 200
    html = text_of(missing)
    assert "ISBN 9780306406157은(는) 아직 등록되지 않았습니다." in html
    assert re.search(r'id="f-isbn" name="isbn" type="text"\s+value="9780306406157"', html)

    bad = client.get("/staff/library/catalogue/isbn?isbn=9788936434240")
    assert bad.status_code == 422
    assert re.search(
        r'id="f-lookup-isbn-error">ISBN-13의 확인 숫자가 맞지 않습니다.<', text_of(bad)
    )
    empty = client.get("/staff/library/catalogue/isbn?isbn=")
    assert empty.status_code == 422
    assert 'id="f-lookup-isbn-error">꼭 입력해 주세요.<' in text_of(empty)


def test_cataloguing_a_title_and_entering_barcodes(client, token, librarian):
    form = {"csrf_token": token, "isbn": "89-364-3424-1", "title": "새 도서", "author": "지은이"}
    made = client.post("/staff/library/catalogue", data=form)
    assert made.status_code == 302
    title = db.session.scalar(select(Title).filter_by(title="새 도서"))
    assert made.headers["Location"] == f"/staff/library/titles/{title.id}"
    assert title.isbn.startswith("97889")

    again = client.post("/staff/library/catalogue", data=form)
    assert again.status_code == 422
    assert field_error(text_of(again), "isbn") == "이미 등록된 ISBN입니다."
    invalid = client.post(
        "/staff/library/catalogue", data={"csrf_token": token, "isbn": "123", "kdc": "abc"}
    )
    html = text_of(invalid)
    assert field_error(html, "isbn") == "10자에서 17자 사이로 입력해 주세요."
    assert field_error(html, "title") == "꼭 입력해 주세요."
    assert field_error(html, "kdc") == "813.7처럼 한국십진분류 번호를 입력해 주세요."

    added = client.post(
        f"/staff/library/titles/{title.id}/copies",
        data={"csrf_token": token, "barcode": "LIB-0001"},
        follow_redirects=True,
    )
    assert "바코드 LIB-0001 책을 등록했습니다." in text_of(added)
    assert "소장 책 1권" in text_of(added)
    duplicate = client.post(
        f"/staff/library/titles/{title.id}/copies",
        data={"csrf_token": token, "barcode": "LIB-0001"},
    )
    assert duplicate.status_code == 422
    assert field_error(text_of(duplicate), "barcode") == "이미 쓰고 있는 바코드입니다."
    odd = client.post(
        f"/staff/library/titles/{title.id}/copies", data={"csrf_token": token, "barcode": "a b"}
    )
    assert field_error(text_of(odd), "barcode") == "영문, 숫자, '-'로 3~40자를 입력해 주세요."

    copy = db.session.scalar(select(Copy).filter_by(barcode="LIB-0001"))
    lost = client.post(
        f"/staff/library/copies/{copy.id}/status",
        data={"csrf_token": token, "status": "lost"},
        follow_redirects=True,
    )
    assert "LIB-0001 책을 ‘분실’(으)로 바꿨습니다." in text_of(lost)
    assert audit_actions("library_title", librarian) == ["library.title.create"]
    assert audit_actions("library_copy", librarian) == [
        "library.copy.create",
        "library.copy.status",
    ]

    search = text_of(client.get("/staff/library/catalogue?q=새 도서"))
    assert "‘새 도서’ 1건" in search and f'href="/staff/library/titles/{title.id}"' in search


def test_every_status_fault_and_function_has_korean_words():
    assert set(staff_pages.COPY_STATUS) == set(COPY_STATUSES)
    assert set(staff_pages.FAULTS) == set(FAULT_EFFECTS)
    assert set(staff_pages.STATES) == {"online", "offline", "fault", "revoked"}
