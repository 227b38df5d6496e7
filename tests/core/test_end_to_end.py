"""A new user's first minutes, over real HTTP through gunicorn worker processes."""

import requests


def test_register_token_me_and_docs_through_gunicorn(live_server):
    session = requests.Session()
    created = session.post(
        live_server("/api/auth/register"),
        json={"email": "new.user@example.kr", "password": "a long password", "name": "새 사용자"},
    )
    assert created.status_code == 201, created.text
    token = session.post(
        live_server("/api/auth/token"),
        json={"email": "new.user@example.kr", "password": "a long password"},
    )
    assert token.status_code == 200
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    # Several requests so that more than one worker process answers.
    for _ in range(8):
        me = session.get(live_server("/api/me"), headers=headers)
        assert me.status_code == 200 and me.json()["email"] == "new.user@example.kr"
    assert session.get(live_server("/api/docs")).status_code == 200
    assert session.get(live_server("/api/ready")).json()["status"] == "ok"
    bad = session.post(
        live_server("/api/auth/token"), data=b"{", headers={"Content-Type": "application/json"}
    )
    assert bad.status_code == 400 and bad.json()["code"] == "bad_request"
