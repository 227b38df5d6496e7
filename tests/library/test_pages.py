"""Library pages over HTTP: the catalogue with availability per kiosk, holds placed from a
title's page, and the patron's own page with renewals and cancellations; the same use cases
and refusals as the residents' API, in Korean."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.extensions import db
from library import pages
from library.models import Hold, Loan
from library.services import holds
from tests.fixtures.library import (
    checkout_body,
    create_copy,
    create_kiosk,
    create_patron,
    create_title,
    tx,
)
from tests.fixtures.pages import csrf_of, log_in
from tests.fixtures.users import auth_headers, create_user

LIBRARY = Path(pages.__file__).parent


def named(handle, name: str):
    """A kiosk with a name of its own (the factory names them all alike)."""
    handle.kiosk.name = name
    db.session.commit()
    return handle


def text_of(response) -> str:
    return response.get_data(as_text=True)


def holds_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Hold))


def lend(client, kiosk, patron, copy) -> int:
    answer = client.post(
        "/api/kiosk/checkouts", json=checkout_body(patron, copy), headers=kiosk.headers
    )
    assert answer.status_code == 201, answer.json
    return answer.json["loan_id"]


def sign_in(client, user) -> str:
    """Sign the browser in; the page's CSRF token to send with forms."""
    log_in(client, user.email)
    return csrf_of(client.get("/library/me"))


@pytest.fixture
def signed_in(client, clock, resident):
    return sign_in(client, resident)


# --- the catalogue ------------------------------------------------------------------------


def test_search_shows_copies_free_in_each_kiosk_to_anyone(client, clock):
    gangnam = named(create_kiosk("GN-01"), "강남역 스마트도서관")
    seocho = named(create_kiosk("SC-02"), "서초구청 스마트도서관")
    title = create_title("채식주의자", "한강", publisher="창비", year=2007)
    create_title("코스모스", "칼 세이건")
    create_copy(title, kiosk=gangnam)
    create_copy(title, kiosk=gangnam)
    create_copy(title, kiosk=seocho)
    create_copy(title)  # on the library's shelf
    lost = create_copy(title)
    lost.status = "lost"
    db.session.commit()

    answer = client.get("/library?q=한강")
    assert answer.status_code == 200
    html = text_of(answer)
    assert "1건" in html and "코스모스" not in html
    cards = re.findall(
        r'<li class="card">(.*?)</li>\s*(?=<li class="card">|</ul>\s*</section)', html, re.S
    )
    assert len(cards) == 1
    counts = re.findall(
        r"<li>(\S+ 스마트도서관) <span class=\"badge ok\">(\d+)권 대출 가능", cards[0]
    )
    assert counts == [("강남역 스마트도서관", "2"), ("서초구청 스마트도서관", "1")]
    # The lost copy counts nowhere.
    assert "도서관 서가 1권 · 전체 소장 4권" in cards[0]
    assert f'href="/library/titles/{title.id}"' in cards[0]


def test_search_is_paginated_as_the_api_is(client, clock, resident):
    for number in range(1, 13):
        create_title(f"바다 이야기 {number:02d}", "김바다")
    create_title("산 이야기", "이산")

    first = text_of(client.get("/library?q=바다"))
    assert "12건" in first
    assert len(re.findall(r'href="/library/titles/\d+"', first)) == 10
    assert 'href="/library?q=%EB%B0%94%EB%8B%A4&amp;page=2"' in first  # 다음 and 2쪽
    assert "2쪽 가운데 1쪽" in first

    second = text_of(client.get("/library?q=바다&page=2"))
    on_page_two = re.findall(r'href="/library/titles/\d+">([^<]+)</a>', second)
    assert on_page_two == ["바다 이야기 11", "바다 이야기 12"]
    # The JSON API's second page of 10 is the same page: one search, two doors.
    api = client.get(
        "/api/library/titles?q=바다&page=2&page_size=10", headers=auth_headers(resident)
    )
    assert [t["title"] for t in api.json] == on_page_two
    assert json.loads(api.headers["X-Pagination"])["total"] == 12

    # No query: every title, in title order.
    everything = text_of(client.get("/library"))
    assert "모든 도서" in everything and "13건" in everything


