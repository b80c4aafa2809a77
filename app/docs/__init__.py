"""The developer site (SPEC §12): `/docs`, a quick start, the reference of every operation with
snippets in four languages (app/docs/examples.py, run by the tests), errors, rate limits,
idempotency, the simulator and webhook verification. Everything it shows of the API comes
from the OpenAPI document; its assets are its own (it works offline)."""

from flask import Blueprint

bp = Blueprint("docs", __name__)

from app.docs import routes  # noqa: E402,F401  (registers the routes on bp)
