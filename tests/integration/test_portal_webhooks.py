"""The portal's Webhooks page: the endpoint URL (validated,
unsafe targets refused, waiting events released), the signing secret (hidden, revealed and
rotated only by POST), a test event that really arrives signed, CSRF, and tenancy. The delivery
log and resending are in test_portal_deliveries.py."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from app.clock import format_wib
from app.extensions import db
from app.models import DeliveryStatus, Environment, EventType, WebhookDelivery
from app.services.outbox.endpoints import endpoint_for
from app.services.outbox.events import new_delivery
from tests.helpers import ISO_Z, MERCHANT_URL, ProjectKeys
from tests.portal_client import log_in, post_with_token
from tests.receiver import MerchantReceiver
from tests.webhook_flow import (
    after_the_rotation_grace,
    delivery_rows,
    lower_keys,
    point_webhooks_at,
    signing_secret,
)

WHSEC = re.compile(r"whsec_[A-Za-z0-9+/=]{40,}")


@pytest.fixture
def strangers(app, strangers) -> ProjectKeys:
    """Another user's project, whose webhooks go to MERCHANT_URL."""
    point_webhooks_at(app, strangers, MERCHANT_URL)
    return strangers


def page_url(project_id: str, path: str = "webhooks", env: str = "sandbox") -> str:
    return f"/projects/{project_id}/{path}?env={env}"


def post(client, project_id: str, path: str, env: str = "sandbox", token=True, **fields):
    return post_with_token(client, page_url(project_id, path, env), token, **fields)


def save_url(client, project_id: str, url: str, env: str = "sandbox", token=True):
    return post(client, project_id, "webhooks", env, token, url=url)


def endpoint_url(app, project_id: str, env: str = "sandbox") -> str | None:
    with app.app_context():
        return endpoint_for(project_id, Environment(env)).url


def flashed(client, response) -> str:
    return client.get(response.headers["Location"]).get_data(as_text=True)


# -- the URL -------------------------------------------------------------------------------


def test_saving_a_url_stores_it_and_says_so(app, client, mine):
    response = save_url(client, mine.project_id, f"  {MERCHANT_URL}  ")

    assert response.status_code == 303
    assert response.headers["Location"] == page_url(mine.project_id)
    assert endpoint_url(app, mine.project_id) == MERCHANT_URL
    assert endpoint_url(app, mine.project_id, "production") is None
    page = flashed(client, response)
    assert "Webhook URL saved." in page and f'value="{MERCHANT_URL}"' in page


def test_an_empty_url_clears_it(app, client, mine):
    point_webhooks_at(app, mine, MERCHANT_URL)

    response = save_url(client, mine.project_id, "")

    assert endpoint_url(app, mine.project_id) is None
    assert "Webhook URL removed" in flashed(client, response)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://hooks.merchant.example/x", "must be an https or http URL"),
        ("hooks.merchant.example/lunas", "must be an https or http URL"),
        ("https://hooks.merchant.example/a b", "at most 2000 characters"),
        ("https://user@hooks.merchant.example/", "no user name"),
        ("https:///no-host", "needs a host"),
        ("https://hooks.merchant.example/" + "x" * 2000, "at most 2000 characters"),
    ],
)
def test_bad_input_shows_a_field_error_and_changes_nothing(app, client, mine, url, message):
    point_webhooks_at(app, mine, MERCHANT_URL)

    response = save_url(client, mine.project_id, url)

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'class="field-error"' in page and message in page
    assert endpoint_url(app, mine.project_id) == MERCHANT_URL


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hooks",
        "http://localhost/hooks",
        "http://api.localhost./hooks",
        "http://[::1]/hooks",
        "http://10.1.2.3/hooks",
        "http://192.168.0.10/hooks",
        "http://169.254.169.254/latest/meta-data",
        "http://2130706433/hooks",
        "http://0x7f.1/hooks",
        "http://[::ffff:127.0.0.1]/hooks",
    ],
)
def test_unsafe_targets_are_refused_when_private_targets_are_off(app, client, mine, url):
    app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = False

    response = save_url(client, mine.project_id, url)

    assert "must be reachable on the internet" in response.get_data(as_text=True)
    assert endpoint_url(app, mine.project_id) is None