@pytest.mark.parametrize(
    "query, field, message",
    [
        ("page=0", "page", "1에서 100000 사이여야 합니다."),
        ("page=100001", "page", "1에서 100000 사이여야 합니다."),
        ("page=abc", "page", "숫자로 입력해 주세요."),
        ("q=" + "가" * 101, "q", "100자 이하로 입력해 주세요."),
        ("q=%00", "q", "쓸 수 없는 문자가 들어 있습니다."),
    ],
)
def test_a_bad_search_is_shown_next_to_its_field(client, clock, query, field, message):
    answer = client.get(f"/library?{query}")
    assert answer.status_code == 422
    html = text_of(answer)
    assert message in html
    if field == "q":
        assert f'id="f-q-error">{message}</p>' in html


def test_title_page_lists_copies_by_kiosk_and_asks_anyone_else_to_log_in(client, clock):
    gangnam = named(create_kiosk("GN-01"), "강남역 스마트도서관")
    title = create_title("소년이 온다", "한강", kdc="813.7")
    create_copy(title, kiosk=gangnam)
    create_copy(title, kiosk=gangnam)
    answer = client.get(f"/library/titles/{title.id}")
    assert answer.status_code == 200
    html = text_of(answer)
    assert "<h1>소년이 온다</h1>" in html and "813.7" in html
    assert re.search(r'<th scope="row">강남역 스마트도서관</th><td>2권</td>', html)
    assert f"/login?next=/library/titles/{title.id}" in html
    assert 'name="kiosk_id"' not in html  # no form before logging in
    assert client.get("/library/titles/999999").status_code == 404
    assert client.get("/library/titles/99999999999").status_code == 404


# --- who may do what ----------------------------------------------------------------------


def test_the_patrons_pages_need_a_signed_in_person(client, clock, dummy_kiosk, dummy_title):
    create_copy(dummy_title)
    answer = client.get("/library/me")
    assert answer.status_code == 302 and answer.headers["Location"] == "/login?next=/library/me"
    token = csrf_of(client.get("/login"))  # a session of its own, signed in or not
    hold = client.post(
        f"/library/titles/{dummy_title.id}",
        data={"kiosk_id": dummy_kiosk.id, "csrf_token": token},
    )
    assert hold.status_code == 302 and hold.headers["Location"].startswith("/login?next=")
    renew = client.post("/library/me/loans/1/renew", data={"csrf_token": token})
    assert renew.status_code == 302
    assert renew.headers["Location"] == "/login?next=/library/me/loans/1/renew"
    # Back from logging in, the form's address leads to the page it was on, to send it again.
    back = client.get("/library/me/loans/1/renew")
    assert back.status_code == 302 and back.headers["Location"] == "/library/me"
    assert holds_count() == 0


def test_forms_without_their_csrf_token_are_refused(
    client, signed_in, dummy_kiosk, dummy_copy, dummy_title, linked_patron
):
    loan_id = lend(client, dummy_kiosk, linked_patron, dummy_copy)
    other = create_title("아몬드", "손원평")
    create_copy(other)
    hold = client.post(f"/library/titles/{other.id}", data={"kiosk_id": dummy_kiosk.id})
    assert hold.status_code == 400 and "페이지가 만료되었습니다" in text_of(hold)
    assert holds_count() == 0
    renew = client.post(f"/library/me/loans/{loan_id}/renew", data={"csrf_token": "forged"})
    assert renew.status_code == 400
    assert db.session.get(Loan, loan_id).renewals == 0


def test_the_menu_and_home_panel(client, clock, resident):
    home = text_of(client.get("/"))
    assert re.search(r'<a href="/library"\s*>도서관</a>', home) and "내 도서" not in home
    assert 'id="library-panel-q" name="q" type="search"' in home
    assert '<label for="library-panel-q">도서 검색</label>' in home
    log_in(client, resident.email)
    home = text_of(client.get("/"))
    assert re.search(r'<a href="/library/me"\s*>내 도서</a>', home)
    assert re.search(
        r'<a href="/library"\s*aria-current="page">도서관', text_of(client.get("/library"))
    )


# --- holds --------------------------------------------------------------------------------


