"""The language switch of the portal and the docs (SPEC §12): a form on every page of both,
remembered in a cookie for a year, so it holds before login, after logout and on /docs."""

from __future__ import annotations

from flask import abort, redirect, request

from app.i18n import COOKIE, COOKIE_MAX_AGE, LANGUAGES
from app.portal import bp
from app.portal.routes import safe_next


@bp.route("/language", methods=["POST"])
def choose_language():
    language = request.form.get("language", "")
    if language not in LANGUAGES:
        abort(400)
    # Back to the page the switch was on (a path on this site only: no open redirect).
    response = redirect(safe_next(request.form.get("next")), 303)
    response.set_cookie(
        COOKIE,
        language,
        max_age=COOKIE_MAX_AGE,
        secure=request.is_secure,
        httponly=True,
        samesite="Lax",
    )
    return response
