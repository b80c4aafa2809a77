"""The portal's Keys page: client_id with a copy button, every
secret's state, rotation that shows the new secret once (the old one works through the grace
period unless revoked at once), revocation that takes effect immediately, CSRF, and tenancy."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from app.clock import format_wib
from app.extensions import db
from app.models import ApiClient, ClientSecret
from app.models.base import utcnow
from app.services.accounts.credentials import authenticate
from tests.helpers import CHECKOUT_URL, checkout_body, new_user
from tests.portal_client import csrf_token, log_in, post_with_token

SECRET = re.compile(r"sk_(?:test|live)_[A-Za-z0-9]{48}")


def keys_url(project_id: str, env: str = "sandbox") -> str:
    return f"/projects/{project_id}/keys?env={env}"


def post(client, project_id: str, action: str, env: str = "sandbox", token=True, **fields):
    path = f"/projects/{project_id}/keys/{action}?env={env}"
    return post_with_token(client, path, token, **fields)


def rotate(client, project_id: str, env: str = "sandbox", revoke_old_now=False, token=True):
    fields = {"revoke_old_now": "y"} if revoke_old_now else {}
    return post(client, project_id, "rotate", env, token, **fields)


def shown_secret(response) -> str:
    [secret] = set(SECRET.findall(response.get_data(as_text=True)))
    return secret


def secret_rows(app, project_id: str, env: str = "sandbox") -> list[tuple]:
    with app.app_context():
        rows = db.session.execute(
            select(ClientSecret.id, ClientSecret.expires_at, ClientSecret.revoked_at)
            .join(ApiClient)
            .where(ApiClient.project_id == project_id, ApiClient.environment == env)
            .order_by(ClientSecret.id)
        )
        return [tuple(row) for row in rows]


def secret_id(app, project_id: str, env: str = "sandbox") -> int:
    return secret_rows(app, project_id, env)[0][0]


def works(app, client_id: str, secret: str) -> bool:
    with app.app_context():
        return authenticate(client_id, secret) is not None


# -- the page ------------------------------------------------------------------------------


def test_the_page_shows_client_id_with_a_copy_button_and_only_a_hint_of_the_secret(client, mine):
    page = client.get(keys_url(mine.project_id)).get_data(as_text=True)

    assert f'<code id="client-id">{mine.sandbox_id}</code>' in page
    assert 'data-copy="client-id"' in page
    assert f"sk_test_…{mine.sandbox_secret[-4:]}" in page
    assert "live" in page
    assert mine.sandbox_secret not in page
    assert "Rotate secret" in page


def test_each_environment_shows_its_own_client(client, mine):
    page = client.get(keys_url(mine.project_id, "production")).get_data(as_text=True)

    assert mine.production_id in page and f"sk_live_…{mine.production_secret[-4:]}" in page
    assert mine.sandbox_id not in page


def test_the_page_needs_a_login(client, app, mine):
    client.post("/logout", data={"csrf_token": csrf_token(client, "/projects")})

    response = client.get(keys_url(mine.project_id))

    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


# -- rotate --------------------------------------------------------------------------------


def test_rotate_shows_the_new_secret_once_and_it_works(app, client, mine):
    response = rotate(client, mine.project_id)

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    secret = shown_secret(response)
    assert secret.startswith("sk_test_") and secret != mine.sandbox_secret
    assert "it will not be shown again" in page
    assert 'data-copy="new-client-secret"' in page
    assert works(app, mine.sandbox_id, secret)
    # ...and never again: not on the page, not in the session.
    assert secret not in client.get(keys_url(mine.project_id)).get_data(as_text=True)
    with client.session_transaction() as session:
        assert secret not in repr(dict(session))


def test_after_a_rotation_the_old_secret_works_until_the_grace_ends(app, client, mine, clock):
    before = utcnow()
    response = rotate(client, mine.project_id)

    assert works(app, mine.sandbox_id, mine.sandbox_secret)
    [(old_id, expires_at, revoked_at), _new] = secret_rows(app, mine.project_id)
    assert revoked_at is None
    assert before + timedelta(hours=24) <= expires_at <= utcnow() + timedelta(hours=24)
    assert f"keeps working until <strong>{format_wib(expires_at)}</strong>" in (
        response.get_data(as_text=True)
    )
    page = client.get(keys_url(mine.project_id)).get_data(as_text=True)
    assert f"valid until {format_wib(expires_at)}" in page and "(rotation grace)" in page

    clock.move_to(expires_at + timedelta(seconds=1))  # the grace ends
    assert not works(app, mine.sandbox_id, mine.sandbox_secret)
    log_in(client)  # a day on, the portal session has ended (idle timeout)
    assert "expired" in client.get(keys_url(mine.project_id)).get_data(as_text=True)


def test_rotate_with_revoke_old_now_refuses_the_old_secret_at_once(app, client, mine):
    response = rotate(client, mine.project_id, revoke_old_now=True)

    assert works(app, mine.sandbox_id, shown_secret(response))
    assert not works(app, mine.sandbox_id, mine.sandbox_secret)
    assert "No previous secret works any more" in response.get_data(as_text=True)
    assert secret_rows(app, mine.project_id)[0][2] is not None


def test_the_rotated_secret_is_what_the_platform_api_accepts(app, client, mine, fake_midtrans):
    secret = shown_secret(rotate(client, mine.project_id, revoke_old_now=True))
    body = checkout_body(mine)

    refused = client.post(CHECKOUT_URL, json=body)
    accepted = client.post(CHECKOUT_URL, json={**body, "client_secret": secret})

    assert refused.status_code == 401
    assert refused.get_json()["error"]["code"] == "invalid_client"
    assert accepted.status_code == 201, accepted.get_json()


def test_rotating_one_environment_leaves_the_other_alone(app, client, mine):
    rotate(client, mine.project_id, "production", revoke_old_now=True)

    assert works(app, mine.sandbox_id, mine.sandbox_secret)
    assert not works(app, mine.production_id, mine.production_secret)
    assert len(secret_rows(app, mine.project_id, "sandbox")) == 1


# -- revoke --------------------------------------------------------------------------------


def test_revoke_refuses_the_secret_immediately(app, client, mine):
    response = post(client, mine.project_id, f"{secret_id(app, mine.project_id)}/revoke")

    assert response.status_code == 303
    assert response.headers["Location"] == keys_url(mine.project_id)
    assert not works(app, mine.sandbox_id, mine.sandbox_secret)
    page = client.get(keys_url(mine.project_id)).get_data(as_text=True)
    assert f"Secret sk_test_…{mine.sandbox_secret[-4:]} revoked" in page
    assert "revoked " in page and "Revoke</button>" not in page


def test_a_revoked_secret_is_refused_by_the_platform_api(app, client, mine, fake_midtrans):
    post(client, mine.project_id, f"{secret_id(app, mine.project_id)}/revoke")

    response = client.post(CHECKOUT_URL, json=checkout_body(mine))

    assert response.status_code == 401


def test_with_every_secret_revoked_the_action_reads_create_secret(app, client, mine):
    post(client, mine.project_id, f"{secret_id(app, mine.project_id)}/revoke")
    page = client.get(keys_url(mine.project_id)).get_data(as_text=True)
    assert "Create secret</button>" in page and "Rotate secret</button>" not in page

    response = rotate(client, mine.project_id)

    assert works(app, mine.sandbox_id, shown_secret(response))
    assert "No previous secret works any more" in response.get_data(as_text=True)


def test_revoking_a_revoked_secret_says_so_and_changes_nothing(app, client, mine):
    sid = secret_id(app, mine.project_id)
    post(client, mine.project_id, f"{sid}/revoke")
    client.get(keys_url(mine.project_id))  # consumes the first message
    before = secret_rows(app, mine.project_id)

    response = post(client, mine.project_id, f"{sid}/revoke")

    assert response.status_code == 303
    assert "This secret is already revoked" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    assert secret_rows(app, mine.project_id) == before


# -- CSRF ----------------------------------------------------------------------------------


def test_rotate_without_a_csrf_token_is_400_and_issues_nothing(app, client, mine):
    before = secret_rows(app, mine.project_id)

    response = rotate(client, mine.project_id, revoke_old_now=True, token=False)

    assert response.status_code == 400
    assert not SECRET.search(response.get_data(as_text=True))
    assert secret_rows(app, mine.project_id) == before
    assert works(app, mine.sandbox_id, mine.sandbox_secret)


def test_revoke_without_a_csrf_token_is_400_and_revokes_nothing(app, client, mine):
    response = post(
        client, mine.project_id, f"{secret_id(app, mine.project_id)}/revoke", token=False
    )

    assert response.status_code == 400
    assert works(app, mine.sandbox_id, mine.sandbox_secret)


# -- tenancy -------------------------------------------------------------------------------


def test_the_other_environments_secret_cannot_be_revoked(app, client, mine):
    production_secret = secret_id(app, mine.project_id, "production")

    response = post(client, mine.project_id, f"{production_secret}/revoke", env="sandbox")

    assert response.status_code == 404
    assert works(app, mine.production_id, mine.production_secret)


def test_another_users_keys_cannot_be_seen_rotated_or_revoked(app, client, mine, strangers):
    theirs = secret_id(app, strangers.project_id)
    before = secret_rows(app, strangers.project_id)

    assert client.get(keys_url(strangers.project_id)).status_code == 404
    assert rotate(client, strangers.project_id).status_code == 404
    assert post(client, strangers.project_id, f"{theirs}/revoke").status_code == 404
    # Their secret's id under my own project is not found either.
    assert post(client, mine.project_id, f"{theirs}/revoke").status_code == 404

    assert secret_rows(app, strangers.project_id) == before
    assert works(app, strangers.sandbox_id, strangers.sandbox_secret)


def test_an_unknown_secret_is_404(client, mine):
    assert post(client, mine.project_id, "999999/revoke").status_code == 404


def test_a_user_without_the_project_gets_404_for_its_keys(app, client, mine):
    with app.app_context():
        new_user("second@example.com")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/projects")})
    log_in(client, "second@example.com")

    assert client.get(keys_url(mine.project_id)).status_code == 404
    assert rotate(client, mine.project_id).status_code == 404
    assert works(app, mine.sandbox_id, mine.sandbox_secret)
