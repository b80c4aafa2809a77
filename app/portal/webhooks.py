"""Webhook endpoint settings and the delivery log."""

from __future__ import annotations

from flask import render_template

from app.portal import bp
from app.portal.context import project_page


@bp.get("/projects/<project_id>/webhooks")
@project_page
def webhooks(project, env):
    return render_template("portal/stub.html")


@bp.get("/projects/<project_id>/deliveries")
@project_page
def deliveries(project, env):
    return render_template("portal/stub.html")


@bp.get("/projects/<project_id>/deliveries/<delivery_id>")
@project_page
def delivery_detail(project, env, delivery_id):
    return render_template("portal/stub.html")
