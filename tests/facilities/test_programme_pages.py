"""Programme pages over HTTP: the list with the API's filters, a programme's details and its
application form (for oneself with a birth year, or for a dependent), refusals in Korean next
to their fields, a double submit applying once, the result page, withdrawing with
confirmation, dependents; CSRF and sign-in."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from core.extensions import db
from facilities.models import Application, Dependent
from facilities.services import enrolments, programmes
from tests.fixtures.facilities import create_programme, kst, now
from tests.fixtures.pages import csrf_of, field_error, signed_in, text

CHILDREN = {"title": "어린이 스케이트 초급반", "min_age": 6, "max_age": 12}


def applications() -> list[Application]:
    db.session.expire_all()
    return db.session.scalars(select(Application).order_by(Application.id)).all()


def add_child(user, name="김하늘", birth_year=2018) -> Dependent:
    dependent = programmes.add_dependent(user, name, birth_year, now())
    db.session.commit()
    return dependent


# --- the list and the details -----------------------------------------------------------


def test_the_list_shows_term_times_prices_places_and_allocation(client, manager, dummy_rink):
    first_come = create_programme(manager, dummy_rink)
    lottery = create_programme(
        manager, dummy_rink, **CHILDREN, enrolment="lottery", start_time="17:00"
    )
    page = client.get("/programmes")
    assert page.status_code == 200
    body = text(page)
    assert f"/programmes/{first_come.id}" in body and f"/programmes/{lottery.id}" in body
    assert "2026년 4월 1일 (수) ~ 4월 30일 (목) (9회)" in body
    assert "매주 화·목 19:00부터 50분" in body and "매주 화·목 17:00부터 50분" in body
    assert "성인 120,000원, 어린이 80,000원" in body
    assert "<dt>정원</dt><dd>2명 · 남은 자리 2명</dd>" in body
    assert "선착순" in body and "추첨" in body
    lottery_id = programmes.programme_lottery(lottery.id).id
    assert f'href="/lotteries/{lottery_id}"' in body
    assert "3월 10일 (화) 18:00" in body


def test_the_list_filters_as_the_api_does(client, manager, dummy_rink):
    adults = create_programme(manager, dummy_rink)
    children = create_programme(manager, dummy_rink, **CHILDREN, start_time="17:00")
    later = create_programme(
        manager,
        dummy_rink,
        title="상급반",
        level="advanced",
        start_time="21:00",
        window_opens_at=kst("2026-03-20", "10:00"),
        window_closes_at=kst("2026-03-25", "18:00"),
    )

    def shown(query):
        page = client.get(f"/programmes?{query}")
        assert page.status_code == 200
        return {p.id for p in (adults, children, later) if f'id="programme-{p.id}"' in text(page)}

    assert shown("age=8") == {children.id}
    assert shown("level=advanced") == {later.id}
    assert shown("open=true") == {adults.id, children.id}
    assert shown("open=false") == {later.id}
    assert shown(f"facility_id={dummy_rink.facility_id}&age=30") == {adults.id, later.id}
    assert shown("facility_id=") == {adults.id, children.id, later.id}

    wrong = client.get("/programmes?age=abc&level=expert")
    assert wrong.status_code == 422
    assert field_error(wrong, "age") == "숫자로 입력해 주세요."
    assert field_error(wrong, "level") == "목록에 있는 값을 골라 주세요."


def test_details_ask_a_signed_out_person_to_sign_in(client, manager, dummy_rink):
    programme = create_programme(manager, dummy_rink)
    page = client.get(f"/programmes/{programme.id}")
    assert page.status_code == 200
    assert "로그인</a>하면 신청할 수 있습니다" in text(page)
    assert 'name="birth_year"' not in text(page)
    assert client.get("/programmes/999999").status_code == 404


def test_signed_out_posts_are_sent_to_log_in(client, manager, dummy_rink):
    programme = create_programme(manager, dummy_rink)
    for path in (
        f"/programmes/{programme.id}/apply",
        "/profile/dependents",
        "/programmes/applications/1/withdraw",
    ):
        token = csrf_of(client.get("/login"))
        answer = client.post(path, data={"csrf_token": token, "category": "adult"})
        assert answer.status_code == 302 and "/login?next=" in answer.headers["Location"]
    assert client.get("/profile/dependents").headers["Location"].startswith("/login?next=")
    assert applications() == []


# --- applying ---------------------------------------------------------------------------


def test_applying_for_oneself_holds_a_place_and_says_until_when(
    client, manager, resident, dummy_rink
):
    programme = create_programme(manager, dummy_rink)
    token = signed_in(client, resident, "/profile/dependents")
    answer = client.post(
        f"/programmes/{programme.id}/apply",
        data={"csrf_token": token, "category": "adult", "birth_year": "1990", "dependent_id": ""},
    )
    assert answer.status_code == 303
    [application] = applications()
    assert application.status == "held" and application.participant_name == resident.name
    assert answer.headers["Location"].endswith(f"/programmes/applications/{application.id}")
    result = text(client.get(answer.headers["Location"]))
    assert f'<dd id="application-number">{application.id}</dd>' in result
    assert "결제 대기" in result and "3월 4일 (수) 10:00" in result and "120,000원" in result


def test_a_double_submit_applies_once(client, manager, resident, dummy_rink):
    """The same form sent twice (its one idempotency_key): both lead to the one application."""
    programme = create_programme(manager, dummy_rink)
    token = signed_in(client, resident, "/profile/dependents")
    page = text(client.get(f"/programmes/{programme.id}"))
    key = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', page).group(1)
    form = {"csrf_token": token, "category": "adult", "birth_year": "1990", "idempotency_key": key}
    first = client.post(f"/programmes/{programme.id}/apply", data=form)
    second = client.post(f"/programmes/{programme.id}/apply", data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert len(applications()) == 1
    db.session.refresh(programme)
    assert programme.enrolled == 1
    # Another form (a new key) for the same person is refused next to the form.
    again = client.post(f"/programmes/{programme.id}/apply", data={**form, "idempotency_key": ""})
    assert again.status_code == 422
    assert "이미 이 강습에 신청하셨습니다" in text(again)
    assert len(applications()) == 1


def test_refusals_are_shown_next_to_their_fields(client, manager, resident, dummy_rink, clock):
    programme = create_programme(
        manager, dummy_rink, **CHILDREN, window_closes_at=kst("2026-03-02", "12:00")
    )
    token = signed_in(client, resident, "/profile/dependents")
    url = f"/programmes/{programme.id}/apply"

    too_old = client.post(
        url, data={"csrf_token": token, "category": "adult", "birth_year": "1990"}
    )
    assert too_old.status_code == 422
    assert field_error(too_old, "birth_year") == "이 강습의 나이 기준에 맞지 않습니다."
    assert 'value="1990"' in text(too_old)

    no_year = client.post(url, data={"csrf_token": token, "category": "child"})
    assert field_error(no_year, "birth_year") == "본인 신청에는 출생 연도가 필요합니다."

    bad = client.post(url, data={"csrf_token": token, "category": "martian", "birth_year": "x"})
    assert field_error(bad, "category") == "목록에 있는 값을 골라 주세요."
    assert field_error(bad, "birth_year") == "숫자로 입력해 주세요."

    not_mine = client.post(
        url, data={"csrf_token": token, "category": "child", "dependent_id": "999"}
    )
    assert field_error(not_mine, "dependent_id") == "등록된 가족이 아닙니다."

    child = add_child(resident)
    client.post(url, data={"csrf_token": token, "category": "child", "dependent_id": str(child.id)})
    again = client.post(
        url, data={"csrf_token": token, "category": "child", "dependent_id": str(child.id)}
    )
    assert field_error(again, "dependent_id") == (
        "이미 이 강습에 신청하셨습니다. 한 사람은 한 번만 신청할 수 있습니다."
    )

    clock.at = kst("2026-03-02", "12:00")
    closed = client.post(url, data={"csrf_token": token, "category": "adult", "birth_year": "1990"})
    assert closed.status_code == 422
    assert field_error(closed, "programme_id") == "신청 기간이 끝났습니다."
    # Nothing half-written: only the child's one application exists.
    assert [a.dependent_id for a in applications()] == [child.id]


def test_an_apply_form_without_its_csrf_token_applies_nothing(
    client, manager, resident, dummy_rink
):
    programme = create_programme(manager, dummy_rink)
    signed_in(client, resident, "/profile/dependents")
    answer = client.post(
        f"/programmes/{programme.id}/apply", data={"category": "adult", "birth_year": "1990"}
    )
    assert answer.status_code == 400
    assert applications() == []


def test_a_lottery_application_says_when_the_draw_is(client, manager, resident, dummy_rink):
    programme = create_programme(manager, dummy_rink, **CHILDREN, enrolment="lottery")
    child = add_child(resident)
    token = signed_in(client, resident, "/profile/dependents")
    answer = client.post(
        f"/programmes/{programme.id}/apply",
        data={"csrf_token": token, "category": "child", "dependent_id": str(child.id)},
    )
    assert answer.status_code == 303
    result = text(client.get(answer.headers["Location"]))
    assert "추첨 대기" in result and "3월 10일 (화) 18:00" in result and "에 추첨하고" in result
    lottery_id = programmes.programme_lottery(programme.id).id
    assert f'href="/lotteries/{lottery_id}"' in result


def test_a_full_programme_puts_an_applicant_in_line(client, manager, resident, dummy_rink):
    programme = create_programme(manager, dummy_rink, capacity=1)
    other = add_child(resident, "김바다", 1995)
    token = signed_in(client, resident, "/profile/dependents")
    url = f"/programmes/{programme.id}/apply"
    client.post(url, data={"csrf_token": token, "category": "adult", "birth_year": "1990"})
    answer = client.post(
        url, data={"csrf_token": token, "category": "adult", "dependent_id": str(other.id)}
    )
    result = text(client.get(answer.headers["Location"]))
    assert "대기 1번입니다" in result


def test_another_persons_application_is_not_found(client, manager, resident, dummy_rink):
    from tests.fixtures.users import create_user

    programme = create_programme(manager, dummy_rink)
    token = signed_in(client, resident, "/profile/dependents")
    client.post(
        f"/programmes/{programme.id}/apply",
        data={"csrf_token": token, "category": "adult", "birth_year": "1990"},
    )
    [application] = applications()
    stranger = create_user(("resident",), name="남")
    client.post("/logout", data={"csrf_token": token})
    token = signed_in(client, stranger, "/profile/dependents")
    assert client.get(f"/programmes/applications/{application.id}").status_code == 404
    refused = client.post(
        f"/programmes/applications/{application.id}/withdraw", data={"csrf_token": token}
    )
    assert refused.status_code == 404
    assert applications()[0].status == "held"


# --- withdrawing ------------------------------------------------------------------------


def test_withdrawing_asks_first_and_frees_the_place(client, manager, resident, dummy_rink, clock):
    programme = create_programme(manager, dummy_rink)
    token = signed_in(client, resident, "/profile/dependents")
    client.post(
        f"/programmes/{programme.id}/apply",
        data={"csrf_token": token, "category": "adult", "birth_year": "1990"},
    )
    [application] = applications()
    mine = text(client.get("/bookings"))
    withdraw_url = f"/programmes/applications/{application.id}/withdraw"
    assert f'href="{withdraw_url}"' in mine

    confirm = client.get(withdraw_url)
    assert confirm.status_code == 200 and "신청 취소하기" in text(confirm)
    assert applications()[0].status == "held"  # asking changes nothing

    assert client.post(withdraw_url, data={}).status_code == 400  # no CSRF token
    assert applications()[0].status == "held"

    done = client.post(withdraw_url, data={"csrf_token": token})
    assert done.status_code == 303 and done.headers["Location"].endswith("/bookings#programmes")
    assert applications()[0].status == "withdrawn"
    db.session.refresh(programme)
    assert programme.enrolled == 0
    assert f'href="{withdraw_url}"' not in text(client.get("/bookings"))


def test_after_the_window_a_withdrawal_is_refused_in_korean(
    client, manager, resident, dummy_rink, clock
):
    programme = create_programme(manager, dummy_rink, window_closes_at=kst("2026-03-02", "12:00"))
    token = signed_in(client, resident, "/profile/dependents")
    client.post(
        f"/programmes/{programme.id}/apply",
        data={"csrf_token": token, "category": "adult", "birth_year": "1990"},
    )
    [application] = applications()
    clock.at = kst("2026-03-02", "12:00")
    withdraw_url = f"/programmes/applications/{application.id}/withdraw"
    assert f'href="{withdraw_url}"' not in text(client.get("/bookings"))
    refused = client.post(withdraw_url, data={"csrf_token": token})
    assert refused.status_code == 422
    assert field_error(refused, "application_id") == "신청 기간이 끝났습니다."
    assert applications()[0].status == "held"


# --- dependents -------------------------------------------------------------------------


def test_dependents_are_added_and_listed(client, resident):
    token = signed_in(client, resident, "/profile/dependents")
    added = client.post(
        "/profile/dependents", data={"csrf_token": token, "name": "김하늘", "birth_year": "2018"}
    )
    assert added.status_code == 303 and added.headers["Location"].endswith("/profile/dependents")
    assert "김하늘 (2018년생)" in text(client.get("/profile/dependents"))

    twice = client.post(
        "/profile/dependents", data={"csrf_token": token, "name": "김하늘", "birth_year": "2019"}
    )
    assert twice.status_code == 422
    assert field_error(twice, "name") == "같은 이름의 가족이 이미 등록되어 있습니다."
    blank = client.post(
        "/profile/dependents", data={"csrf_token": token, "name": "", "birth_year": "1800"}
    )
    assert field_error(blank, "name") == "꼭 입력해 주세요."
    assert field_error(blank, "birth_year") == "1900에서 2100 사이여야 합니다."
    no_csrf = client.post("/profile/dependents", data={"name": "김바다", "birth_year": "2016"})
    assert no_csrf.status_code == 400
    assert db.session.scalar(select(func.count(Dependent.id))) == 1


def test_the_programmes_link_is_in_the_navigation(client):
    assert 'href="/programmes"' in text(client.get("/"))


def test_a_programme_not_open_or_cancelled_offers_no_form(client, manager, resident, dummy_rink):
    later = create_programme(
        manager,
        dummy_rink,
        window_opens_at=kst("2026-03-20", "10:00"),
        window_closes_at=kst("2026-03-25", "18:00"),
    )
    cancelled = create_programme(manager, dummy_rink, start_time="21:00")
    enrolments.cancel_by_manager(manager, cancelled.id, "강사 사정", now())
    db.session.commit()
    signed_in(client, resident, "/profile/dependents")
    not_yet = text(client.get(f"/programmes/{later.id}"))
    assert "신청은 3월 20일 (금) 10:00부터 받습니다." in not_yet
    assert 'name="birth_year"' not in not_yet
    gone = text(client.get(f"/programmes/{cancelled.id}"))
    assert "취소된 강습입니다 (강사 사정)." in gone and 'name="birth_year"' not in gone
