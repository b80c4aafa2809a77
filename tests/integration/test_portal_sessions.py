"""Portal sessions end when they should: logout, "log out everywhere", a password change, the
idle timeout and the absolute lifetime; a login always starts a new one; revealing or
rotating a secret asks for the password again after ten minutes; and behind trusted proxies
the client's own address is the one that counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import UserSession
from tests.helpers import TEST_PASSWORD, new_project, soup
from tests.portal_client import csrf_token, log_in, post_form, post_with_token

NEW_PASSWORD = "a different passphrase"


def is_logged_in(client) -> bool:
    return client.get("/projects").status_code == 200


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def restore_cookie(client, value: str) -> None:
    client.set_cookie("session", value, domain="localhost")


def session_rows(app) -> list[UserSession]:
    with app.app_context():
        return list(db.session.scalars(select(UserSession).order_by(UserSession.id)))


@pytest.fixture
def owner(app, redis_conn) -> str:
    # redis_conn: a clean Redis, so no other test's failed logins count here.
    with app.app_context():
        new_project(name="Warung Bu Sari")
    return "owner@example.com"


def test_a_cookie_kept_from_before_logout_no_longer_opens_the_portal(client, owner):
    log_in(client)
    kept = session_cookie(client)  # what someone who copied the cookie holds

    post_with_token(client, "/logout")
    restore_cookie(client, kept)

    assert not is_logged_in(client)


def test_logout_records_how_the_session_ended_and_the_database_holds_no_token(app, client, owner):
    log_in(client)
    cookie = session_cookie(client)
    post_with_token(client, "/logout")

    [row] = session_rows(app)
    assert row.ended_reason == "logout" and row.ended_at is not None
    assert len(row.token_hash) == 64 and row.token_hash not in cookie


def test_login_replaces_whatever_session_the_browser_had_before(app, client, owner):
    # A value planted in the browser before login (session fixation) must not survive it.
    client.get("/login")
    planted = session_cookie(client)

    log_in(client)

    assert session_cookie(client) != planted
    victim_cookie = session_cookie(client)
    attacker = app.test_client()
    restore_cookie(attacker, planted)
    assert not is_logged_in(attacker)
    assert is_logged_in(client) and victim_cookie


def test_log_out_everywhere_ends_every_session_including_this_one(app, owner):
    here, there = app.test_client(), app.test_client()
    log_in(here)
    log_in(there)
    page = here.get("/account").get_data(as_text=True)
    assert page.count("<tr>") == 3  # the header and two open sessions
    assert "this browser" in page

    response = post_form(here, "/account/sessions/end-all", token_from="/account")

    assert response.status_code == 303
    assert not is_logged_in(here)
    assert not is_logged_in(there)
    assert {row.ended_reason for row in session_rows(app)} == {"logged out everywhere"}


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(app, owner):
    changer, other = app.test_client(), app.test_client()
    log_in(changer)
    log_in(other)

    post_form(
        changer,
        "/account/password",
        current_password=TEST_PASSWORD,
        new_password=NEW_PASSWORD,
        new_password_confirm=NEW_PASSWORD,
    )

    assert is_logged_in(changer)
    assert not is_logged_in(other)
    reasons = sorted(str(row.ended_reason) for row in session_rows(app))
    assert reasons == ["None", "password changed"]


def test_a_session_idle_longer_than_the_limit_ends(client, owner, clock):
    log_in(client)
    clock.shift(timedelta(minutes=119))
    assert is_logged_in(client)  # used: the idle time starts again
    clock.shift(timedelta(minutes=119))
    assert is_logged_in(client)

    clock.shift(timedelta(minutes=121))

    assert not is_logged_in(client)
    assert client.get("/projects").headers["Location"].startswith("/login")


def test_a_session_ends_at_its_absolute_lifetime_however_busy(app, client, owner, clock):
    log_in(client)
    step = timedelta(minutes=100)  # used well within the idle limit, again and again
    for _ in range(int(timedelta(days=14) / step)):  # up to just before two weeks
        clock.shift(step)
        assert is_logged_in(client)

    clock.shift(step)  # two weeks since the login have passed

    assert not is_logged_in(client)
    assert [row.ended_reason for row in session_rows(app)] == ["lifetime reached"]


def test_session_limits_are_configurable(request, app_environ, clock):
    app_environ["SESSION_IDLE_MINUTES"] = "5"
    app = request.getfixturevalue("app")
    with app.app_context():
        new_project()
    client = app.test_client()
    log_in(client)

    clock.shift(timedelta(minutes=6))

    assert not is_logged_in(client)


# -- asking for the password again ---------------------------------------------------------


def keys_url(project_id: str) -> str:
    return f"/projects/{project_id}/keys?env=sandbox"


def my_project_id(client) -> str:
    link = soup(client.get("/projects")).select_one("a[href^='/projects/prj_']")
    return link["href"].split("/")[2].split("?")[0]


def test_rotating_a_key_right_after_login_needs_no_second_password(client, owner):
    log_in(client)
    project_id = my_project_id(client)

    response = post_form(
        client, f"/projects/{project_id}/keys/rotate?env=sandbox", token_from=keys_url(project_id)
    )

    assert response.status_code == 200
    assert "Copy the new secret now" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("action", "page"),
    [
        ("keys/rotate", "keys"),
        ("webhooks/secret", "webhooks"),
        ("webhooks/secret/rotate", "webhooks"),
    ],
)
def test_after_ten_minutes_a_secret_needs_the_password_again(client, owner, clock, action, page):
    log_in(client)
    project_id = my_project_id(client)
    back = f"/projects/{project_id}/{page}?env=sandbox"
    clock.shift(timedelta(minutes=11))

    response = post_form(client, f"/projects/{project_id}/{action}?env=sandbox", token_from=back)

    assert response.status_code == 303
    confirm_url = response.headers["Location"]
    assert confirm_url.startswith("/account/confirm-password?next=")
    assert "whsec_" not in response.get_data(as_text=True)
    wrong = post_form(client, confirm_url, password="not it")
    assert "That is not your password." in wrong.get_data(as_text=True)
    right = post_form(client, confirm_url, password=TEST_PASSWORD)
    assert right.status_code == 303 and right.headers["Location"] == back

    again = post_form(client, f"/projects/{project_id}/{action}?env=sandbox", token_from=back)

    assert again.status_code == 200


def test_guessing_at_the_password_prompt_is_throttled_like_the_login(
    client, owner, clock, redis_conn
):
    log_in(client)
    for _ in range(5):
        post_form(client, "/account/confirm-password", password="nope")

    response = post_form(client, "/account/confirm-password", password=TEST_PASSWORD)

    assert "Too many failed attempts" in response.get_data(as_text=True)
    assert response.status_code == 200
    project_id = my_project_id(client)
    clock.shift(timedelta(minutes=11))
    rotate = post_form(
        client, f"/projects/{project_id}/keys/rotate?env=sandbox", token_from=keys_url(project_id)
    )
    assert rotate.status_code == 303  # still not confirmed


def test_the_confirm_page_only_sends_the_user_back_into_the_portal(client, owner):
    log_in(client)

    response = post_form(
        client,
        "/account/confirm-password?next=https://evil.example/",
        token_from="/account/confirm-password",
        password=TEST_PASSWORD,
    )

    assert response.headers["Location"] == "/projects"


# -- behind proxies ------------------------------------------------------------------------


def failed_login_from(client, forwarded_for: str):
    token = csrf_token(client, "/login")
    return client.post(
        "/login",
        data={"csrf_token": token, "email": "owner@example.com", "password": "nope"},
        headers={"X-Forwarded-For": forwarded_for},
    )


@pytest.mark.usefixtures("redis_conn")
def test_without_trusted_proxies_a_forged_forwarded_for_changes_nothing(client, owner):
    # Each failure claims another address: ignored, so the pair lock still comes at five.
    for n in range(5):
        failed_login_from(client, f"198.51.100.{n}")

    assert log_in(client).status_code == 429


@pytest.mark.usefixtures("redis_conn")
def test_behind_a_trusted_proxy_each_client_is_counted_by_its_own_address(request, app_environ):
    app_environ["TRUSTED_PROXY_HOPS"] = "1"
    app = request.getfixturevalue("app")
    with app.app_context():
        new_project()
    guesser, owner_browser = app.test_client(), app.test_client()
    for _ in range(5):
        failed_login_from(guesser, "203.0.113.5")

    token = csrf_token(owner_browser, "/login")
    response = owner_browser.post(
        "/login",
        data={"csrf_token": token, "email": "owner@example.com", "password": TEST_PASSWORD},
        headers={"X-Forwarded-For": "192.0.2.44"},
    )

    assert response.status_code == 302  # another client behind the same proxy gets in
    [row] = session_rows(app)
    assert row.remote_addr == "192.0.2.44"
