"""RQ entry points: take primitive arguments, open an app context, call a service."""

from __future__ import annotations

from flask import Flask

_app: Flask | None = None


def use_app(app: Flask) -> None:
    """Let jobs reuse the worker's app instead of building their own."""
    global _app
    _app = app


def _get_app() -> Flask:
    global _app
    if _app is None:
        from app import create_app

        _app = create_app()
    return _app


def expire_stale_checkouts() -> dict:
    from app.services.janitor import expire_stale_checkouts as run

    with _get_app().app_context():
        report = run()
        return {"checked": report.checked, "errors": report.errors, "outcomes": report.outcomes}


def deliver_webhook(delivery_id: str) -> str:
    from app.services.delivery import deliver

    with _get_app().app_context():
        return deliver(delivery_id)
