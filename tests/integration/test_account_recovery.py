"""Accounts a merchant can recover and prove: the verification mail and what an unverified
account may not do, the password reset link (single use, 30 minutes, ends every session, the
same answer for unknown addresses), and mail that goes out through a real SMTP server via the
RQ worker, with retries, in Bahasa Indonesia and English."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from rq import Queue
from sqlalchemy import func, select

from app.extensions import db
from app.models import ApiClient, ClientSecret, Environment
from app.services.accounts.users import find_user_by_email
from tests.helpers import TEST_PASSWORD, invoke, new_user, soup
from tests.mailbox import body_of, link_in
from tests.portal_client import log_in, post_form

NEW_PASSWORD = "a brand new passphrase"
pytestmark = pytest.mark.usefixtures("mailbox")


def is_logged_in(client) -> bool:
    return client.get("/projects").status_code == 200


def path_of(link: str) -> str:
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == "http://lunas.test"  # PUBLIC_BASE_URL
    return parts.path


def register(client, email: str):
    return post_form(
        client, "/register", email=email, password=TEST_PASSWORD, password_confirm=TEST_PASSWORD
    )


def create_project_in_portal(client, name: str = "Toko Ani") -> tuple[str, str]:
    page = post_form(client, "/projects/new", name=name)
    assert page.status_code == 200
    project_id = re.search(r"prj_[A-Za-z0-9]+", page.get_data(as_text=True)).group(0)
    return project_id, page.get_data(as_text=True)


def production_secrets(app, project_id: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count(ClientSecret.id))
            .join(ApiClient)
            .where(
                ApiClient.project_id == project_id,
                ApiClient.environment == Environment.PRODUCTION,
            )
        )


def forgot(client, email: str):
    return post_form(client, "/password/forgot", email=email)


@pytest.fixture
def owner(app, redis_conn) -> str:
    with app.app_context():
        new_user("owner@example.com")
    return "owner@example.com"


# -- verification --------------------------------------------------------------------------


def test_a_new_account_is_mailed_a_link_that_confirms_its_address(app, client, mailbox, run_worker):
    register(client, "ani@example.com")
    run_worker()

    [message] = mailbox.wait_for("ani@example.com")
    assert "Konfirmasi email" in message["Subject"] and "Confirm your" in message["Subject"]
    text = body_of(message)
    assert "mengonfirmasi alamat email" in text and "confirm the email address" in text
    with app.app_context():
        assert find_user_by_email("ani@example.com").email_verified_at is None

    page = client.get(path_of(link_in(message)))

    assert page.status_code == 200
    assert "Email confirmed" in page.get_data(as_text=True)
    with app.app_context():
        assert find_user_by_email("ani@example.com").email_verified_at is not None
    assert "Confirm your email" not in client.get("/projects").get_data(as_text=True)


def test_an_unverified_account_works_in_sandbox_but_gets_no_production_keys(
    app, client, mailbox, run_worker
):
    register(client, "ani@example.com")
    assert "Confirm your email" in client.get("/projects").get_data(as_text=True)

    project_id, created = create_project_in_portal(client)

    assert "sk_test_" in created and "sk_live_" not in created
    assert "confirm your email address" in created
    assert production_secrets(app, project_id) == 0
    keys = f"/projects/{project_id}/keys?env=production"
    assert "confirm your email address first" in client.get(keys).get_data(as_text=True)
    refused = post_form(client, f"/projects/{project_id}/keys/rotate?env=production", keys)
    assert refused.status_code == 303
    assert production_secrets(app, project_id) == 0

    run_worker()
    client.get(path_of(link_in(mailbox.wait_for("ani@example.com")[0])))
    # Confirmed: what production still waits for is the operator's approval.
    assert "waiting for approval" in client.get(keys).get_data(as_text=True)
    assert invoke(app, "projects", "approve", project_id).exit_code == 0
    created = post_form(client, f"/projects/{project_id}/keys/rotate?env=production", keys)

    assert "sk_live_" in created.get_data(as_text=True)
    assert production_secrets(app, project_id) == 1


def test_a_forged_or_altered_verification_link_confirms_nothing(app, client, mailbox, run_worker):
    register(client, "ani@example.com")
    run_worker()
    link = link_in(mailbox.wait_for("ani@example.com")[0])

    for bad in (path_of(link)[:-3] + "xyz", "/verify-email/nothing", "/verify-email/" + "A" * 500):
        assert client.get(bad).status_code == 400
    with app.app_context():
        assert find_user_by_email("ani@example.com").email_verified_at is None


def test_a_reset_link_cannot_stand_in_for_a_verification_link(app, owner, mailbox, run_worker):
    with app.app_context():
        user = find_user_by_email(owner)
        user.email_verified_at = None
        db.session.commit()
    client = app.test_client()
    forgot(client, owner)
    run_worker()
    token = path_of(link_in(mailbox.wait_for(owner)[0])).rsplit("/", 1)[1]

    assert client.get(f"/verify-email/{token}").status_code == 400


def test_resending_the_link_is_limited_to_one_mail_a_minute(app, client, mailbox, run_worker):
    register(client, "ani@example.com")
    for _ in range(3):
        post_form(client, "/account/verify-email/resend", token_from="/account")
    run_worker()

    assert len(mailbox.wait_for("ani@example.com")) == 1


# -- password reset ------------------------------------------------------------------------


def test_forgot_password_answers_the_same_whether_or_not_the_address_exists(
    app, owner, mailbox, run_worker
):
    known = forgot(app.test_client(), owner)
    unknown = forgot(app.test_client(), "nobody@example.com")
    run_worker()

    def notice(page) -> str:
        return soup(page).select_one("[role=status]").get_text(" ", strip=True)

    assert known.status_code == unknown.status_code == 200
    assert notice(known) == notice(unknown)
    assert "If an account exists for that address" in notice(known)
    assert len(mailbox.wait_for(owner)) == 1
    assert mailbox.to("nobody@example.com") == []


def test_the_reset_link_sets_a_new_password_once_and_ends_every_session(
    app, owner, mailbox, run_worker
):
    here, there = app.test_client(), app.test_client()
    log_in(here)
    log_in(there)
    forgot(app.test_client(), owner)
    run_worker()
    [message] = mailbox.wait_for(owner)
    assert "Atur ulang kata sandi" in message["Subject"] and "Reset your" in message["Subject"]
    assert "30 menit" in body_of(message) and "30 minutes" in body_of(message)
    reset = path_of(link_in(message))
    stranger = app.test_client()

    form = stranger.get(reset)
    assert form.status_code == 200 and form.headers["Cache-Control"] == "no-store"
    done = post_form(stranger, reset, password=NEW_PASSWORD, password_confirm=NEW_PASSWORD)

    assert done.status_code == 303 and done.headers["Location"] == "/login"
    assert not is_logged_in(here) and not is_logged_in(there)
    assert log_in(app.test_client(), password=TEST_PASSWORD).status_code == 200
    assert log_in(app.test_client(), password=NEW_PASSWORD).status_code == 302
    # Used once: the same link opens nothing any more.
    assert stranger.get(reset).status_code == 400
    again = app.test_client()
    assert "This link no longer works" in again.get(reset).get_data(as_text=True)


def test_the_reset_link_expires_after_thirty_minutes(app, owner, mailbox, run_worker, clock):
    forgot(app.test_client(), owner)
    run_worker()
    reset = path_of(link_in(mailbox.wait_for(owner)[0]))
    client = app.test_client()
    assert client.get(reset).status_code == 200

    clock.shift(timedelta(minutes=31))

    assert client.get(reset).status_code == 400
    assert log_in(app.test_client()).status_code == 302  # the password did not change


def test_a_newer_reset_link_does_not_revive_after_an_older_one_is_used(
    app, owner, mailbox, run_worker, redis_conn
):
    forgot(app.test_client(), owner)
    run_worker()
    redis_conn.delete(*redis_conn.keys("lunas:mail-cooldown:*"))  # a minute later
    forgot(app.test_client(), owner)
    run_worker()
    first, second = (path_of(link_in(message)) for message in mailbox.wait_for(owner, count=2))
    client = app.test_client()

    post_form(client, second, password=NEW_PASSWORD, password_confirm=NEW_PASSWORD)

    assert client.get(first).status_code == 400  # every link made before the change is dead


def test_the_reset_form_refuses_a_short_or_mismatched_password(app, owner, mailbox, run_worker):
    forgot(app.test_client(), owner)
    run_worker()
    reset = path_of(link_in(mailbox.wait_for(owner)[0]))
    client = app.test_client()

    short = post_form(client, reset, password="short", password_confirm="short")
    mismatch = post_form(client, reset, password=NEW_PASSWORD, password_confirm="other words")

    assert "at least 8 characters" in short.get_data(as_text=True)
    assert "do not match" in mismatch.get_data(as_text=True)
    assert log_in(app.test_client()).status_code == 302  # unchanged
    assert client.get(reset).status_code == 200  # and the link still works


def test_the_login_page_leads_to_the_reset(client):
    page = soup(client.get("/login"))
    assert page.select_one("a[href='/password/forgot']") is not None


# -- the mail path -------------------------------------------------------------------------


def test_mail_goes_through_the_worker_and_is_retried_while_smtp_is_down(
    request, app_environ, redis_conn
):
    app_environ["SMTP_URL"] = "smtp://127.0.0.1:9"  # nothing listens there
    app = request.getfixturevalue("app")
    run_worker = request.getfixturevalue("run_worker")
    with app.app_context():
        new_user("owner@example.com")
    forgot(app.test_client(), "owner@example.com")
    queue = Queue("default", connection=redis_conn)
    assert queue.count == 1  # queued, not sent by the web request

    run_worker()

    assert queue.count == 0
    assert queue.scheduled_job_registry.count == 1  # a retry is on its way, not lost
    assert queue.failed_job_registry.count == 0


def test_with_redis_down_the_mail_is_sent_at_once_instead_of_lost(request, app_environ, mailbox):
    app_environ["REDIS_URL"] = "redis://127.0.0.1:9/15"  # nothing listens there
    app = request.getfixturevalue("app")
    with app.app_context():
        new_user("owner@example.com")

    forgot(app.test_client(), "owner@example.com")

    assert len(mailbox.wait_for("owner@example.com")) == 1


def test_the_queued_job_carries_no_link_or_token(app, owner, redis_conn):
    forgot(app.test_client(), owner)

    [job] = Queue("default", connection=redis_conn).jobs
    assert job.func_name == "app.jobs.send_account_mail"
    assert job.args == ("password_reset", job.args[1]) and isinstance(job.args[1], int)
