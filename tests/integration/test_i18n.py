"""Bahasa Indonesia and English in the portal and the docs (SPEC §12): the browser's language
picks, the switch overrides it and is remembered; the buyer's pages stay in Bahasa Indonesia
and the API in English whatever a browser asks. The expected Indonesian is read from the
compiled catalog through the app, so a missing or unbuilt translation fails here."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup
from flask_babel import force_locale, get_translations

from app.i18n import COOKIE
from tests.helpers import CHECKOUT_URL, checkout_body, create_checkout, new_user
from tests.helpers import in_bahasa_indonesia as indonesian
from tests.portal_client import csrf_token, log_in, post_with_token

INDONESIAN = {"Accept-Language": "id-ID,id;q=0.9,en;q=0.8"}
ENGLISH = {"Accept-Language": "en-US,en;q=0.9"}


def page(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def language_of(response) -> str:
    return page(response).html["lang"]


def heading(response) -> str:
    return page(response).h1.get_text(" ", strip=True)


@pytest.mark.parametrize(
    ("accept", "language"),
    [
        ("id-ID,id;q=0.9,en-US;q=0.8", "id"),
        ("id", "id"),
        ("en-US,en;q=0.9", "en"),
        ("en;q=0.4, id;q=0.8", "id"),
        ("fr-FR,fr;q=0.9", "en"),  # neither: English, the source language
        (None, "en"),
    ],
)
def test_the_browsers_language_picks_the_portals(app, client, accept, language):
    headers = {"Accept-Language": accept} if accept else {}

    response = client.get("/login", headers=headers)

    assert response.status_code == 200
    assert language_of(response) == language
    title = heading(response)
    assert title == (indonesian(app, "Log in") if language == "id" else "Log in")


def test_the_switch_overrides_the_browser_and_is_remembered_past_logout(app, client):
    with app.app_context():
        new_user("sari@example.com")
    token = csrf_token(client, "/login")

    switched = client.post(
        "/language",
        data={"csrf_token": token, "language": "id", "next": "/login?next=%2Fprojects"},
        headers=ENGLISH,
    )

    assert switched.status_code == 303
    assert switched.headers["Location"] == "/login?next=%2Fprojects"
    cookie = switched.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=id;")
    assert "Max-Age=31536000" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert language_of(client.get("/login", headers=ENGLISH)) == "id"

    log_in(client, "sari@example.com")
    projects = client.get("/projects", headers=ENGLISH)
    assert language_of(projects) == "id"
    assert indonesian(app, "Log out") in projects.get_data(as_text=True)
    post_with_token(client, "/logout")
    assert language_of(client.get("/login", headers=ENGLISH)) == "id"

    token = csrf_token(client, "/login")
    client.post("/language", data={"csrf_token": token, "language": "en", "next": "/login"})
    assert language_of(client.get("/login", headers=INDONESIAN)) == "en"


def test_the_switch_refuses_an_unknown_language_a_missing_token_and_a_foreign_next(client):
    token = csrf_token(client, "/login")

    unknown = client.post("/language", data={"csrf_token": token, "language": "fr"})
    forged = client.post("/language", data={"language": "id", "next": "/login"})
    assert (unknown.status_code, forged.status_code) == (400, 400)
    for refused in (unknown, forged):
        assert COOKIE not in refused.headers.get("Set-Cookie", "")
    assert language_of(client.get("/login")) == "en"

    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"):
        moved = client.post(
            "/language", data={"csrf_token": token, "language": "id", "next": target}
        )
        assert moved.status_code == 303
        assert moved.headers["Location"] == "/projects", target


def test_every_page_offers_the_switch(app, client, mine):
    signed_out = app.test_client()
    for path in ("/login", "/register", "/projects", f"/projects/{mine.project_id}", "/docs"):
        browser = signed_out if path in ("/login", "/register") else client
        switch = page(browser.get(path)).find("form", class_="language-switch")
        assert switch is not None, path
        assert switch["action"] == "/language" and switch["method"] == "post"
        assert switch.find("input", attrs={"name": "csrf_token"})["value"]
        assert {b["value"] for b in switch.find_all("button")} == {"id", "en"}


PROJECT_PAGES = [
    "",
    "/payments",
    "/items",
    "/items/new",
    "/deliveries",
    "/webhooks",
    "/keys",
    "/settings",
]


def test_every_portal_page_speaks_bahasa_indonesia(app, client, mine):
    """No English the catalog translates is left on any page of a project, the account or
    the tools: a string that reaches a page without gettext shows up here in English."""
    client.set_cookie(COOKIE, "id")
    with app.test_request_context(), force_locale("id"):
        catalog = get_translations()._catalog  # noqa: SLF001  (English → Indonesian)
    english = {
        source
        for source, translated in catalog.items()
        if isinstance(source, str)
        and source != translated
        and len(source.split()) >= 3
        and "%(" not in source
        and "<" not in source
    }
    paths = [f"/projects/{mine.project_id}{path}?env=sandbox" for path in PROJECT_PAGES]
    paths += ["/projects", "/projects/new", "/account", "/tools/qris"]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert language_of(response) == "id", path
        text = " ".join(page(response).get_text(" ").split())
        left = sorted(source for source in english if source.rstrip(".") in text)
        assert not left, f"{path}: {left}"


def test_form_errors_and_service_refusals_read_in_bahasa_indonesia(app, client, mine):
    client.set_cookie(COOKIE, "id")
    app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = False
    webhooks = f"/projects/{mine.project_id}/webhooks?env=sandbox"

    refused = post_with_token(client, webhooks, url="http://127.0.0.1:8000/hooks")
    text = refused.get_data(as_text=True)
    assert refused.status_code == 200
    assert "must be reachable on the internet" not in text
    errors = [e.get_text(strip=True) for e in page(refused).select(".field-error")]
    assert len(errors) == 1 and errors[0][0].isupper()

    # The same refusal in English, to the same merchant who switched back.
    client.set_cookie(COOKIE, "en")
    english = post_with_token(client, webhooks, url="http://127.0.0.1:8000/hooks")
    assert "must be reachable on the internet" in english.get_data(as_text=True)

    # WTForms' own English never shows: an empty required field, in Bahasa Indonesia.
    client.set_cookie(COOKIE, "id")
    item = post_with_token(client, f"/projects/{mine.project_id}/items/new?env=sandbox", name="")
    assert item.status_code == 200
    assert "This field is required" not in item.get_data(as_text=True)
    assert page(item).select(".field-error")


def test_a_refusal_with_values_keeps_them_in_both_languages(app, client, mine):
    client.set_cookie(COOKIE, "id")
    long_url = "https://hooks.merchant.example/" + "x" * 2000
    webhooks = f"/projects/{mine.project_id}/webhooks?env=sandbox"

    refused = post_with_token(client, webhooks, url=long_url)

    error = page(refused).select_one(".field-error").get_text(strip=True)
    assert "2000" in error and "characters" not in error


def test_the_docs_speak_both_languages_with_the_same_code(app, client):
    english = client.get("/docs", headers=ENGLISH)
    bahasa = client.get("/docs", headers=INDONESIAN)

    assert (language_of(english), language_of(bahasa)) == ("en", "id")
    assert heading(bahasa) == indonesian(app, "Lunas developer docs")
    assert (
        page(bahasa).select_one("#quick-start h2").get_text()
        != page(english).select_one("#quick-start h2").get_text()
    )

    def snippets(response) -> list[str]:
        return [pre.get_text() for pre in page(response).select("pre.code")]

    assert snippets(bahasa) == snippets(english)  # code is code in every language


def test_the_portals_error_pages_follow_the_language(app, client):
    client.set_cookie(COOKIE, "id")

    missing = client.get("/no-such-page")

    assert missing.status_code == 404
    assert language_of(missing) == "id"
    assert indonesian(app, "Not Found") in heading(missing)


def test_buyer_pages_stay_in_bahasa_indonesia_whatever_the_browser_asks(
    app, client, project, fake_midtrans
):
    purchase_id = create_checkout(client, project)["purchase_id"]
    client.set_cookie(COOKIE, "en")

    for headers in (ENGLISH, INDONESIAN, {}):
        callback = client.get(
            "/purchase/callback", query_string={"order_id": purchase_id}, headers=headers
        )
        assert callback.status_code == 200
        assert language_of(callback) == "id"
        assert "language-switch" not in callback.get_data(as_text=True)
        missing = client.get("/purchase/callback?order_id=nothing-here", headers=headers)
        assert missing.status_code == 404 and language_of(missing) == "id"
        assert "tidak ditemukan" in missing.get_data(as_text=True)


def test_the_api_answers_in_english_to_a_browser_that_chose_bahasa_indonesia(
    client, project, fake_midtrans
):
    client.set_cookie(COOKIE, "id")
    body = checkout_body(project, amount=-5)

    refused = client.post(CHECKOUT_URL, json=body, headers=INDONESIAN)
    unauthenticated = client.post(CHECKOUT_URL, json={**body, "client_secret": "x"})

    assert refused.status_code == 400 and refused.json["error"]["code"] == "invalid_request"
    assert re.fullmatch(r"[ -~]+", refused.json["error"]["message"])  # plain English ASCII
    assert unauthenticated.json["error"]["message"] == "unknown client_id or wrong client_secret"