def test_a_public_url_is_accepted_when_private_targets_are_off(app, client, mine):
    app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = False

    save_url(client, mine.project_id, "https://93.184.216.34/hooks")
    assert endpoint_url(app, mine.project_id) == "https://93.184.216.34/hooks"
    save_url(client, mine.project_id, MERCHANT_URL)
    assert endpoint_url(app, mine.project_id) == MERCHANT_URL


def test_http_is_refused_when_https_is_required(app, client, mine):
    app.config["WEBHOOK_REQUIRE_HTTPS"] = True

    response = save_url(client, mine.project_id, "http://hooks.merchant.example/lunas")

    assert "must be an https URL" in response.get_data(as_text=True)
    assert endpoint_url(app, mine.project_id) is None


def test_saving_a_url_releases_the_events_waiting_for_one(app, client, mine):
    with app.app_context():
        waiting = new_delivery(mine.project_id, "sandbox", EventType.TEST, {"n": 1})
        db.session.commit()
        waiting_id = waiting.id
    assert "1 event is waiting for a webhook URL" in client.get(page_url(mine.project_id)).get_data(
        as_text=True
    )

    response = save_url(client, mine.project_id, MERCHANT_URL)

    assert "1 waiting event(s) are being sent now" in flashed(client, response)
    [row] = delivery_rows(app)
    assert (row["id"], row["status"]) == (waiting_id, "pending")


def test_saving_a_url_without_a_csrf_token_is_400_and_changes_nothing(app, client, mine):
    response = save_url(client, mine.project_id, MERCHANT_URL, token=False)

    assert response.status_code == 400
    assert endpoint_url(app, mine.project_id) is None


# -- the signing secret --------------------------------------------------------------------


def test_the_signing_secret_is_hidden_until_revealed_by_post(app, client, mine):
    secret = signing_secret(app, mine)

    page = client.get(page_url(mine.project_id)).get_data(as_text=True)
    assert secret not in page and not WHSEC.search(page)

    response = post(client, mine.project_id, "webhooks/secret")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    revealed = response.get_data(as_text=True)
    assert f'<code id="webhook-secret">{secret}</code>' in revealed
    assert 'data-copy="webhook-secret"' in revealed
    assert client.get(page_url(mine.project_id, "webhooks/secret")).status_code == 405


def test_rotate_shows_the_new_secret_and_until_when_the_old_one_signs(app, client, mine):
    old = signing_secret(app, mine)

    response = post(client, mine.project_id, "webhooks/secret/rotate")

    page = response.get_data(as_text=True)
    new = signing_secret(app, mine)
    assert new != old
    assert f'<code id="webhook-secret">{new}</code>' in page
    assert f'<code id="webhook-secret-previous">{old}</code>' in page
    with app.app_context():
        until = endpoint_for(mine.project_id, Environment.SANDBOX).previous_secret_expires_at
    assert f"Until {format_wib(until)} every webhook is signed with both" in page
    later = client.get(page_url(mine.project_id)).get_data(as_text=True)
    assert new not in later and old not in later
    assert f"the previous secret also signs until {format_wib(until)}" in later


def test_reveal_after_the_grace_shows_only_the_current_secret(app, client, mine, clock):
    post(client, mine.project_id, "webhooks/secret/rotate")
    after_the_rotation_grace(clock, app, mine)
    log_in(client)  # a day on, the portal session has ended (idle timeout)

    page = post(client, mine.project_id, "webhooks/secret").get_data(as_text=True)

    assert len(set(WHSEC.findall(page))) == 1
    assert "webhook-secret-previous" not in page


@pytest.mark.parametrize("action", ["webhooks/secret", "webhooks/secret/rotate"])
def test_secret_actions_without_a_csrf_token_are_400_and_show_nothing(app, client, mine, action):
    secret = signing_secret(app, mine)

    response = post(client, mine.project_id, action, token=False)

    assert response.status_code == 400
    assert not WHSEC.search(response.get_data(as_text=True))
    assert signing_secret(app, mine) == secret


