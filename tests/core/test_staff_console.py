"""The staff console's frame: who may open ``/staff/``, and the menu each role sees."""

from __future__ import annotations

from tests.fixtures.pages import log_in
from tests.fixtures.users import create_user


def test_signed_out_people_are_sent_to_log_in_first(client):
    answer = client.get("/staff/")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/login?next=/staff/")


def test_a_resident_gets_the_403_page_and_no_staff_menu(client):
    resident = create_user(email="resident@example.kr")
    log_in(client, resident.email)
    answer = client.get("/staff/")
    assert answer.status_code == 403
    assert "권한이 없습니다" in answer.get_data(as_text=True)
    assert 'href="/staff/"' not in client.get("/").get_data(as_text=True)


def test_staff_see_the_console_in_the_menu_and_their_sections(client, app):
    librarian = create_user(email="librarian@example.kr", roles=("librarian",))
    log_in(client, librarian.email)
    home = client.get("/").get_data(as_text=True)
    assert 'href="/staff/"' in home
    page = client.get("/staff/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'aria-label="업무 메뉴"' in text
    sections = app.extensions.get("staff_sections", [])
    for section in sections:
        with app.test_request_context():  # building a URL needs a request (or SERVER_NAME)
            shown = f'href="{app.url_for(section.endpoint)}"' in text
        assert shown == ("librarian" in section.roles)
