"""The operator's pages: an index, and the notifications that never verified."""

from __future__ import annotations

from flask import abort, current_app, render_template, request, url_for

from app.admin import bp
from app.extensions import csrf
from app.services.checkout import unverified

ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
NOT_READING = ["POST", "PUT", "PATCH", "DELETE"]


@bp.get("")
@bp.get("/")
def index():
    return render_template("admin/index.html")


@bp.get("/notifications/unverified")
def unverified_notifications():
    raw_after, raw_before = request.args.get("after"), request.args.get("before")
    after = unverified.KEYSET.decode(raw_after)
    before = None if after else unverified.KEYSET.decode(raw_before)
    stale_link = bool(raw_after or raw_before) and after is None and before is None
    page = unverified.unverified_page(after=after, before=before)
    here = "admin.unverified_notifications"
    return render_template(
        "admin/unverified.html",
        page=page,
        stale_link=stale_link,
        excerpt_length=unverified.BODY_EXCERPT,
        retention_days=current_app.config["UNVERIFIED_EVENT_RETENTION_DAYS"],
        older_url=page.older and url_for(here, after=page.older.encode()),
        newer_url=page.newer and url_for(here, before=page.newer.encode()),
        newest_url=url_for(here),
    )


@bp.route("", methods=NOT_READING)
@bp.route("/", methods=NOT_READING)
@bp.route("/<path:anything>", methods=ANY_METHOD)
@csrf.exempt  # it only ever answers 404: no CSRF refusal may tell that /admin exists
def nothing_here(anything: str = ""):
    # Unknown paths, and known ones asked with another method, answer like any unknown URL
    # (never a 405 that would name a page), after the operators-only check.
    abort(404)
