"""The managers' programme pages of the staff console over HTTP: the list with places given
and waiting, the form creating and editing a programme (the API's schemas and use cases),
cancelling, the report of applications against places per programme and group, and a
session's participants with check-in by typed code; every action audited as the API's;
residents and librarians get the 403 page; forms without their CSRF token do nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core.extensions import db
from core.settings import settings_of
from facilities.models import Application, Attendance, Lottery, Programme, ProgrammeSession
from facilities.services import enrolments
from facilities.settings import FacilitySettings
from tests.fixtures.facilities import create_programme, kst, now
from tests.fixtures.pages import audited, field_error, signed_in, text
from tests.fixtures.users import create_user


def enrol(programme, user=None) -> Application:
    application = enrolments.apply(
        user or create_user(), programme.id, now=now(), category="adult", birth_year=1990
    )
    db.session.commit()
    ref = f"pay-{application.id}"
    enrolments.confirm_payment(application.id, now(), actor="payments", payment_reference=ref)
    db.session.commit()
    return application


def form_of(resource) -> dict:
    """스케이트 중급반 as the page's form sends it: April 2026, Mon/Wed 18:00."""
    return {
        "resource_id": str(resource.id),
        "title": "스케이트 중급반",
        "level": "intermediate",
        "instructor": "박코치",
        "min_age": "10",
        "max_age": "60",
        "term_start": "2026-04-01",
        "term_end": "2026-04-30",
        "weekdays": ["0", "2"],
        "start_time": "18:00",
        "duration_minutes": "50",
        "capacity": "12",
        "min_enrolment": "0",
        "price_adult": "100,000",
        "price_child": "70000",
        "rink_places": "20",
        "enrolment": "first_come",
        "window_opens_at": "2026-03-03T10:00",
        "window_closes_at": "2026-03-12T18:00",
        "payment_hours": "48",
    }


@pytest.fixture
def programme(manager, dummy_rink):
    return create_programme(manager, dummy_rink, capacity=3)


def pages_of(programme) -> list[str]:
    session_id = db.session.scalars(select(ProgrammeSession.id)).first()
    fid = programme.facility_id
    return [
        f"/staff/facilities/{fid}/programmes",
        f"/staff/facilities/programmes/{programme.id}",
        f"/staff/facilities/{fid}/programme-report",
        f"/staff/facilities/programme-sessions/{session_id}",
    ]


@pytest.mark.parametrize("role", ["resident", "librarian"])
def test_residents_and_librarians_get_the_403_page(client, programme, dummy_rink, role):
    user = create_user((role,))
    token = signed_in(client, user)
    for path in pages_of(programme):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "권한이 없습니다" in text(answer)
    session_id = db.session.scalars(select(ProgrammeSession.id)).first()
    fid = programme.facility_id
    for path, data in (
        (f"/staff/facilities/{fid}/programmes", form_of(dummy_rink)),
        (f"/staff/facilities/programmes/{programme.id}", {"title": "바꾼 이름"}),
        (f"/staff/facilities/programmes/{programme.id}/cancel", {"reason": "강사 사정"}),
        (f"/staff/facilities/programme-sessions/{session_id}/check-in", {"code": "x"}),
    ):
        assert client.post(path, data={"csrf_token": token, **data}).status_code == 403, path
    db.session.expire_all()
    (only,) = db.session.scalars(select(Programme)).all()
    assert (only.title, only.status) == ("스케이트 초급 성인반", "open")


def test_managers_open_every_page_and_the_console_names_the_section(client, programme, manager):
    signed_in(client, manager)
    for path in pages_of(programme):
        assert client.get(path).status_code == 200, path
    assert "강습" in text(client.get("/staff/"))


def test_forms_without_their_csrf_token_do_nothing(client, programme, manager, dummy_rink):
    signed_in(client, manager)
    fid = programme.facility_id
    made = client.post(f"/staff/facilities/{fid}/programmes", data=form_of(dummy_rink))
    assert made.status_code == 400
    cancel = client.post(
        f"/staff/facilities/programmes/{programme.id}/cancel", data={"reason": "강사 사정"}
    )
    assert cancel.status_code == 400
    db.session.expire_all()
    assert [p.status for p in db.session.scalars(select(Programme))] == ["open"]


def test_a_manager_creates_a_programme_and_sees_it_listed(client, manager, dummy_rink):
    token = signed_in(client, manager)
    fid = dummy_rink.facility_id
    made = client.post(
        f"/staff/facilities/{fid}/programmes", data={"csrf_token": token, **form_of(dummy_rink)}
    )
    assert made.status_code == 303, text(made)
    programme = db.session.scalars(select(Programme)).one()
    assert made.headers["Location"].endswith(f"/staff/facilities/programmes/{programme.id}")
    assert programme.prices == {"adult": 100000, "child": 70000}
    assert programme.weekdays == [0, 2] and programme.facility_id == fid
    assert programme.window_opens_at == kst("2026-03-03", "10:00")
    page = text(client.get(made.headers["Location"]))
    assert "스케이트 중급반을 만들었습니다" in page.replace("「", "").replace("」", "")
    # Mondays and Wednesdays of April 2026: 9 lessons, each with its attendance page.
    assert page.count('id="programme-session-') == 9
    listed = text(client.get(f"/staff/facilities/{fid}/programmes"))
    row = re.search(rf'id="programme-{programme.id}">(.*?)</tr>', listed, re.S)[1]
    assert "스케이트 중급반" in row and 'class="enrolled">0 / 12<' in row
    (entry,) = audited("programme.create")
    assert entry.actor_id == manager.id and entry.target_id == str(programme.id)