def test_each_environment_reveals_its_own_secret(app, client, mine):
    production = signing_secret(app, mine, Environment.PRODUCTION)

    page = post(client, mine.project_id, "webhooks/secret", "production").get_data(as_text=True)

    assert production in page and signing_secret(app, mine) not in page


# -- the test event ------------------------------------------------------------------------


def test_a_test_event_is_delivered_signed_and_verifiable(app, client, mine, run_worker):
    secret = signing_secret(app, mine)
    with MerchantReceiver() as receiver:
        save_url(client, mine.project_id, receiver.url)

        response = post(client, mine.project_id, "webhooks/test")

        [row] = delivery_rows(app)
        assert response.status_code == 303
        assert response.headers["Location"] == page_url(mine.project_id, f"deliveries/{row['id']}")
        assert (row["event_type"], row["status"]) == ("test.ping", "pending")
        run_worker()  # it was enqueued after the commit
        [received] = receiver.wait_for(1)
    payload = received.verify(secret)  # the standardwebhooks library, as a merchant would
    assert lower_keys(received.headers)["webhook-id"] == row["id"]
    assert payload["event"] == "test.ping"
    assert (payload["project_id"], payload["environment"]) == (mine.project_id, "sandbox")
    assert ISO_Z.match(payload["sent_at"])
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Test event {row['id']} queued" in page
    assert "pill-delivered" in page


def test_a_test_event_without_a_url_is_refused_and_creates_nothing(app, client, mine):
    point_webhooks_at(app, mine, MERCHANT_URL, Environment.PRODUCTION)

    response = post(client, mine.project_id, "webhooks/test")

    assert response.status_code == 303
    assert "No webhook URL is set for this environment" in flashed(client, response)
    assert delivery_rows(app) == []


def test_a_test_event_goes_to_the_chosen_environment(app, client, mine):
    point_webhooks_at(app, mine, MERCHANT_URL, Environment.PRODUCTION)

    post(client, mine.project_id, "webhooks/test", "production")

    [row] = delivery_rows(app)
    assert row["environment"] == "production"
    assert json.loads(row["body"])["environment"] == "production"


def test_a_test_event_without_a_csrf_token_is_400_and_creates_nothing(app, client, mine):
    point_webhooks_at(app, mine, MERCHANT_URL)

    assert post(client, mine.project_id, "webhooks/test", token=False).status_code == 400
    assert delivery_rows(app) == []


# -- tenancy -------------------------------------------------------------------------------


def test_another_users_webhooks_cannot_be_seen_or_changed(app, client, mine, strangers):
    secret = signing_secret(app, strangers)

    responses = [
        client.get(page_url(strangers.project_id)),
        save_url(client, strangers.project_id, "https://evil.example/steal"),
        post(client, strangers.project_id, "webhooks/secret"),
        post(client, strangers.project_id, "webhooks/secret/rotate"),
        post(client, strangers.project_id, "webhooks/test"),
    ]

    for response in responses:
        assert response.status_code == 404
        assert secret not in response.get_data(as_text=True)
    assert endpoint_url(app, strangers.project_id) == MERCHANT_URL
    assert signing_secret(app, strangers) == secret
    with app.app_context():
        assert db.session.scalars(select(WebhookDelivery)).all() == []


def test_no_secret_is_ever_flashed(app, client, mine):
    point_webhooks_at(app, mine, MERCHANT_URL)
    post(client, mine.project_id, "webhooks/secret/rotate")
    for response in (
        save_url(client, mine.project_id, MERCHANT_URL),
        post(client, mine.project_id, "webhooks/test"),
    ):
        page = flashed(client, response)
        assert not WHSEC.search(page)
    with client.session_transaction() as session:
        assert "whsec_" not in repr(dict(session))
    assert DeliveryStatus.PENDING in {row["status"] for row in delivery_rows(app)}
