from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from app.api import items, openapi, payments, qris, routes  # noqa: E402,F401
