"""A Midtrans stand-in for offline development, mounted only when MIDTRANS_SIMULATOR is on.

It speaks Midtrans's wire format at Midtrans's paths under /_simulator/midtrans, so the same
client code runs against it by changing the two base URLs.
"""

from flask import Blueprint

from app.http_headers import protect

bp = Blueprint("simulator", __name__, url_prefix="/_simulator/midtrans")
# Like Midtrans's page, the payment form ends in a redirect to the checkout's finish URL,
# wherever that is.
protect(bp, form_action="'self' http: https:")

from app.simulator import routes  # noqa: E402,F401
