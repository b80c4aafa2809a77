"""One rule for every request: no NUL character in the path, the query string or a form.

No legitimate input carries one; PostgreSQL text cannot hold one (the query would fail deep
inside a service, as a 500), and C-based parsers read it as the end of a string. So it is
refused at the door with a 400 that names the field. JSON bodies are checked field by field
by the API's request models (app/api/schemas.py); the Midtrans notification endpoint is left
alone, because it stores every request as it came before judging it."""

from __future__ import annotations

from flask import Flask, abort, request

from app.api.errors import error_response

NUL = "\x00"
EXEMPT_ENDPOINTS = {"api.midtrans_notification"}


def install(app: Flask) -> None:
    app.before_request(refuse_nul_characters)


def refuse_nul_characters():
    if request.endpoint in EXEMPT_ENDPOINTS:
        return None
    field = _field_with_nul()
    if field is None:
        return None
    message = f"{field} must not contain a NUL character"
    if request.path.startswith("/api/"):
        return error_response("invalid_request", message, 400, field=field)
    abort(400, description=message)


def _field_with_nul() -> str | None:
    if NUL in request.path:
        return "path"
    sources = [request.args]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sources.append(request.form)
    for source in sources:
        for key, value in source.items(multi=True):
            if NUL in key or NUL in value:
                return key.replace(NUL, "") or "query"
    return None
