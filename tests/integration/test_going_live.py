"""Going live: who may sign up (REGISTRATION and single-use invitations), an operator who
approves a project's production and may suspend it, the record of every operator action, and
a merchant who archives a project or sends the "new project" form twice."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Invitation, OperatorAction, Payment, Project, User, WebhookDelivery
from tests.conftest import SERVER_KEY
from tests.helpers import (
    CHECKOUT_URL,
    TEST_PASSWORD,
    checkout_body,
    create_payment,
    invoke,
    new_project,
    new_user,
    notification,
    row_count,
    soup,
    table_rows,
    text_of,
)
from tests.portal_client import csrf_token, log_in, post_form, post_with_token
from tests.webhook_flow import post_notification

NEW_PASSWORD = "a-good-long-password"


def register(client, email: str, invitation: str | None = None):
    path = "/register" + (f"?invitation={invitation}" if invitation else "")
    token = csrf_token(client, "/login")  # the session's token; /register may refuse a GET
    return client.post(
        path,
        data={
            "csrf_token": token,
            "email": email,
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )


def invitation_token(url: str) -> str:
    return re.search(r"invitation=([A-Za-z0-9]+)$", url).group(1)


def cli_invitation(app, *options: str) -> dict:
    result = invoke(app, "invitations", "create", *options)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def users(app) -> list[str]:
    return sorted(row["email"] for row in table_rows(app, User))


def actions(app) -> list[tuple[str, str, str]]:
    rows = table_rows(app, OperatorAction)
    return [(row["actor"], row["action"], row["subject"]) for row in rows]


@pytest.fixture
def operator(app):
    with app.app_context():
        new_user("operator@example.com")
    assert invoke(app, "users", "promote", "--email", "operator@example.com").exit_code == 0
    browser = app.test_client()
    log_in(browser, "operator@example.com")
    return browser


def admin_post(browser, path: str, **fields: str):
    return browser.post(path, data={"csrf_token": csrf_token(browser, "/admin"), **fields})


# -- who may sign up -------------------------------------------------------------------------


def test_open_registration_needs_no_invitation(app, client):
    assert app.config["REGISTRATION"] == "open"  # the default outside production

    response = register(client, "ani@example.com")

    assert response.status_code == 302
    assert users(app) == ["ani@example.com"]
    assert "Create one" in client.application.test_client().get("/login").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/register", "/register?invitation=made-up"])
def test_invite_only_refuses_a_sign_up_without_a_usable_invitation(app, client, path):
    app.config["REGISTRATION"] = "invite"

    page = client.get(path)
    response = register(client, "ani@example.com", path.partition("=")[2] or None)

    assert page.status_code == 403 and response.status_code == 403
    assert 'name="password_confirm"' not in page.get_data(as_text=True)  # no form at all
    expected = "by invitation" if path == "/register" else "cannot be used"
    assert expected in text_of(page)
    assert users(app) == []
    assert "by invitation from its operator" in text_of(client.get("/login"))


def test_an_invitation_from_the_cli_signs_up_once(app, client):
    app.config["REGISTRATION"] = "invite"
    issued = cli_invitation(app)
    assert issued["url"].startswith("http://lunas.test/register?invitation=")
    assert issued["expires_at"].endswith("Z")
    token = invitation_token(issued["url"])

    form = client.get(f"/register?invitation={token}")
    assert form.status_code == 200 and "You were invited" in text_of(form)
    first = register(client, "ani@example.com", token)
    again = register(app.test_client(), "budi@example.com", token)

    assert first.status_code == 302
    assert again.status_code == 403 and "cannot be used" in text_of(again)
    assert users(app) == ["ani@example.com"]
    [row] = table_rows(app, Invitation)
    assert row["used_at"] is not None and row["token_hash"] != token  # only the hash is kept
    assert actions(app) == [("command line", "invitation.create", "anyone")]


def test_an_invitation_for_one_address_refuses_another_and_stays_usable(app, client):
    app.config["REGISTRATION"] = "invite"
    token = invitation_token(cli_invitation(app, "--email", "Ani@Example.com")["url"])

    prefilled = soup(client.get(f"/register?invitation={token}")).find(id="email")
    wrong = register(client, "budi@example.com", token)
    right = register(client, "ani@example.com", token)

    assert prefilled["value"] == "ani@example.com"
    assert wrong.status_code == 200 and "This invitation is for ani@example.com" in text_of(wrong)
    assert right.status_code == 302
    assert users(app) == ["ani@example.com"]


def test_a_sign_up_that_fails_leaves_the_invitation_unused(app, client):
    app.config["REGISTRATION"] = "invite"
    with app.app_context():
        new_user("ani@example.com")
    token = invitation_token(cli_invitation(app)["url"])

    taken = register(client, "ani@example.com", token)
    after = register(client, "budi@example.com", token)

    assert "An account with this email already exists." in text_of(taken)
    assert after.status_code == 302
    assert users(app) == ["ani@example.com", "budi@example.com"]


def test_an_invitation_expires_after_seven_days(app, client, clock):
    app.config["REGISTRATION"] = "invite"
    token = invitation_token(cli_invitation(app)["url"])

    clock.shift(timedelta(days=7, seconds=1))
    response = register(client, "ani@example.com", token)

    assert response.status_code == 403
    assert users(app) == []


@pytest.mark.postgres_only
def test_two_sign_ups_racing_with_one_link_make_one_account(app, live_server):
    import threading

    import requests

    app.config["REGISTRATION"] = "invite"
    token = invitation_token(cli_invitation(app)["url"])
    sessions = []
    for _ in range(2):
        browser = requests.Session()
        page = browser.get(f"{live_server}/register?invitation={token}")
        csrf = soup(page.text).find("input", attrs={"name": "csrf_token"})["value"]
        sessions.append((browser, csrf))
    answers = []

    def sign_up(index: int) -> None:
        browser, csrf = sessions[index]
        answers.append(
            browser.post(
                f"{live_server}/register?invitation={token}",
                data={
                    "csrf_token": csrf,
                    "email": f"racer{index}@example.com",
                    "password": NEW_PASSWORD,
                    "password_confirm": NEW_PASSWORD,
                },
                allow_redirects=False,
            ).status_code
        )

    threads = [threading.Thread(target=sign_up, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answers) == [302, 403]
    assert len(users(app)) == 1


def test_closed_registration_refuses_even_an_invitation(app, client):
    token = invitation_token(cli_invitation(app)["url"])
    app.config["REGISTRATION"] = "closed"

    response = register(client, "ani@example.com", token)

    assert response.status_code == 403 and "closed" in text_of(response)
    assert users(app) == []


def test_an_operator_invites_from_the_console_and_can_withdraw_it(app, client, operator):
    app.config["REGISTRATION"] = "invite"

    made = admin_post(operator, "/admin/invitations", email="ani@example.com")
    url = soup(made).find(id="invitation-url").get_text()
    token = invitation_token(url)
    listing = text_of(operator.get("/admin/invitations"))
    [row] = table_rows(app, Invitation)
    withdrawn = admin_post(operator, f"/admin/invitations/{row['id']}/revoke")
    refused = register(client, "ani@example.com", token)

    assert made.status_code == 200 and url not in listing  # the link is shown once
    assert "pending" in listing and "ani@example.com" in listing
    assert withdrawn.status_code == 303
    assert refused.status_code == 403 and users(app) == ["operator@example.com"]
    assert actions(app) == [
        ("command line", "user.promote", "operator@example.com"),
        ("operator@example.com", "invitation.create", "ani@example.com"),
        ("operator@example.com", "invitation.revoke", "ani@example.com"),
    ]


# -- production approval ---------------------------------------------------------------------


def portal_project(app, client) -> str:
    """owner@example.com (verified, signed in) creates a project in the portal: its id."""
    with app.app_context():
        new_user("owner@example.com")
    log_in(client)
    response = post_form(client, "/projects/new", name="Warung Bu Sari", store_url_template="")
    assert response.status_code == 200
    with app.app_context():
        return db.session.scalar(select(Project.id))


def test_a_portal_project_gets_production_keys_only_after_an_operator_approves(
    app, client, operator
):
    project_id = portal_project(app, client)
    keys = f"/projects/{project_id}/keys?env=production"

    waiting = client.get(keys)
    refused = post_with_token(client, f"/projects/{project_id}/keys/rotate?env=production")
    told = text_of(client.get(refused.location))
    console = text_of(operator.get("/admin"))
    approved = admin_post(operator, f"/admin/projects/{project_id}/approve", back="index")
    created = post_with_token(client, f"/projects/{project_id}/keys/rotate?env=production")

    assert "waiting for approval" in text_of(waiting)
    assert refused.status_code == 303 and "Production is not approved" in told
    assert "Warung Bu Sari" in console and "owner@example.com" in console
    assert approved.status_code == 303 and approved.location.endswith("/admin/")
    secret = soup(created).find(id="new-client-secret").get_text()
    assert secret.startswith("sk_live_")
    assert "No project is waiting." in text_of(operator.get("/admin"))
    assert actions(app)[-1] == ("operator@example.com", "project.approve", project_id)


def test_projects_approve_from_the_cli_prints_the_project_and_records_it(app, client):
    project_id = portal_project(app, client)

    result = invoke(app, "projects", "approve", project_id)
    unknown = invoke(app, "projects", "approve", "prj_nope")

    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["project"]["production_approved_at"].endswith("Z")
    assert unknown.exit_code != 0 and "no project" in unknown.output
    assert actions(app) == [("command line", "project.approve", project_id)]


def test_projects_made_with_the_cli_are_approved(app):
    invoke(app, "users", "create", "--email", "ani@example.com", "--password", TEST_PASSWORD)
    result = invoke(app, "projects", "create", "--owner", "ani@example.com", "--name", "Toko")

    assert json.loads(result.output)["production"]["client_secret"].startswith("sk_live_")
    [project] = table_rows(app, Project)
    assert project["production_approved_at"] is not None


def test_a_production_key_of_an_unapproved_project_starts_no_checkout(
    app, client, project, fake_midtrans
):
    with app.app_context():
        db.session.get(Project, project.project_id).production_approved_at = None
        db.session.commit()

    response = client.post(CHECKOUT_URL, json=checkout_body(project, "production"))

    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "production_not_approved"
    assert row_count(app, Payment) == 0
    assert client.post(CHECKOUT_URL, json=checkout_body(project, "sandbox")).status_code == 201


# -- suspension ------------------------------------------------------------------------------


def test_a_suspended_project_starts_no_checkout_but_money_already_moving_goes_on(
    app, client, project, fake_midtrans
):
    pending = create_payment(client, project)

    suspended = invoke(app, "projects", "suspend", project.project_id, "--reason", "chargebacks")
    refused = {
        environment: client.post(
            CHECKOUT_URL, json=checkout_body(project, environment, order_id=f"new-{environment}")
        )
        for environment in ("sandbox", "production")
    }
    fake_midtrans.set_status(pending, "settlement", "75000.00")
    settled = post_notification(client, json.dumps(notification(pending, "settlement", SERVER_KEY)))
    verify = client.get(f"/api/platform/shop-payment/verify?order_id={pending}").get_json()

    assert suspended.exit_code == 0
    assert json.loads(suspended.output)["project"]["suspended_at"].endswith("Z")
    for response in refused.values():
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "project_suspended"
    assert row_count(app, Payment) == 1  # nothing stored for the refused checkouts
    assert settled.status_code == 200 and verify["status"] == "settlement"
    with app.app_context():
        assert db.session.scalar(select(WebhookDelivery.event_type)) == "item.purchased"

    resumed = invoke(app, "projects", "resume", project.project_id)
    assert resumed.exit_code == 0
    assert (
        client.post(CHECKOUT_URL, json=checkout_body(project, order_id="after")).status_code == 201
    )
    assert [action for _, action, _ in actions(app)] == ["project.suspend", "project.resume"]
    assert table_rows(app, OperatorAction)[0]["detail"] == "Warung Bu Sari: chargebacks"


def test_an_operator_suspends_from_the_console_and_the_owner_sees_it(app, client, mine, operator):
    merchants = text_of(operator.get("/admin/merchants"))
    suspended = admin_post(
        operator, f"/admin/projects/{mine.project_id}/suspend", reason="unpaid invoices"
    )
    settings = text_of(client.get(f"/projects/{mine.project_id}/settings"))
    log = text_of(operator.get("/admin/actions"))

    assert "owner@example.com" in merchants and "Warung Bu Sari" in merchants
    assert suspended.status_code == 303 and suspended.location.endswith("/admin/merchants")
    assert "Suspended by this server's operator" in settings
    assert "suspended" in text_of(client.get("/projects"))
    assert "operator@example.com" in log and "project.suspend" in log
    assert "unpaid invoices" in log


@pytest.mark.parametrize(
    "path",
    [
        "/admin/merchants",
        "/admin/invitations",
        "/admin/actions",
    ],
)
def test_the_console_is_a_404_for_merchants_and_strangers(app, client, mine, path):
    anonymous = app.test_client()

    assert client.get(path).status_code == 404
    assert anonymous.get(path).status_code == 404


@pytest.mark.parametrize("action", ["approve", "suspend", "resume"])
def test_a_merchant_cannot_approve_or_suspend_even_with_a_csrf_token(app, client, mine, action):
    with app.app_context():
        db.session.get(Project, mine.project_id).production_approved_at = None
        db.session.commit()

    response = post_with_token(client, f"/admin/projects/{mine.project_id}/{action}")
    bare = client.post(f"/admin/projects/{mine.project_id}/{action}")

    assert response.status_code == 404 and bare.status_code == 404
    [row] = table_rows(app, Project)
    assert row["production_approved_at"] is None and row["suspended_at"] is None
    assert actions(app) == []


def test_an_operators_form_without_a_csrf_token_changes_nothing(app, mine, operator):
    response = operator.post(f"/admin/projects/{mine.project_id}/suspend")

    assert response.status_code == 400
    assert table_rows(app, Project)[0]["suspended_at"] is None


# -- the merchant's own projects: archive, and a form sent twice -----------------------------


def test_an_archived_project_leaves_the_list_refuses_checkouts_and_can_be_restored(
    app, client, mine, fake_midtrans
):
    archived = post_with_token(client, f"/projects/{mine.project_id}/archive")
    listing = soup(client.get("/projects"))
    refused = client.post(CHECKOUT_URL, json=checkout_body(mine))
    restored = post_with_token(client, f"/projects/{mine.project_id}/restore")

    assert archived.status_code == 303
    assert (
        listing.select(".project-list.archived li")
        and "Warung Bu Sari" in listing.select_one(".project-list.archived").get_text()
    )
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "project_archived"
    assert restored.status_code == 303
    assert not soup(client.get("/projects")).select(".project-list.archived")
    assert client.post(CHECKOUT_URL, json=checkout_body(mine)).status_code == 201


def test_sending_the_new_project_form_twice_makes_one_project(app, client):
    with app.app_context():
        new_user("owner@example.com")
    log_in(client)
    form = soup(client.get("/projects/new"))
    fields = {
        "csrf_token": form.find("input", attrs={"name": "csrf_token"})["value"],
        "creation_token": form.find("input", attrs={"name": "creation_token"})["value"],
        "name": "Warung Bu Sari",
        "store_url_template": "",
    }

    first = client.post("/projects/new", data=fields)
    reload = client.post("/projects/new", data=fields)
    told = text_of(client.get(reload.location))
    another = soup(client.get("/projects/new")).find("input", attrs={"name": "creation_token"})

    assert first.status_code == 200
    [project] = table_rows(app, Project)
    assert reload.status_code == 303
    assert reload.location.endswith(f"/projects/{project['id']}")
    assert "already created" in told
    assert another["value"] != fields["creation_token"]  # each form shown gets its own


def test_the_console_shows_the_platforms_health(app, client, fake_midtrans, operator):
    with app.app_context():
        project = new_project(webhook_url="http://127.0.0.1:9/hooks/lunas")
    pending = create_payment(client, project)
    fake_midtrans.set_status(pending, "settlement", "75000.00")
    post_notification(client, json.dumps(notification(pending, "settlement", SERVER_KEY)))

    page = soup(operator.get("/admin"))

    assert "none alive" in page.find(id="health-worker").get_text()  # no worker runs here
    assert "1;" in page.find(id="health-due").get_text()  # item.purchased waits for one
    assert page.find(id="health-failed").get_text().startswith("0 ")
    assert "(applied)" in page.find(id="health-notification-sandbox").get_text()
    assert page.find(id="health-notification-production").get_text() == "none yet"


def test_with_redis_down_the_console_says_the_workers_are_unknown(app, operator):
    app.config["REDIS_URL"] = "redis://127.0.0.1:9/0"
    app.extensions.pop("lunas_redis", None)

    page = soup(operator.get("/admin"))

    assert "unknown: Redis does not answer" in page.find(id="health-worker").get_text()
