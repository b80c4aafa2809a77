"""What every project page shares: the project (only the signed-in user's own) and the
environment chosen with ?env=. Anything else answers 404, exactly like a missing object."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, g, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from app.errors import ServiceError
from app.models import Environment
from app.services.accounts.projects import project_of_owner

MAX_ROW_ID = 2**63 - 1
# Pages that show one object of one environment: the switch leads to the list instead.
_SWITCH_TARGETS = {
    "portal.payment_detail": "portal.payments",
    "portal.delivery_detail": "portal.deliveries",
}


def project_page(view: Callable) -> Callable:
    """Log-in required; calls view(project, env, **rest) with the user's own project."""

    @wraps(view)
    @login_required
    def wrapper(project_id: str, **kwargs):
        if any(isinstance(value, int) and value > MAX_ROW_ID for value in kwargs.values()):
            abort(404)  # no row has such an id (and the database's BIGINT cannot hold it)
        project = project_of_owner(current_user, project_id)
        if project is None:
            abort(404)
        env = selected_environment()
        g.project, g.env = project, env
        return view(project, env, **kwargs)

    return wrapper


def selected_environment() -> Environment:
    value = request.args.get("env", Environment.SANDBOX.value)
    try:
        return Environment(value)
    except ValueError:
        abort(404)


def sentence(message: str, end: str = ".") -> str:
    """A message ("name must be …") as a sentence for a page."""
    return message[:1].upper() + message[1:] + end


def reason(exc: ServiceError, end: str = ".") -> str:
    """A service's refusal as a sentence in the page's language: its English template
    translated, then filled in with the same values the API's message has."""
    return sentence(gettext(exc.template, **exc.params), end)


def env_url(endpoint: str, **values) -> str:
    """A URL inside the current project page's project and environment."""
    values.setdefault("env", g.env.value)
    return url_for(endpoint, project_id=g.project.id, **values)


def switch_url(environment: str) -> str:
    """The same page in another environment (a list page for a one-object page)."""
    environment = Environment(environment)
    endpoint = _SWITCH_TARGETS.get(request.endpoint, request.endpoint)
    if endpoint != request.endpoint:
        return url_for(endpoint, project_id=g.project.id, env=environment.value)
    return url_for(endpoint, **request.view_args, env=environment.value)