def test_a_hold_at_a_kiosk_with_a_free_copy_is_ready_and_shown_on_my_page(
    client, signed_in, linked_patron, dummy_title
):
    gangnam = named(create_kiosk("GN-01"), "강남역 스마트도서관")
    copy = create_copy(dummy_title, kiosk=gangnam)
    page = text_of(client.get(f"/library/titles/{dummy_title.id}"))
    assert f'<option value="{gangnam.id}"' in page and "지금 1권 있음" in page
    answer = client.post(
        f"/library/titles/{dummy_title.id}",
        data={"kiosk_id": gangnam.id, "csrf_token": signed_in},
    )
    assert answer.status_code == 302 and answer.headers["Location"] == "/library/me"
    hold = db.session.scalars(select(Hold)).one()
    assert (hold.status, hold.copy_id, hold.pickup_kiosk_id) == ("ready", copy.id, gangnam.id)

    me = text_of(client.get("/library/me"))
    assert "『소년이 온다』을(를) 예약했습니다. 강남역 스마트도서관에 있으니" in me
    assert "찾아갈 수 있음" in me and f"{copy.slot}번 칸" in me
    # Ready on Monday 2 March: three days to collect it, to the end of Thursday.
    assert "2026-03-05(목)</time>까지" in me
    assert 'data-countdown datetime="2026-03-05T14:59:59+00:00"' in me
    # Said once: the notice is gone on the next visit.
    assert "예약했습니다" not in text_of(client.get("/library/me"))
    # The title's page now says it is held, instead of offering the form again.
    assert "이미 예약하신 도서입니다" in text_of(client.get(f"/library/titles/{dummy_title.id}"))


def test_a_suspended_patrons_hold_is_refused_with_the_end_of_the_suspension(
    client, clock, resident, linked_patron, dummy_kiosk, dummy_copy, dummy_title
):
    lend(client, dummy_kiosk, linked_patron, dummy_copy)
    clock.advance(days=17)  # due 16 March; returned on 19 March, 3 days late
    back = client.post(
        "/api/kiosk/returns", json=tx(barcode=dummy_copy.barcode), headers=dummy_kiosk.headers
    )
    assert back.json["overdue_days"] == 3
    title = create_title("아몬드", "손원평")
    create_copy(title)
    signed_in = sign_in(client, resident)

    answer = client.post(
        f"/library/titles/{title.id}",
        data={"kiosk_id": dummy_kiosk.id, "csrf_token": signed_in},
    )
    assert answer.status_code == 422
    html = text_of(answer)
    # Suspended from the return day for 3 days: borrowing again from Sunday 22 March.
    assert (
        '<div class="alert error" role="alert" id="form-errors" tabindex="-1">\n'
        "    <p>대출정지 기간에는 대출과 예약을 할 수 없습니다. "
        "대출정지 기간: 2026-03-21(토)까지.</p>"
    ) in html
    assert html.index('id="form-errors"') < html.index('name="kiosk_id"')
    assert holds_count() == 0

    me = text_of(client.get("/library/me"))
    assert '<h2 id="suspension-heading">대출정지</h2>' in me
    assert "2026-03-21(토)까지 책을 빌리거나 예약할 수 없습니다." in me


def test_hold_refusals_in_korean(client, signed_in, linked_patron, settings):
    gangnam = named(create_kiosk("GN-01"), "강남역 스마트도서관")
    closed = create_kiosk("CL-01")
    closed.kiosk.pickup_enabled = False
    db.session.commit()
    title = create_title("아몬드", "손원평")
    create_copy(title)

    def hold(title_id, **data):
        return client.post(f"/library/titles/{title_id}", data={"csrf_token": signed_in} | data)

    missing = hold(title.id)
    assert missing.status_code == 422
    assert 'id="f-kiosk_id-error">꼭 입력해 주세요.</p>' in text_of(missing)
    # A kiosk that does not take holds is not offered, and refused when sent anyway.
    page = text_of(client.get(f"/library/titles/{title.id}"))
    assert f'<option value="{closed.id}"' not in page
    refused = hold(title.id, kiosk_id=closed.id)
    assert refused.status_code == 422
    assert (
        'id="f-kiosk_id-error">이 키오스크에서는 예약한 책을 받을 수 없습니다. '
        "다른 키오스크를 골라 주세요.</p>"
    ) in text_of(refused)
    unknown = hold(title.id, kiosk_id=99999)
    assert 'id="f-kiosk_id-error">찾는 내용이 없습니다.</p>' in text_of(unknown)
    wrong = hold(title.id, kiosk_id="abc")
    assert 'id="f-kiosk_id-error">숫자로 입력해 주세요.</p>' in text_of(wrong)

    nothing = create_title("절판된 책", "누군가")
    no_copies = hold(nothing.id, kiosk_id=gangnam.id)
    assert "도서관에 빌려 드릴 수 있는 책이 없어 예약할 수 없습니다." in text_of(no_copies)

    assert hold(title.id, kiosk_id=gangnam.id).status_code == 302
    for number in range(settings.hold_limit - 1):
        other = create_title(f"다른 책 {number}")
        create_copy(other)
        assert hold(other.id, kiosk_id=gangnam.id).status_code == 302
    one_more = create_title("하나 더")
    create_copy(one_more)
    over = hold(one_more.id, kiosk_id=gangnam.id)
    assert over.status_code == 422
    assert (
        f"한 번에 예약할 수 있는 권수를 모두 채웠습니다. (최대 {settings.hold_limit}권)"
        in text_of(over)
    )
    assert holds_count() == settings.hold_limit


