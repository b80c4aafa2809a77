"""No NUL character in any request's path, query string or form (the rule: app/text.py):
refused at the door with a 400 that names the field. JSON bodies are checked field by field
by the API's request models (app/api/schemas.py); the Midtrans notification endpoint is left
alone, because it stores every request as it came before judging it.

Every body is bounded by MAX_CONTENT_LENGTH (64 KB); a view that takes a file upload says how
much it takes with `accepts_upload`, and that bound is set here, before anything reads the
body (this guard reads forms)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app, request

from app.errors import ValidationError
from app.text import NUL, NUL_MESSAGE

EXEMPT_ENDPOINTS = {"api.midtrans_notification"}


View = TypeVar("View", bound=Callable)


def accepts_upload(max_bytes: int) -> Callable[[View], View]:
    """Mark a view that takes a multipart body of up to `max_bytes` (files are spooled to
    disk by the parser, never held whole in memory)."""

    def mark(view: View) -> View:
        view.upload_limit = max_bytes
        return view

    return mark


def install(app: Flask) -> None:
    # First of all before_request functions: CSRF protection reads the form too.
    app.before_request_funcs.setdefault(None, []).insert(0, allow_uploads)
    app.before_request(refuse_nul_characters)


def allow_uploads() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    limit = getattr(view, "upload_limit", None)
    if limit is not None:
        request.max_content_length = limit


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
