"""The security headers, in one place, on every response Lunas sends: pages, API answers, error
pages and static files alike (a response a view forgot is exactly the one an attacker finds).

- Nothing is sniffed into another type, framed (nobody may dress our success page up as
  theirs), or told which of our pages linked to it; no other window keeps a handle on ours.
- HTML loads only our own files. Everything else (JSON, CSS, JavaScript) gets a policy that
  allows nothing, should a browser ever render one as a document.
- In production over https, Strict-Transport-Security: a buyer who once reached Lunas is never
  sent over plain http again. Not in development or tests, and not for a production trial on a
  loopback address: a browser would then refuse plain http to localhost for a year.
- The pages a person sees (`protect`: the portal and the buyer's pages) carry a payment's
  state, tenant data or secrets: they are never cached either.

A view or blueprint that sets one of these headers itself keeps its own value."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response

from app.hosts import is_loopback_host

PAGE_POLICY = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
NOTHING_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
EVERY_RESPONSE = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"


def content_security_policy(**directives: str) -> str:
    """The pages' policy, with some directives replaced (`form_action="'self' https:"`)."""
    policy = {
        **PAGE_POLICY,
        **{name.replace("_", "-"): value for name, value in directives.items()},
    }
    return "; ".join(f"{name} {value}" for name, value in policy.items())


CONTENT_SECURITY_POLICY = content_security_policy()


def install(app: Flask) -> None:
    """Every response of the app gets the headers (after any blueprint's own)."""
    strict_transport = sends_strict_transport_security(app.config)

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        headers = response.headers
        for name, value in EVERY_RESPONSE.items():
            headers.setdefault(name, value)
        html = response.mimetype == "text/html"
        headers.setdefault(
            "Content-Security-Policy", CONTENT_SECURITY_POLICY if html else NOTHING_POLICY
        )
        if strict_transport:
            headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
        return response


def sends_strict_transport_security(config) -> bool:
    """Production reached over https on a real host name (what PUBLIC_BASE_URL says)."""
    if config["LUNAS_ENV"] != "production":
        return False
    base = urlsplit(config["PUBLIC_BASE_URL"])
    return base.scheme == "https" and bool(base.hostname) and not is_loopback_host(base.hostname)


def protect(blueprint: Blueprint, **directives: str) -> None:
    """The pages a person sees: never cached; `directives` widen the page policy for this
    blueprint only (the simulator's payment page may send its form on to any finish URL)."""
    policy = content_security_policy(**directives)

    @blueprint.after_request
    def never_cache(response: Response) -> Response:
        response.headers.setdefault("Cache-Control", "no-store")
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", policy)
        return response
