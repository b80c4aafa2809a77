"""Portal accounts: register, log in and out, change password, the
projects list, CSRF on every form, the failed-login throttle, and safe ?next= redirects."""

from __future__ import annotations

import logging
import time
from urllib.parse import quote

import pytest

from app.extensions import db
from app.models import User
from app.services.accounts import login_throttle
from app.services.accounts.users import find_user_by_email
from tests.helpers import TEST_PASSWORD, new_project, new_user
from tests.portal_client import csrf_token, log_in, post_form

NEW_PASSWORD = "a different passphrase"


def register(client, email: str, password: str = TEST_PASSWORD, confirm: str | None = None):
    return post_form(
        client,
        "/register",
        email=email,
        password=password,
        password_confirm=password if confirm is None else confirm,
    )


def is_logged_in(client) -> bool:
    return client.get("/projects").status_code == 200


@pytest.fixture
def owner(app):
    with app.app_context():
        new_user("owner@example.com")
    return "owner@example.com"


def test_register_logs_in_and_projects_shows_only_own_projects(app, client):
    response = register(client, "Ani@Example.com")

    assert response.status_code == 302 and response.headers["Location"] == "/projects"
    with app.app_context():
        user = find_user_by_email("ani@example.com")
        assert user is not None and user.password_hash.startswith("scrypt:")
        mine = new_project(name="Toko Ani", owner="ani@example.com")
        new_project(name="Warung Orang Lain", owner="other@example.com")
    page = client.get("/projects").get_data(as_text=True)
    assert "Toko Ani" in page and mine.project_id in page
    assert "Warung Orang Lain" not in page


def test_projects_shows_an_empty_state(client, owner):
    log_in(client)
    assert "You have no projects yet." in client.get("/projects").get_data(as_text=True)


def test_projects_without_login_redirects_to_login(client):
    response = client.get("/projects")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_root_redirects_to_login_or_projects(client, owner):
    assert client.get("/").headers["Location"] == "/login"
    log_in(client)
    assert client.get("/").headers["Location"] == "/projects"


def test_portal_pages_are_english(client):
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)


def test_register_refuses_a_duplicate_email(app, client, owner):
    response = register(client, "OWNER@example.com")

    assert response.status_code == 200
    assert "An account with this email already exists." in response.get_data(as_text=True)
    assert not is_logged_in(client)
    with app.app_context():
        assert db.session.query(User).count() == 1


@pytest.mark.parametrize(
    ("email", "password", "confirm", "message"),
    [
        ("ani@example.com", "short", "short", "Password must be at least 8 characters."),
        ("ani@example.com", TEST_PASSWORD, "something else", "The passwords do not match."),
        ("not-an-email", TEST_PASSWORD, TEST_PASSWORD, "Enter a valid email address."),
    ],
    ids=["short-password", "mismatched-confirm", "bad-email"],
)
def test_register_refuses_bad_input(app, client, email, password, confirm, message):
    response = register(client, email, password, confirm)

    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert not is_logged_in(client)
    with app.app_context():
        assert db.session.query(User).count() == 0


def test_login_with_the_right_password_logs_in(client, owner):
    response = log_in(client, email=" Owner@Example.com")
    assert response.status_code == 302 and response.headers["Location"] == "/projects"
    assert is_logged_in(client)


@pytest.mark.parametrize("email", ["owner@example.com", "nobody@example.com"])
def test_login_with_a_wrong_password_or_unknown_email_shows_one_error(client, owner, email):
    response = log_in(client, email=email, password="wrong password")

    assert response.status_code == 200
    assert "Invalid email or password." in response.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "_user_id" not in session
    assert not is_logged_in(client)


def test_logout_needs_post_with_csrf(client, owner):
    log_in(client)

    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert is_logged_in(client)

    token = csrf_token(client, "/projects")  # the nav's logout form
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not is_logged_in(client)


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        (
            "/register",
            {"email": "ani@example.com", "password": "x" * 12, "password_confirm": "x" * 12},
        ),
        ("/login", {"email": "owner@example.com", "password": TEST_PASSWORD}),
    ],
)
def test_forms_without_csrf_token_are_refused(app, client, owner, path, fields):
    assert app.config.get("WTF_CSRF_ENABLED", True) is True

    response = client.post(path, data=fields)

    assert response.status_code == 400
    assert not is_logged_in(client)


def test_change_password_logs_out_other_sessions_and_keeps_this_one(app, owner):
    changer, other = app.test_client(), app.test_client()
    log_in(changer)
    log_in(other)

    response = post_form(
        changer,
        "/account/password",
        current_password=TEST_PASSWORD,
        new_password=NEW_PASSWORD,
        new_password_confirm=NEW_PASSWORD,
    )

    assert response.status_code == 200
    assert "Password changed." in response.get_data(as_text=True)
    assert is_logged_in(changer)
    assert not is_logged_in(other)
    fresh = app.test_client()
    assert log_in(fresh, password=TEST_PASSWORD).status_code == 200
    assert log_in(fresh, password=NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [
        ("wrong password", NEW_PASSWORD, NEW_PASSWORD, "Current password is incorrect."),
        (TEST_PASSWORD, "short", "short", "Password must be at least 8 characters."),
        (TEST_PASSWORD, NEW_PASSWORD, "something else", "The passwords do not match."),
    ],
    ids=["wrong-current", "short-new", "mismatched-confirm"],
)
def test_change_password_refuses_bad_input(app, client, owner, current, new, confirm, message):
    log_in(client)

    response = post_form(
        client,
        "/account/password",
        current_password=current,
        new_password=new,
        new_password_confirm=confirm,
    )

    assert message in response.get_data(as_text=True)
    assert is_logged_in(client)  # nothing changed: the session goes on
    assert log_in(app.test_client(), password=TEST_PASSWORD).status_code == 302


