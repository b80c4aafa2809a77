"""No NUL character in any request's path, query string or form (the rule: app/text.py):
refused at the door with a 400 that names the field. JSON bodies are checked field by field
by the API's request models (app/api/schemas.py); the Midtrans notification endpoint is left
alone, because it stores every request as it came before judging it."""

from __future__ import annotations

from flask import Flask, request

from app.errors import ValidationError
from app.text import NUL, NUL_MESSAGE

EXEMPT_ENDPOINTS = {"api.midtrans_notification"}


def install(app: Flask) -> None:
    app.before_request(refuse_nul_characters)


def refuse_nul_characters():
    if request.endpoint in EXEMPT_ENDPOINTS:
        return None
    field = _field_with_nul()
    if field is None:
        return None
    raise ValidationError(f"{field} {NUL_MESSAGE}", field=field)


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
