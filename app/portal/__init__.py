from flask import Blueprint, current_app, g
from werkzeug.exceptions import NotFound

from app.services import NotFoundError

bp = Blueprint("portal", __name__)

# Portal pages carry tenant data and secrets: own files only, never framed, never cached.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@bp.after_request
def add_security_headers(response):
    for name, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


@bp.errorhandler(NotFoundError)
def service_found_nothing(_exc):
    # A service found no such object in the user's project environment: the same 404 page as
    # a URL that matches nothing, so another tenant's object is indistinguishable from none.
    return current_app.handle_http_exception(NotFound())


@bp.app_template_filter("wib")
def wib_filter(moment, seconds: bool = False) -> str:
    from app.clock import format_wib

    return format_wib(moment, seconds)


@bp.app_template_filter("rupiah")
def rupiah_filter(amount: int | None) -> str:
    """75000 -> 'Rp 75.000' (Indonesian thousands separator)."""
    if amount is None:
        return "—"
    return "Rp " + f"{amount:,}".replace(",", ".")


@bp.app_template_filter("pretty_json")
def pretty_json_filter(raw: str | dict | None) -> str:
    """Indented JSON for reading; text that is not JSON is shown as it came."""
    import json

    if isinstance(raw, dict):
        return json.dumps(raw, indent=2, ensure_ascii=False)
    if not raw:
        return ""
    try:
        return json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
    except ValueError:
        return raw


@bp.app_context_processor
def project_context():
    from app.portal.context import env_url, switch_url

    if "project" not in g:
        return {}
    return {"project": g.project, "env": g.env, "env_url": env_url, "switch_url": switch_url}


from app.portal import keys, payments, projects, routes, webhooks  # noqa: E402,F401
