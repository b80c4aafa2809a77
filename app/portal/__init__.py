from flask import Blueprint, current_app, g, render_template
from flask_babel import gettext
from werkzeug.exceptions import NotFound

from app.errors import NotFoundError
from app.http_headers import protect
from app.portal.context import env_url, switch_url

bp = Blueprint("portal", __name__)
protect(bp)


@bp.errorhandler(NotFoundError)
def service_found_nothing(_exc):
    # A service found no such object in the user's project environment: the same 404 page as
    # a URL that matches nothing, so another tenant's object is indistinguishable from none.
    return current_app.handle_http_exception(NotFound())


@bp.errorhandler(429)
def too_many(_exc):
    # RATE_LIMIT_LOGIN / RATE_LIMIT_REGISTER: a page, not the API's envelope.
    page = render_template(
        "error.html",
        status=429,
        name=gettext("Too many attempts"),
        description=gettext(
            "Too many attempts from your network in a short time. Wait a minute, then try again."
        ),
    )
    return page, 429


@bp.app_context_processor
def project_context():
    if "project" not in g:
        return {}
    return {
        "project": g.project,
        "env": g.env,
        "env_url": env_url,
        "switch_url": switch_url,
        # Without a production server key this server cannot take real money: the banner
        # must not say it does.
        "production_configured": bool(current_app.config["MIDTRANS_PRODUCTION_SERVER_KEY"]),
    }


from app.portal import (  # noqa: E402,F401
    account,
    items,
    keys,
    language,
    payment_actions,
    payments,
    projects,
    recovery,
    routes,
    tools,
    webhooks,
)
