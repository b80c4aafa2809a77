"""The operator's pages (/admin): what the platform sees that no merchant does.

Operators only (users.is_operator, made with `flask users promote` or `flask users create
--operator`). Anyone else, signed in or not, gets the 404 of a URL that does not exist, for
every method and every path under /admin: these pages are not there for them, not even as a
"forbidden"."""

from flask import Blueprint, abort, request
from flask_login import current_user

from app.extensions import csrf
from app.http_headers import protect

bp = Blueprint("admin", __name__, url_prefix="/admin")
protect(bp)
# CSRF is checked below, after the operators-only check: checked first (app-wide), its 400
# would tell a stranger that a form exists here.
csrf.exempt(bp)


@bp.before_request
def operators_only():
    if not (current_user.is_authenticated and current_user.is_operator):
        abort(404)
    if (
        request.method not in ("GET", "HEAD", "OPTIONS")
        and request.endpoint != "admin.nothing_here"
    ):
        csrf.protect()


from app.admin import routes  # noqa: E402,F401
