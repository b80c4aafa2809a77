"""The public pages of items (SPEC §13): an item's hosted link `/i/<slug>`, its public image
`/media/<key>`, and the buyer's delivery `/d/<token>`."""

from flask import Blueprint

bp = Blueprint("storefront", __name__)

from app.storefront import routes  # noqa: E402,F401  (registers the routes on bp)
