"""Driving the portal through Flask's test client: CSRF tokens, forms, logging in."""

from __future__ import annotations

from tests.helpers import TEST_PASSWORD, csrf_token_in


def csrf_token(client, path: str) -> str:
    return csrf_token_in(client.get(path))


def post_form(client, path: str, token_from: str | None = None, **fields: str):
    """POST a form with a valid CSRF token taken from the page it lives on (`token_from`,
    default the same path)."""
    token = csrf_token(client, token_from or path)
    return client.post(path, data={"csrf_token": token, **fields})


def log_in(client, email: str = "owner@example.com", password: str = TEST_PASSWORD, path="/login"):
    return post_form(client, path, email=email, password=password)


def post_with_token(client, path: str, token: bool = True, **fields):
    """POST to a portal action with a session's valid CSRF token (taken from /projects), or
    with none (token=False)."""
    data = dict(fields)
    if token:
        data["csrf_token"] = csrf_token(client, "/projects")
    return client.post(path, data=data)
