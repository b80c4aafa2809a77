"""Operator commands: users and projects, with the documented JSON output."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ClientSecret, User
from app.security import hash_secret
from tests.helpers import invoke


def create_project(app, name: str, *options: str):
    """`flask projects create` for a new owner, ani@example.com."""
    invoke(app, "users", "create", "--email", "ani@example.com", "--password", "s3cret-pass")
    return invoke(app, "projects", "create", "--owner", "ani@example.com", "--name", name, *options)


def test_users_create_prints_the_user_and_hashes_the_password(app):
    result = invoke(
        app, "users", "create", "--email", "Ani@Example.com", "--password", "s3cret-pass"
    )

    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document == {"user": {"id": document["user"]["id"], "email": "ani@example.com"}}
    with app.app_context():
        user = db.session.scalar(select(User))
        assert "s3cret-pass" not in user.password_hash
        assert user.password_hash.startswith("scrypt:")


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [("not-an-email", "long enough", "email is not valid"), ("a@example.com", "short", "password")],
)
def test_users_create_refuses_bad_input(app, email, password, message):
    result = invoke(app, "users", "create", "--email", email, "--password", password)
    assert result.exit_code != 0 and message in result.output


def test_projects_create_prints_both_environments_once(app):
    result = create_project(
        app,
        "Warung Bu Sari",
        "--webhook-url",
        "https://karejo.example/hooks/lunas",
        "--store-url-template",
        "https://karejo.example/{store_slug}",
    )

    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["project"]["name"] == "Warung Bu Sari"
    assert document["project"]["id"].startswith("prj_")
    for environment, client_prefix, secret_prefix in (
        ("sandbox", "lk_test_", "sk_test_"),
        ("production", "lk_live_", "sk_live_"),
    ):
        keys = document[environment]
        assert set(keys) == {"client_id", "client_secret", "webhook_url", "webhook_secret"}
        assert keys["client_id"].startswith(client_prefix)
        assert keys["client_secret"].startswith(secret_prefix)
        assert len(keys["client_secret"]) >= len(secret_prefix) + 43  # >= 32 random bytes
        assert keys["webhook_url"] == "https://karejo.example/hooks/lunas"
        assert keys["webhook_secret"].startswith("whsec_")
    with app.app_context():
        stored = db.session.scalars(select(ClientSecret.secret_hash)).all()
    # Only hashes are stored: the secrets themselves appear nowhere in the database.
    assert sorted(stored) == sorted(
        hash_secret(document[env]["client_secret"]) for env in ("sandbox", "production")
    )


@pytest.mark.parametrize(
    "template",
    [
        "ftp://karejo.example/{store_slug}",
        "https://karejo.example/shop",  # no placeholder
        "https://karejo.example/{store_slug}/{store_slug}",
        "https://karejo.example/{store_slug}?x={other}",
        "https://{store_slug}",  # the slug would be the whole host
        "https://karejo.example{store_slug}",
        "https://user@karejo.example/{store_slug}",
        "javascript:alert(1)//{store_slug}",
    ],
)
def test_projects_create_refuses_unsafe_store_url_templates(app, template):
    result = create_project(app, "Toko", "--store-url-template", template)
    assert result.exit_code != 0
    assert "store" in result.output.lower()


@pytest.mark.parametrize(
    "template",
    [
        "https://karejo.example/{store_slug}",
        "https://{store_slug}.karejo.example/",
        "http://localhost:8000/toko/{store_slug}?from=lunas",
    ],
)
def test_projects_create_accepts_safe_store_url_templates(app, template):
    result = create_project(app, "Toko", "--store-url-template", template)
    assert result.exit_code == 0, result.output


def test_projects_create_needs_an_existing_owner(app):
    result = invoke(app, "projects", "create", "--owner", "nobody@example.com", "--name", "X")
    assert result.exit_code != 0 and "no user" in result.output