def test_change_password_requires_login(client):
    assert client.get("/account/password").headers["Location"].startswith("/login?next=")


def client_at(app, address: str):
    """A browser at another network address."""
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = address
    return browser


@pytest.mark.usefixtures("redis_conn")
def test_five_failures_lock_the_email_from_that_address_even_for_the_right_password(
    app, client, owner
):
    with app.app_context():
        new_user("bystander@example.com")
    for _ in range(5):
        assert "Invalid email or password." in log_in(client, password="nope").get_data(
            as_text=True
        )

    response = log_in(client)

    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)
    assert not is_logged_in(client)
    assert log_in(app.test_client(), email="bystander@example.com").status_code == 302


@pytest.mark.usefixtures("redis_conn")
def test_a_stranger_guessing_elsewhere_does_not_lock_the_owner_out(app, client, owner):
    stranger = client_at(app, "203.0.113.66")
    for _ in range(6):
        log_in(stranger, password="nope")
    assert log_in(stranger).status_code == 429

    assert log_in(client).status_code == 302  # the owner, from their own address


@pytest.mark.usefixtures("redis_conn")
def test_guessing_spread_over_many_addresses_locks_the_email_for_everyone(app, client, owner):
    for n in range(10):  # 10 addresses × 5 = MAX_FAILURES_PER_EMAIL
        browser = client_at(app, f"198.51.100.{n + 1}")
        for _ in range(5):
            log_in(browser, password="nope")

    assert log_in(client).status_code == 429
    assert log_in(client_at(app, "192.0.2.1"), email="other@example.com").status_code == 200


@pytest.mark.usefixtures("redis_conn")
def test_many_failures_from_one_address_slow_it_but_never_lock_out_a_right_password(
    app, client, owner
):
    # One address is often a whole office behind a proxy, or a carrier's NAT: a stranger
    # there trying a list of accounts must not keep a colleague with the right password out.
    office = "203.0.113.7"
    stranger, colleague = client_at(app, office), client_at(app, office)
    for n in range(50):  # MAX_FAILURES_PER_ADDRESS, one try per email
        log_in(stranger, email=f"user{n}@example.com", password="nope")

    started = time.monotonic()
    wrong = log_in(stranger, email="owner@example.com", password="nope")
    assert time.monotonic() - started >= login_throttle.ADDRESS_SLOWDOWN_SECONDS
    assert wrong.status_code == 200
    assert "Invalid email or password." in wrong.get_data(as_text=True)

    assert log_in(colleague).status_code == 302  # the right password, from the same address
    assert is_logged_in(colleague)
    assert log_in(client).status_code == 302  # and everyone elsewhere is unaffected


@pytest.mark.usefixtures("redis_conn")
def test_the_lock_message_says_what_is_locked(app, owner):
    here = client_at(app, "198.51.100.9")
    for _ in range(5):
        log_in(here, password="nope")
    assert "for this email from your network" in log_in(here).get_data(as_text=True)

    for n in range(9):  # with the 5 above: 50 failures for the email, from many addresses
        browser = client_at(app, f"192.0.2.{n + 1}")
        for _ in range(5):
            log_in(browser, password="nope")
    elsewhere = log_in(client_at(app, "192.0.2.200")).get_data(as_text=True)
    assert "Too many failed attempts for this email. Try again in 15 minutes." in elsewhere


def test_the_lock_expires_after_fifteen_minutes(app, client, owner, redis_conn):
    for _ in range(5):
        log_in(client, password="nope")
    keys = redis_conn.keys("lunas:login-failures:*")
    assert len(keys) == 3 and all(0 < redis_conn.ttl(key) <= 15 * 60 for key in keys)

    redis_conn.delete(*keys)  # what the expiry does

    assert log_in(client).status_code == 302


def test_a_successful_login_clears_earlier_failures_from_that_address(client, owner, redis_conn):
    for _ in range(4):
        log_in(client, password="nope")
    assert log_in(client).status_code == 302
    assert redis_conn.keys("lunas:login-failures:pair:*") == []
    # The wider counts keep running: a success cannot reset a spread-out attack's count.
    assert len(redis_conn.keys("lunas:login-failures:*")) == 2


def test_login_works_when_redis_is_down(request, app_environ, caplog):
    app_environ["REDIS_URL"] = "redis://127.0.0.1:9/15"  # nothing listens there
    app = request.getfixturevalue("app")
    with app.app_context():
        new_user("owner@example.com")
    client = app.test_client()

    with caplog.at_level(logging.WARNING, logger="app.services.accounts.login_throttle"):
        assert log_in(client, password="nope").status_code == 200
        assert log_in(client).status_code == 302

    assert is_logged_in(client)
    assert "login throttle unavailable" in caplog.text


@pytest.mark.parametrize(
    ("next_param", "landing"),
    [
        ("https://evil.example", "/projects"),
        ("//evil.example", "/projects"),
        ("/\\evil.example", "/projects"),
        ("/projects", "/projects"),
        ("/account/password", "/account/password"),
    ],
)
def test_login_follows_only_local_next(client, owner, next_param, landing):
    response = log_in(client, path=f"/login?next={quote(next_param, safe='')}")
    assert response.status_code == 302
    assert response.headers["Location"] == landing