def _lottery_of(programme):
    return db.session.scalars(select(Lottery).where(Lottery.programme_id == programme.id)).one()


def test_a_lottery_programme_gets_its_draw_order_and_second_tickets(client, manager, dummy_rink):
    """The lottery's extras the API takes (priority_groups, previous_programme_id,
    second_ticket), from the form: shown on the programme's page, refused next to the field."""
    token = signed_in(client, manager)
    fid = dummy_rink.facility_id
    url = f"/staff/facilities/{fid}/programmes"
    lottery = {**form_of(dummy_rink), "enrolment": "lottery"}
    form = text(client.get(url))
    assert '<option value="residents_first" selected>' in form  # the default: residents first
    first = client.post(
        url, data={"csrf_token": token, **lottery, "priority_order": "residents_first"}
    )
    assert first.status_code == 303
    last_term = db.session.scalars(select(Programme)).one()
    assert _lottery_of(last_term).priority_groups == ["resident", "everyone"]
    assert not _lottery_of(last_term).second_ticket

    # A second ticket needs the previous term's programme: refused next to the checkbox.
    refused = client.post(
        url,
        data={"csrf_token": token, **lottery, "priority_order": "together", "second_ticket": "1"},
    )
    assert refused.status_code == 422
    assert field_error(refused, "second_ticket")
    assert 'id="f-second_ticket" name="second_ticket" value="1" checked' in text(refused)
    unknown = client.post(url, data={"csrf_token": token, **lottery, "priority_order": "bribes"})
    assert unknown.status_code == 422 and field_error(unknown, "priority_order")
    assert len(db.session.scalars(select(Programme)).all()) == 1

    made = client.post(
        url,
        data={
            "csrf_token": token,
            **lottery,
            "title": "스케이트 중급반 2기",
            "term_start": "2026-05-01",
            "term_end": "2026-05-31",
            "priority_order": "together",
            "previous_programme_id": str(last_term.id),
            "second_ticket": "1",
        },
    )
    assert made.status_code == 303, text(made)
    this_term = db.session.scalars(select(Programme).where(Programme.id != last_term.id)).one()
    assert this_term.previous_programme_id == last_term.id
    assert _lottery_of(this_term).priority_groups == ["everyone"]
    assert _lottery_of(this_term).second_ticket
    page = text(client.get(made.headers["Location"]))
    order = re.search(r'id="lottery-order">(.*?)</dd>', page, re.S)[1]
    assert "누구나" in order and "시민" not in order and "추첨권 2장" in order


def test_programme_form_mistakes_are_shown_next_to_their_fields(client, manager, dummy_rink):
    token = signed_in(client, manager)
    fid = dummy_rink.facility_id
    sent = {**form_of(dummy_rink), "title": " ", "price_adult": "만원", "weekdays": "9"}
    answer = client.post(f"/staff/facilities/{fid}/programmes", data={"csrf_token": token, **sent})
    assert answer.status_code == 422
    assert field_error(answer, "title") == "꼭 입력해 주세요."
    assert field_error(answer, "price_adult")
    assert field_error(answer, "weekdays")  # not a day of the week
    # What was typed is kept.
    assert 'value="만원"' in text(answer) and 'value="박코치"' in text(answer)
    # A refusal of the use case: more lessons than the rink's 150 places (409 ice_taken).
    taken = client.post(
        f"/staff/facilities/{fid}/programmes",
        data={"csrf_token": token, **form_of(dummy_rink), "rink_places": "200"},
    )
    assert taken.status_code == 422
    assert "이미 쓰이고 있습니다" in text(taken) and 'value="200"' in text(taken)
    db.session.expire_all()
    assert db.session.scalars(select(Programme)).all() == []
    assert audited("programme.create") == []


