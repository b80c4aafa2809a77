"""The security headers on every response, not only on the pages of the portal and the buyer:
API answers and their error envelope, the Midtrans notification endpoint's answer, error pages
(404, 405, 500) and static files. In production over https they add Strict-Transport-Security;
in development and tests, and on a production trial on a loopback address, they never do (a
browser would then refuse plain http to localhost for a year)."""

from __future__ import annotations

import pytest

from tests.helpers import CHECKOUT_URL, NOTIFY_URL, VERIFY_URL, create_payment
from tests.portal_client import log_in

HSTS = "max-age=31536000; includeSubDomains"
PRODUCTION = {
    "LUNAS_ENV": "production",
    "SECRET_KEY": "production-secret-key-0123456789abcdef",
    "LUNAS_DATA_KEY": "production-data-key-0123456789abcdefgh",
    "PUBLIC_BASE_URL": "https://lunas.example",
    "MIDTRANS_SIMULATOR": "0",
}
BOOM_PAGE, BOOM_API = "/_test/boom", "/api/_test/boom"


def _boom():
    raise RuntimeError("a bug nobody caught")


@pytest.fixture
def production(app_environ) -> None:
    """The app as production runs it (ask for it before `app`)."""
    app_environ.update(PRODUCTION)


@pytest.fixture
def with_a_bug(app):
    """A page and an API path that fail with an unexpected exception (a 500)."""
    app.add_url_rule(BOOM_PAGE, "boom_page", _boom)
    app.add_url_rule(BOOM_API, "boom_api", _boom)


def read(response):
    """The response with its body read and its file (a static one) closed."""
    response.get_data()
    response.close()
    return response


def answers(client) -> dict[str, object]:
    """One of each kind of response, keyed by what it is."""
    return {
        "404 page": client.get("/no/such/page"),
        "405 page": client.post("/purchase/callback"),
        "500 page": client.get(BOOM_PAGE),
        "API 401 envelope": client.post(CHECKOUT_URL, json={"amount": 1}),
        "API 404 envelope": client.get("/api/platform/no-such-endpoint"),
        "API 405 envelope": client.get(NOTIFY_URL),
        "API 500 envelope": client.get(BOOM_API),
        "notification answer": client.post(NOTIFY_URL, data=b"{}", content_type="text/plain"),
        "verify answer": client.get(VERIFY_URL, query_string={"order_id": "pur_nothing"}),
        "static file": read(client.get("/static/css/lunas.css")),
        "portal page": client.get("/login"),
        "buyer page": client.get("/purchase/callback", query_string={"order_id": "pur_x"}),
    }


DEFAULTS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def test_production_sends_hsts_and_the_defaults_on_every_kind_of_response(
    production, app, client, with_a_bug
):
    for kind, response in answers(client).items():
        assert response.headers.get("Strict-Transport-Security") == HSTS, kind
        for name, value in DEFAULTS.items():
            assert response.headers.get(name) == value, (kind, name)
        policy = response.headers.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in policy, kind
        assert "default-src 'none'" in policy, kind


def test_the_answers_are_what_each_caller_expects(production, app, client, with_a_bug):
    got = answers(client)

    assert got["404 page"].status_code == 404 and got["404 page"].mimetype == "text/html"
    assert got["405 page"].status_code == 405 and got["405 page"].mimetype == "text/html"
    assert got["500 page"].status_code == 500 and got["500 page"].mimetype == "text/html"
    assert got["API 401 envelope"].status_code == 401
    assert got["API 401 envelope"].get_json()["error"]["code"] == "invalid_client"
    assert got["API 405 envelope"].get_json()["error"]["code"] == "method_not_allowed"
    assert got["API 500 envelope"].get_json()["error"]["code"] == "internal_error"
    assert got["notification answer"].status_code == 400
    assert got["verify answer"].status_code == 404
    assert got["static file"].status_code == 200
    assert got["static file"].mimetype == "text/css"
    assert got["portal page"].status_code == 200


def test_html_gets_the_page_policy_and_everything_else_a_policy_that_allows_nothing(
    production, app, client, with_a_bug
):
    for kind, response in answers(client).items():
        policy = response.headers["Content-Security-Policy"]
        if response.mimetype == "text/html":
            assert "script-src 'self'" in policy and "style-src 'self'" in policy, kind
        else:
            assert "script-src" not in policy and "style-src" not in policy, kind
            assert "form-action 'none'" in policy, kind


def test_a_signed_in_portal_page_and_a_real_payments_page_in_production(
    production, app, client, project, fake_midtrans
):
    purchase_id = create_payment(client, project)
    client.environ_base["wsgi.url_scheme"] = "https"  # the session cookie is Secure
    log_in(client)

    projects = client.get("/projects")
    assert projects.status_code == 200 and "Warung Bu Sari" in projects.get_data(as_text=True)
    for path in ("/projects", f"/purchase/callback?order_id={purchase_id}", f"/pay/{purchase_id}"):
        response = client.get(path)
        assert response.headers["Strict-Transport-Security"] == HSTS, path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path


def test_pages_keep_their_own_policy_and_are_never_cached(client):
    page = client.get("/login")

    assert page.headers["Cache-Control"] == "no-store"
    assert "form-action 'self'" in page.headers["Content-Security-Policy"]
    static = read(client.get("/static/css/lunas.css"))
    assert "no-store" not in static.headers.get("Cache-Control", "")


def test_verify_keeps_its_cors_and_no_store_beside_the_defaults(client):
    response = client.get(VERIFY_URL, query_string={"order_id": "pur_nothing"})

    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_tests_and_development_never_send_hsts(app, client, with_a_bug):
    for kind, response in answers(client).items():
        assert "Strict-Transport-Security" not in response.headers, kind
        assert response.headers["X-Content-Type-Options"] == "nosniff", kind
        assert response.headers["X-Frame-Options"] == "DENY", kind


@pytest.fixture
def production_trial(app_environ, base_url) -> None:
    """Production settings on a loopback PUBLIC_BASE_URL: a trial on one machine."""
    app_environ.update(PRODUCTION, PUBLIC_BASE_URL=base_url)


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:5000",
        "http://localhost:5000",
        "https://localhost",
        "https://127.0.0.1:8443",
        "https://[::1]:8443",
    ],
)
def test_a_production_trial_on_a_loopback_address_sends_no_hsts(
    production_trial, app, client, base_url
):
    assert app.config["LUNAS_ENV"] == "production"
    for path in ("/login", "/no/such/page", "/static/css/lunas.css", VERIFY_URL):
        response = read(client.get(path))
        assert "Strict-Transport-Security" not in response.headers, (base_url, path)
        assert response.headers["X-Content-Type-Options"] == "nosniff", (base_url, path)


@pytest.mark.usefixtures("midtrans_simulator")
def test_the_simulators_payment_page_may_send_its_form_to_any_finish_url(app, client):
    # Like Midtrans's own page, its form ends in a redirect to the finish URL, wherever that is.
    response = client.get("/_simulator/midtrans/snap/v4/redirection/no-such-token")

    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert "form-action 'self' http: https:" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
