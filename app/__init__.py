"""Lunas: hosted Midtrans checkout for Indonesian merchants."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from flask import Flask, render_template, request
from flask_babel import gettext
from markupsafe import escape
from sqlalchemy import event
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.middleware.proxy_fix import ProxyFix

from app import (
    error_pages,
    formatting,
    http_headers,
    i18n,
    input_guard,
    logs,
    models,  # noqa: F401  (registers every table with the metadata)
    ops,
    rate_limits,
)
from app.admin import bp as admin_bp
from app.api import bp as api_bp
from app.api.errors import error_response, from_http_exception, from_service_error
from app.cli import register_cli
from app.config import Config
from app.demo import bp as demo_bp
from app.docs import bp as docs_bp
from app.errors import ServiceError
from app.extensions import csrf, db, login_manager, migrate
from app.portal import bp as portal_bp
from app.purchase import bp as purchase_bp
from app.purchase.routes import buyer_not_found, is_buyer_path
from app.services.accounts import sessions
from app.services.checkout import status_cache
from app.simulator import bp as simulator_bp
from app.storefront import bp as storefront_bp

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(environ: dict[str, str] | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    settings = Config(dict(os.environ if environ is None else environ), Path(app.instance_path))
    app.config.update(settings.as_dict())
    app.json.sort_keys = False  # answers keep the documented field order
    logs.install(app)  # first: the format of every line after this

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    rate_limits.install(app)
    status_cache.install(app)
    i18n.install(app)
    with app.app_context():
        _tune_sqlite(db.engine)

    csrf.exempt(api_bp)  # machine-to-machine JSON: authenticated by credentials or signatures
    app.register_blueprint(api_bp)
    app.register_blueprint(purchase_bp)
    app.register_blueprint(storefront_bp)
    app.register_blueprint(portal_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(docs_bp)
    login_manager.login_view = "portal.login"
    if app.config["MIDTRANS_SIMULATOR"]:
        app.register_blueprint(simulator_bp)
    if app.config["DEMO_STORE"]:
        app.register_blueprint(demo_bp)

    # Browsers ask for /favicon.ico whatever the page says: the same icon, not a 404.
    app.add_url_rule(
        "/favicon.ico", "favicon", redirect_to="/static/favicon.svg", strict_slashes=False
    )
    input_guard.install(app)
    ops.install(app)  # after the guard: its clock starts first
    logs.install_request_ids(app)  # and before that, the request's id
    http_headers.install(app)
    formatting.install(app)
    _register_error_handlers(app)
    _register_user_loader()
    _trust_proxies(app)
    register_cli(app)
    return app


def _register_error_handlers(app: Flask) -> None:
    def wants_json() -> bool:
        return request.path.startswith("/api/") or request.path.startswith(
            "/_simulator/midtrans/v2"
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if wants_json():
            return from_http_exception(exc)
        if exc.code == 404 and is_buyer_path(request.path):
            return buyer_not_found()
        return (
            render_template(
                "error.html",
                status=exc.code,
                name=error_pages.status_name(exc.code, exc.name),
                description=error_pages.status_description(exc),
            ),
            exc.code,
        )

    @app.errorhandler(ServiceError)
    def refused(exc: ServiceError):
        # What a service (or the input guard) refuses: the API's envelope, or an error page.
        if wants_json():
            return from_service_error(exc)
        name = error_pages.status_name(
            exc.http_status, HTTP_STATUS_CODES.get(exc.http_status, "Error")
        )
        # The service's English template translated, then filled in with the API's values.
        description = gettext(exc.template, **exc.params)
        page = render_template(
            "error.html", status=exc.http_status, name=name, description=description
        )
        return page, exc.http_status

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_away(exc: Exception):
        # PostgreSQL went away, or a statement was cut off: try again later (503, never 500;
        # for a notification, Midtrans sends it again). Nothing half-done stays: the request's
        # transaction is rolled back by the session's teardown.
        app.logger.warning(
            "database unavailable on %s %s: %s",
            request.method,
            request.path,
            type(exc.orig if hasattr(exc, "orig") else exc).__name__,
        )
        if wants_json():
            response = error_response("unavailable", "the database is not answering", 503)
        else:
            response = app.make_response((_unavailable_page(), 503))
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if wants_json():
            return error_response("internal_error", "internal error", 500)
        return render_template("error.html", status=500, name=error_pages.status_name(500, "")), 500


def _unavailable_page() -> str:
    """The error page, or, when drawing it needs the database too (the logged-in user),
    the same words without the layout."""
    name = error_pages.status_name(503, "Service Unavailable")
    try:
        return render_template("error.html", status=503, name=name)
    except (OperationalError, InterfaceError):
        db.session.rollback()
        return f"<!doctype html><title>503</title><h1>503 {escape(name)}</h1>"


def _register_user_loader() -> None:
    @login_manager.user_loader
    def load_user(session_token: str):
        # The cookie holds a session token; a session that was ended, went idle or outlived
        # its lifetime loads no user, so the browser is logged out.
        return sessions.load_session(session_token)


def _trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXY_HOPS proxies, the client's address, scheme and host are the ones
    they forwarded; with none (the default), X-Forwarded-* headers are ignored, since anyone
    could send them."""
    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def _tune_sqlite(engine) -> None:
    """SQLite (the development default): WAL, a busy timeout, and BEGIN IMMEDIATE so that
    concurrent writers queue up instead of failing on a stale read (it has no row locks)."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=15000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
