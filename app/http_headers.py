"""The security headers of every page a person sees (the portal and the buyer's pages), in one
place. Those pages carry a payment's state, tenant data or secrets: they load only our own
files, are never framed (nobody may dress our success page up as theirs), never cached, and
tell no other site which page linked to it."""

from __future__ import annotations

from flask import Blueprint, Response

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def protect(blueprint: Blueprint) -> None:
    """Every response of this blueprint gets the headers (unless a view set its own)."""
    blueprint.after_request(add_security_headers)


def add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
