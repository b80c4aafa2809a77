"""Tenant isolation in the portal: every portal URL that names a
project, payment, delivery, key or item is checked against the signed-in user. User A, signed in,
tries every such route (found in the URL map, so a new route is covered the day it is added)
with user B's ids, by GET and by POST with a valid CSRF token: each answers 404, exactly like an
id that does not exist, shows none of B's data, and changes nothing in the database."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ClientSecret, Environment, WebhookDelivery
from app.services.items import catalog
from app.services.outbox.endpoints import set_endpoint_url
from app.services.scope import ProjectEnvironment
from tests.fakes import FakeMidtrans
from tests.helpers import create_payment, new_project
from tests.portal_client import csrf_token, log_in
from tests.webhook_flow import settle

B_NAME = "Toko Rahasia B"


@pytest.fixture
def tenants(app, client, fake_midtrans: FakeMidtrans) -> dict[str, Any]:
    """A owns one project, B another; B has a settled payment, its delivery and its keys."""
    with app.app_context():
        own = new_project(name="Toko A", owner="a@example.com")
        other = new_project(name=B_NAME, owner="b@example.com")
        set_endpoint_url(other.project_id, Environment.SANDBOX, "https://b.example/hooks")
    purchase_id = create_payment(client, other, buyer_email="rahasia@b.example")
    settle(client, fake_midtrans, purchase_id)
    with app.app_context():
        delivery_id = db.session.scalar(select(WebhookDelivery.id))
        secret_id = db.session.scalar(select(ClientSecret.id).order_by(ClientSecret.id.desc()))
        scope = ProjectEnvironment(other.project_id, Environment.SANDBOX)
        item_id = catalog.create_item(scope, {"name": f"{B_NAME} item", "price": 1}).item_id
    log_in(client, "a@example.com")
    return {
        "own": own.project_id,
        "values": {
            "project_id": other.project_id,
            "purchase_id": purchase_id,
            "delivery_id": delivery_id,
            "secret_id": secret_id,
            "item_id": item_id,
            "kind": "svg",
        },
    }


def portal_project_rules(app):
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("portal.") and "project_id" in rule.arguments
    ]


def database_snapshot(app) -> dict[str, list]:
    with app.app_context():
        return {
            table.name: sorted(map(tuple, db.session.execute(select(table)).all()), key=repr)
            for table in db.metadata.sorted_tables
        }


def test_every_project_route_is_covered_by_this_test(app):
    covered = {"project_id", "purchase_id", "delivery_id", "secret_id", "item_id", "kind"}
    for rule in portal_project_rules(app):
        assert set(rule.arguments) <= covered, f"{rule.rule}: teach this test its arguments"
    assert len(portal_project_rules(app)) >= 8


def test_another_users_objects_are_not_found_by_any_route_or_method(app, client, tenants):
    token = csrf_token(client, f"/projects/{tenants['own']}/settings")
    before = database_snapshot(app)
    tried = []

    for rule in portal_project_rules(app):
        path = rule.build({k: tenants["values"][k] for k in rule.arguments})[1]
        for method in sorted(rule.methods & {"GET", "POST"}):
            for env in ("sandbox", "production"):
                url = f"{path}?env={env}"
                if method == "GET":
                    response = client.get(url)
                else:
                    response = client.post(url, data={"csrf_token": token, "url": "", "since": ""})
                tried.append(f"{method} {url}")
                assert response.status_code == 404, f"{method} {url}: {response.status_code}"
                page = response.get_data(as_text=True)
                assert B_NAME not in page and "rahasia@b.example" not in page

    assert len(tried) >= 20
    assert database_snapshot(app) == before


def test_another_users_objects_are_not_found_under_ones_own_project(app, client, tenants):
    """The object's id checked against the project in the URL, not only the project against
    the user: A's project id with B's payment, event or secret id."""
    token = csrf_token(client, f"/projects/{tenants['own']}/settings")
    before = database_snapshot(app)
    tried = []

    for rule in portal_project_rules(app):
        if rule.arguments == {"project_id"}:
            continue
        values = {**tenants["values"], "project_id": tenants["own"]}
        path = rule.build({k: values[k] for k in rule.arguments})[1]
        for method in sorted(rule.methods & {"GET", "POST"}):
            url = f"{path}?env=sandbox"
            if method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, data={"csrf_token": token})
            tried.append(f"{method} {url}")
            assert response.status_code == 404, f"{method} {url}: {response.status_code}"
            assert "rahasia@b.example" not in response.get_data(as_text=True)

    assert len(tried) >= 4  # payment, delivery (and its resend), revoke a secret
    assert database_snapshot(app) == before


def test_the_same_projects_other_environment_does_not_show_an_object(app, client, fake_midtrans):
    with app.app_context():
        own = new_project(name="Toko A", owner="a@example.com")
        set_endpoint_url(own.project_id, Environment.SANDBOX, "https://a.example/hooks")
    purchase_id = create_payment(client, own)
    settle(client, fake_midtrans, purchase_id)
    with app.app_context():
        delivery_id = db.session.scalar(select(WebhookDelivery.id))
    log_in(client, "a@example.com")
    base = f"/projects/{own.project_id}"

    for path in (f"{base}/payments/{purchase_id}", f"{base}/deliveries/{delivery_id}"):
        assert client.get(f"{path}?env=sandbox").status_code == 200
        assert client.get(f"{path}?env=production").status_code == 404

    # On a one-object page the switch leads to the other environment's list, not a 404.
    page = client.get(f"{base}/payments/{purchase_id}?env=sandbox").get_data(as_text=True)
    assert f'href="{base}/payments?env=production"' in page
