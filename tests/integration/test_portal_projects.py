"""Portal projects: create one and get its keys once, rename it, set
its store URL template, switch environments under an unmistakable sandbox banner, and never
reach another user's project."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Project
from app.services.accounts.credentials import authenticate
from tests.helpers import CHECKOUT_URL, basic_auth, link, new_user, row_count, soup
from tests.portal_client import log_in, post_form

TEMPLATE = "https://karejo.example/{store_slug}"


@pytest.fixture
def owner(app, client):
    with app.app_context():
        new_user("owner@example.com")
    log_in(client)
    return "owner@example.com"


@pytest.fixture
def strangers_project(strangers) -> str:
    return strangers.project_id


def create(client, name="Warung Bu Sari", template=TEMPLATE):
    return post_form(client, "/projects/new", name=name, store_url_template=template)


def created_project_id(response) -> str:
    """The project id on the "is ready" page, from its "Go to the project" link."""
    return link(response, "Go to the project").split("?")[0].removeprefix("/projects/")


def shown(page, element_id: str) -> str:
    return soup(page).find(id=element_id).get_text()


def test_a_new_project_shows_its_sandbox_secret_once_and_production_waits_for_approval(
    app, client, owner
):
    response = create(client)

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    sandbox = shown(page, "client-secret-sandbox")
    sandbox_id, production_id = (
        shown(page, "client-id-sandbox"),
        shown(page, "client-id-production"),
    )
    assert sandbox.startswith("sk_test_")
    assert sandbox_id.startswith("lk_test_") and production_id.startswith("lk_live_")
    # Production takes real money: no secret until an operator approves the project.
    assert soup(page).find(id="client-secret-production") is None
    assert "this server's operator approves the project" in page
    with app.app_context():
        assert authenticate(sandbox_id, sandbox) is not None
        project = db.session.scalar(select(Project))
        assert (project.name, project.store_url_template) == ("Warung Bu Sari", TEMPLATE)
        assert project.production_approved_at is None

    listing = client.get("/projects").get_data(as_text=True)
    assert "Warung Bu Sari" in listing and f"/projects/{project.id}" in listing
    assert "production waiting for approval" in listing
    # Shown once: no later page carries a secret.
    for path in ("/projects", f"/projects/{project.id}/settings"):
        later = client.get(path).get_data(as_text=True)
        assert sandbox not in later


@pytest.mark.parametrize(
    ("name", "template", "error"),
    [
        ("", TEMPLATE, "Give the project a name."),
        ("x" * 101, TEMPLATE, "Name must be 1-100 characters."),
        ("Toko", "https://karejo.example/shop", "{store_slug} exactly once"),
        ("Toko", "https://{store_slug}/", "{store_slug} may only stand in the path"),
        ("Toko", "javascript:alert(1)//{store_slug}", "must be an"),
    ],
)
def test_a_project_with_bad_fields_is_refused_with_the_reason(
    app, client, owner, name, template, error
):
    response = create(client, name=name, template=template)

    assert response.status_code == 200
    assert error in response.get_data(as_text=True)
    assert row_count(app, Project) == 0


def test_creating_a_project_without_the_csrf_token_is_refused(app, client, owner):
    response = client.post("/projects/new", data={"name": "Toko", "store_url_template": ""})

    assert response.status_code == 400
    assert row_count(app, Project) == 0


def test_renaming_and_changing_the_store_url_template(app, client, owner):
    project_id = created_project_id(create(client))
    path = f"/projects/{project_id}/settings"

    response = post_form(
        client, path, name="Warung Bu Sari 2", store_url_template="https://b.example/s/{store_slug}"
    )

    assert response.status_code == 302
    assert "Project saved." in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        project = db.session.get(Project, project_id)
        assert project.name == "Warung Bu Sari 2"
        assert project.store_url_template == "https://b.example/s/{store_slug}"

    # An empty template removes the "back to the store" link; a bad one changes nothing.
    post_form(client, path, name="Warung Bu Sari 2", store_url_template="")
    refused = post_form(client, path, name="Lain", store_url_template="https://x.example/")
    assert "{store_slug} exactly once" in refused.get_data(as_text=True)
    with app.app_context():
        project = db.session.get(Project, project_id)
        assert (project.name, project.store_url_template) == ("Warung Bu Sari 2", None)


def test_the_sandbox_banner_and_the_environment_switch(app, client, owner):
    project_id = created_project_id(create(client))

    sandbox = client.get(f"/projects/{project_id}/keys").get_data(as_text=True)
    production = client.get(f"/projects/{project_id}/keys?env=production").get_data(as_text=True)

    assert "SANDBOX" in sandbox and "no real money" in sandbox
    assert "SANDBOX" not in production and "PRODUCTION" in production
    for page in (sandbox, production):
        assert f'href="/projects/{project_id}/keys?env=sandbox"' in page
        assert f'href="/projects/{project_id}/keys?env=production"' in page
    # The tabs stay in the chosen environment.
    assert f'href="/projects/{project_id}/payments?env=production"' in production
    assert client.get(f"/projects/{project_id}/keys?env=staging").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/settings",
        "/keys",
        "/webhooks",
        "/payments",
        "/deliveries",
        "/keys?env=production",
    ],
)
def test_another_users_project_is_not_found(app, client, owner, strangers_project, path):
    response = client.get(f"/projects/{strangers_project}{path}")

    assert response.status_code == 404
    assert client.get(f"/projects/prj_doesnotexist{path}").status_code == 404
    assert "Toko Orang Lain" not in response.get_data(as_text=True)
    assert "Toko Orang Lain" not in client.get("/projects").get_data(as_text=True)


def test_another_users_project_cannot_be_renamed(app, client, owner, strangers_project):
    own = created_project_id(create(client))

    response = post_form(
        client,
        f"/projects/{strangers_project}/settings",
        token_from=f"/projects/{own}/settings",
        name="Taken over",
        store_url_template="",
    )

    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(Project, strangers_project).name == "Toko Orang Lain"


def test_project_pages_need_a_login(app, client, strangers_project):
    response = client.get(f"/projects/{strangers_project}/keys")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_portal_pages_are_not_cached_framed_or_open_to_foreign_scripts(app, client, owner):
    response = client.get("/projects")

    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy


def test_the_created_page_offers_a_sandbox_checkout_command_that_works(
    app, client, owner, fake_midtrans
):
    command = shown(create(client), "try-checkout")
    url = re.search(r"curl -X POST (\S+)", command).group(1)
    user, secret = re.search(r"-u '([^:']+):([^']+)'", command).groups()
    body = json.loads(re.search(r"-d '(.*)'", command).group(1))
    assert url == app.config["PUBLIC_BASE_URL"] + CHECKOUT_URL
    assert user.startswith("lk_test_") and secret.startswith("sk_test_")

    # Run as the merchant's terminal would: Basic credentials, the JSON body as printed.
    answer = client.post(CHECKOUT_URL, json=body, headers=basic_auth(user, secret))
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["environment"] == "sandbox"
    # The project has a store URL template: the first checkout comes back to the store.
    verify = client.get(
        f"/api/platform/shop-payment/verify?order_id={answer.get_json()['purchase_id']}"
    ).get_json()
    assert verify["redirect_url"] == "https://karejo.example/my-store"


def test_without_a_store_url_template_the_command_sends_no_store_slug(app, client, owner):
    command = shown(create(client, template=""), "try-checkout")

    assert "metadata" not in json.loads(re.search(r"-d '(.*)'", command).group(1))