def test_a_programme_is_edited_through_the_apis_rules(client, manager, programme, clock):
    enrol(programme)
    enrol(programme)
    token = signed_in(client, manager)
    path = f"/staff/facilities/programmes/{programme.id}"
    shown = text(client.get(path))
    assert 'id="programme-enrolled">2 / 3<' in shown and 'value="120000"' in shown
    fewer = client.post(path, data={"csrf_token": token, "capacity": "1"})
    assert fewer.status_code == 422
    assert field_error(fewer, "capacity")
    changed = client.post(path, data={"csrf_token": token, "title": "성인 초급반", "capacity": "4"})
    assert changed.status_code == 303
    db.session.expire_all()
    stored = db.session.get(Programme, programme.id)
    assert (stored.title, stored.capacity) == ("성인 초급반", 4)
    entry = audited("programme.update")[0]
    assert entry.actor_id == manager.id and entry.after["capacity"] == 4
    # The whole form as the page fills it: what is unchanged is no change, even now that
    # the window has opened.
    whole = {
        "title": "성인 초급반 A",
        "level": "beginner",
        "min_age": "19",
        "max_age": "99",
        "capacity": "4",
        "price_adult": "120000",
        "price_child": "80000",
        "window_opens_at": "2026-03-02T10:00",
        "window_closes_at": "2026-03-10T18:00",
        "payment_hours": "48",
    }
    assert 'value="2026-03-02T10:00"' in text(client.get(path))
    assert client.post(path, data={"csrf_token": token, **whole}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Programme, programme.id).title == "성인 초급반 A"
    # The window opened: prices no longer change (the API's 422 window_opened).
    late = client.post(path, data={"csrf_token": token, "price_adult": "1000"})
    assert late.status_code == 422
    assert "신청 기간이 시작되어 바꿀 수 없는 항목입니다." in text(late)


def test_a_programme_is_cancelled_with_a_reason(client, manager, programme, outbox):
    paid = enrol(programme)
    token = signed_in(client, manager)
    path = f"/staff/facilities/programmes/{programme.id}/cancel"
    blank = client.post(path, data={"csrf_token": token, "reason": " "})
    assert blank.status_code == 422 and field_error(blank, "reason") == "꼭 입력해 주세요."
    done = client.post(path, data={"csrf_token": token, "reason": "강사 사정"})
    assert done.status_code == 303
    page = text(client.get(done.headers["Location"]))
    assert "취소했습니다" in page and "취소됨" in page
    db.session.expire_all()
    assert db.session.get(Programme, programme.id).status == "cancelled"
    assert db.session.get(Application, paid.id).refund_amount == 120000
    (entry,) = audited("programme.cancel")
    assert entry.actor_id == manager.id
    assert [n["user_id"] for n in outbox if n["kind"] == "programme_cancelled"] == [paid.user_id]
    again = client.post(path, data={"csrf_token": token, "reason": "강사 사정"})
    assert again.status_code == 422 and "취소된 강습입니다." in text(again)


def test_the_report_counts_applications_against_places(client, manager, programme):
    enrol(programme)
    for _ in range(4):  # one more place, then three wait
        enrolments.apply(create_user(), programme.id, now=now(), category="adult", birth_year=1990)
    db.session.commit()
    signed_in(client, manager)
    page = text(client.get(f"/staff/facilities/{programme.facility_id}/programme-report"))
    row = re.search(rf'id="report-{programme.id}-everyone">(.*?)</tr>', page, re.S)[1]
    assert 'class="applications">5<' in row
    assert 'class="placed">3<' in row and 'class="waiting">2<' in row
    listed = text(client.get(f"/staff/facilities/{programme.facility_id}/programmes"))
    row = re.search(rf'id="programme-{programme.id}">(.*?)</tr>', listed, re.S)[1]
    assert 'class="enrolled">3 / 3<' in row and 'class="waiting">2명<' in row


def test_a_sessions_participants_are_checked_in_by_typed_code(
    app, client, manager, programme, clock
):
    first, second = enrol(programme), enrol(programme)
    secret = settings_of(FacilitySettings).checkin_secret
    code = db.session.get(Application, first.id).check_in_code(secret)
    lesson = db.session.scalars(
        select(ProgrammeSession).order_by(ProgrammeSession.starts_at)
    ).first()
    token = signed_in(client, manager)
    path = f"/staff/facilities/programme-sessions/{lesson.id}"
    shown = text(client.get(path))
    assert f'id="participant-{first.id}"' in shown and f'id="participant-{second.id}"' in shown
    early = client.post(f"{path}/check-in", data={"csrf_token": token, "code": code})
    assert early.status_code == 422
    assert field_error(early, "code") == (
        "입장 확인은 시작 30분 전부터 시작 15분 뒤까지 할 수 있습니다."
    )
    assert 'value="' + code + '"' in text(early)
    clock.at = kst("2026-04-02", "18:45")  # 15 minutes before the first lesson
    token = signed_in(client, manager)
    present = client.post(f"{path}/check-in", data={"csrf_token": token, "code": code})
    assert present.status_code == 303
    page = text(client.get(present.headers["Location"]))
    assert f"출석 확인: 신청 {first.id}번" in page and 'id="present">1명<' in page
    assert db.session.scalars(select(Attendance.application_id)).all() == [first.id]
    again = client.post(f"{path}/check-in", data={"csrf_token": token, "code": code})
    assert again.status_code == 422 and field_error(again, "code")
    forged = client.post(f"{path}/check-in", data={"csrf_token": token, "code": code + "x"})
    assert forged.status_code == 422 and field_error(forged, "code")
    (entry,) = audited("programme.check_in")
    assert entry.actor_id == manager.id and entry.target_id == str(first.id)
