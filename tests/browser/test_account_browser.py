"""Account recovery in real headless Chromium, with the links read from mail caught by a real
SMTP server: an invited merchant confirms their address and, once an operator approved the
project, creates production keys; a merchant who forgot their password sets a new one and
logs in with it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.services.accounts.users import find_user_by_email
from tests.browser.conftest import DESKTOP, screenshot
from tests.helpers import TEST_PASSWORD, new_project, new_user
from tests.mailbox import link_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("mailbox", "redis_conn")]

EMAIL = "sari@warung.example"
OPERATOR = "operator@lunas.example"
PASSWORD = "nasi goreng spesial 2026"
NEW_PASSWORD = "soto ayam lamongan 2027"


def test_an_invited_merchant_signs_up_confirms_and_goes_live_once_an_operator_approves(
    app, live_server, chromium, desktop, mailbox, run_worker
):
    app.config["REGISTRATION"] = "invite"
    with app.app_context():
        new_user(OPERATOR, operator=True)
    console = chromium.new_context(base_url=live_server, viewport=DESKTOP, locale="en-US")
    console.set_default_timeout(10_000)
    operator = console.new_page()
    log_in(operator, OPERATOR, TEST_PASSWORD)
    operator.goto("/admin/invitations")
    operator.get_by_label("Email (optional: only this address may use it)").fill(EMAIL)
    operator.get_by_role("button", name="Create invitation").click()
    invitation = operator.locator("#invitation-url").inner_text()

    page = desktop
    page.goto("/register")
    expect(page.get_by_text("sign-up on this server is by invitation", exact=False)).to_be_visible()
    page.goto(invitation)
    expect(page.get_by_label("Email")).to_have_value(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Confirm your email")).to_be_visible()
    page.get_by_role("link", name="New project").click()
    page.get_by_label("Project name").fill("Warung Bu Sari")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_text("it waits until you confirm your email address")).to_be_visible()
    project_path = page.get_by_role("link", name="Go to the project").get_attribute("href")

    run_worker()
    [message] = mailbox.wait_for(EMAIL)
    page.goto(link_in(message))
    expect(page.get_by_role("heading", name="Email confirmed")).to_be_visible()
    screenshot(page, "portal-email-confirmed")
    page.goto(f"{project_path}/keys?env=production")
    expect(page.get_by_text("Production is waiting for approval")).to_be_visible()
    expect(page.get_by_role("button", name="Create secret")).to_have_count(0)

    operator.goto("/admin")
    row = operator.locator("tr", has_text="Warung Bu Sari")
    expect(row).to_contain_text(EMAIL)
    screenshot(operator, "admin-waiting-for-approval")
    row.get_by_role("button", name="Approve production").click()
    expect(operator.get_by_text("Production approved for Warung Bu Sari.")).to_be_visible()
    expect(operator.locator(".actions-table")).to_contain_text("project.approve")
    console.close()

    page.reload()
    page.get_by_role("button", name="Create secret").click()
    expect(page.locator("#new-client-secret")).to_have_text(re.compile(r"^sk_live_"))
    screenshot(page, "portal-production-key-after-approval")


def log_in(page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/projects$"))


def test_a_merchant_who_forgot_their_password_sets_a_new_one_from_the_mail(
    app, live_server, desktop, mailbox, run_worker
):
    with app.app_context():
        new_project(owner=EMAIL)
    page = desktop
    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_text("If an account exists for that address")).to_be_visible()

    run_worker()
    [message] = mailbox.wait_for(EMAIL)
    page.goto(link_in(message))
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save the new password").click()

    expect(page).to_have_url(f"{live_server}/login")
    expect(page.get_by_text("every session of the account has ended")).to_be_visible()
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Invalid email or password.")).to_be_visible()
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server}/projects")
    with app.app_context():
        assert find_user_by_email(EMAIL).email_verified_at is not None
        db.session.remove()
