"""RQ entry points: take primitive arguments, open the worker's app context, call a service.

The services enqueue these by dotted path (app/services/outbox/queue.py) and never import
this module. The worker process (`flask worker`, app/worker.py) hands its app over with
use_app before it takes the first job; a forked job child inherits it."""

from __future__ import annotations

from flask import Flask

from app import logs
from app.services.accounts.recovery import deliver_account_mail
from app.services.outbox.delivery import deliver

_app: Flask | None = None


def use_app(app: Flask) -> None:
    global _app
    _app = app


def deliver_webhook(delivery_id: str) -> str:
    if _app is None:
        raise RuntimeError("Lunas jobs run under `flask worker`, which gives them its app")
    logs.bind(delivery_id=delivery_id)
    try:
        with _app.app_context():
            return deliver(delivery_id)
    finally:
        logs.clear()


def send_account_mail(kind: str, user_id: int) -> str:
    if _app is None:
        raise RuntimeError("Lunas jobs run under `flask worker`, which gives them its app")
    with _app.app_context():
        return deliver_account_mail(kind, user_id)