def test_holding_a_title_twice_is_refused(client, signed_in, linked_patron, dummy_kiosk):
    title = create_title("아몬드", "손원평")
    create_copy(title)
    data = {"kiosk_id": dummy_kiosk.id, "csrf_token": signed_in}
    assert client.post(f"/library/titles/{title.id}", data=data).status_code == 302
    again = client.post(f"/library/titles/{title.id}", data=data)
    assert again.status_code == 422
    assert "이미 예약하신 도서입니다" in text_of(again)
    assert holds_count() == 1


def test_a_resident_without_a_library_card_is_told_what_to_do(
    client, signed_in, dummy_kiosk, dummy_title
):
    create_copy(dummy_title)
    expected = "이 계정에 연결된 도서관 회원증이 없습니다. 도서관 사서에게 회원증을"
    title_page = text_of(client.get(f"/library/titles/{dummy_title.id}"))
    assert expected in title_page and 'name="kiosk_id"' not in title_page
    me = client.get("/library/me")
    assert me.status_code == 200 and expected in text_of(me)
    answer = client.post(
        f"/library/titles/{dummy_title.id}",
        data={"kiosk_id": dummy_kiosk.id, "csrf_token": signed_in},
    )
    assert answer.status_code == 422 and expected in text_of(answer)
    assert holds_count() == 0


def test_cancelling_a_hold_frees_its_copy(client, signed_in, linked_patron, dummy_title):
    kiosk = create_kiosk()
    copy = create_copy(dummy_title, kiosk=kiosk)
    client.post(
        f"/library/titles/{dummy_title.id}", data={"kiosk_id": kiosk.id, "csrf_token": signed_in}
    )
    hold = db.session.scalars(select(Hold)).one()
    token = csrf_of(client.get("/library/me"))
    answer = client.post(f"/library/me/holds/{hold.id}/cancel", data={"csrf_token": token})
    assert answer.status_code == 302
    db.session.expire_all()
    assert db.session.get(Hold, hold.id).status == "cancelled"
    assert db.session.get(type(copy), copy.id).status == "in_kiosk"
    me = text_of(client.get("/library/me"))
    assert "『소년이 온다』 예약을 취소했습니다." in me and "예약한 책이 없습니다." in me
    # Sent twice (a second tab): refused, and said above the list it is no longer in.
    again = client.post(f"/library/me/holds/{hold.id}/cancel", data={"csrf_token": token})
    assert again.status_code == 422
    assert (
        '<div class="alert error" role="alert" id="form-errors" tabindex="-1">'
        "<p>이미 끝난 예약입니다.</p></div>"
    ) in text_of(again)


# --- loans --------------------------------------------------------------------------------


