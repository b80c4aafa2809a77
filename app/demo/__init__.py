"""A demo store for development (DEMO_STORE, on only there, refused in production): the page a
walk-through's store URL template points to, so the buyer's way back after paying lands on a
real page instead of a DNS error. It knows nothing of payments: it shows what the URL says."""

from __future__ import annotations

import re

from flask import Blueprint, render_template, request

from app.http_headers import protect

bp = Blueprint("demo", __name__, url_prefix="/_demo")
protect(bp)

_SLUG = re.compile(r"[a-z0-9-]{1,64}")


@bp.get("/store/<slug>")
def store(slug: str):
    if not _SLUG.fullmatch(slug):
        return render_template("demo/store.html", slug=None), 404
    return render_template("demo/store.html", slug=slug, order_id=request.args.get("order_id"))