def test_my_page_lists_loans_with_due_dates_and_renews_once(
    client, signed_in, linked_patron, dummy_kiosk, dummy_copy
):
    loan_id = lend(client, dummy_kiosk, linked_patron, dummy_copy)
    me = text_of(client.get("/library/me"))
    assert f'id="loan-{loan_id}"' in me and "<h3>소년이 온다</h3>" in me
    assert "2026-03-16(월)</time>까지" in me  # 14 days, to the end of the day
    assert "연체" not in me

    renewed = client.post(f"/library/me/loans/{loan_id}/renew", data={"csrf_token": signed_in})
    assert renewed.status_code == 302 and renewed.headers["Location"] == "/library/me"
    assert db.session.get(Loan, loan_id).renewals == 1
    me = text_of(client.get("/library/me"))
    assert "『소년이 온다』 대출을 연장했습니다. 반납 예정일: 2026-03-23(월)" in me
    assert "2026-03-23(월)</time>까지" in me

    again = client.post(f"/library/me/loans/{loan_id}/renew", data={"csrf_token": signed_in})
    assert again.status_code == 422
    card = text_of(again).split(f'id="loan-{loan_id}"')[1].split("</li>")[0]
    assert 'role="alert"' in card and "연장할 수 있는 횟수를 모두 썼습니다." in card
    db.session.expire_all()
    assert db.session.get(Loan, loan_id).renewals == 1


def test_an_overdue_loan_is_marked_and_cannot_be_renewed(
    client, clock, resident, linked_patron, dummy_kiosk, dummy_copy
):
    loan_id = lend(client, dummy_kiosk, linked_patron, dummy_copy)
    clock.advance(days=15)
    signed_in = sign_in(client, resident)
    me = text_of(client.get("/library/me"))
    assert f'<li class="card lib-overdue" id="loan-{loan_id}">' in me
    assert '<span class="badge error">연체</span>' in me
    refused = client.post(f"/library/me/loans/{loan_id}/renew", data={"csrf_token": signed_in})
    assert refused.status_code == 422
    assert "반납 예정일이 지난 책은 연장할 수 없습니다. 먼저 반납해 주세요." in text_of(refused)


def test_a_loan_another_patron_waits_for_is_not_renewed(
    client, signed_in, clock, settings, linked_patron, dummy_kiosk, dummy_copy, dummy_title
):
    loan_id = lend(client, dummy_kiosk, linked_patron, dummy_copy)
    neighbour = create_patron(user=create_user(name="박이웃"))
    holds.place_hold(neighbour, dummy_title, dummy_kiosk.id, now=clock.now(), settings=settings)
    db.session.commit()
    refused = client.post(f"/library/me/loans/{loan_id}/renew", data={"csrf_token": signed_in})
    assert refused.status_code == 422
    assert "다른 분이 예약하고 기다리는 책이라 연장할 수 없습니다." in text_of(refused)
    assert db.session.get(Loan, loan_id).renewals == 0


def test_someone_elses_loan_is_not_renewed(
    client, signed_in, linked_patron, dummy_kiosk, dummy_copy
):
    stranger = create_patron()
    loan_id = lend(client, dummy_kiosk, stranger, dummy_copy)
    answer = client.post(f"/library/me/loans/{loan_id}/renew", data={"csrf_token": signed_in})
    assert answer.status_code == 403
    assert "권한이 없습니다" in text_of(answer)
    assert db.session.get(Loan, loan_id).renewals == 0


# --- messages -----------------------------------------------------------------------------


def _refusal_codes() -> set[str]:
    """Every code a library module refuses with: ``SomeError(..., code="...")`` and an error
    class's own ``status, code = 423, "locked"``."""
    errors = {"Conflict", "RuleViolation", "NotFound", "Forbidden", "Unauthorized", "Locked"}
    codes = set()
    for path in LIBRARY.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in errors:
                codes.update(k.value.value for k in node.keywords if k.arg == "code")
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple):
                names = [getattr(t, "id", None) for t in getattr(node.targets[0], "elts", [])]
                if "code" in names:
                    codes.add(node.value.elts[names.index("code")].value)
    return codes


def test_every_library_refusal_has_a_korean_message():
    codes = _refusal_codes()
    assert {"patron_suspended", "hold_limit_reached", "renewal_limit", "locked"} <= codes
    missing = sorted(codes - set(pages.MESSAGES))
    assert missing == []
    for code, message in pages.MESSAGES.items():
        assert re.search(r"[가-힣]", message), code


def test_the_catalogue_is_public_in_the_api_as_on_the_pages(client):
    assert client.get("/api/library/titles").status_code == 200
    assert client.get("/library").status_code == 200
